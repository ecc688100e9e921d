"""Client frames no JSON reader should take get an `error` event, and the session goes on (real sockets)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sim_testing import Driver
from websockets.asyncio.client import ClientConnection, connect

from rtwidget.server import Simulator


def _item_frame(text_json: str) -> str:
    """A user message create whose one input_text's `text` is `text_json` (raw JSON text, not escaped)."""
    return (
        '{"type":"conversation.item.create","item":{"type":"message","role":"user",'
        '"content":[{"type":"input_text","text":' + text_json + "}]}}"
    )


# name -> (frame, a word the error message must contain)
BAD_FRAMES = {
    # Python's int() refuses strings of more than 4300 digits (ValueError, not JSONDecodeError).
    "5000-digit integer": (
        '{"type":"session.update","session":{"type":"realtime","max_output_tokens":' + "9" * 5000 + "}}",
        "digits",
    ),
    "100k deep array": ("[" * 100_000 + "]" * 100_000, "nest"),
    "2k deep inside an event": (_item_frame("[" * 2000 + '"x"' + "]" * 2000), "nest"),
    "lone surrogate in a text": (_item_frame('"\\ud800"'), "surrogate"),
    "lone surrogate as the type": ('{"type":"\\udfff"}', "surrogate"),
    "lone surrogate as a key": (
        '{"type":"response.create","response":{"metadata":{"\\ud83d":"x"}}}',
        "surrogate",
    ),
}


async def _recv_json(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await ws.recv())


@pytest.mark.parametrize("name", list(BAD_FRAMES))
async def test_bad_frame_answered_with_error_and_session_goes_on(sim: Simulator, name: str):
    """The frame gets invalid_request_error/invalid_json naming the problem; a later session.update works."""
    frame, word = BAD_FRAMES[name]
    async with connect(f"{sim.url}?model=gpt-realtime") as ws:
        assert (await _recv_json(ws))["type"] == "session.created"
        await ws.send(frame)
        error = await _recv_json(ws)
        assert error["type"] == "error", error
        assert error["error"]["type"] == "invalid_request_error"
        assert error["error"]["code"] == "invalid_json"
        assert error["error"]["event_id"] is None
        assert word in error["error"]["message"]
        await ws.send(
            json.dumps({"type": "session.update", "session": {"type": "realtime", "instructions": "ok"}})
        )
        updated = await _recv_json(ws)
        assert updated["type"] == "session.updated"
        assert updated["session"]["instructions"] == "ok"


async def test_response_after_bad_frames_completes(sim: Simulator):
    """After every bad frame in a row, a text response still runs to `response.done` completed."""
    async with connect(f"{sim.url}?model=gpt-realtime") as ws:
        await _recv_json(ws)
        for frame, _ in BAD_FRAMES.values():
            await ws.send(frame)
        codes = [(await _recv_json(ws))["error"]["code"] for _ in BAD_FRAMES]
        assert codes == ["invalid_json"] * len(BAD_FRAMES)
        await ws.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
        while (event := await _recv_json(ws))["type"] != "response.done":
            assert event["type"] != "error", event
        assert event["response"]["status"] == "completed"


def test_valid_surrogate_pair_is_kept():
    """An escaped surrogate pair is one character (U+1F600), not a lone surrogate: the item keeps it."""
    out = Driver().send(_item_frame('"\\ud83d\\ude00"'))
    assert [e["type"] for e in out] == ["conversation.item.added", "conversation.item.done"]
    assert out[0]["item"]["content"][0]["text"] == "\U0001f600"


def test_nesting_of_a_real_tool_schema_is_accepted():
    """Tool parameters nested 40 levels deep are nowhere near the limit."""
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(40):
        schema = {"type": "object", "properties": {"a": schema}}
    tool = {"type": "function", "name": "deep", "description": "", "parameters": schema}
    out = Driver().send({"type": "session.update", "session": {"type": "realtime", "tools": [tool]}})
    assert [e["type"] for e in out] == ["session.updated"]


def test_failure_while_reading_a_frame_is_a_server_error(monkeypatch: pytest.MonkeyPatch):
    """A simulator bug while validating a frame is answered with server_error; the next frame is served."""

    def broken(event: Any, dialect: str) -> None:
        raise RecursionError("simulated")

    d = Driver()
    with monkeypatch.context() as patch:
        patch.setattr("rtwidget.server.dialect.validate_client", broken)
        (error,) = d.send({"type": "session.update", "session": {"type": "realtime"}})
    assert (error["type"], error["error"]["type"]) == ("error", "server_error")
    assert [e["type"] for e in d.send({"type": "session.update", "session": {"type": "realtime"}})] == [
        "session.updated"
    ]
