"""Tests of the simulator's energy VAD (rtwidget.server.vad) on synthesized speech, tones and noise."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sim_testing import CORPUS

from rtwidget import audio
from rtwidget.server.vad import FRAME_MS, SEMANTIC_SILENCE_MS, EnergyVad, VadEvent
from rtwidget.server.voice import synthesize

SPEECH = synthesize("Hello, my name is Ada. I would like to hear about the weather.", "alloy")
# The synthesized speech ends with a short silent tail; its sound ends where the last word does.
SPEECH_END_MS = SPEECH.words[-1].end_ms


def _noise(duration_ms: int, rms: float, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return audio.float32_to_pcm16(rms * rng.standard_normal(duration_ms * 24))


def _kinds(events: list[VadEvent]) -> list[str]:
    return [e.kind for e in events]


def test_speech_starts_and_stops_with_padding_and_silence() -> None:
    """Onset minus prefix padding, and end of speech plus silence duration, within a frame."""
    events = EnergyVad().feed(audio.silence(1000) + SPEECH.pcm + audio.silence(2000))
    assert _kinds(events) == ["speech_started", "speech_stopped"]
    assert events[0].audio_start_ms == pytest.approx(1000 - 300, abs=FRAME_MS)
    assert events[1].audio_end_ms == pytest.approx(1000 + SPEECH_END_MS + 500, abs=2 * FRAME_MS)


def test_recorded_turn_timing_is_reproduced() -> None:
    """Onset 1760 ms + ~2 s of sound reproduces the recording's audio_start_ms 1460 / audio_end_ms 4256."""
    recorded = {}
    for line in (CORPUS / "test_openai_ws__test_audio_in_server_vad_turn.jsonl").read_text().splitlines():
        event = json.loads(line)["event"]
        if event["type"].startswith("input_audio_buffer.speech_"):
            recorded[event["type"]] = event
    pcm = audio.silence(1760) + audio.tone(220, 1996) + audio.silence(1500)
    started, stopped = EnergyVad().feed(pcm)
    assert started.audio_start_ms == pytest.approx(
        recorded["input_audio_buffer.speech_started"]["audio_start_ms"], abs=FRAME_MS
    )
    assert stopped.audio_end_ms == pytest.approx(
        recorded["input_audio_buffer.speech_stopped"]["audio_end_ms"], abs=FRAME_MS
    )


def test_tone_at_default_amplitude_triggers() -> None:
    """audio.tone at amplitude 0.3 counts as speech at the default threshold."""
    events = EnergyVad().feed(audio.silence(500) + audio.tone(440, 800) + audio.silence(800))
    assert _kinds(events) == ["speech_started", "speech_stopped"]


@pytest.mark.parametrize("pcm", [audio.silence(3000), _noise(3000, 0.003), _noise(3000, 0.008, seed=1)])
def test_silence_and_low_noise_do_not_trigger(pcm: bytes) -> None:
    """Digital silence and noise below -40 dBFS start no turn."""
    assert EnergyVad().feed(pcm) == []


def test_threshold_is_honoured() -> None:
    """A quiet tone (-29 dBFS) is speech at threshold 0.5 but not at 0.9."""
    quiet = audio.silence(300) + audio.tone(300, 600, amplitude=0.05) + audio.silence(800)
    assert _kinds(EnergyVad(threshold=0.5).feed(quiet)) == ["speech_started", "speech_stopped"]
    assert EnergyVad(threshold=0.9).feed(quiet) == []


def test_chunking_does_not_change_events() -> None:
    """One chunk, 10 ms chunks or odd-sized random chunks give identical events."""
    pcm = audio.silence(700) + SPEECH.pcm + audio.silence(1200) + SPEECH.pcm + audio.silence(900)
    whole = EnergyVad(idle_timeout_ms=600).feed(pcm)
    sizes = np.random.default_rng(7).integers(1, 3000, size=len(pcm) // 100)
    for split in (list(audio.chunk(pcm, 10)), _split(pcm, sizes.tolist())):
        vad = EnergyVad(idle_timeout_ms=600)
        assert [e for piece in split for e in vad.feed(piece)] == whole
    assert len(whole) >= 4


def _split(data: bytes, sizes: list[int]) -> list[bytes]:
    out, at = [], 0
    for size in sizes:
        if at >= len(data):
            break
        out.append(data[at : at + size])
        at += size
    out.append(data[at:])
    return out


def test_prefix_padding_is_clamped_at_zero() -> None:
    """Speech at the very start reports audio_start_ms 0, not a negative time."""
    events = EnergyVad(prefix_padding_ms=300).feed(SPEECH.pcm + audio.silence(800))
    assert events[0].audio_start_ms == 0


def test_next_turn_starts_after_previous_end() -> None:
    """A second turn's padded start never reaches back into the previous turn."""
    pcm = audio.tone(300, 400) + audio.silence(550) + audio.tone(300, 400) + audio.silence(800)
    events = EnergyVad(prefix_padding_ms=300, silence_duration_ms=500).feed(pcm)
    assert _kinds(events) == ["speech_started", "speech_stopped"] * 2
    assert events[1].audio_end_ms is not None
    assert events[2].audio_start_ms >= events[1].audio_end_ms


def test_short_pause_does_not_end_the_turn() -> None:
    """Pauses shorter than silence_duration_ms (like the synthesized sentence pause) keep one turn."""
    events = EnergyVad(silence_duration_ms=500).feed(SPEECH.pcm + audio.silence(800))
    assert _kinds(events) == ["speech_started", "speech_stopped"]


def test_click_is_not_speech() -> None:
    """A 20 ms burst is shorter than the minimum speech duration."""
    assert EnergyVad().feed(audio.silence(300) + audio.tone(1000, 20) + audio.silence(1000)) == []


def test_idle_timeout_fires_on_the_audio_timeline() -> None:
    """With no speech, "timeout" fires every idle_timeout_ms of audio, spanning the idle stretch."""
    events = EnergyVad(idle_timeout_ms=2000).feed(audio.silence(5000))
    assert events == [VadEvent("timeout", 0, 2000), VadEvent("timeout", 2000, 4000)]


def test_idle_timeout_counts_from_end_of_speech() -> None:
    """After a turn the idle clock restarts at speech_stopped, and speech itself never times out."""
    pcm = audio.silence(500) + audio.tone(300, 3000) + audio.silence(3000)
    events = EnergyVad(idle_timeout_ms=1000, silence_duration_ms=500).feed(pcm)
    assert _kinds(events) == ["speech_started", "speech_stopped", "timeout", "timeout"]
    stop = events[1].audio_end_ms
    assert stop is not None
    assert (events[2].audio_start_ms, events[2].audio_end_ms) == (stop, stop + 1000)


def test_no_timeout_without_idle_timeout() -> None:
    """idle_timeout_ms=None (the default) never times out."""
    assert EnergyVad().feed(audio.silence(20_000)) == []


def test_reset_restarts_the_timeline() -> None:
    """After reset() the same audio gives the same events as a fresh detector."""
    pcm = audio.silence(400) + audio.tone(300, 500) + audio.silence(900)
    vad = EnergyVad()
    vad.feed(audio.silence(1234) + audio.tone(300, 200))
    vad.reset()
    assert vad.feed(pcm) == EnergyVad().feed(pcm)
    assert not vad.speaking


def test_speaking_and_position_follow_the_audio() -> None:
    """speaking is true between started and stopped; position_ms counts whole frames."""
    vad = EnergyVad()
    vad.feed(audio.silence(105) + audio.tone(300, 300))
    assert vad.speaking
    assert vad.position_ms == 400
    vad.feed(audio.silence(600))
    assert not vad.speaking


@pytest.mark.parametrize(("eagerness", "splits"), [("high", True), ("low", False), ("medium", False)])
def test_semantic_eagerness_sets_the_pause_that_ends_a_turn(eagerness: str, splits: bool) -> None:
    """Eager semantic VAD ends the turn at a 350 ms pause; low and medium eagerness wait."""
    pcm = audio.tone(300, 600) + audio.silence(350) + audio.tone(300, 600) + audio.silence(1200)
    vad = EnergyVad.semantic(eagerness)
    assert vad.silence_duration_ms == SEMANTIC_SILENCE_MS[eagerness]
    assert len(vad.feed(pcm)) == (4 if splits else 2)


def test_bad_settings_are_rejected() -> None:
    """Unknown eagerness, negative durations and a zero rate raise ValueError naming the field."""
    with pytest.raises(ValueError, match="eagerness"):
        EnergyVad.semantic("frantic")
    with pytest.raises(ValueError, match="silence_duration_ms"):
        EnergyVad(silence_duration_ms=-1)
    with pytest.raises(ValueError, match="idle_timeout_ms"):
        EnergyVad(idle_timeout_ms=0)
    with pytest.raises(ValueError, match="rate_hz"):
        EnergyVad(rate_hz=0)


def test_other_rates_use_their_own_frames() -> None:
    """At 8 kHz the same audio (resampled) gives the same turn times."""
    pcm = audio.silence(1000) + audio.tone(300, 700) + audio.silence(900)
    low = audio.float32_to_pcm16(audio.resample(audio.pcm16_to_float32(pcm), 24_000, 8_000))
    assert EnergyVad(rate_hz=8000).feed(low) == EnergyVad().feed(pcm)
