"""The kernel's asyncio loop, as one widget uses it: where its connection lives, and how work gets there.

A notebook cell runs on the kernel's loop, and so do the widget's connection, embedded simulator, tasks and
timers. Comm messages may arrive on another thread: JupyterLab sends them over a kernel subshell (its
``commsOverSubshells`` setting defaults to "perCommTarget"), so ipykernel calls the handler on the
subshell's thread and loop. asyncio objects are not thread-safe (a task spawned there drove the kernel
loop's socket from the wrong thread, and a ``response.create`` went unanswered until something else woke
the kernel loop), so such work is handed to the kernel loop. No nested loop, no patched loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

__all__ = ["KernelLoop", "awaited", "closing", "reported", "running_loop"]

ErrorSink = Callable[[str, str], None]
"""``sink(code, message)``: where a failed action is reported (the widget's log)."""


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class KernelLoop:
    """The loop one widget lives on, its running tasks, and the hand-off to it from other threads."""

    def __init__(self, on_error: ErrorSink) -> None:
        """Adopt the loop running here (a cell creating the widget runs on the kernel loop), if any."""
        self.loop = running_loop()
        self.tasks: set[asyncio.Task[Any]] = set()
        self._on_error = on_error

    def adopt(self) -> asyncio.AbstractEventLoop | None:
        """The widget's loop, adopting the one running here when it has none yet."""
        if self.loop is None:
            self.loop = running_loop()
        return self.loop

    def hand_off(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Call ``fn(*args)`` on the widget's loop if this thread runs another one; True if handed off."""
        home = self.loop
        if home is not None and home.is_running() and running_loop() is not home:
            home.call_soon_threadsafe(fn, *args)
            return True
        return False

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a UI action as a task on the widget's loop (from this thread or another)."""
        here = running_loop()
        home = self.loop
        if here is not home and home is not None and home.is_running():
            asyncio.run_coroutine_threadsafe(self._run_action(coro), home)
            return
        if here is None:
            coro.close()
            self._on_error("no_event_loop", "no running asyncio loop to run this action on")
            return
        self.loop = here
        task = here.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    async def _run_action(self, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            await coro
        except Exception as exc:
            if not getattr(exc, "_rtwidget_reported", False):
                self._on_error("action_failed", f"{type(exc).__name__}: {exc}")

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        exc = None if task.cancelled() else task.exception()
        if exc is not None and not getattr(exc, "_rtwidget_reported", False):
            self._on_error("action_failed", f"{type(exc).__name__}: {exc}")


@contextlib.asynccontextmanager
async def closing(conn: Any) -> AsyncIterator[Any]:
    """Close ``conn`` on the way out, quietly."""
    try:
        yield conn
    finally:
        with contextlib.suppress(Exception):
            await conn.close()


def reported(exc: BaseException) -> BaseException:
    """Mark an exception already shown in the log, so a UI task that ends with it is not logged twice."""
    exc._rtwidget_reported = True  # type: ignore[attr-defined]
    return exc


async def awaited(result: Awaitable[Any]) -> Any:
    """Await an awaitable (a handler's result) as a coroutine, so it can be spawned."""
    return await result
