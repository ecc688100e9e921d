"""A widget's connection ends with what shows it: a cancelled connect, a closed widget, a view gone for good,
a server that never starts a session. Real sockets on 127.0.0.1; servers written here."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from rtwidget.server import serve as serve_simulator
from rtwidget.widget import RealtimeWidget, lifecycle
from rtwidget.widget.turns import QUEUED_NOTICE

SESSION = {"type": "session.created", "event_id": "e0", "session": {"type": "realtime", "id": "s"}}


class Server:
    """A WebSocket server on 127.0.0.1 that counts connections opened and closed."""

    def __init__(self) -> None:
        self.opened = 0
        self.closed = 0
        self.url = ""
        self.changed = asyncio.Event()

    async def until(self, closed: int, limit_s: float = 10.0) -> None:
        async with asyncio.timeout(limit_s):
            while self.closed < closed:
                self.changed.clear()
                await self.changed.wait()


@asynccontextmanager
async def server(*, send_session: bool = True, handshake_delay_s: float = 0.0) -> AsyncIterator[Server]:
    """``send_session`` False: a server that takes the WebSocket and says nothing; a handshake delay keeps a
    connect pending."""
    state = Server()

    async def process_request(_conn: ServerConnection, _request: Any) -> None:
        await asyncio.sleep(handshake_delay_s)

    async def handler(ws: ServerConnection) -> None:
        state.opened += 1
        try:
            if send_session:
                await ws.send(json.dumps(SESSION))
            async for _ in ws:
                pass
        finally:
            state.closed += 1
            state.changed.set()

    async with serve(handler, "127.0.0.1", 0, process_request=process_request) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        state.url = f"ws://127.0.0.1:{port}/v1/realtime"
        yield state


@pytest.mark.parametrize("how", ["disconnect", "close"])
async def test_a_pending_connect_is_called_off(how: str) -> None:
    """disconnect() or close() while the handshake is under way: the connect ends, nothing opens."""
    async with server(handshake_delay_s=0.5) as srv:
        w = RealtimeWidget(url=srv.url)
        connecting = asyncio.ensure_future(w.connect())
        await asyncio.sleep(0.05)
        assert w.status == "connecting"
        if how == "disconnect":
            await w.disconnect()
        else:
            w.close()
        with pytest.raises(ConnectionError, match="cancelled"):
            await connecting
        await asyncio.sleep(0.7)  # past the server's handshake delay: a connection would have opened by now
        assert (w.status, srv.opened, w.connected) == ("closed", 0, False)
        assert [e.type for e in w.events if e.direction == "local"][-1] == "local.closed"


async def test_close_during_connect_stops_the_embedded_simulator() -> None:
    """close() right after Connect on the embedded simulator leaves no simulator or connection behind."""
    w = RealtimeWidget(simulator_speed=50)
    connecting = asyncio.ensure_future(w.connect())
    await asyncio.sleep(0)
    w.close()
    with pytest.raises(ConnectionError):
        await connecting
    await asyncio.sleep(0.05)
    assert w.status == "closed"
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert not [t for t in tasks if "rtwidget" in repr(t.get_coro())], tasks


async def test_a_server_that_never_starts_a_session_fails_the_console(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No session.created after the open: a clear error, status failed with the hint, the socket closed."""
    monkeypatch.setattr(lifecycle, "SESSION_CREATED_TIMEOUT_S", 0.2)
    async with server(send_session=False) as srv:
        w = RealtimeWidget(url=srv.url)
        await w.connect()
        await srv.until(closed=1)
        await asyncio.sleep(0.05)
        assert w.status == "failed"
        assert w.close_hint == lifecycle.NO_SESSION_HINT
        assert any(e["code"] == "no_session" for e in w.errors)
        with pytest.raises(ConnectionError, match="started no session"):
            await w.wait_for("session.created", timeout=5)


async def test_session_created_in_time_keeps_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The timer stops at session.created: the connection outlives the timeout."""
    monkeypatch.setattr(lifecycle, "SESSION_CREATED_TIMEOUT_S", 0.1)
    async with server() as srv:
        w = RealtimeWidget(url=srv.url)
        await w.connect()
        await w.wait_for("session.created", timeout=5, since=0)
        await asyncio.sleep(0.3)
        assert (w.status, srv.closed) == ("open", 0)
        await w.disconnect()
        assert w.status == "closed"


def view(w: RealtimeWidget, content: dict[str, Any]) -> None:
    """A message from a view, delivered the way ipywidgets does."""
    w._handle_custom_msg(content, [])


async def test_the_last_view_leaving_closes_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-run cell removes the view ("bye"): once no view is left for the grace period, the widget closes
    its connection and says why in the log; a view that comes back in time keeps it."""
    monkeypatch.setattr(lifecycle, "VIEWLESS_CLOSE_S", 0.2)
    async with server() as srv:
        w = RealtimeWidget(url=srv.url)
        await w.connect()
        view(w, {"type": "ready", "view": "v1", "seq": 1, "limit": 10})
        view(w, {"type": "ready", "view": "v2", "seq": 2, "limit": 10})
        view(w, {"type": "bye", "view": "v1", "req": 1})
        await asyncio.sleep(0.3)
        assert w.status == "open"  # v2 still shows it
        view(w, {"type": "bye", "view": "v2", "req": 2})
        view(w, {"type": "ready", "view": "v3", "seq": 3, "limit": 10})  # a reload brings a view back in time
        await asyncio.sleep(0.3)
        assert w.status == "open"
        view(w, {"type": "bye", "view": "v3", "req": 3})
        await srv.until(closed=1)
        await asyncio.sleep(0.05)
        assert (w.status, w.close_hint) == ("closed", "")
        assert "local.no_view" in [e.type for e in w.events]


async def test_close_without_view_false_keeps_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """close_without_view=False: the connection outlives its views."""
    monkeypatch.setattr(lifecycle, "VIEWLESS_CLOSE_S", 0.05)
    async with serve_simulator(port=0, speed=50) as sim:
        w = RealtimeWidget(url=sim.url, close_without_view=False)
        await w.connect()
        view(w, {"type": "ready", "view": "v1", "seq": 1, "limit": 10})
        view(w, {"type": "bye", "view": "v1", "req": 1})
        await asyncio.sleep(0.2)
        assert w.status == "open"
        await w.disconnect()


async def test_log_time_runs_on_across_a_reconnect() -> None:
    """One clock for the whole log: the second connection's rows are later than the first's."""
    async with server() as srv:
        w = RealtimeWidget(url=srv.url)
        await w.connect()
        await w.disconnect()
        await asyncio.sleep(0.05)
        await w.connect()
        await w.wait_for("session.created", timeout=5)
        await w.disconnect()
    times = [w._log.rows[e.row].time for e in w.events]
    assert times == sorted(times)
    assert [e.type for e in w.events].count("local.connecting") == 2


async def test_a_message_sent_during_a_reply_gets_its_own_reply_after_it() -> None:
    """send_text while a response streams: its response.create waits for response.done (the server would
    refuse it), the console says so, and then the second reply comes; no error."""
    w = RealtimeWidget(simulator_speed=3)
    await w.connect()
    try:
        await w.send_text("Tell me a long story about the sea, with many details.")
        await w.wait_for("response.created", timeout=10)
        await w.send_text("And then?")
        assert w.talk_notice == QUEUED_NOTICE
        assert [e.type for e in w.events if e.direction == "client"].count("response.create") == 1
        await w.wait_for("response.done", timeout=30)
        second = await w.wait_for("response.done", timeout=30)
        assert second.response.status == "completed"
        assert w.talk_notice == ""
        assert w.error_count == 0, w.errors
        types = [e.type for e in w.events]
        assert types.count("response.create") == 2
        assert "local.queued" in types
    finally:
        await w.disconnect()


async def test_stop_cancels_a_waiting_reply_too() -> None:
    """Stop while a reply waits: the current response is cancelled and the waiting one is not asked for."""
    w = RealtimeWidget(simulator_speed=3)
    await w.connect()
    try:
        await w.send_text("Tell me a long story about the sea, with many details.")
        await w.wait_for("response.created", timeout=10)
        await w.send_text("And then?")
        await w.stop()
        await w.wait_for("response.done", timeout=10, since=0)
        await asyncio.sleep(0.2)
        assert [e.type for e in w.events if e.direction == "client"].count("response.create") == 1
        assert w.talk_notice == ""
    finally:
        await w.disconnect()
