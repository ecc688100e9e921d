"""The official `openai` client against the simulator: text, audio and tool turns, schema-valid events."""

from __future__ import annotations

import base64
import json
from typing import Any

from openai import AsyncOpenAI
from sim_testing import expected_speech, schema_errors

from rtwidget.server import Simulator, serve
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


async def _until(conn: Any, final: str, log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Receive raw events until `final` arrives; every event is also parsed by the SDK."""
    got: list[dict[str, Any]] = []
    while True:
        raw = await conn.recv_bytes()
        event = json.loads(raw)
        assert conn.parse_event(raw).type == event["type"]
        got.append(event)
        log.append(event)
        if event["type"] == final:
            return got


def _client(sim: Simulator) -> AsyncOpenAI:
    return AsyncOpenAI(api_key="x", websocket_base_url=sim.base_url)


async def test_text_turn_with_official_client(sim: Simulator):
    """The official client completes a text turn; every server event validates against the GA schemas."""
    log: list[dict[str, Any]] = []
    async with _client(sim).realtime.connect(model="gpt-realtime") as conn:
        assert (await _until(conn, "session.created", log))[0]["type"] == "session.created"
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await _until(conn, "session.updated", log)
        await conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello!"}]}
        )
        await conn.response.create()
        events = await _until(conn, "response.done", log)
        await _until(conn, "rate_limits.updated", log)
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == text
    assert [err for e in log for err in schema_errors(e)] == []


async def test_audio_turn_with_official_client(sim: Simulator):
    """The official client gets interleaved audio and transcript deltas; the events are schema-valid."""
    log: list[dict[str, Any]] = []
    async with _client(sim).realtime.connect(model="gpt-realtime") as conn:
        await _until(conn, "session.created", log)
        await conn.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Hello, who are you?"}],
            }
        )
        await conn.response.create()
        events = await _until(conn, "response.done", log)
    audio = b"".join(
        base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    )
    transcript = next(e for e in events if e["type"] == "response.output_audio_transcript.done")["transcript"]
    assert len(audio) > 48000  # more than a second of 24 kHz PCM16
    assert audio == expected_speech(transcript)
    assert events[-1]["response"]["usage"]["output_token_details"]["audio_tokens"] > 0
    assert [err for e in log for err in schema_errors(e)] == []


async def test_audio_in_server_vad_with_official_client(sim: Simulator):
    """Appended speech under server VAD yields a committed user item, transcription and a response."""
    log: list[dict[str, Any]] = []
    speech = bytes(24000) + synthesize("Hello my name is Ada", "alloy").pcm + bytes(48000)
    async with _client(sim).realtime.connect(model="gpt-realtime") as conn:
        await _until(conn, "session.created", log)
        await conn.session.update(
            session={"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}}}}
        )
        await _until(conn, "session.updated", log)
        for i in range(0, len(speech), 4800):
            await conn.input_audio_buffer.append(audio=base64.b64encode(speech[i : i + 4800]).decode())
        events = await _until(conn, "response.done", log)
    types = [e["type"] for e in events]
    assert "input_audio_buffer.committed" in types
    assert "conversation.item.input_audio_transcription.completed" in types
    assert [err for e in log for err in schema_errors(e)] == []


async def test_tool_round_with_official_client(sim: Simulator):
    """The official client gets a get_weather call, returns its output and gets an answer using it."""
    log: list[dict[str, Any]] = []
    async with _client(sim).realtime.connect(model="gpt-realtime") as conn:
        await _until(conn, "session.created", log)
        await conn.session.update(
            session={"type": "realtime", "output_modalities": ["text"], "tools": [WEATHER_TOOL]}
        )
        await _until(conn, "session.updated", log)
        await conn.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "What is the weather in London?"}],
            }
        )
        await conn.response.create()
        first = await _until(conn, "response.done", log)
        call = next(e for e in first if e["type"] == "response.function_call_arguments.done")
        assert call["name"] == "get_weather"
        assert isinstance(json.loads(call["arguments"])["city"], str)
        await conn.conversation.item.create(
            item={
                "type": "function_call_output",
                "call_id": call["call_id"],
                "output": "Foggy and 12 degrees.",
            }
        )
        await conn.response.create()
        second = await _until(conn, "response.done", log)
    answer = next(e for e in second if e["type"] == "response.output_text.done")["text"]
    assert "12" in answer
    assert [err for e in log for err in schema_errors(e)] == []


async def test_azure_clients_reach_the_azure_paths():
    """AzureOpenAI (preview path, api-key header) and OpenAI on /openai/v1 (Azure GA) both connect."""
    from openai import AsyncAzureOpenAI

    async with serve(speed=50.0, require_key="az-key") as sim:
        base = f"127.0.0.1:{sim.port}"
        azure = AsyncAzureOpenAI(
            azure_endpoint=f"http://{base}",
            api_key="az-key",
            api_version="2025-04-01-preview",
            websocket_base_url=f"ws://{base}/openai",
        )
        async with azure.realtime.connect(model="my-deployment") as conn:
            first = json.loads(await conn.recv_bytes())
        assert (first["type"], first["session"]["model"]) == ("session.created", "my-deployment")
        ga = AsyncOpenAI(api_key="az-key", websocket_base_url=f"ws://{base}/openai/v1")
        async with ga.realtime.connect(model="my-deployment") as conn:
            first = json.loads(await conn.recv_bytes())
        assert (first["type"], first["session"]["model"]) == ("session.created", "my-deployment")
