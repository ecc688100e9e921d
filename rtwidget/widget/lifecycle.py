"""A widget's connection from open to end, and what it lives by: a view that shows it, and a server that
starts a session.

``open_connection`` opens it (the embedded simulator first, when that is the backend) and
``connection_ended`` says how it ended (closed, or failed with what to do) and releases what it held; the
widget's shell calls both.

A connection nobody can see is a billed session nobody can stop, so a widget closes its connection once its
last view has been gone for ``VIEWLESS_CLOSE_S`` (the cell that displayed it was re-run, or its output
cleared). A page reload or a notebook re-opened in time brings a view back before then; a widget that never
had a view (driven from Python alone) is not affected. ``RealtimeWidget(close_without_view=False)`` keeps the
connection regardless.

A server that accepts the WebSocket but never sends ``session.created`` (a wrong path, a server that is not
a Realtime server) would leave the console "open" for ever: ``SESSION_CREATED_TIMEOUT_S`` after the open,
the widget says so and closes with status ``failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from rtwidget.protocol import catalog
from rtwidget.widget.loop import KernelLoop, closing, reported
from rtwidget.widget.view import close_hint

if TYPE_CHECKING:
    from rtwidget.widget.widget import RealtimeWidget

__all__ = [
    "NO_SESSION_HINT",
    "SESSION_CREATED_TIMEOUT_S",
    "VIEWLESS_CLOSE_S",
    "Timer",
    "ViewPresence",
    "close_viewless",
    "connection_ended",
    "no_session",
    "open_connection",
    "read_loop",
]

VIEWLESS_CLOSE_S = 2.0
"""Seconds without any view after which a widget closes its connection (``close_without_view``)."""
SESSION_CREATED_TIMEOUT_S = 15.0
"""Seconds a server may take after the WebSocket opened to send ``session.created``."""
NO_SESSION_HINT = "the server took the WebSocket but started no session: check the URL's path and the server"


class Timer:
    """One pending call on the kernel loop, replaced or cancelled as a whole."""

    def __init__(self, kernel: KernelLoop) -> None:
        """A timer on ``kernel``'s loop (the widget's)."""
        self._kernel = kernel
        self._handle: asyncio.TimerHandle | None = None

    def start(self, delay_s: float, fn: Callable[[], None]) -> None:
        """Call ``fn`` in ``delay_s`` seconds, instead of any call still pending."""
        self.cancel()
        loop = self._kernel.loop
        if loop is not None and not loop.is_closed():
            self._handle = loop.call_later(delay_s, fn)

    def cancel(self) -> None:
        """Drop the pending call, if any."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class ViewPresence:
    """The views a widget has now; ``on_empty`` runs when the last one has been gone ``VIEWLESS_CLOSE_S``."""

    def __init__(
        self, kernel: KernelLoop, on_empty: Callable[[], None], grace_s: float = VIEWLESS_CLOSE_S
    ) -> None:
        """Track the views of one widget (``ready`` joins, ``bye`` leaves)."""
        self.views: set[str] = set()
        self._on_empty = on_empty
        self._grace_s = grace_s
        self._timer = Timer(kernel)

    def joined(self, view: str) -> None:
        """A view said ``ready``: it shows the console (a pending close is called off)."""
        self.views.add(view)
        self._timer.cancel()

    def left(self, view: str) -> None:
        """A view said ``bye`` (its element was removed); the last one leaving starts the grace period."""
        if view not in self.views:
            return
        self.views.discard(view)
        if not self.views:
            self._timer.start(VIEWLESS_CLOSE_S, self._expired)

    def _expired(self) -> None:
        if not self.views:
            self._on_empty()


async def open_connection(w: RealtimeWidget) -> None:
    """Connect ``w``: start the embedded simulator if that is the backend, open, and start reading."""
    from rtwidget.client import connect

    if w._replay is not None:  # its state is the recording's: a connect would reset it
        message = f"this console is a replay of {w._replay.name}: it has no server to connect to"
        w._local_error("replay", message)
        raise reported(RuntimeError(message))
    w.status = "connecting"
    w.close_code = None
    w.close_reason = ""
    w.close_hint = ""
    if w._t0 is None:  # one clock for the widget's whole log, across reconnects
        w._t0 = time.monotonic()
    w._closing_by_us = False
    w._fail_hint = ""
    # A new connection is a new server session: conversation and reply start afresh (the log goes on).
    w._console.reset()
    w._views.sync()
    stack = AsyncExitStack()
    try:
        sim_url = None
        if w._backend.embedded:
            from rtwidget.server import serve

            first_ms = w._simulator_first_audio_ms
            sim = await stack.enter_async_context(
                serve(port=0, speed=w._simulator_speed, first_audio_ms=first_ms)
            )
            sim_url = sim.url
            w._local(
                "local.simulator", {"url": sim_url, "speed": w._simulator_speed, "first_audio_ms": first_ms}
            )
        config = w._make_config(sim_url)
        w._local("local.connecting", {"backend": w.backend, "model": w.model, "dialect": w.dialect})
        w.model_notice = catalog.shutdown_notice(w.model) or ""
        if w.model_notice:
            w._local("local.notice", {"model": w.model, "message": w.model_notice})
        conn = await connect(config=config, factory=w._factory)
        await stack.enter_async_context(closing(conn))
    except asyncio.CancelledError:
        await stack.aclose()
        w.close_reason = "connect cancelled"
        w.status = "closed"
        w._fail_waiters()
        w._local("local.closed", {"code": None, "reason": w.close_reason, "by_client": True})
        raise
    except BaseException as exc:
        await stack.aclose()
        message = w._scrub(f"{type(exc).__name__}: {exc}")
        w.close_code = getattr(exc, "close_code", None)
        w.close_reason = message
        w.close_hint = close_hint(w.close_code, message)
        w.status = "failed"
        w._fail_waiters()
        w._local_error("connect_failed", message)
        if isinstance(exc, Exception):
            raise reported(ConnectionError(f"could not connect to {w.backend}: {message}")) from None
        raise
    w._stack = stack
    w._conn = conn
    conn.on_frame(w._on_frame)
    w.status = "open"
    w._session_timer.start(SESSION_CREATED_TIMEOUT_S, lambda: no_session(w))
    w._reader = asyncio.ensure_future(read_loop(w, conn))


async def read_loop(w: RealtimeWidget, conn: Any) -> None:
    """Hand every server event of ``conn`` to the widget until the connection ends, then say how."""
    try:
        async for event in conn:
            try:
                w._handle_event(event)
            except Exception as exc:  # a bug in one handler must not end the session
                w._local_error("handler_failed", w._scrub(f"{type(exc).__name__}: {exc}"))
    except Exception as exc:
        w._local_error("connection_failed", w._scrub(f"{type(exc).__name__}: {exc}"))
    finally:
        await connection_ended(w, conn)


async def connection_ended(w: RealtimeWidget, conn: Any) -> None:
    """The read loop of ``conn`` ended: say how (closed, or failed and what to do), release what it held."""
    w._conn = None
    w._session_timer.cancel()
    w._responses.reset()
    w._outbox.clear()
    w.talk_notice = ""
    w._console.connection_lost()
    code = getattr(conn, "close_code", None)
    reason = getattr(conn, "close_reason", "") or ""
    w.close_code = code
    w.close_reason = w._scrub(str(reason))
    clean = not w._fail_hint and (w._closing_by_us or code in (1000, 1001))
    w.close_hint = w._fail_hint or ("" if clean else close_hint(code, w.close_reason))
    w.status = "closed" if clean else "failed"
    w._fail_waiters()
    w._local("local.closed", {"code": code, "reason": w.close_reason, "by_client": w._closing_by_us})
    if w._ready:
        w._views.send_audio()
        w._views.post({"type": "audio.end", "item": w._console.last_audio_item})
    stack, w._stack = w._stack, None
    if stack is not None:
        with contextlib.suppress(Exception):
            await stack.aclose()
    w._views.flush()


def close_viewless(w: RealtimeWidget) -> None:
    """The console's last view is gone for good: close what it showed (unless close_without_view=False)."""
    live = w._conn is not None or (w._connecting is not None and not w._connecting.done())
    if w.close_without_view and live:
        w._local("local.no_view", {"message": "no view shows this console any more: closing its connection"})
        w._spawn(w.disconnect())


def no_session(w: RealtimeWidget) -> None:
    """No ``session.created`` in time after the open: say so, and close as failed."""
    if w._conn is None:
        return
    w._fail_hint = NO_SESSION_HINT
    w._local_error("no_session", f"no session.created within {SESSION_CREATED_TIMEOUT_S:g} s of the open")
    w._spawn(w.disconnect())
