"""Tolerant reading: frames of other servers' deviations arrive typed, with their problems named."""

from __future__ import annotations

import json

import pytest
from deviation_turns import TURNS, Turn

from rtwidget.protocol import UNSET, Conversation, UnknownEvent, ga, parse_server_event
from rtwidget.protocol.codec import server_events
from rtwidget.protocol.models import VoiceId

FAMILIES = sorted(TURNS)


def _turn(name: str) -> Turn:
    return TURNS[name]


@pytest.mark.parametrize("name", FAMILIES)
def test_each_frame_reports_exactly_its_problems(name: str) -> None:
    """Every frame of the turn parses; the problem paths are exactly the deviations marked for it."""
    turn = _turn(name)
    for index, frame in enumerate(turn.frames):
        event = parse_server_event(json.dumps(frame))
        assert {p.path for p in event.problems} == turn.problems.get(index, set()), (index, frame["type"])
        assert event.to_dict() == frame


@pytest.mark.parametrize("name", FAMILIES)
def test_known_types_arrive_as_their_class(name: str) -> None:
    """A frame whose type either dialect knows is a typed event, never an UnknownEvent."""
    known = set(server_events("ga")) | set(server_events("beta"))
    for frame in _turn(name).frames:
        event = parse_server_event(frame)
        assert isinstance(event, UnknownEvent) == (frame["type"] not in known), frame["type"]
        assert event.type == frame["type"]


@pytest.mark.parametrize("name", FAMILIES)
def test_strict_mode_flags_the_same_frames(name: str) -> None:
    """strict=True makes an UnknownEvent of exactly the frames the tolerant reader reports problems for."""
    turn = _turn(name)
    flagged = {
        index
        for index, frame in enumerate(turn.frames)
        if isinstance(parse_server_event(json.dumps(frame), strict=True), UnknownEvent)
    }
    assert flagged == set(turn.problems)


@pytest.mark.parametrize("name", FAMILIES)
def test_conversation_state_is_right(name: str) -> None:
    """The conversation rebuilt from the turn has the right items, in order, with their text."""
    turn = _turn(name)
    conversation = Conversation()
    for frame in turn.frames:
        conversation.apply(json.dumps(frame))
    got = [(item.id, item.text or item.arguments or "") for item in conversation.items]
    assert got == turn.items
    assert sum(item.audio_bytes for item in conversation.items) == turn.audio_bytes
    assert [r.status for r in conversation.responses.values()][-1] in {"completed", "failed"}


def test_deviating_fields_are_unset_and_matching_ones_typed() -> None:
    """A string status_details reads as UNSET while the response's id and status stay typed."""
    frame = _turn("azure_voice_live").frames[-1]
    event = parse_server_event(frame)
    assert isinstance(event, ga.ResponseDoneEvent)
    assert (event.response.id, event.response.status) == ("r1", "completed")
    assert event.response.status_details is UNSET
    (problem,) = event.problems
    assert (problem.kind, problem.reason) == ("type", "expected object | null, got str")


def test_missing_session_type_is_read_as_realtime() -> None:
    """A session without ``type`` is read as a realtime session, the custom voice typed."""
    event = parse_server_event(_turn("xai").frames[0])
    assert isinstance(event, ga.SessionCreatedEvent)
    assert isinstance(event.session, ga.RealtimeSession)
    assert event.session.model == "grok"
    assert event.session.audio.output.voice == VoiceId(id="custom-1")  # type: ignore[union-attr]
    (problem,) = event.problems
    assert (problem.path, problem.kind) == ("$.session.type", "missing")


def test_unknown_item_variant_is_named() -> None:
    """An item of a type this version does not know reads as UNSET with a variant problem."""
    frame = {"type": "conversation.item.added", "event_id": "e", "item": {"id": "x", "type": "hologram"}}
    event = parse_server_event(frame)
    assert isinstance(event, ga.ConversationItemAddedEvent)
    assert event.item is UNSET
    assert [(p.path, p.kind) for p in event.problems] == [("$.item.type", "variant")]


def test_bad_list_element_is_dropped_from_the_typed_list_only() -> None:
    """A rate limit that is not an object is left out of the typed list; the others stay."""
    limits = [{"name": "requests", "limit": 10}, "weird", {"name": "tokens", "limit": 5}]
    frame = {"type": "rate_limits.updated", "event_id": "e", "rate_limits": limits}
    event = parse_server_event(frame)
    assert isinstance(event, ga.RateLimitsUpdatedEvent)
    assert [limit.name for limit in event.rate_limits] == ["requests", "tokens"]
    assert [p.path for p in event.problems] == ["$.rate_limits[1]"]
    assert event.to_dict()["rate_limits"] == limits


def test_newest_openai_fields_are_typed() -> None:
    """item.phase and output_token_details.reasoning_tokens parse as typed fields, no problems."""
    frames = _turn("openai_newest").frames
    added = parse_server_event(frames[5])
    assert added.item.phase == "final_answer"  # type: ignore[attr-defined]
    done = parse_server_event(frames[-1])
    assert done.response.usage.output_token_details.reasoning_tokens == 3  # type: ignore[attr-defined]
    assert done.response.status_details.error.message == "The server had an error"  # type: ignore[attr-defined]
    assert not added.problems
    assert not done.problems
