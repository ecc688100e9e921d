"""Parsing, validation and encoding rules of rtwidget.protocol (no network, no event loop)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from rtwidget import protocol
from rtwidget.protocol import (
    UNSET,
    ProtocolError,
    UnknownEvent,
    ValidationError,
    beta,
    encode_event,
    ensure_event_id,
    ga,
    new_event_id,
    parse_client_event,
    parse_server_event,
    to_dialect_type,
    validate_client_event,
)

AUDIO_DELTA = {
    "type": "response.output_audio.delta",
    "event_id": "event_1",
    "response_id": "resp_1",
    "item_id": "item_1",
    "output_index": 0,
    "content_index": 0,
    "delta": base64.b64encode(b"\x01\x00\x02\x00\x03").decode(),
    "obfuscation": "abc",
}


# --- ProtocolError -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ("[1, 2]", "not an object"),
        ('"session.created"', "not an object"),
        ("{}", "no `type`"),
        ('{"event_id": "e"}', "no `type`"),
        ('{"type": 5}', "must be a string"),
        ('{"type": null}', "no `type`"),
    ],
)
def test_non_event_frames_raise_protocol_error(raw: str | bytes, message: str) -> None:
    """Non-JSON, non-object and type-less frames raise ProtocolError saying which."""
    with pytest.raises(ProtocolError, match=re.escape(message)):
        parse_server_event(raw)


def test_dict_without_type_raises_protocol_error() -> None:
    """An already-decoded dict without ``type`` is rejected the same way."""
    with pytest.raises(ProtocolError, match="no `type`"):
        parse_server_event({"event_id": "e"})


def test_client_parse_rejects_non_json() -> None:
    """parse_client_event raises ProtocolError (not ValidationError) for text that is not JSON."""
    with pytest.raises(ProtocolError, match="not valid JSON") as info:
        parse_client_event("{oops")
    assert not isinstance(info.value, ValidationError)


# --- lenient server parsing ----------------------------------------------------------------------------


def test_unknown_type_becomes_unknown_event() -> None:
    """An unknown type gives an UnknownEvent with its type, raw object and no error."""
    raw = '{"type": "brand.new", "event_id": "e9", "x": [1, {"y": null}]}'
    event = parse_server_event(raw)
    assert isinstance(event, UnknownEvent)
    assert event.type == "brand.new"
    assert event.event_id == "e9"
    assert event.error is None
    assert event.to_dict() == json.loads(raw)
    assert encode_event(event) == raw


def test_mistyped_known_event_is_typed_with_its_problem() -> None:
    """A known type with a wrongly typed field keeps its class; the field is UNSET and named in problems."""
    frame = {"type": "conversation.item.truncated", "event_id": "e", "item_id": "i", "content_index": 0}
    frame["audio_end_ms"] = "soon"
    event = parse_server_event(json.dumps(frame))
    assert isinstance(event, ga.ConversationItemTruncatedEvent)
    assert (event.item_id, event.audio_end_ms) == ("i", UNSET)
    assert [(p.path, p.kind) for p in event.problems] == [("$.audio_end_ms", "type")]
    assert "expected int, got str" in event.problems[0].reason
    assert event.to_dict() == frame


def test_mistyped_known_event_in_strict_mode_is_unknown_with_the_error() -> None:
    """strict=True: a known type with a wrongly typed field becomes an UnknownEvent whose error names it."""
    frame = {"type": "conversation.item.truncated", "event_id": "e", "item_id": "i", "content_index": 0}
    frame["audio_end_ms"] = "soon"
    event = parse_server_event(json.dumps(frame), strict=True)
    assert isinstance(event, UnknownEvent)
    assert event.type == "conversation.item.truncated"
    assert event.error is not None
    assert "$.audio_end_ms" in event.error
    assert event.to_dict() == frame


def test_invalid_base64_audio_is_typed_losslessly() -> None:
    """An audio delta that is not base64 stays an audio delta with no audio, a problem, and its frame."""
    frame = {**AUDIO_DELTA, "delta": "%%%"}
    event = parse_server_event(json.dumps(frame))
    assert isinstance(event, ga.ResponseOutputAudioDeltaEvent)
    assert event.audio is UNSET
    assert [p.path for p in event.problems] == ["$.delta"]
    assert event.to_dict() == frame
    strict = parse_server_event(json.dumps(frame), strict=True)
    assert isinstance(strict, UnknownEvent)
    assert strict.error is not None
    assert "$.delta" in strict.error
    assert strict.raw == frame


def test_unknown_fields_are_kept() -> None:
    """Fields the class does not model survive in to_dict() and encode_event()."""
    frame = {"type": "input_audio_buffer.cleared", "event_id": "e", "future": {"a": 1}}
    event = parse_server_event(frame)
    assert isinstance(event, ga.InputAudioBufferClearedEvent)
    assert event.to_dict() == frame
    assert json.loads(encode_event(event)) == frame


def test_to_dict_returns_a_fresh_copy() -> None:
    """Mutating the result of to_dict() does not change the event."""
    event = parse_server_event({"type": "input_audio_buffer.cleared", "event_id": "e"})
    event.to_dict()["event_id"] = "changed"
    assert event.to_dict()["event_id"] == "e"


def test_server_events_are_immutable() -> None:
    """Assigning to a parsed server event's field raises."""
    event = parse_server_event(json.dumps(AUDIO_DELTA))
    with pytest.raises(AttributeError):
        event.item_id = "other"  # type: ignore[misc]


def test_audio_delta_decodes_to_bytes() -> None:
    """.audio is the decoded payload (odd length is fine) and .delta the exact wire string."""
    event = parse_server_event(json.dumps(AUDIO_DELTA))
    assert isinstance(event, ga.ResponseOutputAudioDeltaEvent)
    assert event.audio == b"\x01\x00\x02\x00\x03"
    assert event.delta == AUDIO_DELTA["delta"]
    assert event.obfuscation == "abc"


def test_audio_delta_keeps_non_canonical_base64_on_the_wire() -> None:
    """A delta whose padding bits are not zero still reports the wire string, not a re-encoding."""
    frame = {**AUDIO_DELTA, "delta": "AQF="}
    event = parse_server_event(json.dumps(frame))
    assert isinstance(event, ga.ResponseOutputAudioDeltaEvent)
    assert event.audio == b"\x01\x01"
    assert event.delta == "AQF="
    assert parse_server_event(frame).delta == "AQF="  # type: ignore[attr-defined]


def test_audio_delta_built_in_python_encodes_base64() -> None:
    """A server audio event built from bytes (as the simulator does) goes out as base64 ``delta``."""
    event = ga.ResponseOutputAudioDeltaEvent(
        event_id="e", response_id="r", item_id="i", output_index=0, content_index=0, audio=b"\x00\x01"
    )
    wire = json.loads(encode_event(event))
    assert wire["delta"] == "AAE="
    assert "audio" not in wire
    assert event.delta == "AAE="


def test_beta_dialect_parses_beta_names() -> None:
    """In the beta dialect ``response.audio.delta`` parses to beta.ResponseAudioDeltaEvent."""
    frame = {**AUDIO_DELTA, "type": "response.audio.delta"}
    event = parse_server_event(json.dumps(frame), dialect="beta")
    assert isinstance(event, beta.ResponseAudioDeltaEvent)
    assert event.audio == b"\x01\x00\x02\x00\x03"


def test_beta_session_parses_flat_fields() -> None:
    """A beta session.created carries the flat beta session (modalities, voice, formats)."""
    frame = {
        "type": "session.created",
        "event_id": "e",
        "session": {
            "id": "sess_1",
            "modalities": ["text", "audio"],
            "voice": "alloy",
            "input_audio_format": "pcm16",
        },
    }
    event = parse_server_event(frame, dialect="beta")
    assert isinstance(event, beta.SessionCreatedEvent)
    assert event.session.modalities == ["text", "audio"]
    assert event.session.input_audio_format == "pcm16"


def test_unknown_dialect_is_rejected() -> None:
    """A dialect other than ga/beta is a ValueError naming both."""
    with pytest.raises(ValueError, match="ga"):
        parse_server_event({"type": "error"}, dialect="v3")  # type: ignore[arg-type]


# --- strict client validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "path"),
    [
        (
            {"type": "session.update", "session": {"type": "realtime", "temperature": 0.8}},
            "$.session.temperature",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "max_output_tokens": 0}},
            "$.session.max_output_tokens",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "max_output_tokens": 4097}},
            "$.session.max_output_tokens",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "max_output_tokens": "lots"}},
            "$.session.max_output_tokens",
        ),
        (
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}},
                },
            },
            "$.session.audio.input.format.rate",
        ),
        (
            {
                "type": "session.update",
                "session": {"type": "realtime", "output_modalities": ["audio", "text"]},
            },
            "$.session.output_modalities",
        ),
        (
            {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["video"]}},
            "$.session.output_modalities[0]",
        ),
        ({"type": "session.update", "session": {"modalities": ["text"]}}, "$.session.type"),
        (
            {"type": "session.update", "session": {"type": "realtime", "modalities": ["text"]}},
            "$.session.modalities",
        ),
        ({"type": "response.create", "response": {"temperature": 0.7}}, "$.response.temperature"),
        (
            {"type": "conversation.item.truncate", "item_id": "i", "content_index": 0, "audio_end_ms": "1"},
            "$.audio_end_ms",
        ),
        ({"type": "conversation.item.delete"}, "$.item_id"),
        ({"type": "input_audio_buffer.commit", "extra": 1}, "$.extra"),
        (
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "txt": "x"}]},
            },
            "$.item.content[0].txt",
        ),
        (
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "x"}]},
            },
            "$.item.content[0].type",
        ),
        ({"type": "transcription_session.update", "session": {}}, "$.type"),
        ({"type": "session.update", "session": {"type": "realtime", "id": "sess_1"}}, "$.session.id"),
        (
            {"type": "session.update", "session": {"type": "transcription", "expires_at": 1}},
            "$.session.expires_at",
        ),
        ({"type": "nope"}, "$.type"),
    ],
)
def test_ga_validation_names_the_field(event: dict[str, Any], path: str) -> None:
    """Strict GA validation rejects the event with a ValidationError naming the offending field."""
    with pytest.raises(ValidationError) as info:
        validate_client_event(event)
    assert info.value.path == path
    assert path in str(info.value)


@pytest.mark.parametrize(
    ("event", "path"),
    [
        ({"type": "session.update", "session": {"type": "realtime"}}, "$.session.type"),
        ({"type": "session.update", "session": {"temperature": 2.0}}, "$.session.temperature"),
        ({"type": "session.update", "session": {"object": "realtime.session"}}, "$.session.object"),
        (
            {"type": "session.update", "session": {"input_audio_format": "audio/pcm"}},
            "$.session.input_audio_format",
        ),
        (
            {"type": "response.create", "response": {"output_modalities": ["text"]}},
            "$.response.output_modalities",
        ),
        ({"type": "response.create", "response": {"temperature": 0.1}}, "$.response.temperature"),
    ],
)
def test_beta_validation_names_the_field(event: dict[str, Any], path: str) -> None:
    """Strict beta validation rejects GA shapes and out-of-range values, naming the field."""
    with pytest.raises(ValidationError) as info:
        validate_client_event(event, dialect="beta")
    assert info.value.path == path


def test_validation_checks_typed_events_too() -> None:
    """A typed event built with a wrongly typed value fails validation (constructors do not check)."""
    event = ga.ConversationItemTruncateEvent(item_id="i", content_index=0, audio_end_ms="9")  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:
        validate_client_event(event)
    assert info.value.path == "$.audio_end_ms"


def test_validation_rejects_a_class_of_the_other_dialect() -> None:
    """A beta session.update does not validate as GA (its session lacks ``type``)."""
    event = beta.SessionUpdateEvent(session=beta.BetaSession(modalities=["text"]))
    assert validate_client_event(event, dialect="beta") == event
    with pytest.raises(ValidationError):
        validate_client_event(event, dialect="ga")


def test_validate_returns_a_typed_event_from_a_dict() -> None:
    """validate_client_event turns a valid dict into its typed event with nested objects typed."""
    event = validate_client_event(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "max_output_tokens": "inf",
                "audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}},
                "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
                "tool_choice": {"type": "function", "name": "f"},
            },
        }
    )
    assert isinstance(event, ga.SessionUpdateEvent)
    session = event.session
    assert isinstance(session, ga.RealtimeSession)
    assert session.max_output_tokens == "inf"
    assert isinstance(session.audio, ga.AudioConfig)
    assert isinstance(session.audio.input, ga.AudioInput)
    assert isinstance(session.audio.input.turn_detection, ga.SemanticVad)
    assert isinstance(session.tool_choice, ga.ToolChoiceFunction)


def test_validation_accepts_transcription_sessions() -> None:
    """A GA transcription session.update validates and keeps its nested transcription settings."""
    event = validate_client_event(
        {
            "type": "session.update",
            "session": {
                "type": "transcription",
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcmu"},
                        "transcription": {"model": "gpt-4o-transcribe"},
                    }
                },
            },
        }
    )
    assert isinstance(event, ga.SessionUpdateEvent)
    assert isinstance(event.session, ga.TranscriptionSession)


# --- construction and encoding -------------------------------------------------------------------------


def test_unset_fields_are_omitted_and_none_is_null() -> None:
    """Unset fields stay off the wire; an explicit None (turn_detection) is sent as null."""
    event = ga.SessionUpdateEvent(
        session=ga.RealtimeSession(
            instructions="hi", audio=ga.AudioConfig(input=ga.AudioInput(turn_detection=None))
        )
    )
    assert json.loads(encode_event(event)) == {
        "type": "session.update",
        "session": {"type": "realtime", "instructions": "hi", "audio": {"input": {"turn_detection": None}}},
    }
    assert encode_event(ga.ResponseCreateEvent()) == '{"type":"response.create"}'
    assert ga.ResponseCreateEvent().event_id is UNSET


def test_typed_event_to_dict_is_its_wire_form() -> None:
    """to_dict() of an event built in Python equals the JSON it encodes to."""
    event = ga.ConversationItemCreateEvent(
        item=ga.MessageItem(role="user", content=[ga.ContentPart(type="input_text", text="hello")])
    )
    assert event.to_dict() == json.loads(encode_event(event))
    assert event.to_dict()["item"] == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "hello"}],
    }


def test_encode_event_accepts_dicts() -> None:
    """encode_event also encodes a plain dict."""
    assert json.loads(encode_event({"type": "response.cancel"})) == {"type": "response.cancel"}


def test_append_from_pcm_round_trips_bytes() -> None:
    """InputAudioBufferAppendEvent.from_pcm base64-encodes bytes; .pcm decodes them again."""
    pcm = bytes(range(7))
    event = ga.InputAudioBufferAppendEvent.from_pcm(pcm, event_id="evt_1")
    assert event.audio == base64.b64encode(pcm).decode()
    assert event.pcm == pcm
    assert validate_client_event(event) == event


def test_oversized_append_is_rejected() -> None:
    """An append whose base64 audio exceeds 15 MiB fails validation at ``$.audio``."""
    event = ga.InputAudioBufferAppendEvent(audio="A" * (15 * 2**20 + 4))
    with pytest.raises(ValidationError) as info:
        validate_client_event(event)
    assert info.value.path == "$.audio"


def test_client_secret_value_stays_out_of_repr() -> None:
    """A beta session's ephemeral key is redacted in repr but kept on the wire."""
    frame = {
        "type": "transcription_session.created",
        "event_id": "e",
        "session": {"client_secret": {"value": "ek_secret123", "expires_at": 1}},
    }
    event = parse_server_event(frame, dialect="beta")
    assert isinstance(event, beta.TranscriptionSessionCreatedEvent)
    assert "ek_secret123" not in repr(event)
    assert event.to_dict() == frame


def test_new_event_id_format() -> None:
    """new_event_id gives distinct ``evt_`` ids of 25 characters."""
    ids = {new_event_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"evt_[A-Za-z0-9]{21}", i) for i in ids)


def test_ensure_event_id_fills_only_missing_ids() -> None:
    """ensure_event_id adds an id to an event without one and keeps an existing id."""
    given = ga.ResponseCancelEvent(event_id="evt_mine")
    assert ensure_event_id(given) is given
    filled = ensure_event_id(ga.ResponseCancelEvent())
    assert isinstance(filled.event_id, str)
    assert filled.event_id.startswith("evt_")


def test_client_events_are_immutable() -> None:
    """Client events are frozen too; msgspec.structs.replace makes changed copies."""
    event = ga.ResponseCancelEvent()
    with pytest.raises(AttributeError):
        event.response_id = "r"  # type: ignore[misc]
    assert msgspec.structs.replace(event, response_id="r").response_id == "r"


@pytest.mark.parametrize(
    ("beta_type", "ga_type"),
    [
        ("response.text.delta", "response.output_text.delta"),
        ("response.audio.done", "response.output_audio.done"),
        ("response.audio_transcript.delta", "response.output_audio_transcript.delta"),
        ("conversation.item.created", "conversation.item.added"),
        ("error", "error"),
    ],
)
def test_type_names_map_between_dialects(beta_type: str, ga_type: str) -> None:
    """to_dialect_type maps renamed events both ways and leaves shared names alone."""
    assert to_dialect_type(beta_type, "ga") == ga_type
    assert to_dialect_type(ga_type, "beta") == beta_type


# --- package surface ---------------------------------------------------------------------------------------


def test_api_names_are_exported() -> None:
    """__all__ holds every name the documented API promises, and each resolves."""
    promised = {
        "parse_server_event",
        "parse_client_event",
        "validate_client_event",
        "encode_event",
        "Event",
        "UnknownEvent",
        "ProtocolError",
        "ValidationError",
        "Dialect",
        "ga",
        "beta",
    }
    assert promised <= set(protocol.__all__)
    for name in protocol.__all__:
        assert getattr(protocol, name) is not None
    conversation_exists = (Path(protocol.__file__).parent / "conversation.py").exists()
    assert ("Conversation" in protocol.__all__) == conversation_exists


def test_validation_error_is_a_protocol_error() -> None:
    """ValidationError subclasses ProtocolError so one except clause catches both."""
    assert issubclass(ValidationError, ProtocolError)


def test_protocol_imports_no_io_or_numpy() -> None:
    """Importing rtwidget.protocol pulls in neither asyncio, websockets nor numpy (sans-I/O)."""
    code = (
        "import sys, rtwidget.protocol, rtwidget.protocol.ga, rtwidget.protocol.beta; "
        "print(sorted(m for m in ('asyncio', 'websockets', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_deeply_nested_frame_raises_protocol_error() -> None:
    """A frame nested too deeply to decode is a ProtocolError, not a RecursionError."""
    with pytest.raises(ProtocolError, match="nested too deeply"):
        parse_server_event("[" * 100_000)


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "input_audio_buffer.cleared", "event_id": "e", "huge": 1e400}',
        '{"type": "input_audio_buffer.cleared", "event_id": "e", "nan": NaN}',
        '{"type": "brand.new", "text": "\\ud800"}',
        '{"type": "error", "event_id": "e", "error": {"message": "\\ud83d"}}',
    ],
)
def test_json_that_only_json_loads_accepts_is_kept(raw: str) -> None:
    """Frames msgspec alone would refuse (1e400, NaN, lone surrogates) still parse and round-trip."""
    event = parse_server_event(raw)
    assert json.dumps(event.to_dict()) == json.dumps(json.loads(raw))
    assert encode_event(event) == raw


def test_nested_objects_of_server_events_are_immutable() -> None:
    """A parsed event's nested session cannot be changed either."""
    event = parse_server_event(
        {"type": "session.updated", "event_id": "e", "session": {"type": "realtime", "instructions": "a"}}
    )
    assert isinstance(event, ga.SessionUpdatedEvent)
    with pytest.raises(AttributeError):
        event.session.instructions = "b"  # type: ignore[misc]
