"""Sans-I/O tests of the simulator session: fake clock, no event loop, no sockets."""

from __future__ import annotations

import base64
import itertools
import json

import pytest
from sim_testing import Driver, expected_speech, schema_errors

from rtwidget.server import SimSession
from rtwidget.server.voice import synthesize

USER_HELLO = {
    "type": "conversation.item.create",
    "item": {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "Hello, who are you?"}],
    },
}
TEXT_ONLY = {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}
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


def _errors(events: list[dict]) -> list[dict]:
    return [e["error"] for e in events if e["type"] == "error"]


def test_session_created_first():
    """The first event is session.created with the GA default session."""
    d = Driver()
    assert d.types() == ["session.created"]
    session = d.log[0]["session"]
    assert session["type"] == "realtime"
    assert session["max_output_tokens"] == "inf"
    assert session["audio"]["output"]["voice"] == "alloy"
    assert session["id"].startswith("sess_")


def test_beta_handshake_adds_conversation_created():
    """A beta session starts with session.created then conversation.created."""
    d = Driver(dialect="beta")
    assert d.types() == ["session.created", "conversation.created"]
    assert d.log[0]["session"]["modalities"] == ["text", "audio"]
    assert d.log[1]["conversation"]["object"] == "realtime.conversation"


def test_text_turn_sequence_and_text():
    """A text turn streams the recorded sequence and the deltas add up to the final text."""
    d = Driver()
    d.send(TEXT_ONLY)
    d.send(USER_HELLO)
    d.send({"type": "response.create"})
    d.run()
    types = d.types()
    first = types.index("response.created")
    assert types[first + 1 : first + 4] == [
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
    ]
    assert types[-6:] == [
        "response.output_text.done",
        "response.content_part.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
        "rate_limits.updated",
    ]
    deltas = "".join(e["delta"] for e in d.log if e["type"] == "response.output_text.delta")
    done = next(e for e in d.log if e["type"] == "response.output_text.done")
    assert deltas == done["text"] != ""


def test_text_deltas_are_paced_by_the_clock():
    """No text delta is emitted before its due time; advancing the clock releases them."""
    d = Driver(speed=1.0)
    d.send(TEXT_ONLY)
    d.send(USER_HELLO)
    out = d.send({"type": "response.create"})
    assert "response.output_text.delta" not in [e["type"] for e in out]
    due = d.session.next_deadline()
    assert due is not None
    assert due > d.now
    assert d.session.advance(due - 1e-6) == []
    assert [e.to_dict()["type"] for e in d.session.advance(due)] == ["response.output_text.delta"]


def test_audio_turn_deltas_follow_real_time_divided_by_speed():
    """Each audio delta is due when the previous one's audio has played, divided by speed."""
    d = Driver(speed=2.0)
    d.send(USER_HELLO)
    d.send({"type": "response.create"})
    sent: list[tuple[float, int]] = []  # (due time, PCM bytes)
    while (due := d.session.next_deadline()) is not None:
        d.now = due
        events = [e.to_dict() for e in d.session.advance(due)]
        sent += [
            (due, len(base64.b64decode(e["delta"])))
            for e in events
            if e["type"] == "response.output_audio.delta"
        ]
    assert len(sent) > 3
    assert {len_ for _, len_ in sent[:3]} == {d.session.audio_chunk_ms * 48}  # 24 kHz PCM16: 48 bytes/ms
    for (t0, nbytes), (t1, _) in itertools.pairwise(sent):
        assert t1 - t0 == pytest.approx(nbytes / 48 / 1000 / 2.0)


def test_audio_turn_transcript_and_audio_consistent():
    """Audio deltas decode to the synthesized speech and transcript deltas add up to the transcript."""
    d = Driver(speed=100.0)
    d.send(USER_HELLO)
    d.send({"type": "response.create"})
    d.run()
    audio = b"".join(
        base64.b64decode(e["delta"]) for e in d.log if e["type"] == "response.output_audio.delta"
    )
    transcript = "".join(e["delta"] for e in d.log if e["type"] == "response.output_audio_transcript.delta")
    done = next(e for e in d.log if e["type"] == "response.output_audio_transcript.done")
    assert transcript == done["transcript"]
    assert audio == expected_speech(transcript)
    usage = next(e for e in d.log if e["type"] == "response.done")["response"]["usage"]
    assert usage["output_token_details"]["audio_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_same_input_same_output():
    """Two sessions with the same seed and inputs emit identical events."""
    logs = []
    for _ in range(2):
        d = Driver(seed=7, speed=100.0)
        d.send(USER_HELLO)
        d.send({"type": "response.create"})
        d.run()
        logs.append(d.log)
    assert logs[0] == logs[1]


def test_unknown_event_type_is_invalid_value():
    """An unknown client type gets error invalid_value listing the accepted types; the session goes on."""
    d = Driver()
    (err,) = _errors(d.send({"type": "nope"}))
    assert err["code"] == "invalid_value"
    assert "'session.update'" in err["message"]
    assert err["event_id"] is None
    assert d.send(USER_HELLO)[0]["type"] == "conversation.item.added"


def test_non_json_and_binary_frames():
    """Non-JSON text -> invalid_json; a binary frame -> invalid_event."""
    d = Driver()
    assert _errors(d.send("not json"))[0]["code"] == "invalid_json"
    assert _errors(d.send(b"\x00\x01"))[0]["code"] == "invalid_event"


def test_session_update_unknown_parameter():
    """An unknown session key -> unknown_parameter naming it, with the client's event_id."""
    d = Driver()
    (err,) = _errors(
        d.send({"type": "session.update", "event_id": "evt_1", "session": {"type": "realtime", "foo": 1}})
    )
    assert err["code"] == "unknown_parameter"
    assert err["param"] == "session.foo"
    assert err["event_id"] == "evt_1"


def test_session_update_requires_type():
    """GA session.update without session.type is rejected."""
    d = Driver()
    (err,) = _errors(d.send({"type": "session.update", "session": {"instructions": "x"}}))
    assert err["code"] == "missing_required_parameter"
    assert err["param"] == "session.type"


def test_session_update_invalid_value():
    """Both output modalities at once is an invalid value (GA: "not possible to request both")."""
    d = Driver()
    (err,) = _errors(
        d.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "output_modalities": ["text", "audio"]},
            }
        )
    )
    assert err["code"] == "invalid_value"


def test_session_update_returns_full_effective_session():
    """session.updated carries the whole merged session, not just the changed fields."""
    d = Driver()
    (ev,) = d.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}}}},
        }
    )
    assert ev["type"] == "session.updated"
    assert ev["session"]["audio"]["input"]["transcription"] == {
        "model": "whisper-1",
        "language": None,
        "prompt": None,
    }
    assert ev["session"]["audio"]["output"]["voice"] == "alloy"
    assert ev["session"]["instructions"] == d.log[0]["session"]["instructions"]


def test_voice_change_after_audio_is_rejected():
    """Changing the voice once the assistant has produced audio -> cannot_update_voice."""
    d = Driver(speed=100.0)
    d.send(USER_HELLO)
    d.send({"type": "response.create"})
    d.run()
    (err,) = _errors(
        d.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"output": {"voice": "echo"}}},
            }
        )
    )
    assert err["code"] == "cannot_update_voice"


def test_item_create_retrieve_delete():
    """Items are acknowledged with added/done, retrievable, and deletable; unknown ids are errors."""
    d = Driver()
    added, done = d.send(USER_HELLO)
    item_id = added["item"]["id"]
    assert (added["type"], done["type"]) == ("conversation.item.added", "conversation.item.done")
    (got,) = d.send({"type": "conversation.item.retrieve", "item_id": item_id})
    assert got["type"] == "conversation.item.retrieved"
    assert got["item"]["content"][0]["text"] == "Hello, who are you?"
    assert d.send({"type": "conversation.item.delete", "item_id": item_id})[0] == {
        "type": "conversation.item.deleted",
        "event_id": d.log[-1]["event_id"],
        "item_id": item_id,
    }
    assert _errors(d.send({"type": "conversation.item.delete", "item_id": item_id}))[0]["code"] == (
        "item_delete_invalid_item_id"
    )
    assert _errors(d.send({"type": "conversation.item.retrieve", "item_id": "item_x"}))[0]["code"] == (
        "item_retrieve_invalid_item_id"
    )


def test_previous_item_id_orders_items():
    """previous_item_id inserts after that item; "root" inserts first."""
    d = Driver()
    first = d.send(USER_HELLO)[0]["item"]["id"]
    second = d.send(USER_HELLO)[0]["item"]["id"]
    mid = d.send({**USER_HELLO, "previous_item_id": first})[0]
    assert mid["previous_item_id"] == first
    top = d.send({**USER_HELLO, "previous_item_id": "root"})[0]
    assert top["previous_item_id"] is None
    assert [it["id"] for it in d.session.items] == [top["item"]["id"], first, mid["item"]["id"], second]


def test_truncate_audio_item():
    """Truncating assistant audio acknowledges with the cut and rejects cuts beyond the audio."""
    d = Driver(speed=100.0)
    d.send(USER_HELLO)
    d.send({"type": "response.create"})
    d.run()
    item_id = next(e for e in d.log if e["type"] == "response.output_item.done")["item"]["id"]
    (ack,) = d.send(
        {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 200}
    )
    assert ack["type"] == "conversation.item.truncated"
    assert ack["audio_end_ms"] == 200
    (err,) = _errors(
        d.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": 10**6,
            }
        )
    )
    assert err["code"] == "invalid_value"


def test_cancel_in_flight_response():
    """response.cancel ends the streaming response with status cancelled and client_cancelled."""
    d = Driver(speed=1.0)
    d.send(USER_HELLO)
    d.send({"type": "response.create"})
    d.run(until=0.25)
    out = d.send({"type": "response.cancel"})
    done = next(e for e in out if e["type"] == "response.done")
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert d.session.next_deadline() is None
    assert d.run() == []


def test_cancel_without_active_response():
    """response.cancel with nothing active -> response_cancel_not_active."""
    d = Driver()
    assert _errors(d.send({"type": "response.cancel"}))[0]["code"] == "response_cancel_not_active"


def test_second_response_while_active_is_rejected():
    """A second in-conversation response.create while one runs -> conversation_already_has_active_response."""
    d = Driver(speed=1.0)
    d.send(USER_HELLO)
    d.send({"type": "response.create"})
    assert (
        _errors(d.send({"type": "response.create"}))[0]["code"] == "conversation_already_has_active_response"
    )


def test_max_output_tokens_incomplete():
    """A token limit cuts the reply: status incomplete, reason max_output_tokens, output tokens within it."""
    d = Driver(speed=100.0)
    d.send(TEXT_ONLY)
    d.send(USER_HELLO)
    d.send({"type": "response.create", "response": {"max_output_tokens": 3}})
    d.run()
    resp = next(e for e in d.log if e["type"] == "response.done")["response"]
    assert resp["status"] == "incomplete"
    assert resp["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    assert resp["usage"]["output_tokens"] <= 3
    assert resp["output"][0]["status"] == "incomplete"


def test_out_of_band_response_leaves_conversation_alone():
    """conversation "none" streams a response without adding items to the conversation."""
    d = Driver(speed=100.0)
    d.send(TEXT_ONLY)
    d.send(USER_HELLO)
    before = [it["id"] for it in d.session.items]
    d.send(
        {
            "type": "response.create",
            "response": {
                "conversation": "none",
                "metadata": {"purpose": "summary"},
                "input": [
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "Summarize"}],
                    }
                ],
            },
        }
    )
    d.run()
    assert "conversation.item.added" not in d.types()[len(before) + 3 :]
    done = next(e for e in d.log if e["type"] == "response.done")["response"]
    assert done["conversation_id"] is None
    assert done["metadata"] == {"purpose": "summary"}
    assert [it["id"] for it in d.session.items] == before


def test_commit_empty_buffer_error():
    """Committing less than 100 ms of audio -> input_audio_buffer_commit_empty."""
    d = Driver()
    d.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        }
    )
    (err,) = _errors(d.send({"type": "input_audio_buffer.commit"}))
    assert err["code"] == "input_audio_buffer_commit_empty"


def _append(d: Driver, pcm: bytes, chunk_bytes: int = 4800) -> None:
    for i in range(0, len(pcm), chunk_bytes):
        d.send(
            {
                "type": "input_audio_buffer.append",
                "audio": base64.b64encode(pcm[i : i + chunk_bytes]).decode(),
            }
        )


def test_manual_commit_and_transcription():
    """Without VAD, commit creates the user audio item and the configured transcription follows."""
    d = Driver()
    d.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"turn_detection": None, "transcription": {"model": "whisper-1"}}},
            },
        }
    )
    _append(d, synthesize("Hello, my name is Ada.", "alloy").pcm)
    out = d.send({"type": "input_audio_buffer.commit"})
    kinds = [e["type"] for e in out]
    assert kinds[:3] == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]
    assert kinds[-1] == "conversation.item.input_audio_transcription.completed"
    completed = out[-1]
    deltas = "".join(
        e["delta"] for e in out if e["type"] == "conversation.item.input_audio_transcription.delta"
    )
    assert deltas == completed["transcript"] != ""
    assert completed["item_id"] == out[0]["item_id"]


def test_server_vad_turn():
    """Speech then silence under server VAD: started, stopped, committed, user item, automatic response."""
    d = Driver(speed=100.0)
    speech = synthesize("Hello my name is Ada", "alloy").pcm
    silence = bytes(24000 * 2)  # 1 s
    _append(d, silence + speech + silence)
    d.run()
    types = d.types()
    i = types.index("input_audio_buffer.speech_started")
    assert types[i : i + 6] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
    ]
    started = d.log[i]
    stopped = d.log[i + 1]
    assert 0 < started["audio_start_ms"] < stopped["audio_end_ms"]
    assert started["item_id"] == stopped["item_id"] == d.log[i + 2]["item_id"]
    assert types[-2:] == ["response.done", "rate_limits.updated"]


def test_vad_interrupts_in_flight_response():
    """New speech while the assistant talks cancels its response with reason turn_detected."""
    d = Driver(speed=1.0)
    d.send(USER_HELLO)
    d.send({"type": "response.create"})
    d.run(until=0.2)
    speech = synthesize("Wait a moment please.", "alloy").pcm
    _append(d, speech)
    done = next(e for e in d.log if e["type"] == "response.done")["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"]["reason"] == "turn_detected"


def test_tool_round():
    """A user naming a tool gets a function_call; after its output the reply uses the output."""
    d = Driver(speed=100.0)
    d.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "output_modalities": ["text"], "tools": [WEATHER_TOOL]},
        }
    )
    d.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "What is the weather in London?"}],
            },
        }
    )
    d.send({"type": "response.create"})
    d.run()
    args_done = next(e for e in d.log if e["type"] == "response.function_call_arguments.done")
    assert args_done["name"] == "get_weather"
    args = json.loads(args_done["arguments"])
    assert isinstance(args["city"], str)
    d.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": args_done["call_id"],
                "output": "Foggy, 12 degrees.",
            },
        }
    )
    d.send({"type": "response.create"})
    d.run()
    text = [e for e in d.log if e["type"] == "response.output_text.done"][-1]["text"]
    assert "12" in text


def test_function_call_output_without_call_is_rejected():
    """A function_call_output whose call_id matches no call is an error."""
    d = Driver()
    (err,) = _errors(
        d.send(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": "c", "output": "x"},
            }
        )
    )
    assert err["param"] == "item.call_id"


def test_transcription_session_has_no_responses():
    """An intent=transcription session transcribes committed audio and refuses response.create."""
    d = Driver(intent="transcription")
    assert d.log[0]["session"]["type"] == "transcription"
    d.send(
        {
            "type": "session.update",
            "session": {
                "type": "transcription",
                "audio": {"input": {"turn_detection": None, "transcription": {"model": "gpt-4o-transcribe"}}},
            },
        }
    )
    _append(d, synthesize("Testing one two three.", "alloy").pcm)
    out = d.send({"type": "input_audio_buffer.commit"})
    assert out[-1]["type"] == "conversation.item.input_audio_transcription.completed"
    assert _errors(d.send({"type": "response.create"}))


def test_beta_names_in_a_text_turn():
    """A beta session sees response.text.delta, conversation.item.created and beta session fields."""
    d = Driver(dialect="beta", speed=100.0)
    d.send({"type": "session.update", "session": {"modalities": ["text"], "temperature": 0.7}})
    d.send(USER_HELLO)
    d.send({"type": "response.create"})
    d.run()
    types = set(d.types())
    assert {"response.text.delta", "response.text.done", "conversation.item.created"} <= types
    assert not types & {"response.output_text.delta", "conversation.item.added", "conversation.item.done"}
    updated = next(e for e in d.log if e["type"] == "session.updated")["session"]
    assert updated["modalities"] == ["text"]
    assert updated["temperature"] == 0.7


def test_speed_must_be_positive():
    """A non-positive speed is refused with a clear message."""
    with pytest.raises(ValueError, match="speed"):
        SimSession(speed=0)


def test_g711_ulaw_output_and_input():
    """audio/pcmu sessions stream 8 kHz u-law (800 bytes per 100 ms) and run VAD on u-law input."""
    from rtwidget.audio import ulaw_decode, ulaw_encode

    d = Driver(speed=100.0)
    pcmu = {"type": "audio/pcmu"}
    d.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"format": pcmu}, "output": {"format": pcmu}}},
        }
    )
    speech = synthesize("Hello, who are you?", "alloy", rate_hz=8000).pcm
    silence = bytes(8000 * 2)
    _append(d, ulaw_encode(silence + speech + silence), chunk_bytes=800)
    d.run()
    assert "input_audio_buffer.committed" in d.types()
    chunks = [base64.b64decode(e["delta"]) for e in d.log if e["type"] == "response.output_audio.delta"]
    assert {len(c) for c in chunks[:-1]} == {800}
    transcript = next(e for e in d.log if e["type"] == "response.output_audio_transcript.done")["transcript"]
    expected = expected_speech(transcript, rate_hz=8000)
    assert ulaw_decode(b"".join(chunks)).tobytes() == ulaw_decode(ulaw_encode(expected)).tobytes()


def test_idle_timeout_triggers_a_turn():
    """server_vad idle_timeout_ms: silence that long -> timeout_triggered, a committed item, a response."""
    d = Driver(speed=100.0)
    td = {"type": "server_vad", "idle_timeout_ms": 5000}
    d.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": td}}},
        }
    )
    _append(d, bytes(24000 * 2 * 6))  # 6 s of silence
    d.run()
    types = d.types()
    i = types.index("input_audio_buffer.timeout_triggered")
    assert types[i + 1] == "input_audio_buffer.committed"
    timeout = d.log[i]
    assert timeout["audio_end_ms"] - timeout["audio_start_ms"] == 5000
    assert "response.done" in types[i:]


def test_semantic_vad_turn():
    """semantic_vad (approximated by pauses) also ends a spoken turn and answers it."""
    d = Driver(speed=100.0)
    td = {"type": "semantic_vad", "eagerness": "high"}
    d.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": td}}},
        }
    )
    _append(d, bytes(24000) + synthesize("Hello who are you", "alloy").pcm + bytes(48000))
    d.run()
    assert "input_audio_buffer.speech_stopped" in d.types()
    assert d.types()[-2] == "response.done"


def test_silence_under_vad_does_not_grow_the_buffer():
    """Streaming a minute of silence under VAD keeps only a short tail buffered."""
    d = Driver()
    _append(d, bytes(24000 * 2 * 60), chunk_bytes=48000)
    assert d.session.input_buffer_ms <= 2000
    assert _errors(d.log) == []


def test_transcription_logprobs_when_included():
    """include item.input_audio_transcription.logprobs adds logprobs to transcription deltas and completed."""
    d = Driver()
    d.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "include": ["item.input_audio_transcription.logprobs"],
                "audio": {"input": {"turn_detection": None, "transcription": {"model": "gpt-4o-transcribe"}}},
            },
        }
    )
    _append(d, synthesize("Hello, who are you?", "alloy").pcm)
    out = d.send({"type": "input_audio_buffer.commit"})
    completed = out[-1]
    assert [lp["token"] for lp in completed["logprobs"]] == [
        e["delta"] for e in out if e["type"] == "conversation.item.input_audio_transcription.delta"
    ]
    assert schema_errors(completed) == []


def test_every_emitted_event_validates_against_the_ga_schema():
    """A long scripted session touching every feature emits only schema-valid GA events."""
    d = Driver(speed=100.0)
    d.send({"type": "session.update", "session": {"type": "realtime", "tools": [WEATHER_TOOL]}})
    d.send(USER_HELLO)
    d.send({"type": "response.create"})
    d.run(until=0.01)
    d.send({"type": "response.cancel"})
    item_id = next(e for e in d.log if e["type"] == "response.output_item.done")["item"]["id"]
    d.send({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 0})
    d.send({"type": "conversation.item.retrieve", "item_id": item_id})
    d.send({"type": "conversation.item.delete", "item_id": item_id})
    d.send(
        {
            **USER_HELLO,
            "item": {**USER_HELLO["item"], "content": [{"type": "input_text", "text": "Weather in Oslo?"}]},
        }
    )
    d.send({"type": "response.create", "response": {"output_modalities": ["text"], "max_output_tokens": 5}})
    d.run()
    td = {"type": "server_vad", "idle_timeout_ms": 5000}
    d.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "tools": [],
                "audio": {"input": {"turn_detection": td, "transcription": {"model": "whisper-1"}}},
            },
        }
    )
    _append(d, bytes(24000) + synthesize("Hello who are you", "alloy").pcm + bytes(24000 * 2 * 6))
    d.run()
    d.send({"type": "input_audio_buffer.clear"})
    d.send({"type": "input_audio_buffer.commit"})
    d.send({"type": "nope"})
    kinds = set(d.types())
    assert {"input_audio_buffer.timeout_triggered", "conversation.item.truncated", "error"} <= kinds
    assert [err for e in d.log for err in schema_errors(e)] == []


def test_beta_transcription_session():
    """Beta intent=transcription: transcription_session.created/.updated with beta field names."""
    d = Driver(dialect="beta", intent="transcription")
    assert d.types() == ["transcription_session.created"]
    (ev,) = d.send(
        {
            "type": "transcription_session.update",
            "session": {"input_audio_transcription": {"model": "whisper-1"}, "turn_detection": None},
        }
    )
    assert ev["type"] == "transcription_session.updated"
    assert ev["session"]["input_audio_transcription"]["model"] == "whisper-1"
    assert ev["session"]["input_audio_format"] == "pcm16"
    _append(d, synthesize("Testing one two three.", "alloy").pcm)
    out = d.send({"type": "input_audio_buffer.commit"})
    assert out[-1]["type"] == "conversation.item.input_audio_transcription.completed"


def test_internal_failure_becomes_server_error(monkeypatch: pytest.MonkeyPatch):
    """A failure inside the simulator answers server_error and the session keeps working."""
    from rtwidget.server import responder

    d = Driver(speed=100.0)
    d.send(TEXT_ONLY)
    d.send(USER_HELLO)

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(responder, "reply", broken)
    errors = _errors(d.send({"type": "response.create"}))
    assert [(e["type"], e["code"]) for e in errors] == [("server_error", "server_error")]
    assert [e["response"]["status"] for e in d.log if e["type"] == "response.done"] == ["failed"]
    monkeypatch.undo()
    d.send({"type": "response.create"})
    d.run()
    assert [e["response"]["status"] for e in d.log if e["type"] == "response.done"] == ["failed", "completed"]
    assert [err for e in d.log for err in schema_errors(e)] == []


def test_failure_while_streaming_fails_only_that_response(monkeypatch: pytest.MonkeyPatch):
    """A failure in a timed step ends that response as failed; the next response streams normally."""
    from rtwidget.server import voice

    real = voice.prepare  # what the simulator calls per sentence (it renders the audio chunk by chunk)
    calls: list[str] = []

    def second_sentence_breaks(text: str, *args: object, **kwargs: object) -> object:
        calls.append(text)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return real(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(voice, "prepare", second_sentence_breaks)
    d = Driver(speed=100.0)
    d.send(USER_HELLO)
    d.send({"type": "response.create"})
    d.run()
    assert len(calls) >= 2
    assert [e["code"] for e in _errors(d.log)] == ["server_error"]
    d.send({"type": "response.create"})
    d.run()
    assert [e["response"]["status"] for e in d.log if e["type"] == "response.done"] == ["failed", "completed"]
