"""The byte-moving layer under a Connection: a small Transport protocol and its websockets implementation."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.http11 import USER_AGENT

from rtwidget import __version__
from rtwidget.client.errors import PermanentError, redact

__all__ = ["ABNORMAL_CLOSURE", "Transport", "TransportFactory", "WebSocketTransport", "websocket_factory"]

# RFC 6455 §7.1.5: "If _The WebSocket Connection is Closed_ and no Close control frame was received by the
# endpoint ... _The WebSocket Connection Close Code_ is considered to be 1006."
ABNORMAL_CLOSURE = 1006
_BODY_PREVIEW_CHARS = 300


class Transport(Protocol):
    """What a Connection needs from a message transport (a WebSocket, or an in-memory pair in tests).

    ``send``/``recv``/``ping`` raise :class:`PermanentError` (with ``close_code``/``close_reason``) once the
    transport is closed; any other exception they raise is wrapped into one by the Connection.
    ``close_code`` is None while the transport is open.
    """

    async def send(self, frame: str | bytes) -> None:
        """Send one message (``str`` as a text frame, ``bytes`` as a binary frame)."""
        ...

    async def recv(self) -> str | bytes:
        """Receive the next message (``str`` for a text frame, ``bytes`` for a binary frame)."""
        ...

    async def ping(self) -> float:
        """Send a ping, wait for its pong; return the round trip in seconds."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close (idempotent) and wait until closed."""
        ...

    @property
    def close_code(self) -> int | None:
        """The close code once closed (received from the peer, or 1006 when none arrived), else None."""
        ...

    @property
    def close_reason(self) -> str | None:
        """The close reason once closed, else None."""
        ...


TransportFactory = Callable[[str, Mapping[str, str]], Awaitable[Transport]]
"""Opens a Transport to ``(url, headers)``; injected into ``connect(factory=...)``."""


class _RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Logger given to websockets: at DEBUG it logs every request header, Authorization included."""

    def __init__(self, logger: logging.Logger, secrets: tuple[str, ...]) -> None:
        super().__init__(logger, {})
        self._secrets = secrets

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = redact(str(msg) % args if args else str(msg), *self._secrets)
        self.logger.log(level, "%s", text, **kwargs)


def _closed_error(exc: ConnectionClosed, action: str) -> PermanentError:
    # The peer's code (the echo of ours when we closed first); else the code we failed the connection
    # with (1009 for a frame over max_size, 1002 for a protocol error); else the link just dropped.
    if exc.rcvd is not None:
        code, reason = exc.rcvd.code, exc.rcvd.reason
    elif exc.sent is not None:
        code, reason = exc.sent.code, exc.sent.reason
    else:
        code, reason = ABNORMAL_CLOSURE, ""
    shown = f" {reason!r}" if reason else ""
    return PermanentError(
        f"connection closed ({code}{shown}); cannot {action}", close_code=code, close_reason=reason
    )


class WebSocketTransport:
    """A :class:`Transport` over a ``websockets`` client connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._closed: PermanentError | None = None

    def _failed(self, exc: ConnectionClosed, action: str) -> PermanentError:
        """Remember how the connection ended (websockets reports 1006 for codes we sent) and say so."""
        error = _closed_error(exc, action)
        self._closed = self._closed or error
        return error

    async def send(self, frame: str | bytes) -> None:
        """Send one text (``str``) or binary (``bytes``) frame."""
        try:
            await self.ws.send(frame)
        except ConnectionClosed as exc:
            raise self._failed(exc, "send") from exc

    async def recv(self) -> str | bytes:
        """Receive one message; cancelling it is safe (websockets keeps the message for the next call)."""
        try:
            return await self.ws.recv()
        except ConnectionClosed as exc:
            raise self._failed(exc, "receive") from exc

    async def ping(self) -> float:
        """Ping and return the latency in seconds."""
        try:
            pong_waiter = await self.ws.ping()
            return await pong_waiter
        except ConnectionClosed as exc:
            raise self._failed(exc, "ping") from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Run the closing handshake (idempotent)."""
        await self.ws.close(code, reason)

    @property
    def close_code(self) -> int | None:
        """Close code once closed, else None."""
        if self._closed is not None:
            return self._closed.close_code
        return self.ws.close_code

    @property
    def close_reason(self) -> str | None:
        """Close reason once closed, else None."""
        if self._closed is not None:
            return self._closed.close_reason
        return self.ws.close_reason


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def websocket_factory(
    *, max_frame_bytes: int, open_timeout_s: float = 10.0, secrets: tuple[str, ...] = ()
) -> TransportFactory:
    """Return a factory opening :class:`WebSocketTransport` connections with these limits.

    Args:
        max_frame_bytes: Largest message accepted from the server (websockets ``max_size``).
        open_timeout_s: Handshake timeout.
        secrets: Strings masked in log lines and error messages (the API key).
    """
    logger = _RedactingLogger(logging.getLogger("rtwidget.client.websockets"), secrets)

    async def open_websocket(url: str, headers: Mapping[str, str]) -> Transport:
        shown_url = redact(url, *secrets)
        try:
            ws = await ws_connect(
                url,
                additional_headers=dict(headers),
                user_agent_header=f"rtwidget/{__version__} {USER_AGENT}",
                max_size=max_frame_bytes,
                open_timeout=open_timeout_s,
                logger=logger,
                # websockets >= 15 routes through HTTP(S)_PROXY by default; a loopback server (the
                # embedded simulator) must never be sent to a proxy, whatever the environment says.
                proxy=None if _is_loopback(url) else True,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            body = (
                exc.response.body.decode("utf-8", "replace")[:_BODY_PREVIEW_CHARS]
                if exc.response.body
                else ""
            )
            detail = f": {redact(body, *secrets)}" if body else ""
            raise PermanentError(
                f"server refused the WebSocket upgrade at {shown_url}: HTTP {status}{detail}",
                status_code=status,
            ) from exc
        except (InvalidHandshake, InvalidURI) as exc:
            # Not chained: InvalidURI's message repeats the URL, which may carry an api-key parameter.
            raise PermanentError(
                f"WebSocket handshake with {shown_url} failed: {redact(str(exc), *secrets)}"
            ) from None
        except (OSError, TimeoutError) as exc:
            raise PermanentError(f"cannot connect to {shown_url}: {redact(str(exc), *secrets)}") from exc
        return WebSocketTransport(ws)

    return open_websocket
