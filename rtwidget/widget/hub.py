"""Who hears about received server events: the handlers registered with ``on``, pending ``wait_for``s."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["EventHub", "Handler"]

Handler = Callable[[Any], Any]
"""``handler(event)``, sync or async."""


class EventHub:
    """Handlers by event type (``"*"`` for all) and the futures of pending waits.

    Args:
        spawn: runs the awaitable an async handler returned (as a task on the kernel loop).
        on_error: ``on_error(code, message)`` for a handler that raised (the session goes on).
    """

    def __init__(self, spawn: Callable[[Awaitable[Any]], None], on_error: Callable[[str, str], None]) -> None:
        """Start with no handlers and no waits."""
        self._handlers: dict[str, list[Handler]] = {}
        self._waiters: list[tuple[str, asyncio.Future[Any]]] = []
        self._spawn = spawn
        self._on_error = on_error

    def on(self, type_: str, handler: Handler) -> Handler:
        """Call ``handler`` for every event of ``type_``; returns it."""
        self._handlers.setdefault(type_, []).append(handler)
        return handler

    def off(self, type_: str, handler: Handler) -> None:
        """Remove a handler (no error if it was not registered)."""
        with contextlib.suppress(KeyError, ValueError):
            self._handlers[type_].remove(handler)

    def publish(self, event: Any) -> None:
        """Resolve the waits for this event's type, then call its handlers and the ``"*"`` ones."""
        for type_, fut in self._waiters:
            if type_ == event.type and not fut.done():
                fut.set_result(event)
        for key in (event.type, "*"):
            for handler in list(self._handlers.get(key, ())):
                try:
                    result = handler(event)
                    if inspect.isawaitable(result):
                        self._spawn(result)
                except Exception as exc:
                    self._on_error("handler_failed", f"{getattr(handler, '__name__', handler)}: {exc}")

    async def wait(self, type_: str, timeout: float | None) -> Any:  # noqa: ASYNC109 - wait_for's timeout
        """The first event of ``type_`` published from now on.

        Raises:
            TimeoutError: none within ``timeout`` seconds.
            ConnectionError: :meth:`fail` was called while waiting.
        """
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        waiter = (type_, fut)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise TimeoutError(f"no {type_!r} event within {timeout} s") from None
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def fail(self, message: str) -> None:
        """The connection is gone: every pending wait raises ``ConnectionError(message)`` now."""
        for _type, fut in self._waiters:
            if not fut.done():
                fut.set_exception(ConnectionError(message))
