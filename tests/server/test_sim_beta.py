"""Beta dialect: the official client's `beta.realtime.connect` gets beta names and beta shapes."""

from __future__ import annotations

import json
import typing
from typing import Any

import pydantic
from openai import AsyncOpenAI
from openai.types.beta.realtime import realtime_server_event

from rtwidget.server import Simulator


def _beta_classes() -> dict[str, type[pydantic.BaseModel]]:
    union = typing.get_args(realtime_server_event.RealtimeServerEvent)[0]
    classes = {}
    for cls in typing.get_args(union):
        (wire_type,) = typing.get_args(cls.model_fields["type"].annotation)
        classes[wire_type] = cls
    return classes


BETA_CLASSES = _beta_classes()


def _extras(model: Any, path: str = "$") -> list[str]:
    """Fields the beta types do not model (GA shapes leaking into beta would show up here)."""
    found = []
    if isinstance(model, pydantic.BaseModel):
        found += [f"{path}.{k}" for k in (model.model_extra or {})]
        for name in type(model).model_fields:
            found += _extras(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, list):
        for i, v in enumerate(model):
            found += _extras(v, f"{path}[{i}]")
    return found


def _check_beta(event: dict[str, Any]) -> list[str]:
    cls = BETA_CLASSES.get(event["type"])
    if cls is None:
        return [f"{event['type']} is not a beta server event"]
    try:
        model = cls.model_validate(event)
    except pydantic.ValidationError as exc:
        return [f"{event['type']}: {exc}"]
    # Fields the live beta server sent beyond what the SDK types model.
    known_extras = {"$.session.object", "$.session.expires_at", "$.session.include"}
    return [f"{event['type']}: extra {x}" for x in _extras(model) if x not in known_extras]


async def _until(conn: Any, final: str, log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    got = []
    while True:
        event = json.loads(await conn.recv_bytes())
        got.append(event)
        log.append(event)
        if event["type"] == final:
            return got


async def test_beta_text_and_audio_turns_validate_against_beta_types(sim: Simulator):
    """Beta client: session + conversation created, beta event names, every event a valid beta type."""
    log: list[dict[str, Any]] = []
    client = AsyncOpenAI(api_key="x", websocket_base_url=sim.base_url)
    async with client.beta.realtime.connect(model="gpt-4o-realtime-preview") as conn:
        first = await _until(conn, "conversation.created", log)
        assert [e["type"] for e in first] == ["session.created", "conversation.created"]
        await conn.session.update(session={"modalities": ["text"], "temperature": 0.6})
        await _until(conn, "session.updated", log)
        await conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi!"}]}
        )
        await conn.response.create()
        text_turn = await _until(conn, "response.done", log)
        await conn.response.create(response={"modalities": ["audio", "text"]})
        audio_turn = await _until(conn, "response.done", log)
    assert "response.text.delta" in {e["type"] for e in text_turn}
    assert {"response.audio.delta", "response.audio_transcript.delta"} <= {e["type"] for e in audio_turn}
    assert not {e["type"] for e in log} & {"conversation.item.added", "response.output_text.delta"}
    assert text_turn[-1]["response"]["output"][0]["content"][0]["type"] == "text"
    assert [p for e in log for p in _check_beta(e)] == []


async def test_beta_vad_turn_with_transcription_validates(sim: Simulator):
    """Beta client: speech under server VAD with input transcription; every event a valid beta type."""
    import base64

    from rtwidget.server.voice import synthesize

    log: list[dict[str, Any]] = []
    speech = bytes(24000) + synthesize("Hello who are you", "alloy").pcm + bytes(48000)
    client = AsyncOpenAI(api_key="x", websocket_base_url=sim.base_url)
    async with client.beta.realtime.connect(model="gpt-4o-realtime-preview") as conn:
        await _until(conn, "conversation.created", log)
        await conn.session.update(
            session={"input_audio_transcription": {"model": "whisper-1"}, "output_audio_format": "g711_ulaw"}
        )
        updated = (await _until(conn, "session.updated", log))[-1]["session"]
        assert updated["output_audio_format"] == "g711_ulaw"
        for i in range(0, len(speech), 4800):
            await conn.input_audio_buffer.append(audio=base64.b64encode(speech[i : i + 4800]).decode())
        events = await _until(conn, "response.done", log)
    types = [e["type"] for e in events]
    assert "conversation.item.input_audio_transcription.completed" in types
    assert types.index("input_audio_buffer.committed") < types.index("conversation.item.created")
    assert [p for e in log for p in _check_beta(e)] == []
