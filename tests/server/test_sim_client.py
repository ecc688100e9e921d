"""Scripted scenarios: our client (rtwidget.client) and the simulator over a real loopback socket."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from sim_testing import expected_speech, load_corpus, shape

from rtwidget.client import Connection, FrameError, PermanentError, connect
from rtwidget.protocol import UnknownEvent
from rtwidget.server import Faults, Simulator, serve
from rtwidget.server.faults import UNKNOWN_EVENT_TYPE
from rtwidget.server.voice import synthesize

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Look up the weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


def _user(text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
    }


async def _until(conn: Connection, final: str) -> list[Any]:
    """Typed events up to `final`; none may be an unparsed or unknown event."""
    got = []
    while True:
        event = await conn.recv()
        assert not isinstance(event, UnknownEvent), event.to_dict()
        got.append(event)
        if event.type == final:
            return got


async def test_text_turn(sim: Simulator):
    """Text turn: typed events end in a completed response whose text equals the deltas."""
    async with connect(url=sim.url, model="gpt-realtime") as conn:
        await _until(conn, "session.created")
        await conn.send(
            {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}
        )
        await conn.send(_user("Hello, who are you?"))
        await conn.send({"type": "response.create"})
        events = await _until(conn, "response.done")
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text
    assert events[-1].to_dict()["response"]["output"][0]["content"][0]["text"] == text


async def test_audio_in_vad_audio_out(sim: Simulator):
    """Speech appended in chunks: VAD commits it, the reply audio arrives decoded and in order."""
    speech = bytes(24000) + synthesize("Hello what can you do", "alloy").pcm + bytes(48000)
    async with connect(url=sim.url, model="gpt-realtime") as conn:
        await _until(conn, "session.created")
        for i in range(0, len(speech), 4800):
            chunk = speech[i : i + 4800]
            await conn.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()})
        events = await _until(conn, "response.done")
    types = [e.type for e in events]
    assert types.index("input_audio_buffer.speech_started") < types.index("input_audio_buffer.committed")
    audio = b"".join(e.audio for e in events if e.type == "response.output_audio.delta")
    transcript = next(e for e in events if e.type == "response.output_audio_transcript.done").transcript
    assert audio == expected_speech(transcript)


async def test_tool_round(sim: Simulator):
    """Tool round: function_call, our output, an answer that uses it."""
    async with connect(url=sim.url, model="gpt-realtime") as conn:
        await _until(conn, "session.created")
        await conn.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "output_modalities": ["text"], "tools": [WEATHER_TOOL]},
            }
        )
        await conn.send(_user("What's the weather in Paris?"))
        await conn.send({"type": "response.create"})
        call = next(
            e
            for e in await _until(conn, "response.done")
            if e.type == "response.function_call_arguments.done"
        )
        assert json.loads(call.arguments)["city"]
        await conn.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call.call_id,
                    "output": "Sunny, 21 degrees",
                },
            }
        )
        await conn.send({"type": "response.create"})
        answer = next(e for e in await _until(conn, "response.done") if e.type == "response.output_text.done")
    assert "21" in answer.text


async def test_cancel_and_truncate(sim: Simulator):
    """Cancel an audio reply after its first delta, then truncate the item at what was received."""
    async with serve(speed=1.0) as slow, connect(url=slow.url, model="gpt-realtime") as conn:
        await _until(conn, "session.created")
        await conn.send(_user("Tell me a long story please."))
        await conn.send({"type": "response.create"})
        await _until(conn, "response.output_audio.delta")
        await conn.send({"type": "response.cancel"})
        events = await _until(conn, "response.done")
        done = events[-1].to_dict()["response"]
        assert done["status"] == "cancelled"
        item_id = done["output"][0]["id"]
        await conn.send(
            {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 50}
        )
        truncated = await _until(conn, "conversation.item.truncated")
    assert truncated[-1].audio_end_ms == 50


async def test_error_event_keeps_connection(sim: Simulator):
    """A raw unknown event gets an error event; the connection keeps working."""
    async with connect(url=sim.url, model="gpt-realtime") as conn:
        await _until(conn, "session.created")
        await conn.send_raw(json.dumps({"type": "nope"}))
        err = await _until(conn, "error")
        assert err[-1].error.code == "invalid_value"
        await conn.send({"type": "conversation.item.retrieve", "item_id": "item_missing"})
        assert (await _until(conn, "error"))[-1].error.code == "item_retrieve_invalid_item_id"


async def test_bad_key_is_permanent_error_3000():
    """With a required key, a wrong one ends in PermanentError with close code 3000."""
    async with (
        serve(require_key="sk-sim") as sim,
        connect(url=sim.url, model="gpt-realtime", api_key="sk-bad") as conn,
    ):
        assert (await conn.recv()).type == "error"
        with pytest.raises(PermanentError) as info:
            await conn.recv()
    assert info.value.close_code == 3000


async def test_beta_dialect_text_turn(sim: Simulator):
    """Our client in beta dialect gets beta-named typed events."""
    async with connect(url=sim.url, model="gpt-4o-realtime-preview", dialect="beta") as conn:
        await _until(conn, "conversation.created")
        await conn.send({"type": "session.update", "session": {"modalities": ["text"]}})
        await conn.send(_user("Hi"))
        await conn.send({"type": "response.create"})
        types = {e.type for e in await _until(conn, "response.done")}
    assert "response.text.delta" in types
    assert "conversation.item.created" in types


async def test_faults_seen_by_client():
    """Injected malformed and unknown frames: FrameError then UnknownEvent; a drop is a PermanentError."""
    faults = Faults(malformed_after=1, unknown_after=1, drop_after=2)
    async with serve(faults=faults) as sim, connect(url=sim.url, model="gpt-realtime") as conn:
        assert (await conn.recv()).type == "session.created"
        with pytest.raises(FrameError):
            await conn.recv()
        unknown = await conn.recv()
        assert isinstance(unknown, UnknownEvent)
        assert unknown.type == UNKNOWN_EVENT_TYPE
        await conn.send({"type": "input_audio_buffer.clear"})
        assert (await conn.recv()).type == "input_audio_buffer.cleared"
        with pytest.raises(PermanentError):
            await conn.recv()


async def test_concurrent_client_sessions(sim: Simulator):
    """Ten of our clients at once, each its own text turn."""

    async def one(i: int) -> str:
        async with connect(url=sim.url, model="gpt-realtime") as conn:
            await _until(conn, "session.created")
            await conn.send(
                {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}
            )
            await conn.send(_user(f"Hello number {i}"))
            await conn.send({"type": "response.create"})
            return (await _until(conn, "response.done"))[-1].to_dict()["response"]["status"]

    assert await asyncio.gather(*(one(i) for i in range(10))) == ["completed"] * 10


RECORDED_SCENARIOS = [
    "test_openai_ws__test_message_history_seeding.jsonl",
    "test_openai_ws__test_text_in_audio_out_turn.jsonl",
    "test_openai_ws__test_tool_call_round.jsonl",
    "test_azure_ws__test_message_history_seeding.jsonl",
    "test_azure_ws__test_text_in_audio_out_turn.jsonl",
    "test_azure_ws__test_tool_call_round.jsonl",
    "test_gateway_ws__test_gateway_openai_text_in_audio_out.jsonl",
]


@pytest.mark.parametrize("recording", RECORDED_SCENARIOS)
async def test_recorded_scenario_over_loopback(sim: Simulator, recording: str):
    """Our client replays a recorded session's client events; the server event order matches the recording."""
    records = load_corpus(recording)
    types: list[str] = []
    call_ids: dict[str, str] = {}
    async with connect(url=sim.url, model="gpt-realtime") as conn:
        types += [e.type for e in await _until(conn, "session.created")]
        for rec in records:
            if rec["dir"] == "server" and rec["event"]["type"] == "response.function_call_arguments.done":
                call_ids.setdefault("recorded", rec["event"]["call_id"])
            if rec["dir"] != "client":
                continue
            event = rec["event"]
            if "recorded" in call_ids and event.get("item", {}).get("call_id") == call_ids["recorded"]:
                event = {**event, "item": {**event["item"], "call_id": call_ids["ours"]}}
            await conn.send(event)
            final = {"session.update": "session.updated", "response.create": "response.done"}.get(
                event["type"]
            )
            if event["type"] == "conversation.item.create":
                final = "conversation.item.done"
            got = await _until(conn, final) if final else []
            types += [e.type for e in got]
            calls = [e for e in got if e.type == "response.function_call_arguments.done"]
            if calls:
                call_ids["ours"] = calls[0].call_id
    recorded = [r["event"]["type"] for r in records if r["dir"] == "server"]
    assert shape(types) == shape(recorded)
