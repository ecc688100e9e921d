"""Bad input to the widget is refused or logged with a reason; nothing is lost, nothing crashes."""

from __future__ import annotations

import asyncio
import base64
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


def _audio_turn(n: int) -> list[str]:
    """A response whose item ``a<n>`` carries 1 s of audio in ten 100 ms deltas of the byte ``n``."""
    item, response = f"a{n}", f"r{n}"
    added = {"id": item, "type": "message", "role": "assistant", "content": []}
    delta = base64.b64encode(bytes([n]) * 4800).decode()
    where = {"response_id": response, "item_id": item, "output_index": 0, "content_index": 0}
    frames = [
        {
            "type": "response.created",
            "event_id": f"c{n}",
            "response": {"id": response, "status": "in_progress"},
        },
        {"type": "conversation.item.added", "event_id": f"i{n}", "item": added},
    ]
    frames += [
        {"type": "response.output_audio.delta", "event_id": f"d{n}_{k}", **where, "delta": delta}
        for k in range(10)
    ]
    frames.append(
        {"type": "response.done", "event_id": f"x{n}", "response": {"id": response, "status": "completed"}}
    )
    return [json.dumps(f) for f in frames]


async def test_keep_audio_s_caps_held_audio_and_the_log_says_so() -> None:
    """Past keep_audio_s the oldest items' audio is dropped; their rows keep sizes and say it is gone."""
    frames = [json.dumps(SESSION)] + [f for n in range(1, 4) for f in _audio_turn(n)]
    async with scripted(frames) as url:
        w = RealtimeWidget(url=url, keep_audio_s=2.5)
        all_done = asyncio.Event()
        w.on("response.done", lambda ev: ev.response.id == "r3" and all_done.set())
        await w.connect()
        await asyncio.wait_for(all_done.wait(), 10)
        await w.disconnect()
    items = {item.id: item for item in w.items}
    assert items["a1"].audio is None  # the oldest second was dropped
    assert items["a3"].audio is not None
    assert w.conversation.audio_dropped_ms == pytest.approx(1000)
    deltas = [e for e in w.events if e.type == "response.output_audio.delta"]
    assert len(deltas) == 30
    assert "no longer held" in deltas[0].data["delta"]
    assert base64.b64decode(deltas[-1].data["delta"]) == bytes([3]) * 4800
    assert w._log.rows[deltas[0].row].nbytes == 48_000
    (dropped,) = [e.data for e in w.events if e.type == "local.audio_dropped"]
    assert (dropped["item_id"], dropped["audio_ms"], dropped["bytes"]) == ("a1", 1000, 48_000)
    assert (dropped["keep_audio_s"], dropped["dropped_ms_total"]) == (2.5, 1000)


async def test_wait_for_raises_at_once_when_the_server_closes() -> None:
    """A wait_for pending when the server closes with 3000 raises ConnectionError with code and reason."""
    refusal = {
        "type": "error",
        "event_id": "e1",
        "error": {"type": "invalid_request_error", "code": "invalid_api_key"},
    }

    async def handler(ws: ServerConnection) -> None:
        await ws.send(json.dumps(refusal))
        await ws.close(3000, "invalid_request_error.invalid_api_key")

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        w = RealtimeWidget(url=f"ws://127.0.0.1:{port}/v1/realtime")
        await w.connect()
        with pytest.raises(ConnectionError, match=r"3000 invalid_request_error\.invalid_api_key") as caught:
            await asyncio.wait_for(w.wait_for("session.created", timeout=30), 5)
    assert "API key" in str(caught.value)
    assert (w.status, w.close_code) == ("failed", 3000)
    with pytest.raises(ConnectionError, match="3000"):
        await w.wait_for("response.done", timeout=30)  # already closed: raises without waiting


async def test_unreachable_server_is_a_failed_state_with_a_hint() -> None:
    """Connecting to a port nobody listens on leaves status 'failed' with a hint about the address."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    w = RealtimeWidget(url=f"ws://127.0.0.1:{port}/v1/realtime")
    with pytest.raises(ConnectionError):
        await w.connect()
    assert w.status == "failed"
    assert "check the URL" in w.close_hint  # not the generic hint: the refusal was recognised


async def test_a_model_on_the_shutdown_list_is_noted() -> None:
    """Connecting with gpt-realtime (shutting down 2027-01-20) notes it in a trait and the log."""
    async with scripted([json.dumps(SESSION)]) as url:
        w = RealtimeWidget(url=url, model="gpt-realtime")
        await w.connect()
        await w.disconnect()
    assert "2027-01-20" in w.model_notice
    assert any(e.type == "local.notice" for e in w.events)
    current = RealtimeWidget(url=url)
    assert current.model == "gpt-realtime-2"
    assert current.model_notice == ""


async def test_logged_audio_survives_the_items_deletion() -> None:
    """After conversation.item.deleted, the item's logged audio frames still rebuild byte for byte."""
    deleted = {"type": "conversation.item.deleted", "event_id": "del", "item_id": "a1"}
    frames = [json.dumps(SESSION), *_audio_turn(1), json.dumps(deleted)]
    async with scripted(frames) as url:
        w = RealtimeWidget(url=url)
        await w.connect()
        await w.wait_for("conversation.item.deleted", timeout=10, since=0)
        await w.disconnect()
    assert "a1" not in w.conversation
    deltas = [e for e in w.events if e.type == "response.output_audio.delta"]
    assert len(deltas) == 10
    assert all(base64.b64decode(e.data["delta"]) == bytes([1]) * 4800 for e in deltas)


async def test_beta_events_found_in_the_log_parse_as_beta() -> None:
    """In a beta session, wait_for over already-logged frames gives beta events with no dialect problem."""
    delta = {"type": "response.text.delta", "event_id": "d1", "response_id": "r", "item_id": "i",
             "output_index": 0, "content_index": 0, "delta": "hi"}  # fmt: skip
    async with scripted([json.dumps(SESSION), json.dumps(delta)]) as url:
        w = RealtimeWidget(url=url, dialect="beta")
        await w.connect()
        await w.wait_for("response.text.delta", timeout=10, since=0)
        again = await w.wait_for("response.text.delta", timeout=10, since=0)  # from the log
        await w.disconnect()
    assert again.delta == "hi"
    assert again.problems == ()
