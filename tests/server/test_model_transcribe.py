"""Tests of the simulator's input transcription (rtwidget.server.transcribe)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rtwidget import audio
from rtwidget.server.transcribe import describe, transcribe
from rtwidget.server.vad import EnergyVad
from rtwidget.server.voice import synthesize

TEXT = "What's the weather like in Paris today? I'd love to know, thanks."


def _words_in(description: str) -> int:
    match = re.search(r"about (\d+) words?", description)
    assert match, description
    return int(match.group(1))


def test_own_speech_is_transcribed_exactly() -> None:
    """Synthesized speech sent back (with silence around it) gives its text back."""
    pcm = audio.silence(500) + synthesize(TEXT, "echo").pcm + audio.silence(700)
    assert transcribe(pcm) == TEXT


def test_vad_cut_turns_recover_their_own_words() -> None:
    """Turns cut by the VAD at a sentence pause each recover the words they contain."""
    first, second = "Good morning everyone.", "Let us begin."
    pcm = audio.silence(400) + synthesize(f"{first} {second}").pcm + audio.silence(800)
    vad = EnergyVad(silence_duration_ms=250, prefix_padding_ms=100)
    events = vad.feed(pcm)
    turns = [(e.audio_start_ms, e.audio_end_ms) for e in events if e.kind == "speech_stopped"]
    assert len(turns) == 2
    texts = [transcribe(pcm[start * 48 : end * 48]) for start, end in turns if end is not None]
    assert texts == [first, second]


def _through_g711(pcm: bytes) -> bytes:
    """PCM16 24 kHz -> G.711 u-law at 8 kHz (what a G.711 session sends) -> PCM16 at 24 kHz."""
    ulaw = audio.encode_audio(audio.pcm16_to_float32(pcm), "g711_ulaw")
    return audio.float32_to_pcm16(audio.decode_audio(ulaw, "g711_ulaw"))


def _through_a_browser(pcm: bytes, rate: int, gain: float) -> bytes:
    """What a browser's capture does to audio its fake microphone plays: up to the context's rate, a gain,
    float rounding, back down to 24 kHz PCM16."""
    up = audio.resample(audio.pcm16_to_float32(pcm), 24_000, rate)
    return audio.float32_to_pcm16(audio.resample(np.float32(gain) * up, rate, 24_000))


def test_lossy_audio_is_described() -> None:
    """After G.711 (8 kHz) the words are lost; the description gives the speech length and a word estimate."""
    speech = synthesize(TEXT)
    lossy = _through_g711(speech.pcm)
    description = transcribe(lossy)
    assert re.fullmatch(r"\(\d+\.\d seconds of speech, about \d+ words?\)", description)
    seconds = float(description[1:].split()[0])
    assert seconds == pytest.approx(speech.words[-1].end_ms / 1000, abs=0.1)
    assert _words_in(description) == pytest.approx(len(speech.words), rel=0.35)


@pytest.mark.parametrize("n_words", [3, 8, 16])
def test_word_estimate_grows_with_speech(n_words: int) -> None:
    """The word estimate follows the number of words spoken (within about a third)."""
    words = ["hello", "table", "river", "go", "simple", "under", "quiet", "bright"] * 2
    speech = synthesize(" ".join(words[:n_words]) + ".")
    estimate = _words_in(describe(np.frombuffer(speech.pcm, dtype="<i2") & ~np.int16(1)))
    assert estimate == pytest.approx(n_words, rel=0.35, abs=1)


def test_steady_tone_is_audio_not_speech() -> None:
    """A long steady tone has no syllable rhythm and is described as audio."""
    assert transcribe(audio.silence(200) + audio.tone(440, 1500)) == "(1.5 seconds of audio)"


@pytest.mark.parametrize(
    "pcm",
    [
        b"",
        b"\x01",
        audio.silence(2000),
        audio.float32_to_pcm16(0.003 * np.random.default_rng(3).standard_normal(24000)),
    ],
)
def test_silence_transcribes_to_nothing(pcm: bytes) -> None:
    """Empty input, silence and low noise give an empty transcript."""
    assert transcribe(pcm) == ""


def test_transcript_is_deterministic() -> None:
    """The same audio gives the same transcript."""
    lossy = _through_g711(synthesize("One more time, please.").pcm)
    assert transcribe(lossy) == transcribe(lossy)


@pytest.mark.parametrize(("rate", "gain"), [(48_000, 1.0), (44_100, 2.5), (48_000, 0.3)])
def test_own_speech_survives_a_browser_microphone(rate: int, gain: float) -> None:
    """Resampled to a capture context's rate and back, louder or quieter: the words are still recovered."""
    pcm = audio.silence(300) + synthesize(TEXT, "coral").pcm + audio.silence(300)
    assert transcribe(_through_a_browser(pcm, rate, gain)) == TEXT


def test_a_cut_keeps_the_whole_words() -> None:
    """Audio cut anywhere (a push-to-talk hold) gives the words whose tones it holds whole, in order."""
    speech = synthesize(TEXT)
    cut = speech.pcm[2 * 24_000 * 1 // 2 + 2 * 1_234 : 2 * 24_000 * 3]  # from 0.55 s to 3 s
    words = transcribe(cut).split()
    assert len(words) >= 4
    spoken = TEXT.split()
    first = spoken.index(words[0])
    assert words == spoken[first : first + len(words)]


def test_mu_law_at_24_khz_keeps_the_words() -> None:
    """Companding alone (no resampling to 8 kHz) leaves the band: the words survive it."""
    pcm = synthesize(TEXT).pcm
    assert transcribe(audio.ulaw_decode(audio.ulaw_encode(pcm)).tobytes()) == TEXT


def test_other_rates_are_described() -> None:
    """Audio at 16 kHz is measured on its own rate."""
    speech = synthesize("Testing one two three.", rate_hz=16_000)
    plain = (np.frombuffer(speech.pcm, dtype="<i2") & ~np.int16(1)).tobytes()
    seconds = float(transcribe(plain, 16_000)[1:].split()[0])
    assert seconds == pytest.approx(speech.words[-1].end_ms / 1000, abs=0.1)


def test_a_word_whose_first_packet_is_lost_is_read_from_its_repeat() -> None:
    """Each word long enough carries its text twice; with the first copy wiped out (silence over it) the
    word is still recovered once, and a word said twice stays twice."""
    from rtwidget.server.voice import prepare

    text = "very very lighthouse keepers"
    stream = prepare(text)
    samples = np.frombuffer(stream.pcm(), dtype="<i2").copy()
    lighthouse = stream.marks[2]
    first_copy = len(lighthouse[1]) // 2
    assert first_copy > 0
    samples[lighthouse[0] : lighthouse[0] + first_copy] = 0
    assert transcribe(samples.tobytes()) == text
    assert transcribe(stream.pcm()) == text


def test_a_repeat_shifted_by_a_capture_glitch_is_still_one_word() -> None:
    """A loaded capture path can drop or insert audio between a word's two copies (CI once heard "hello
    there my friend friend hello" through Chromium): a repeat a few symbols off its place is still the
    repeat, while a word said twice stays twice."""
    from rtwidget.server.voice import prepare

    text = "very very lighthouse keepers"
    stream = prepare(text)
    samples = np.frombuffer(stream.pcm(), dtype="<i2")
    start, marks = stream.marks[2]
    between = start + len(marks) // 2  # where the repeat of "lighthouse" begins
    for gap_ms in (15, 30, 60):
        glitch = np.zeros(24 * gap_ms, dtype="<i2")
        shifted = np.concatenate([samples[:between], glitch, samples[between:]])
        assert transcribe(shifted.tobytes()) == text, gap_ms
