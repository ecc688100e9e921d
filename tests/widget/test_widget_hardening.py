"""Bad input to the widget is refused or logged with a reason; nothing is lost, nothing crashes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.server import ServerConnection, serve

from rtwidget.protocol import ValidationError
from rtwidget.widget import RealtimeWidget

SESSION = {"type": "session.created", "event_id": "e0", "session": {"type": "realtime", "id": "s"}}


@asynccontextmanager
async def scripted(frames: list[str], close_after: bool = False) -> AsyncIterator[str]:
    """A server on 127.0.0.1 that sends ``frames`` to each connection (then closes, if asked)."""

    async def handler(ws: ServerConnection) -> None:
        for frame in frames:
            await ws.send(frame)
        if close_after:
            await ws.close(1011, "server fell over")
            return
        async for _ in ws:
            pass

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"


@pytest.mark.parametrize("depth", [2_000, 100_000])
async def test_deeply_nested_frame_is_logged_as_bad(depth: int) -> None:
    """A frame nested too deeply to decode reaches the log flagged bad, and later frames still arrive."""
    deep = '{"type": "response.done", "event_id": "e1", "x": ' + "[" * depth + "]" * depth + "}"
    after = json.dumps({"type": "input_audio_buffer.cleared", "event_id": "e2"})
    async with scripted([json.dumps(SESSION), deep, after]) as url:
        w = RealtimeWidget(url=url)
        await w.connect()
        await w.wait_for("input_audio_buffer.cleared", timeout=10, since=0)
        await w.disconnect()
    server_rows = [w._log.rows[e.row] for e in w.events if e.direction == "server"]
    assert [r.type for r in server_rows][-1] == "input_audio_buffer.cleared"
    assert len(server_rows) == 3
    assert "x" in server_rows[1].flags or "w" in server_rows[1].flags


async def test_send_of_a_non_event_is_refused_clearly() -> None:
    """send_event([...]) is refused with a ValidationError naming what was given, and logged."""
    async with scripted([json.dumps(SESSION)]) as url:
        w = RealtimeWidget(url=url)
        await w.connect()
        with pytest.raises(ValidationError, match="not list"):
            await w.send_event(["response.create"])  # type: ignore[arg-type]
        await w.disconnect()
    assert any(e.type == "local.error" and "not list" in e.data["message"] for e in w.events)


async def test_nan_is_refused_before_sending() -> None:
    """A NaN in an event is refused with the field path; nothing reaches the wire."""
    async with scripted([json.dumps(SESSION)]) as url:
        w = RealtimeWidget(url=url)
        await w.connect()
        with pytest.raises(ValidationError, match=r"\$\.session\.audio\.output\.speed"):
            await w.update_session(audio={"output": {"speed": float("nan")}})
        await w.disconnect()
    assert not [e for e in w.events if e.direction == "client"]


async def test_drop_mid_response_marks_the_reply_interrupted() -> None:
    """A connection lost while a reply streams leaves it 'interrupted', not 'streaming'."""
    created = {
        "type": "response.created",
        "event_id": "e1",
        "response": {"id": "r1", "status": "in_progress"},
    }
    async with scripted([json.dumps(SESSION), json.dumps(created)], close_after=True) as url:
        w = RealtimeWidget(url=url)
        await w.connect()
        await w.wait_for("response.created", timeout=10, since=0)
        await w._reader  # the read loop ends with the close
    assert w.reply["status"] == "interrupted"
    assert w.close_code == 1011


async def test_view_message_with_a_bad_limit_is_logged_not_raised() -> None:
    """A view message whose ``limit`` is not a number is refused with a local error (view input is input)."""
    w = RealtimeWidget(url="ws://127.0.0.1:9/v1/realtime")
    w._handle_custom_msg({"type": "log.window", "view": "v", "limit": "lots"}, [])
    errors = [e.data["message"] for e in w.events if e.type == "local.error"]
    assert errors
    assert "limit" in errors[0]
