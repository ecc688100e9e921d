"""What a widget's connection lives by: a view that shows it, and a server that starts a session.

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
from collections.abc import Callable

from rtwidget.widget.loop import KernelLoop

__all__ = ["NO_SESSION_HINT", "SESSION_CREATED_TIMEOUT_S", "VIEWLESS_CLOSE_S", "Timer", "ViewPresence"]

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
