"""Delta runs kept compactly in the log: every frame comes back byte for byte (no connection needed)."""

from __future__ import annotations

import base64
import json

from rtwidget.protocol import Conversation, parse_server_event
from rtwidget.widget.log import EventLog
from rtwidget.widget.logruns import DeltaRun, split_frame


def _text_delta(i: int, delta: str, **extra: object) -> str:
    frame = {"type": "response.output_audio_transcript.delta", "event_id": f"event_{i:05d}",
             "response_id": "r1", "item_id": "i1", "output_index": 0, "content_index": 0, "delta": delta,
             "obfuscation": f"pad{i}", **extra}  # fmt: skip
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def _audio_delta(i: int, pcm: bytes) -> str:
    frame = {"type": "response.output_audio.delta", "event_id": f"event_a{i}", "response_id": "r1",
             "item_id": "i1", "output_index": 0, "content_index": 0,
             "delta": base64.b64encode(pcm).decode()}  # fmt: skip
    return json.dumps(frame, separators=(",", ":"))


def test_split_frame_puts_the_frame_back_together() -> None:
    """Constant pieces and varying values (event_id, delta, obfuscation) join to the frame exactly."""
    frame = _text_delta(1, 'a "quoted" é \\ word')
    pieces, spans, delta_at = split_frame(frame)
    values = [frame[a:b] for a, b in spans]
    assert "".join(p + v for p, v in zip(pieces, [*values, ""], strict=True)) == frame
    assert json.loads(f'"{values[delta_at]}"') == 'a "quoted" é \\ word'


def test_text_run_rebuilds_each_frame_and_the_run_text() -> None:
    """Text deltas with escapes, non-ASCII and obfuscation come back exactly; the run's text joins them."""
    log = EventLog()
    deltas = ["Hello", ", ", '"you"', " é\u2028", "\\n", " 👋", "ends in \\"]
    frames = [_text_delta(i, d) for i, d in enumerate(deltas)]
    for i, (frame, delta) in enumerate(zip(frames, deltas, strict=True)):
        row = log.add_delta(
            "response.output_audio_transcript.delta", i * 0.1, frame, item_id="i1", text=delta
        )
        assert row is not None
    assert [log.entries[i]._frame for i in range(len(frames))] == frames
    assert [e.data for e in log.entries] == [json.loads(f) for f in frames]
    assert log.detail(0, 3)["text"] == "".join(deltas)
    assert log.rows[0].view()["n"] == len(deltas)


def test_a_delta_of_another_shape_is_kept_whole_in_the_same_row() -> None:
    """A frame with an extra field does not fit the run's pieces: it is kept whole, still one row."""
    log = EventLog()
    first = _text_delta(0, "one ")
    odd = _text_delta(1, "two ", audio_duration_ms=3)
    assert (
        log.add_delta("response.output_audio_transcript.delta", 0.0, first, item_id="i1", text="one ")
        is not None
    )
    assert (
        log.add_delta("response.output_audio_transcript.delta", 0.1, odd, item_id="i1", text="two ") is None
    )
    log.add("server", "response.output_audio_transcript.delta", 0.1, raw=odd, item_id="i1", text="two ")
    assert len(log.rows) == 1
    assert [e.data for e in log.entries] == [json.loads(first), json.loads(odd)]
    assert log.detail(0, 0)["text"] == "one two "


def test_a_run_matches_its_next_deltas_in_place_and_refuses_near_misses() -> None:
    """A run's next delta is checked against its pieces where it lies (no split): a value that spells the
    pieces' own text (escaped in JSON) still fits; the same frame with more after it, another key order or
    a value that is not a string does not, and each of those is left for the caller to keep whole."""
    log = EventLog()
    kind = "response.output_audio_transcript.delta"
    tricky = 'x","obfuscation":"y'  # escaped in the frame: "x\",\"obfuscation\":\"y"
    good = [_text_delta(0, "one "), _text_delta(1, tricky), _text_delta(2, "")]
    for i, frame in enumerate(good):
        assert log.add_delta(kind, 0.1 * i, frame, item_id="i1", text=json.loads(frame)["delta"]) is not None
    fields = json.loads(_text_delta(3, "more"))
    reordered = json.dumps({"event_id": fields.pop("event_id"), **fields}, separators=(",", ":"))
    misses = [
        _text_delta(3, "more") + " ",  # its pieces, then a byte more
        _text_delta(3, "more")[:-1] + ',"ts":1}',  # a field after the last value
        reordered,  # the same fields, event_id first
        _text_delta(3, "more").replace('"event_00003"', "3"),  # a number where the run has a string
    ]
    for frame in misses:
        json.loads(frame)  # each is a valid frame, just not this run's shape
        assert log.add_delta(kind, 0.5, frame, item_id="i1", text="more") is None
    assert [log.entries[i]._frame for i in range(len(good))] == good
    assert json.loads(log.entries[1]._frame)["delta"] == tricky
    assert log.detail(0, 1)["text"] == "one " + tricky


def test_audio_run_rebuilds_frames_from_the_conversation_pcm() -> None:
    """Audio deltas keep no base64: frames, typed events and export come back from the conversation's PCM."""
    conversation = Conversation(keep_audio=True)
    log = EventLog()
    chunks = [bytes([n]) * 4800 for n in range(1, 6)] + [b"\x07" * 10]
    frames = [_audio_delta(i, pcm) for i, pcm in enumerate(chunks)]
    offset = 0
    for frame, pcm in zip(frames, chunks, strict=True):
        row = log.add_delta(
            "response.output_audio.delta", 0.0, frame, item_id="i1", audio=(conversation, 0, offset),
            nbytes=len(pcm),
        )  # fmt: skip
        assert row is not None
        conversation.apply(parse_server_event(frame))
        assert row.run is not None
        row.run.resolve()
        offset += len(pcm)
    run = log.rows[0].run
    assert isinstance(run, DeltaRun)
    assert not run.values.count(b"AQEB")  # no base64 held
    assert [run.frame(k) for k in range(len(run))] == frames
    assert [e.data for e in log.entries] == [json.loads(f) for f in frames]
    assert log.entries[2].event.audio == chunks[2]
    assert log.rows[0].nbytes == sum(map(len, chunks))
