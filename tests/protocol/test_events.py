"""Every event type of both dialects: parses, round-trips, and (client events) validates officially.

GA events are built from the official JSON schemas (tests/data/realtime-events.schema.json) and checked
against them; beta client events are checked against the official ``openai`` package's beta types.
"""

from __future__ import annotations

import json
import typing
from typing import Any

import msgspec
import pydantic
import pytest
from conftest import event_index, schema_errors, schema_sample
from openai.types.beta.realtime import realtime_client_event as openai_beta_client
from openai.types.beta.realtime import realtime_server_event as openai_beta_server
from openai.types.realtime import realtime_client_event as openai_ga_client
from openai.types.realtime import realtime_server_event as openai_ga_server

from rtwidget.protocol import (
    UnknownEvent,
    beta,
    encode_event,
    ga,
    parse_client_event,
    parse_server_event,
    validate_client_event,
)
from rtwidget.protocol._base import event_class_name
from rtwidget.protocol._client_rules import first_unknown_field
from rtwidget.protocol.codec import BETA_TO_GA

GA_CLIENT_TYPES = sorted(event_index("ga_client"))
GA_SERVER_TYPES = sorted(event_index("ga_server"))
BRANCHES = range(10)  # enough to pick every branch of the widest union (9 item kinds)


def _openai_classes(union: Any) -> dict[str, type[pydantic.BaseModel]]:
    """Map wire type -> class for one of openai-python's event unions."""
    members = typing.get_args(union)
    if typing.get_origin(union) is typing.Annotated:
        members = typing.get_args(members[0])
    result = {}
    for member in members:
        cls = typing.get_args(member)[0] if typing.get_origin(member) is typing.Annotated else member
        result[typing.get_args(cls.model_fields["type"].annotation)[0]] = cls
    return result


def _realistic(event: dict[str, Any]) -> dict[str, Any]:
    """Replace schema-sample placeholders no server sends where the spec types a field loosely: audio
    that is not base64, free-string VAD types and audio formats, beta ``modalities`` without a type."""

    def fix(node: Any, key: str = "") -> Any:
        if key == "modalities" and node == {}:
            return ["text", "audio"]
        if key in ("input_audio_format", "output_audio_format") and node == "x":
            return "pcm16"
        if key == "turn_detection" and isinstance(node, dict) and node.get("type") == "x":
            return {**node, "type": "server_vad"}
        if isinstance(node, dict):
            return {k: fix(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [fix(v, key) for v in node]
        return node

    fixed: dict[str, Any] = fix(event)
    if "audio" in fixed["type"] and fixed["type"].endswith(".delta"):
        fixed["delta"] = "AAECAw=="
    if fixed["type"] == "input_audio_buffer.append":  # the spec types it a plain string; we send base64
        fixed["audio"] = "AAECAw=="
    return fixed


def _ga_samples(kind: str, wire_type: str) -> list[dict[str, Any]]:
    """Distinct schema-valid samples of one GA event type (minimal and full, every union branch)."""
    name = event_index(kind)[wire_type]
    samples: list[dict[str, Any]] = []
    for full in (False, True):
        for branch in BRANCHES:
            event = _realistic(schema_sample(name, full=full, branch=branch))
            # Some samples hit the schema's overlapping oneOf branches; those prove nothing either way.
            if event not in samples and not schema_errors(name, event):
                samples.append(event)
    return samples


def test_dialect_maps_have_the_official_counts() -> None:
    """GA has all 11 client and 46 server types of the spec's unions; beta has the seed 9 + 28 and more."""
    assert sorted(ga.CLIENT_EVENTS) == GA_CLIENT_TYPES
    assert sorted(ga.SERVER_EVENTS) == GA_SERVER_TYPES
    assert len(beta.SEED_CLIENT_TYPES) == 9
    assert len(beta.SEED_SERVER_TYPES) == 28
    assert set(beta.SEED_CLIENT_TYPES) <= set(beta.CLIENT_EVENTS)
    assert set(beta.SEED_SERVER_TYPES) <= set(beta.SERVER_EVENTS)
    assert set(_openai_classes(openai_beta_client.RealtimeClientEvent)) <= set(beta.CLIENT_EVENTS)
    assert set(_openai_classes(openai_beta_server.RealtimeServerEvent)) <= set(beta.SERVER_EVENTS)
    assert set(event_index("beta_client")) <= set(beta.CLIENT_EVENTS)
    assert set(event_index("beta_server")) <= set(beta.SERVER_EVENTS)


@pytest.mark.parametrize(
    "cls",
    sorted(
        {
            *ga.CLIENT_EVENTS.values(),
            *ga.SERVER_EVENTS.values(),
            *beta.CLIENT_EVENTS.values(),
            *beta.SERVER_EVENTS.values(),
        },
        key=lambda c: (c.type, c.__module__),
    ),
    ids=lambda c: f"{c.__module__.rsplit('.', 1)[-1]}:{c.type}",
)
def test_class_name_is_camel_case_of_type(cls: type[Any]) -> None:
    """Each class is named CamelCase(type) + "Event" and carries its wire type."""
    assert cls.__name__ == event_class_name(cls.type)


def test_dialects_share_classes_of_identical_shape() -> None:
    """Event types with one shape in both dialects are the very same class."""
    shared = set(ga.SERVER_EVENTS) & set(beta.SERVER_EVENTS) - {"session.created", "session.updated"}
    assert shared
    for wire_type in shared:
        assert ga.SERVER_EVENTS[wire_type] is beta.SERVER_EVENTS[wire_type], wire_type
    assert ga.InputAudioBufferAppendEvent is beta.InputAudioBufferAppendEvent
    assert ga.SessionUpdateEvent is not beta.SessionUpdateEvent


@pytest.mark.parametrize("wire_type", GA_SERVER_TYPES)
def test_ga_server_event_parses_and_round_trips(wire_type: str) -> None:
    """Every GA server type parses to its class (not UnknownEvent) and gives back its exact input."""
    samples = _ga_samples("ga_server", wire_type)
    assert samples
    for sample in samples:
        text = json.dumps(sample)
        event = parse_server_event(text)
        assert type(event) is ga.SERVER_EVENTS[wire_type], getattr(event, "error", None)
        assert event.type == wire_type
        assert event.to_dict() == sample
        assert encode_event(event) == text
        rebuilt = msgspec.json.decode(msgspec.json.encode(event))
        assert parse_server_event(rebuilt) == event


@pytest.mark.parametrize("wire_type", GA_SERVER_TYPES)
def test_ga_server_event_types_every_schema_field(wire_type: str) -> None:
    """Every field the official schema gives a GA server event (nested too) is a typed attribute."""
    for sample in _ga_samples("ga_server", wire_type):
        typed_view = msgspec.to_builtins(parse_server_event(sample))
        assert first_unknown_field(sample, typed_view, "$") is None


@pytest.mark.parametrize("wire_type", GA_CLIENT_TYPES)
def test_ga_client_event_validates_and_matches_the_schema(wire_type: str) -> None:
    """Every GA client type validates strictly, and what we encode is valid under the official schema."""
    name = event_index("ga_client")[wire_type]
    samples = _ga_samples("ga_client", wire_type)
    assert samples
    for sample in samples:
        event = parse_client_event(json.dumps(sample))
        assert type(event) is ga.CLIENT_EVENTS[wire_type]
        wire = json.loads(encode_event(event))
        assert wire == sample
        assert schema_errors(name, wire) == []
        assert validate_client_event(event) == event


def _beta_server_sample(wire_type: str, *, full: bool) -> dict[str, Any]:
    """A beta server event from the spec's RealtimeBeta* schema (GA-named there) or the GA one."""
    ga_name = BETA_TO_GA.get(wire_type, wire_type)
    if wire_type in (
        "conversation.item.created",
        "transcription_session.created",
        "transcription_session.updated",
    ):
        ga_name = wire_type
    index = event_index("beta_server")
    name = index.get(ga_name) or index.get(wire_type) or event_index("ga_server")[wire_type]
    sample = _realistic({**schema_sample(name, full=full), "type": wire_type})
    if "audio" in wire_type and wire_type.endswith(".delta"):
        sample["delta"] = "AAECAw=="
    return sample


@pytest.mark.parametrize("wire_type", beta.SEED_SERVER_TYPES)
def test_beta_seed_server_event_parses_and_round_trips(wire_type: str) -> None:
    """Each of the original spec's 28 server types parses to its beta class and round-trips."""
    for full in (False, True):
        sample = _beta_server_sample(wire_type, full=full)
        event = parse_server_event(json.dumps(sample), dialect="beta")
        assert type(event) is beta.SERVER_EVENTS[wire_type], getattr(event, "error", None)
        assert event.to_dict() == sample
        assert parse_server_event(sample, dialect="beta") == event
        assert first_unknown_field(sample, msgspec.to_builtins(event), "$") is None


@pytest.mark.parametrize("wire_type", sorted(set(beta.SERVER_EVENTS) - set(beta.SEED_SERVER_TYPES)))
def test_beta_later_server_event_parses(wire_type: str) -> None:
    """The later beta additions parse to their classes too."""
    sample = _beta_server_sample(wire_type, full=True)
    event = parse_server_event(json.dumps(sample), dialect="beta")
    assert type(event) is beta.SERVER_EVENTS[wire_type], getattr(event, "error", None)
    assert event.to_dict() == sample


def test_beta_output_names_in_ga_are_typed_with_a_dialect_problem() -> None:
    """A beta name such as ``response.text.delta`` on a GA session gets the beta class and a problem."""
    sample = _beta_server_sample("response.text.delta", full=True)
    event = parse_server_event(sample, dialect="ga")
    assert isinstance(event, beta.ResponseTextDeltaEvent)
    assert [(p.path, p.kind) for p in event.problems] == [("$.type", "dialect")]
    assert event.to_dict() == sample


def test_beta_output_names_are_unknown_in_strict_ga() -> None:
    """strict=True: a beta-only name such as ``response.text.delta`` is an UnknownEvent in GA."""
    sample = _beta_server_sample("response.text.delta", full=True)
    event = parse_server_event(sample, dialect="ga", strict=True)
    assert isinstance(event, UnknownEvent)
    assert event.error is None
    assert event.to_dict() == sample


BETA_CLIENT_SAMPLES: dict[str, list[dict[str, Any]]] = {
    "session.update": [
        {"type": "session.update", "session": {"instructions": "Be brief."}},
        {
            "type": "session.update",
            "event_id": "evt_1",
            "session": {
                "model": "gpt-4o-realtime-preview",
                "modalities": ["text", "audio"],
                "instructions": "Be brief.",
                "voice": "alloy",
                "input_audio_format": "pcm16",
                "output_audio_format": "g711_ulaw",
                "input_audio_transcription": {"model": "whisper-1", "language": "en", "prompt": "names"},
                "input_audio_noise_reduction": {"type": "near_field"},
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 500,
                    "create_response": True,
                    "interrupt_response": True,
                },
                "tools": [
                    {
                        "type": "function",
                        "name": "get_weather",
                        "description": "Weather for a city",
                        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                    }
                ],
                "tool_choice": "auto",
                "temperature": 0.8,
                "max_response_output_tokens": "inf",
                "speed": 1.1,
                "tracing": "auto",
            },
        },
        {"type": "session.update", "session": {"turn_detection": None, "max_response_output_tokens": 4096}},
        {
            "type": "session.update",
            "session": {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}},
        },
    ],
    "input_audio_buffer.append": [{"type": "input_audio_buffer.append", "audio": "AAECAw=="}],
    "input_audio_buffer.commit": [{"type": "input_audio_buffer.commit", "event_id": "evt_2"}],
    "input_audio_buffer.clear": [{"type": "input_audio_buffer.clear"}],
    "conversation.item.create": [
        {
            "type": "conversation.item.create",
            "previous_item_id": "item_1",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        },
        {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "hello"}]},
        },
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_audio", "audio": "AAAA"}],
            },
        },
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "call_1", "output": '{"temp": 21}'},
        },
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
        },
    ],
    "conversation.item.truncate": [
        {"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0, "audio_end_ms": 1500}
    ],
    "conversation.item.delete": [{"type": "conversation.item.delete", "item_id": "item_1"}],
    "response.create": [
        {"type": "response.create"},
        {
            "type": "response.create",
            "response": {
                "modalities": ["text"],
                "instructions": "Summarize.",
                "voice": "verse",
                "output_audio_format": "pcm16",
                "tools": [],
                "tool_choice": "none",
                "temperature": 0.7,
                "max_response_output_tokens": 200,
                "conversation": "none",
                "metadata": {"topic": "x"},
                "input": [
                    {"type": "item_reference", "id": "item_1"},
                    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                ],
            },
        },
    ],
    "response.cancel": [{"type": "response.cancel"}, {"type": "response.cancel", "response_id": "resp_1"}],
    "transcription_session.update": [
        {
            "type": "transcription_session.update",
            "session": {
                "input_audio_format": "pcm16",
                "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en"},
                "turn_detection": {"type": "server_vad", "silence_duration_ms": 400},
                "input_audio_noise_reduction": {"type": "far_field"},
                "include": ["item.input_audio_transcription.logprobs"],
            },
        }
    ],
    "conversation.item.retrieve": [{"type": "conversation.item.retrieve", "item_id": "item_1"}],
    "output_audio_buffer.clear": [{"type": "output_audio_buffer.clear"}],
}


def _assert_no_extra(model: Any, path: str = "$") -> None:
    """Fail if a pydantic model (or anything nested) holds fields its class does not declare."""
    if isinstance(model, pydantic.BaseModel):
        assert not model.model_extra, f"{path}: fields unknown to openai's beta types: {model.model_extra}"
        for name in type(model).model_fields:
            _assert_no_extra(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, list):
        for index, value in enumerate(model):
            _assert_no_extra(value, f"{path}[{index}]")


def test_beta_client_samples_cover_every_beta_client_type() -> None:
    """The beta client samples below cover all 12 beta client types (the 9 seed ones included)."""
    assert set(BETA_CLIENT_SAMPLES) == set(beta.CLIENT_EVENTS)


@pytest.mark.parametrize("wire_type", sorted(BETA_CLIENT_SAMPLES))
def test_beta_client_event_validates_against_openai_beta_types(wire_type: str) -> None:
    """Each beta client event validates strictly here and under openai's beta types (strict, no extras)."""
    reference = _openai_classes(openai_beta_client.RealtimeClientEvent)[wire_type]
    for sample in BETA_CLIENT_SAMPLES[wire_type]:
        event = parse_client_event(sample, dialect="beta")
        assert type(event) is beta.CLIENT_EVENTS[wire_type]
        wire = json.loads(encode_event(event))
        assert wire == sample
        _assert_no_extra(reference.model_validate(wire, strict=True))


@pytest.mark.parametrize(
    ("dialect", "union", "ours"),
    [
        ("ga", openai_ga_client.RealtimeClientEvent, ga.CLIENT_EVENTS),
        ("ga", openai_ga_server.RealtimeServerEvent, ga.SERVER_EVENTS),
        ("beta", openai_beta_client.RealtimeClientEvent, beta.CLIENT_EVENTS),
        ("beta", openai_beta_server.RealtimeServerEvent, beta.SERVER_EVENTS),
    ],
    ids=["ga-client", "ga-server", "beta-client", "beta-server"],
)
def test_every_openai_event_field_is_modelled(dialect: str, union: Any, ours: dict[str, type[Any]]) -> None:
    """Every top-level field openai-python declares for an event type is a field of our class."""
    for wire_type, reference in _openai_classes(union).items():
        fields = {f.encode_name for f in msgspec.structs.fields(ours[wire_type])} | {"type"}
        missing = set(reference.model_fields) - fields
        assert not missing, f"{dialect} {wire_type}: {missing}"
