"""An in-memory transport: connect a client to the simulator with no socket (like httpx's MockTransport).

``connect(url="ws://sim/v1/realtime", factory=memory_factory())`` (any host: nothing is dialled) opens a
Connection whose frames go straight to a simulator session in this process, on the running event loop, and
back. Frames still travel
as JSON text both ways, so parsing, validation, observers and the log see exactly what a socket would
carry; the handshake checks (key, model, dialect) and their close codes are the simulator's own.

For tests and notebooks that want a server without a port, and for code that drives many sessions cheaply.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from rtwidget.client.errors import PermanentError
from rtwidget.client.transport import Transport, TransportFactory
from rtwidget.protocol import encode_event

__all__ = ["MemoryTransport", "memory_factory"]

_NORMAL_CLOSURE = 1000


class MemoryTransport:
    """One client's end of an in-memory connection to a simulator session (see :func:`memory_factory`)."""

    def __init__(self, session: Any, loop: asyncio.AbstractEventLoop) -> None:
        """Wrap a started ``rtwidget.server.SimSession``; ``loop`` paces its timed output."""
        self._session = session
        self._loop = loop
        self._t0 = time.monotonic()
        self._inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._timer: asyncio.TimerHandle | None = None
        self._code: int | None = None
        self._reason: str | None = None

    def now(self) -> float:
        """Seconds since this connection opened (the session's clock)."""
        return time.monotonic() - self._t0

    def deliver(self, outputs: list[Any]) -> None:
        """Queue server events for the client, then wake again when the session's next step is due."""
        for event in outputs:
            self._inbox.put_nowait(encode_event(event))
        self._reschedule()

    def refuse(self, error_frame: str, code: int, reason: str) -> None:
        """The handshake failed: the client gets the error event, then the close (as the live server does)."""
        self._inbox.put_nowait(error_frame)
        self._closed(code, reason)

    def _reschedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._code is not None:
            return
        due = self._session.next_deadline()
        if due is not None:
            self._timer = self._loop.call_later(max(0.0, due - self.now()), self._tick)

    def _tick(self) -> None:
        self._timer = None
        if self._code is None:
            self.deliver(self._session.advance(self.now()))

    def _closed(self, code: int, reason: str) -> None:
        if self._code is None:
            self._code, self._reason = code, reason
            self._inbox.put_nowait(None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def send(self, frame: str | bytes) -> None:
        """Hand one client frame to the session."""
        if self._code is not None:
            raise PermanentError("connection closed", close_code=self._code, close_reason=self._reason)
        self.deliver(self._session.receive(frame, self.now()))

    async def recv(self) -> str | bytes:
        """The next server frame."""
        frame = await self._inbox.get()
        if frame is None:
            self._inbox.put_nowait(None)  # every later recv sees the close too
            raise PermanentError("connection closed", close_code=self._code, close_reason=self._reason)
        return frame

    async def ping(self) -> float:
        """No network: the round trip is zero."""
        return 0.0

    async def close(self, code: int = _NORMAL_CLOSURE, reason: str = "") -> None:
        """Close (idempotent)."""
        self._closed(code, reason)

    @property
    def close_code(self) -> int | None:
        """The close code once closed, else None."""
        return self._code

    @property
    def close_reason(self) -> str | None:
        """The close reason once closed, else None."""
        return self._reason


def memory_factory(
    *, speed: float = 1.0, require_key: str | None = None, **session_options: Any
) -> TransportFactory:
    """A transport factory that connects to a fresh in-process simulator session per connection.

    Args:
        speed: the simulator's pace (1.0 = real time; higher streams faster).
        require_key: refuse connections without this key (close 3000, like a bad key on the live server).
        **session_options: further ``rtwidget.server.SimSession`` options.
    """
    from rtwidget.server import SimSession
    from rtwidget.server.handshake import check_handshake

    async def factory(url: str, headers: Mapping[str, str]) -> Transport:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        loop = asyncio.get_running_loop()
        hs = check_handshake(parts.path or "/v1/realtime", query, dict(headers), require_key=require_key)
        if hs is None:
            raise PermanentError(f"no realtime endpoint at {parts.path!r}", status_code=404)
        if hs.error is not None and hs.close is not None:
            transport = MemoryTransport(None, loop)
            transport.refuse(json.dumps(hs.error), hs.close.code, hs.close.reason)
            return transport
        session = SimSession(
            dialect=hs.dialect,
            model=hs.model,
            intent=hs.intent,
            speed=speed,
            created_at=time.time(),
            **session_options,
        )
        transport = MemoryTransport(session, loop)
        transport.deliver(session.start(transport.now()))
        return transport

    return factory
