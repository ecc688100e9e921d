"""Tests of rtwidget.protocol.conversation: state rebuilt from recorded GA traffic and built beta streams."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from rtwidget.protocol import Dialect, ProtocolError, parse_server_event
from rtwidget.protocol.conversation import Conversation

CORPUS_DIR = Path(__file__).resolve().parent.parent / "data" / "corpus"
CORPUS_FILES = sorted(CORPUS_DIR.glob("*.jsonl"))


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _server_frames(path: Path) -> list[str]:
    """The server frames of a recording, as the JSON text that came over the socket."""
    return [json.dumps(r["event"]) for r in _records(path) if r["dir"] == "server"]


def _replay(path: Path, **kwargs: Any) -> Conversation:
    conversation = Conversation(**kwargs)
    for frame in _server_frames(path):
        conversation.apply(parse_server_event(frame, "ga"))
    return conversation


def _ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


# --- the recorded corpus: state equals the server's own *.done values ------------------------------------

DONE_FIELDS = {
    # done type -> (field of the done event, what the conversation holds)
    "response.output_text.done": "text",
    "response.output_audio_transcript.done": "transcript",
    "conversation.item.input_audio_transcription.completed": "transcript",
}


@pytest.mark.parametrize("path", CORPUS_FILES, ids=_ids(CORPUS_FILES))
def test_corpus_streamed_content_equals_done_values(path: Path) -> None:
    """Text, transcripts and arguments accumulated from deltas equal the recorded *.done values.

    Each value is checked just before its done event is applied, so it comes from the deltas alone.
    """
    conversation = Conversation()
    checked = 0
    for frame in _server_frames(path):
        event: Any = parse_server_event(frame, "ga")
        if event.type in DONE_FIELDS:
            field_name = DONE_FIELDS[event.type]
            part = conversation.item(event.item_id).content[event.content_index]
            streamed, done = getattr(part, field_name), getattr(event, field_name)
            if event.type == "conversation.item.input_audio_transcription.completed":
                # Recorded: the deltas of the user's transcript join to " Hello, my name is Marcelo."
                # while .completed says "Hello, my name is Marcelo.": the server strips the final text.
                streamed = streamed.strip()
            assert streamed == done, (event.type, event.item_id)
            checked += 1
        elif event.type == "response.function_call_arguments.done":
            item = conversation.item(event.item_id)
            assert item.arguments == event.arguments
            assert item.call_id == event.call_id
            checked += 1
        conversation.apply(event)
    done_count = sum(
        json.loads(frame)["type"] in {*DONE_FIELDS, "response.function_call_arguments.done"}
        for frame in _server_frames(path)
    )
    assert checked == done_count


@pytest.mark.parametrize("path", CORPUS_FILES, ids=_ids(CORPUS_FILES))
def test_corpus_final_state_holds_done_values(path: Path) -> None:
    """After the whole recording, every item still holds its done text, transcript and arguments."""
    conversation = _replay(path)
    for frame in _server_frames(path):
        event = json.loads(frame)
        kind = event["type"]
        if kind in DONE_FIELDS:
            field_name = DONE_FIELDS[kind]
            part = conversation.item(event["item_id"]).content[event["content_index"]]
            assert getattr(part, field_name) == event[field_name]
        elif kind == "response.function_call_arguments.done":
            item = conversation.item(event["item_id"])
            assert (item.type, item.name, item.arguments) == (
                "function_call",
                event["name"],
                event["arguments"],
            )


@pytest.mark.parametrize("path", CORPUS_FILES, ids=_ids(CORPUS_FILES))
def test_corpus_item_order_equals_server_order(path: Path) -> None:
    """Items come out in the order the server added them, which is also its previous_item_id chain."""
    conversation = _replay(path)
    added = [
        json.loads(f) for f in _server_frames(path) if json.loads(f)["type"] == "conversation.item.added"
    ]
    assert [item.id for item in conversation.items] == [event["item"]["id"] for event in added]
    chain = {event["item"]["id"]: event["previous_item_id"] for event in added}
    ids = [item.id for item in conversation.items]
    assert [chain[item_id] for item_id in ids] == [None, *ids[:-1]]


@pytest.mark.parametrize("path", CORPUS_FILES, ids=_ids(CORPUS_FILES))
def test_corpus_items_match_final_snapshots(path: Path) -> None:
    """Type, role and status of every item equal its conversation.item.done snapshot."""
    conversation = _replay(path)
    for frame in _server_frames(path):
        event = json.loads(frame)
        if event["type"] == "conversation.item.done":
            snapshot = event["item"]
            item = conversation.item(snapshot["id"])
            assert (item.type, item.role, item.status) == (
                snapshot["type"],
                snapshot.get("role"),
                snapshot.get("status"),
            )


@pytest.mark.parametrize("path", CORPUS_FILES, ids=_ids(CORPUS_FILES))
def test_corpus_responses_have_status_usage_and_outputs(path: Path) -> None:
    """Each response ends with response.done's status, status_details, usage and output item ids."""
    conversation = _replay(path)
    done = [
        json.loads(f)["response"] for f in _server_frames(path) if json.loads(f)["type"] == "response.done"
    ]
    assert list(conversation.responses) == [
        json.loads(f)["response"]["id"]
        for f in _server_frames(path)
        if json.loads(f)["type"] == "response.created"
    ]
    for response in done:
        state = conversation.responses[response["id"]]
        assert state.status == response["status"]
        assert state.status_details == response["status_details"]
        assert state.usage == response["usage"]
        assert state.output_item_ids == [item["id"] for item in response["output"]]


@pytest.mark.parametrize("path", CORPUS_FILES, ids=_ids(CORPUS_FILES))
def test_corpus_audio_bytes_and_ms_per_item(path: Path) -> None:
    """Audio counted per item equals the decoded delta payloads (33 odd bytes each), at 48 bytes/ms."""
    conversation = _replay(path, keep_audio=True)
    expected: dict[str, bytes] = {}
    for frame in _server_frames(path):
        event = json.loads(frame)
        if event["type"] == "response.output_audio.delta":
            expected[event["item_id"]] = expected.get(event["item_id"], b"") + base64.b64decode(
                event["delta"]
            )
    for item in conversation.items:
        payload = expected.get(item.id, b"")
        assert item.audio_bytes == len(payload)
        assert item.audio_ms == pytest.approx(len(payload) / 48)
        assert item.audio == (payload or None)


def test_corpus_has_audio_to_count() -> None:
    """The audio test above is not vacuous: the text-in-audio-out recording has 4 deltas of 33 bytes."""
    path = CORPUS_DIR / "test_openai_ws__test_text_in_audio_out_turn.jsonl"
    conversation = _replay(path)
    assert [item.audio_bytes for item in conversation.items] == [0, 132]
    assert conversation.items[1].audio is None  # keep_audio defaults to off


def test_corpus_function_call_output_item() -> None:
    """The tool round's function_call_output item carries the call id and output the client sent."""
    path = CORPUS_DIR / "test_openai_ws__test_tool_call_round.jsonl"
    conversation = _replay(path)
    sent = next(
        r["event"]["item"]
        for r in _records(path)
        if r["dir"] == "client"
        and r["event"]["type"] == "conversation.item.create"
        and r["event"]["item"]["type"] == "function_call_output"
    )
    outputs = [item for item in conversation.items if item.type == "function_call_output"]
    assert [(item.call_id, item.output) for item in outputs] == [(sent["call_id"], sent["output"])]
    call = next(item for item in conversation.items if item.type == "function_call")
    assert call.call_id == sent["call_id"]
    assert call.name == "get_weather"


def test_corpus_failed_input_transcription() -> None:
    """Azure's DeploymentNotFound transcription failure is recorded on the user's audio part."""
    path = CORPUS_DIR / "test_azure_ws__test_audio_in_server_vad_transcription_requires_deployment.jsonl"
    conversation = _replay(path)
    part = conversation.items[0].content[0]
    assert part.type == "input_audio"
    assert part.transcription_status == "failed"
    assert part.transcription_error is not None
    assert part.transcription_error["code"] == "DeploymentNotFound"


def test_corpus_session_is_last_session_updated() -> None:
    """conv.session is the session of the last session.updated, exactly as sent."""
    path = CORPUS_DIR / "test_openai_ws__test_tool_call_round.jsonl"
    conversation = _replay(path)
    last = [json.loads(f) for f in _server_frames(path) if json.loads(f)["type"] == "session.updated"][-1]
    assert conversation.session == last["session"]
    assert conversation.output_audio_format == "pcm16"


# --- built streams -----------------------------------------------------------------------------------------

_counter = iter(range(10**9))


def _event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": f"event_{next(_counter)}", **fields}


def _ref(item_id: str, content_index: int = 0, response_id: str = "resp_1") -> dict[str, Any]:
    return {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": content_index}


def _feed(conversation: Conversation, events: list[dict[str, Any]], dialect: Dialect = "ga") -> None:
    for event in events:
        parsed = parse_server_event(event, dialect)
        assert type(parsed).__name__ != "UnknownEvent", parsed
        conversation.apply(parsed)


def _assistant_audio_turn_beta(audio_chunks: list[bytes]) -> list[dict[str, Any]]:
    """A beta-dialect audio answer (beta event names, beta session and item shapes)."""
    item = {
        "id": "item_a",
        "object": "realtime.item",
        "type": "message",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    return [
        _event(
            "session.created",
            session={
                "id": "sess_1",
                "object": "realtime.session",
                "model": "gpt-4o-realtime-preview",
                "modalities": ["audio", "text"],
                "output_audio_format": "g711_ulaw",
                "input_audio_format": "g711_alaw",
            },
        ),
        _event(
            "conversation.item.created",
            previous_item_id=None,
            item={
                "id": "item_u",
                "object": "realtime.item",
                "type": "message",
                "role": "user",
                "status": "completed",
                "content": [{"type": "input_text", "text": "Hi"}],
            },
        ),
        _event(
            "response.created",
            response={
                "id": "resp_1",
                "object": "realtime.response",
                "status": "in_progress",
                "output": [],
                "usage": None,
            },
        ),
        _event("response.output_item.added", response_id="resp_1", output_index=0, item=item),
        _event("conversation.item.created", previous_item_id="item_u", item=item),
        _event("response.content_part.added", **_ref("item_a"), part={"type": "audio", "transcript": ""}),
        *[
            _event("response.audio.delta", **_ref("item_a"), delta=base64.b64encode(chunk).decode())
            for chunk in audio_chunks
        ],
        _event("response.audio_transcript.delta", **_ref("item_a"), delta="Hello "),
        _event("response.audio_transcript.delta", **_ref("item_a"), delta="there"),
        _event("response.audio.done", **_ref("item_a")),
        _event("response.audio_transcript.done", **_ref("item_a"), transcript="Hello there"),
        _event(
            "response.content_part.done",
            **_ref("item_a"),
            part={"type": "audio", "transcript": "Hello there"},
        ),
        _event(
            "response.output_item.done",
            response_id="resp_1",
            output_index=0,
            item={**item, "status": "completed", "content": [{"type": "audio", "transcript": "Hello there"}]},
        ),
        _event(
            "response.done",
            response={
                "id": "resp_1",
                "object": "realtime.response",
                "status": "completed",
                "status_details": None,
                "output": [
                    {
                        **item,
                        "status": "completed",
                        "content": [{"type": "audio", "transcript": "Hello there"}],
                    }
                ],
                "usage": {"total_tokens": 30, "input_tokens": 10, "output_tokens": 20},
            },
        ),
    ]


def test_beta_audio_stream_accumulates_transcript_and_g711_audio() -> None:
    """Beta names (response.audio.delta, response.audio_transcript.*) fill the item; G.711 is 8 bytes/ms."""
    chunks = [bytes(range(160)), bytes(80)]
    conversation = Conversation(dialect="beta", keep_audio=True)
    _feed(conversation, _assistant_audio_turn_beta(chunks), "beta")
    user, assistant = conversation.items
    assert (user.role, user.text) == ("user", "Hi")
    assert (assistant.role, assistant.status, assistant.transcript) == (
        "assistant",
        "completed",
        "Hello there",
    )
    assert assistant.audio_bytes == 240
    assert assistant.audio_ms == 30.0
    assert assistant.audio == chunks[0] + chunks[1]
    assert assistant.content[0].audio_format == "g711_ulaw"
    assert conversation.input_audio_format == "g711_alaw"
    assert conversation.responses["resp_1"].usage == {
        "total_tokens": 30,
        "input_tokens": 10,
        "output_tokens": 20,
    }


def test_beta_transcript_before_done_comes_from_deltas() -> None:
    """Without the done events, the beta transcript is the concatenation of its deltas."""
    events = [e for e in _assistant_audio_turn_beta([b"\x00"]) if not e["type"].endswith(".done")]
    conversation = Conversation(dialect="beta")
    _feed(conversation, events, "beta")
    assert conversation.item("item_a").transcript == "Hello there"
    assert conversation.item("item_a").status == "in_progress"


def test_beta_text_and_function_call_stream() -> None:
    """Beta response.text.* and function_call_arguments.* accumulate text and arguments."""
    call = {
        "id": "item_f",
        "type": "function_call",
        "status": "in_progress",
        "name": "get_weather",
        "call_id": "call_1",
        "arguments": "",
    }
    text_item = {
        "id": "item_t",
        "type": "message",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    events = [
        _event("response.created", response={"id": "resp_1", "status": "in_progress", "output": []}),
        _event("response.output_item.added", response_id="resp_1", output_index=0, item=text_item),
        _event("conversation.item.created", previous_item_id=None, item=text_item),
        _event("response.content_part.added", **_ref("item_t"), part={"type": "text", "text": ""}),
        _event("response.text.delta", **_ref("item_t"), delta="Let me "),
        _event("response.text.delta", **_ref("item_t"), delta="check."),
        _event("response.output_item.added", response_id="resp_1", output_index=1, item=call),
        _event("conversation.item.created", previous_item_id="item_t", item=call),
        _event(
            "response.function_call_arguments.delta",
            response_id="resp_1",
            item_id="item_f",
            output_index=1,
            call_id="call_1",
            delta='{"city":',
        ),
        _event(
            "response.function_call_arguments.delta",
            response_id="resp_1",
            item_id="item_f",
            output_index=1,
            call_id="call_1",
            delta=' "Paris"}',
        ),
    ]
    conversation = Conversation(dialect="beta")
    _feed(conversation, events, "beta")
    text, function_call = conversation.items
    assert text.text == "Let me check."
    assert (function_call.type, function_call.name, function_call.call_id) == (
        "function_call",
        "get_weather",
        "call_1",
    )
    assert function_call.arguments == '{"city": "Paris"}'
    assert conversation.responses["resp_1"].output_item_ids == ["item_t", "item_f"]


def _ga_audio_turn(pcm: bytes, transcript_deltas: list[str]) -> list[dict[str, Any]]:
    item = {"id": "item_a", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    return [
        _event(
            "conversation.item.added",
            previous_item_id=None,
            item={
                "id": "item_u",
                "type": "message",
                "role": "user",
                "status": "completed",
                "content": [{"type": "input_text", "text": "Talk"}],
            },
        ),
        _event("response.created", response={"id": "resp_1", "status": "in_progress", "output": []}),
        _event("response.output_item.added", response_id="resp_1", output_index=0, item=item),
        _event("conversation.item.added", previous_item_id="item_u", item=item),
        _event("response.content_part.added", **_ref("item_a"), part={"type": "audio", "transcript": ""}),
        *[
            _event("response.output_audio.delta", **_ref("item_a"), delta=base64.b64encode(c).decode())
            for c in [pcm[: len(pcm) // 2], pcm[len(pcm) // 2 :]]
        ],
        *[
            _event("response.output_audio_transcript.delta", **_ref("item_a"), delta=d)
            for d in transcript_deltas
        ],
    ]


def test_truncation_cuts_audio_and_removes_transcript() -> None:
    """conversation.item.truncated keeps audio up to audio_end_ms and clears the transcript (kept aside)."""
    pcm = bytes(range(256)) * 375  # 96000 bytes = 2000 ms of PCM16 at 24 kHz
    conversation = Conversation(keep_audio=True)
    _feed(conversation, _ga_audio_turn(pcm, ["One two ", "three four"]))
    item = conversation.item("item_a")
    assert (item.audio_bytes, item.audio_ms) == (96_000, 2000.0)
    _feed(
        conversation,
        [_event("conversation.item.truncated", item_id="item_a", content_index=0, audio_end_ms=750)],
    )
    part = item.content[0]
    assert part.audio_end_ms == item.audio_end_ms == 750
    assert (part.audio_bytes, part.audio_ms, part.audio_received_bytes) == (36_000, 750.0, 96_000)
    assert item.audio == pcm[:36_000]
    assert part.transcript == ""
    assert part.truncated_transcript == "One two three four"


def test_truncation_of_g711_audio_uses_8_bytes_per_ms() -> None:
    """With a G.711 output format, truncating at 100 ms keeps 800 bytes."""
    conversation = Conversation()
    session = {"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcma"}}}}
    _feed(conversation, [_event("session.updated", session=session), *_ga_audio_turn(bytes(4000), ["Hi"])])
    assert conversation.item("item_a").audio_ms == 500.0
    _feed(
        conversation,
        [_event("conversation.item.truncated", item_id="item_a", content_index=0, audio_end_ms=100)],
    )
    assert (conversation.item("item_a").audio_bytes, conversation.item("item_a").audio_ms) == (800, 100.0)


def test_truncation_keeps_later_done_from_restoring_transcript() -> None:
    """A transcript done event after truncation does not bring the removed transcript back."""
    conversation = Conversation()
    _feed(conversation, _ga_audio_turn(bytes(960), ["Hello"]))
    _feed(
        conversation,
        [
            _event("conversation.item.truncated", item_id="item_a", content_index=0, audio_end_ms=5),
            _event("response.output_audio_transcript.done", **_ref("item_a"), transcript="Hello"),
        ],
    )
    assert conversation.item("item_a").content[0].transcript == ""


def test_delete_removes_item_from_conversation() -> None:
    """conversation.item.deleted drops the item; item() then raises KeyError naming it."""
    conversation = Conversation()
    _feed(conversation, _ga_audio_turn(bytes(96), ["Hi"]))
    _feed(conversation, [_event("conversation.item.deleted", item_id="item_u")])
    assert [item.id for item in conversation.items] == ["item_a"]
    with pytest.raises(KeyError, match="item_u"):
        conversation.item("item_u")


def test_delete_of_unknown_item_is_noted_not_raised() -> None:
    """Deleting an item never seen leaves state alone and records a warning."""
    conversation = Conversation()
    _feed(conversation, [_event("conversation.item.deleted", item_id="item_x")])
    assert conversation.items == []
    assert any("item_x" in warning for warning in conversation.warnings)


def test_previous_item_id_inserts_in_the_middle_and_null_at_the_start() -> None:
    """An item added after A goes between A and B; one with previous_item_id null goes first."""

    def message(item_id: str) -> dict[str, Any]:
        return {
            "id": item_id,
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_text", "text": item_id}],
        }

    conversation = Conversation()
    _feed(
        conversation,
        [
            _event("conversation.item.added", previous_item_id=None, item=message("A")),
            _event("conversation.item.added", previous_item_id="A", item=message("B")),
            _event("conversation.item.added", previous_item_id="A", item=message("C")),
            _event("conversation.item.added", previous_item_id=None, item=message("R")),
            _event("conversation.item.done", previous_item_id=None, item=message("C")),
        ],
    )
    assert [item.id for item in conversation.items] == ["R", "A", "C", "B"]


def test_item_after_unknown_predecessor_is_appended() -> None:
    """An item whose predecessor was never seen (e.g. a sideband socket) goes to the end."""
    conversation = Conversation()
    item = {"id": "B", "type": "message", "role": "user", "content": []}
    _feed(
        conversation,
        [
            _event("conversation.item.added", previous_item_id=None, item={**item, "id": "A"}),
            _event("conversation.item.added", previous_item_id="elsewhere", item=item),
        ],
    )
    assert [i.id for i in conversation.items] == ["A", "B"]


def test_input_audio_transcription_delta_then_completed() -> None:
    """User transcript deltas accumulate (even before the item is added); completed sets the final text."""
    conversation = Conversation()
    user = {
        "id": "item_u",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_audio", "transcript": None}],
    }
    kind = "conversation.item.input_audio_transcription"
    _feed(
        conversation,
        [
            _event(f"{kind}.delta", item_id="item_u", content_index=0, delta="Hello, "),
            _event("conversation.item.added", previous_item_id=None, item=user),
            _event(f"{kind}.delta", item_id="item_u", content_index=0, delta="world"),
        ],
    )
    part = conversation.item("item_u").content[0]
    assert (part.type, part.transcript, part.transcription_status) == (
        "input_audio",
        "Hello, world",
        "in_progress",
    )
    _feed(
        conversation,
        [
            _event("conversation.item.done", previous_item_id=None, item=user),
            _event(f"{kind}.completed", item_id="item_u", content_index=0, transcript="Hello, world."),
        ],
    )
    assert (part.transcript, part.transcription_status) == ("Hello, world.", "completed")


def test_retrieved_item_replaces_content_and_counts_its_audio() -> None:
    """conversation.item.retrieved updates the item; its base64 input audio is counted at the input format."""
    conversation = Conversation(keep_audio=True)
    pcm = bytes(4800)
    user = {
        "id": "item_u",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_audio", "transcript": None}],
    }
    retrieved = {
        **user,
        "content": [{"type": "input_audio", "transcript": "hi", "audio": base64.b64encode(pcm).decode()}],
    }
    _feed(
        conversation,
        [
            _event("conversation.item.added", previous_item_id=None, item=user),
            _event("conversation.item.retrieved", item=retrieved),
        ],
    )
    part = conversation.item("item_u").content[0]
    assert (part.transcript, part.audio_bytes, part.audio_ms, part.audio) == ("hi", 4800, 100.0, pcm)


def test_cancelled_response_keeps_status_details() -> None:
    """A cancelled response records its status and status_details."""
    details = {"type": "cancelled", "reason": "turn_detected"}
    conversation = Conversation()
    _feed(
        conversation,
        [
            _event("response.created", response={"id": "resp_9", "status": "in_progress", "output": []}),
            _event(
                "response.done",
                response={
                    "id": "resp_9",
                    "status": "cancelled",
                    "status_details": details,
                    "output": [],
                    "usage": {"total_tokens": 3},
                },
            ),
        ],
    )
    response = conversation.responses["resp_9"]
    assert (response.status, response.status_details, response.usage) == (
        "cancelled",
        details,
        {"total_tokens": 3},
    )


def test_out_of_band_response_items_stay_out_of_the_conversation() -> None:
    """Items of a response with no conversation.item.added are known by id but not in conv.items."""
    item = {"id": "item_o", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    conversation = Conversation()
    _feed(
        conversation,
        [
            _event(
                "response.created",
                response={"id": "resp_o", "status": "in_progress", "conversation_id": None, "output": []},
            ),
            _event("response.output_item.added", response_id="resp_o", output_index=0, item=item),
            _event("response.output_text.delta", **_ref("item_o", response_id="resp_o"), delta="side note"),
        ],
    )
    assert conversation.items == []
    assert conversation.item("item_o").text == "side note"
    assert conversation.item("item_o").in_conversation is False
    assert conversation.responses["resp_o"].output_item_ids == ["item_o"]


def test_response_audio_format_overrides_session() -> None:
    """A response that asks for audio/pcmu counts its audio at 8 bytes/ms while the session says PCM."""
    conversation = Conversation()
    response = {
        "id": "resp_1",
        "status": "in_progress",
        "output": [],
        "audio": {"output": {"format": {"type": "audio/pcmu"}}},
    }
    events = _ga_audio_turn(bytes(800), ["x"])
    events[1] = _event("response.created", response=response)
    _feed(conversation, events)
    assert conversation.item("item_a").audio_ms == 100.0


def test_malformed_known_event_is_still_applied() -> None:
    """An audio delta missing output_index (typed, with a problem) still counts its audio, with a warning."""
    conversation = Conversation()
    _feed(conversation, _ga_audio_turn(bytes(96), []))
    raw = {
        "type": "response.output_audio.delta",
        "event_id": "e",
        "response_id": "resp_1",
        "item_id": "item_a",
        "content_index": 0,
        "delta": base64.b64encode(bytes(48)).decode(),
    }
    assert conversation.apply(raw) is True
    assert conversation.item("item_a").audio_bytes == 144
    assert any("response.output_audio.delta" in warning for warning in conversation.warnings)


def test_apply_parses_raw_frames_and_rejects_non_json() -> None:
    """apply() takes a JSON string; a non-JSON frame raises ProtocolError."""
    conversation = Conversation()
    frame = json.dumps(
        _event(
            "conversation.item.added",
            previous_item_id=None,
            item={"id": "A", "type": "message", "role": "user", "content": []},
        )
    )
    assert conversation.apply(frame) is True
    assert [item.id for item in conversation.items] == ["A"]
    with pytest.raises(ProtocolError):
        conversation.apply("not json")


def test_events_without_conversation_state_return_false() -> None:
    """input_audio_buffer.speech_started changes nothing and apply() says so."""
    conversation = Conversation()
    assert (
        conversation.apply(_event("input_audio_buffer.speech_started", audio_start_ms=10, item_id="item_1"))
        is False
    )
    assert conversation.items == []


def test_error_events_are_collected() -> None:
    """error events are kept in conv.errors in arrival order."""
    conversation = Conversation()
    conversation.apply(
        _event(
            "error",
            error={
                "type": "invalid_request_error",
                "code": "invalid_value",
                "message": "bad",
                "param": None,
                "event_id": None,
            },
        )
    )
    assert [error["code"] for error in conversation.errors] == ["invalid_value"]


def test_unmodelled_item_fields_are_kept_in_extra() -> None:
    """Fields the SDK does not model (here a future "channel") survive in item.extra."""
    conversation = Conversation()
    item = {"id": "A", "type": "message", "role": "user", "content": [], "channel": "phone"}
    conversation.apply(_event("conversation.item.added", previous_item_id=None, item=item))
    assert conversation.item("A").extra == {"channel": "phone"}


def test_conversation_is_exported_by_the_protocol_package() -> None:
    """rtwidget.protocol.Conversation is this class."""
    import rtwidget.protocol

    assert rtwidget.protocol.Conversation is Conversation


def test_conversation_module_is_sans_io() -> None:
    """Importing the conversation module pulls in no numpy, asyncio or websockets."""
    import subprocess
    import sys

    code = (
        "import sys, rtwidget.protocol.conversation; "
        "print(sorted(m for m in ('numpy', 'asyncio', 'websockets') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
