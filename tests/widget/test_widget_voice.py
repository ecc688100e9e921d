"""The user's voice from the kernel's side: send_audio turns, microphone chunks from a view, push-to-talk in
order, turn modes through the session, barge-in. Against the simulator over loopback."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
import traitlets

from rtwidget.audio import decode_audio, float32_to_pcm16
from rtwidget.server.voice import synthesize
from rtwidget.widget import RealtimeWidget, voice

SPEED = 50
PTT = {"audio": {"input": {"turn_detection": None, "transcription": {"model": "gpt-4o-mini-transcribe"}}}}


@pytest.fixture
async def w() -> AsyncIterator[RealtimeWidget]:
    widget = RealtimeWidget(simulator_speed=SPEED)
    await widget.connect()
    await widget.wait_for("session.created", timeout=10, since=0)
    yield widget
    await widget.disconnect()
    widget.close()


def view(w: RealtimeWidget, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
    """A message from a view, delivered the way ipywidgets does."""
    w._handle_custom_msg(content, buffers or [])


def sent(w: RealtimeWidget) -> list[dict[str, Any]]:
    """The client events the widget sent, decoded."""
    return [e.data for e in w.events if e.direction == "client"]


def appended_bytes(w: RealtimeWidget) -> bytes:
    return b"".join(base64.b64decode(d["audio"]) for d in sent(w) if d["type"] == "input_audio_buffer.append")


async def test_send_audio_makes_a_spoken_turn_without_turn_detection(w: RealtimeWidget) -> None:
    """Push-to-talk session: the audio goes out whole, is committed once after it, and gets a reply; the
    simulator's transcription of its own speech recovers the words."""
    await w.update_session(PTT)
    await w.wait_for("session.updated", timeout=10)
    speech = synthesize("hello there how are you")
    seconds = await w.send_audio(speech.pcm, rate=24000, realtime=False)
    assert seconds == pytest.approx(len(speech.pcm) / 48000)
    done = await w.wait_for("response.done", timeout=20)
    assert done.response.status == "completed"
    assert appended_bytes(w) == speech.pcm
    types = [d["type"] for d in sent(w)]
    assert types.count("input_audio_buffer.commit") == 1
    assert types.index("input_audio_buffer.commit") > max(
        i for i, t in enumerate(types) if t.endswith(".append")
    )
    transcript = await w.wait_for(
        "conversation.item.input_audio_transcription.completed", timeout=10, since=0
    )
    assert transcript.transcript == "hello there how are you"


async def test_send_audio_under_server_vad_lets_the_server_end_the_turn(w: RealtimeWidget) -> None:
    """With server VAD (the default session) no commit is sent: trailing silence lets the server commit."""
    speech = synthesize("what is the weather like")
    await w.send_audio(speech.pcm, rate=24000, realtime=False)
    await w.wait_for("input_audio_buffer.committed", timeout=20, since=0)
    done = await w.wait_for("response.done", timeout=20, since=0)
    assert done.response.status == "completed"
    assert "input_audio_buffer.commit" not in [d["type"] for d in sent(w)]
    assert appended_bytes(w)[: len(speech.pcm)] == speech.pcm
    assert len(appended_bytes(w)) == len(speech.pcm) + 48 * voice.VAD_TAIL_MS


@pytest.mark.parametrize("rate", [16000, 44100, 48000])
async def test_send_audio_resamples_to_the_session_rate(w: RealtimeWidget, rate: int) -> None:
    """A float array at another rate arrives as 24 kHz PCM16 of the same duration."""
    await w.update_session(PTT)
    await w.wait_for("session.updated", timeout=10)
    t = np.arange(rate) / rate
    await w.send_audio((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate=rate, realtime=False)
    assert len(appended_bytes(w)) / 48 == pytest.approx(1000, abs=2)


async def test_appends_follow_mic_chunk_ms_and_keep_the_audio_exact(w: RealtimeWidget) -> None:
    """``mic_chunk_ms`` sets the audio per append (send_audio's step; the view reads it for capture): 40 ms
    chunks of 48 kHz input become 40 ms appends of 24 kHz PCM16; each is in the log as sent, with an
    event_id, and the user's item holds exactly the appended audio."""
    await w.update_session(PTT)
    await w.wait_for("session.updated", timeout=10)
    w.mic_chunk_ms = 40
    seconds = await w.send_audio(synthesize("one two three").pcm, rate=24000, realtime=False)
    appends = [d for d in sent(w) if d["type"] == "input_audio_buffer.append"]
    sizes = [len(base64.b64decode(d["audio"])) for d in appends]
    assert set(sizes[:-1]) == {2 * 24 * 40}
    assert 0 < sizes[-1] <= 2 * 24 * 40
    assert sum(sizes) == round(seconds * 48000)
    assert len({d["event_id"] for d in appends}) == len(appends)
    await w.wait_for("response.done", timeout=20, since=0)
    (user,) = [item for item in w.items if item.role == "user"]
    assert user.audio is not None
    assert float32_to_pcm16(user.audio) == appended_bytes(w)
    with pytest.raises(traitlets.TraitError):
        w.mic_chunk_ms = voice.MIN_CHUNK_MS - 1
    assert w.mic_chunk_ms == 40


async def test_send_audio_refuses_what_it_cannot_read(w: RealtimeWidget) -> None:
    with pytest.raises(ValueError, match="rate="):
        await w.send_audio(b"\x00\x00" * 100)
    with pytest.raises(ValueError, match="pairs"):
        await w.send_audio(b"\x00" * 3, rate=24000)
    with pytest.raises(ValueError, match="1-D"):
        await w.send_audio(np.zeros((2, 2)), rate=24000)
    assert appended_bytes(w) == b""


async def test_push_to_talk_from_a_view_sends_audio_then_commit_then_response(w: RealtimeWidget) -> None:
    """Press, 2 s of microphone chunks, release: the appends carry the 2 s, the commit and the
    response.create follow the last of them, and a reply comes."""
    view(w, {"type": "ready", "view": "v1", "seq": 1, "limit": 10})
    view(w, {"type": "mode", "mode": "ptt", "seq": 2, "view": "v1"})
    await w.wait_for("session.updated", timeout=10)
    assert w._console.session_effective["audio"]["input"]["turn_detection"] is None
    view(w, {"type": "ptt.start", "seq": 3, "view": "v1"})
    pcm = synthesize("tell me a story").pcm
    step = 2 * 24 * voice.CHUNK_MS
    for at in range(0, len(pcm), step):
        view(w, {"type": "mic", "rate": 24000}, [pcm[at : at + step]])
    view(w, {"type": "ptt.end", "seq": 4, "view": "v1"})
    await w._outbox.join()
    done = await w.wait_for("response.done", timeout=20, since=0)
    assert done.response.status == "completed"
    assert appended_bytes(w) == pcm
    types = [d["type"] for d in sent(w)]
    last_append = max(i for i, t in enumerate(types) if t == "input_audio_buffer.append")
    assert types[last_append + 1 :] == ["input_audio_buffer.commit", "response.create"]
    assert types.index("input_audio_buffer.clear") < types.index("input_audio_buffer.append")


async def test_a_g711_session_gets_g711_audio(w: RealtimeWidget) -> None:
    """The session says audio/pcmu: the view captures at 8 kHz, the kernel sends u-law (a byte a sample)."""
    await w.update_session({"audio": {"input": {"format": {"type": "audio/pcmu"}, "turn_detection": None}}})
    await w.wait_for("session.updated", timeout=10)
    assert w.mic_rate == 8000
    pcm8k = float32_to_pcm16(np.full(400, 0.25, dtype=np.float32))  # 50 ms at 8 kHz
    view(w, {"type": "mic", "rate": 8000}, [pcm8k])
    await w._outbox.join()
    ulaw = appended_bytes(w)
    assert len(ulaw) == 400
    assert np.allclose(decode_audio(ulaw, "g711_ulaw", 8000), 0.25, atol=0.01)


@pytest.mark.parametrize(
    ("content", "data", "reason"),
    [
        ({"type": "mic", "rate": 24000}, b"\x00" * 3, "not PCM16"),
        ({"type": "mic", "rate": "fast"}, b"\x00" * 4, "rate 'fast'"),
        ({"type": "mic", "rate": 24000}, b"\x00" * (2 * 24000 * 2), "at most 1 s"),
    ],
)
async def test_a_bad_microphone_chunk_is_refused_and_logged(
    w: RealtimeWidget, content: dict[str, Any], data: bytes, reason: str
) -> None:
    view(w, content, [data])
    await w._outbox.join()
    assert appended_bytes(w) == b""
    assert reason in w.errors[-1]["message"]


async def test_an_unknown_mode_is_refused(w: RealtimeWidget) -> None:
    view(w, {"type": "mode", "mode": "telepathy", "seq": 1, "view": "v1"})
    assert "telepathy" in w.errors[-1]["message"]


async def test_barge_in_flushes_playback_and_truncates_at_what_was_heard(w: RealtimeWidget) -> None:
    """Speech starts while a reply plays: the views are told to flush, and the reply is truncated at what
    was played (less than what was received), as Stop would, without cancelling it twice."""
    posted: list[dict[str, Any]] = []
    real_send = w.send
    w.send = lambda content, buffers=None: (posted.append(content), real_send(content, buffers))  # type: ignore[method-assign]
    view(w, {"type": "ready", "view": "v1", "seq": 1, "limit": 10})
    await w.send_text("Please tell me a long story about the sea, with many details.")
    first = await w.wait_for("response.output_audio.delta", timeout=10)
    item = first.item_id
    while w._console.received_ms(item) < 1500:  # noqa: ASYNC110 - no event says "1.5 s received"
        await asyncio.sleep(0.01)
    view(w, {"type": "played", "items": {item: 400.0}})  # the view has rendered 400 ms so far
    await w.send_audio(synthesize("stop please").pcm, rate=24000, realtime=False)
    truncate = await w.wait_for("conversation.item.truncated", timeout=20)
    assert truncate.item_id == item
    assert truncate.audio_end_ms == 400
    assert {"type": "audio.flush", "item": item} in posted
    assert "local.barge_in" in [e.type for e in w.events]
    assert [d["type"] for d in sent(w)].count("response.cancel") == 0


async def test_the_users_audio_is_in_the_items(w: RealtimeWidget) -> None:
    """The server never echoes input audio: the user's audio item holds what was appended before commit."""
    await w.update_session(PTT)
    await w.wait_for("session.updated", timeout=10)
    speech = synthesize("good morning")
    await w.send_audio(speech.pcm, rate=24000, realtime=False)
    await w.wait_for("response.done", timeout=20)
    user = [i for i in w.items if i.role == "user"]
    assert len(user) == 1
    assert user[0].audio is not None
    assert float32_to_pcm16(user[0].audio) == speech.pcm


def test_sent_audio_in_the_log_is_capped_by_keep_audio_s() -> None:
    """The log holds the appends' audio only up to keep_audio_s (oldest dropped first, like received audio):
    dropped entries say so with their size, their row keeps every byte counted."""
    from rtwidget.protocol.codec import encode_event
    from rtwidget.protocol.ga import InputAudioBufferAppendEvent
    from rtwidget.widget.console import ConsoleState

    console = ConsoleState(keep_audio_s=1.0)
    chunks = [bytes([n]) * 4800 for n in range(30)]  # 30 x 100 ms of PCM16 at 24 kHz
    for n, pcm in enumerate(chunks):
        event = InputAudioBufferAppendEvent.from_pcm(pcm, event_id=f"evt_{n}")
        console.frame("client", encode_event(event), event, None, n * 0.1)
    appends = [e for e in console.log.entries if e.type == "input_audio_buffer.append"]
    assert len(appends) == 30
    assert [e.data["audio"] for e in appends[:20]] == [
        "<4800 bytes of audio no longer held (keep_audio_s)>"
    ] * 20
    assert [base64.b64decode(e.data["audio"]) for e in appends[20:]] == chunks[20:]
    assert [e.data["event_id"] for e in appends] == [f"evt_{n}" for n in range(30)]
    assert sum(console.log.rows[r].nbytes for r in {e.row for e in appends}) == 30 * 4800
    assert (console.sent_audio.held_ms, console.sent_audio.dropped_ms) == (
        pytest.approx(1000),
        pytest.approx(2000),
    )


async def test_sent_audio_dropped_by_the_cap_is_marked_in_the_export(tmp_path: Any) -> None:
    """An export after the cap dropped sent audio marks those appends dropped with their size, keeps the
    rest exact, and a replay of it says why the audio is missing."""
    w = RealtimeWidget(simulator_speed=SPEED, keep_audio_s=0.5)
    try:
        await w.connect()
        await w.wait_for("session.created", timeout=10, since=0)
        await w.update_session(PTT)
        await w.wait_for("session.updated", timeout=10)
        pcm = synthesize("one two three four").pcm
        await w.send_audio(pcm, rate=24000, realtime=False)
        await w.wait_for("response.done", timeout=20, since=0)
        path = tmp_path / "sent.jsonl"
        w.export_log(path)
    finally:
        await w.disconnect()
        w.close()
    import json

    lines = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    appends = [line for line in lines if line["type"] == "input_audio_buffer.append"]
    dropped = [line for line in appends if line["audio"].get("dropped")]
    kept = [line for line in appends if not line["audio"].get("dropped")]
    assert dropped
    assert kept
    assert all(line["event"]["audio"] is None and line["audio"]["bytes"] == 4800 for line in dropped)
    assert b"".join(base64.b64decode(line["event"]["audio"]) for line in kept) == pcm[len(dropped) * 4800 :]
    replayed = RealtimeWidget.replay(path)
    assert "dropped by keep_audio_s" in replayed.events[dropped[0]["i"]].data["audio"]
