"""Every frame of the recorded GA traffic (tests/data/corpus) parses, validates and round-trips."""

from __future__ import annotations

import base64
import json
from typing import Any

from rtwidget.protocol import (
    UnknownEvent,
    encode_event,
    ga,
    parse_client_event,
    parse_server_event,
    validate_client_event,
)

Frame = tuple[str, int, str, dict[str, Any]]


def test_corpus_is_present(corpus: list[Frame]) -> None:
    """The copied corpus has all 15 recordings: 490 client and 689 server frames."""
    assert len({name for name, *_ in corpus}) == 15
    assert sum(direction == "client" for _, _, direction, _ in corpus) == 490
    assert sum(direction == "server" for _, _, direction, _ in corpus) == 689


def test_every_server_frame_parses_to_its_class(corpus: list[Frame]) -> None:
    """No recorded server frame becomes an UnknownEvent; each gets the class of its type."""
    for name, number, direction, event in corpus:
        if direction == "server":
            parsed = parse_server_event(json.dumps(event))
            assert not isinstance(parsed, UnknownEvent), (name, number, parsed.error)
            assert type(parsed) is ga.SERVER_EVENTS[event["type"]]


def test_every_server_frame_round_trips_losslessly(corpus: list[Frame]) -> None:
    """to_dict() and encode_event() give back each recorded frame exactly, from str, bytes and dict."""
    for name, number, direction, event in corpus:
        if direction != "server":
            continue
        text = json.dumps(event, ensure_ascii=False)
        for raw in (text, text.encode(), event):
            parsed = parse_server_event(raw)
            assert parsed.to_dict() == event, (name, number)
            assert json.loads(encode_event(parsed)) == event, (name, number)
        assert encode_event(parse_server_event(text)) == text


def test_recorded_nulls_stay_null(corpus: list[Frame]) -> None:
    """Explicit nulls the live server sends (status_details, usage, include...) are kept as None."""
    created = next(e for _, _, d, e in corpus if d == "server" and e["type"] == "response.created")
    parsed = parse_server_event(created)
    assert isinstance(parsed, ga.ResponseCreatedEvent)
    assert parsed.response.status_details is None
    assert parsed.to_dict()["response"]["status_details"] is None


def test_every_client_frame_validates_strictly(corpus: list[Frame]) -> None:
    """Every recorded client frame passes strict GA validation and encodes to the same JSON."""
    for name, number, direction, event in corpus:
        if direction == "client":
            typed = parse_client_event(json.dumps(event))
            assert type(typed) is ga.CLIENT_EVENTS[event["type"]], (name, number)
            assert json.loads(encode_event(typed)) == event, (name, number)
            assert validate_client_event(event) == typed


def test_odd_length_audio_decodes_without_crashing(corpus: list[Frame]) -> None:
    """The corpus' truncated audio (33 bytes, odd) decodes; .delta is the wire string, .audio its bytes."""
    deltas = [e for _, _, d, e in corpus if d == "server" and e["type"] == "response.output_audio.delta"]
    assert len(deltas) == 134
    for event in deltas:
        parsed = parse_server_event(json.dumps(event))
        assert isinstance(parsed, ga.ResponseOutputAudioDeltaEvent)
        assert parsed.delta == event["delta"]
        assert parsed.audio == base64.b64decode(event["delta"])
        assert len(parsed.audio) == 33


def test_recorded_appends_expose_their_audio(corpus: list[Frame]) -> None:
    """Recorded input_audio_buffer.append frames give their (odd-length) bytes through .pcm."""
    appends = [e for _, _, d, e in corpus if d == "client" and e["type"] == "input_audio_buffer.append"]
    assert len(appends) == 445
    for event in appends:
        parsed = parse_client_event(event)
        assert isinstance(parsed, ga.InputAudioBufferAppendEvent)
        assert parsed.audio == event["audio"]
        assert parsed.pcm == base64.b64decode(event["audio"])
