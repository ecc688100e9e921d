"""RealtimeWidget regressions found in the browser, reproduced on the Python side."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from rtwidget.widget import RealtimeWidget

FAST = 50.0  # simulator pace: 50x real time keeps a spoken reply well under a second


class Subshell:
    """A thread with its own running asyncio loop, as ipykernel runs each kernel subshell."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="subshell-test")
        self.thread.start()

    def deliver(self, widget: RealtimeWidget, content: dict[str, Any]) -> None:
        """Deliver a view message on the subshell's loop (how JupyterLab's comms over subshells arrive)."""

        async def handle() -> None:
            widget._handle_custom_msg(content, [])

        asyncio.run_coroutine_threadsafe(handle(), self.loop).result(timeout=10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def subshell() -> Iterator[Subshell]:
    shell = Subshell()
    yield shell
    shell.stop()


def loop_of(widget: RealtimeWidget, event_type: str) -> concurrent.futures.Future[Any]:
    """A thread-safe future resolved with the loop that handled the first `event_type` event."""
    seen: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def handler(_event: Any) -> None:
        if not seen.done():
            seen.set_result(asyncio.get_running_loop())

    widget.on(event_type, handler)
    return seen


async def test_connect_clicked_over_a_subshell_runs_on_the_kernel_loop(subshell: Subshell) -> None:
    """A `connect` view message handled on a subshell thread connects on the kernel loop."""
    w = RealtimeWidget(simulator_speed=FAST)
    w.comm.send = lambda *_a, **_k: None
    created = loop_of(w, "session.created")
    subshell.deliver(w, {"type": "connect"})
    handled_on = await asyncio.wait_for(asyncio.wrap_future(created), 10)
    try:
        assert handled_on is asyncio.get_running_loop()
    finally:
        await w.disconnect()


async def test_turn_clicked_over_a_subshell_is_sent_from_the_kernel_loop(subshell: Subshell) -> None:
    """A `send_text` view message from a subshell thread is sent from the kernel loop."""
    w = RealtimeWidget(simulator_speed=FAST)
    w.comm.send = lambda *_a, **_k: None
    await w.connect()
    sent_on: list[Any] = []
    w._conn.on_frame(
        lambda direction, *_: direction == "client" and sent_on.append(asyncio.get_running_loop())
    )
    done = loop_of(w, "response.done")
    try:
        subshell.deliver(w, {"type": "send_text", "text": "Hello!", "respond": True})
        await asyncio.wait_for(asyncio.wrap_future(done), 10)
        assert sent_on == [asyncio.get_running_loop()] * 2
    finally:
        await w.disconnect()


async def test_closing_the_widget_closes_its_connection() -> None:
    """Closing the widget (its comm) also disconnects, on the kernel loop."""
    w = RealtimeWidget(simulator_speed=FAST)
    await w.connect()
    assert w.connected
    closed = asyncio.Event()
    w.observe(lambda _change: closed.set() if not w.connected else None, names=["status"])
    w.close()
    async with asyncio.timeout(10):
        await closed.wait()
    assert not w.connected
