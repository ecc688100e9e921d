"""Event order of the simulator vs the real recordings (tests/data/corpus), repeated deltas collapsed.

The recorded client events are replayed into a simulator session and the server event types are compared
with `shape()`: each run of delta events becomes the set of its delta types, `rate_limits.updated` is left
out (it trails `response.done` by ~40 ms and most recordings end before it).
"""

from __future__ import annotations

import base64
from typing import Any

from sim_testing import Driver, load_corpus, shape

from rtwidget.server.voice import synthesize

INPUT_TRANSCRIPTION = "conversation.item.input_audio_transcription."


def _server_types(records: list[dict[str, Any]]) -> list[str]:
    return [r["event"]["type"] for r in records if r["dir"] == "server"]


def _replay(records: list[dict[str, Any]], driver: Driver, *, rewrite_call_id: bool = False) -> None:
    """Send the recorded client events in order, letting each response finish before the next event."""
    recorded_call = None
    for rec in records:
        if rec["dir"] == "server" and rec["event"]["type"] == "response.function_call_arguments.done":
            recorded_call = rec["event"]["call_id"]
        if rec["dir"] != "client":
            continue
        event = rec["event"]
        if rewrite_call_id and recorded_call and event.get("item", {}).get("call_id") == recorded_call:
            ours = next(e for e in driver.log if e["type"] == "response.function_call_arguments.done")[
                "call_id"
            ]
            event = {**event, "item": {**event["item"], "call_id": ours}}
        driver.send(event)
        if event["type"] == "response.create":
            driver.run()


def test_text_turn_order_matches_recording():
    """History seeding + text response: same event order as the OpenAI recording."""
    records = load_corpus("test_openai_ws__test_message_history_seeding.jsonl")
    d = Driver(speed=1000.0)
    _replay(records, d)
    assert shape(d.types()) == shape(_server_types(records))


def test_audio_turn_order_matches_recording():
    """Text in, audio out: same event order as the OpenAI recording (audio, transcript deltas interleaved)."""
    records = load_corpus("test_openai_ws__test_text_in_audio_out_turn.jsonl")
    d = Driver(speed=1000.0)
    _replay(records, d)
    assert shape(d.types()) == shape(_server_types(records))
    kinds = [e["type"] for e in d.log if e["type"].endswith(".delta")]
    assert kinds[0] == "response.output_audio_transcript.delta"  # recorded: the transcript leads the audio


def test_tool_round_order_matches_recording():
    """Function call, output, answer: same event order as the OpenAI recording."""
    records = load_corpus("test_openai_ws__test_tool_call_round.jsonl")
    d = Driver(speed=1000.0)
    _replay(records, d, rewrite_call_id=True)
    assert shape(d.types()) == shape(_server_types(records))


def test_server_vad_turn_order_matches_recording():
    """Speech under server VAD: same order as the recording; input transcription after the user item.

    Input transcription runs alongside the response on the real server (its deltas land anywhere after
    `response.created`), so those events are compared separately: present in both, after the committed
    item, deltas before `completed`.
    """
    records = load_corpus("test_openai_ws__test_audio_in_server_vad_turn.jsonl")
    d = Driver(speed=1000.0)
    d.send(next(r["event"] for r in records if r["dir"] == "client"))
    speech = bytes(24000 * 2) + synthesize("Hello my name is Marcelo", "alloy").pcm + bytes(24000 * 2)
    for i in range(0, len(speech), 4800):
        d.send(
            {"type": "input_audio_buffer.append", "audio": base64.b64encode(speech[i : i + 4800]).decode()}
        )
    d.run()
    ours, recorded = d.types(), _server_types(records)
    assert shape(t for t in ours if not t.startswith(INPUT_TRANSCRIPTION)) == shape(
        t for t in recorded if not t.startswith(INPUT_TRANSCRIPTION)
    )
    for types in (ours, recorded):
        tx = [i for i, t in enumerate(types) if t.startswith(INPUT_TRANSCRIPTION)]
        assert tx
        assert tx[0] > types.index("input_audio_buffer.committed")
        assert types[tx[-1]] == INPUT_TRANSCRIPTION + "completed"
