"""Tests of the simulator's speech synthesis (rtwidget.server.voice): timing, pitch, rhythm, spectrum."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from rtwidget.server import voice

RATE_HZ = 24_000
SENTENCE = "Hello there, my name is Ada. What would you like to talk about today?"
PANGRAM = "The quick brown fox jumps over the lazy dog and then it runs away into the woods."


def _samples(pcm: bytes) -> npt.NDArray[np.float64]:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0


def _frame_rms(x: npt.NDArray[np.float64], frame: int) -> npt.NDArray[np.float64]:
    n = len(x) // frame
    return np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))


def _fundamental_hz(pcm: bytes, rate_hz: int = RATE_HZ, min_rms: float = 0.05) -> float:
    """Median autocorrelation pitch over the loud 40 ms frames."""
    x = _samples(pcm)
    frame = rate_hz // 25
    estimates = []
    for start in range(0, len(x) - frame, frame):
        w = x[start : start + frame]
        if np.sqrt(np.mean(w * w)) < min_rms:
            continue
        w = w - w.mean()
        ac = np.correlate(w, w, "full")[frame - 1 :]
        lo, hi = rate_hz // 400, rate_hz // 70
        estimates.append(rate_hz / (lo + int(np.argmax(ac[lo:hi]))))
    assert estimates, "no voiced frames"
    return float(np.median(estimates))


def _band_ratio(pcm: bytes, split_hz: float, rate_hz: int = RATE_HZ) -> float:
    """Energy above ``split_hz`` over energy below it."""
    spectrum = np.abs(np.fft.rfft(_samples(pcm))) ** 2
    freqs = np.fft.rfftfreq(len(pcm) // 2, 1.0 / rate_hz)
    return float(spectrum[freqs >= split_hz].sum() / spectrum[(freqs > 50) & (freqs < split_hz)].sum())


@pytest.mark.parametrize("text", ["Hi.", SENTENCE, PANGRAM, " ".join([PANGRAM] * 3)])
def test_duration_is_plausible_per_word(text: str) -> None:
    """Speech lasts roughly 0.2-0.6 s per word, like conversational speech."""
    speech = voice.synthesize(text)
    n_words = len(text.split())
    assert 200 * n_words <= speech.duration_ms <= 600 * n_words


def test_words_are_monotonic_and_inside_the_audio() -> None:
    """Word timings increase, do not overlap and end within the PCM."""
    speech = voice.synthesize(SENTENCE)
    assert [w.text for w in speech.words] == [t.strip(",.?") for t in SENTENCE.split()]
    for word in speech.words:
        assert 0 <= word.start_ms < word.end_ms <= speech.duration_ms
    for before, after in itertools.pairwise(speech.words):
        assert before.end_ms <= after.start_ms


def test_word_timings_match_the_audio_energy() -> None:
    """Each word's span holds sound and the gaps between words are quiet."""
    speech = voice.synthesize(SENTENCE)
    x = _samples(speech.pcm)
    for word in speech.words:
        lo, hi = round(word.start_ms * RATE_HZ / 1000), round(word.end_ms * RATE_HZ / 1000)
        assert np.sqrt(np.mean(x[lo:hi] ** 2)) > 0.03
    for before, after in itertools.pairwise(speech.words):
        lo, hi = round(before.end_ms * RATE_HZ / 1000), round(after.start_ms * RATE_HZ / 1000)
        assert np.abs(x[lo:hi]).max(initial=0.0) < 0.01


def test_punctuation_makes_longer_pauses() -> None:
    """The pause after a comma is longer than between words, and after a full stop longer still."""
    words = voice.synthesize("One two, three four. Five").words
    gaps = [after.start_ms - before.end_ms for before, after in itertools.pairwise(words)]
    assert gaps[0] < gaps[1] < gaps[3]


def test_same_input_same_bytes() -> None:
    """Synthesis is deterministic, also when recomputed from scratch."""
    first = voice.synthesize(SENTENCE, "shimmer", speed=1.2)
    voice._synthesize_cached.cache_clear()
    second = voice.synthesize(SENTENCE, "shimmer", speed=1.2)
    assert first.pcm == second.pcm
    assert first.words == second.words


def test_voices_differ_in_pitch() -> None:
    """The measured fundamental follows each voice's pitch: echo < alloy < shimmer."""
    measured = {v: _fundamental_hz(voice.synthesize(PANGRAM, v).pcm) for v in ("echo", "alloy", "shimmer")}
    assert measured["echo"] < measured["alloy"] < measured["shimmer"]
    for name, hz in measured.items():
        assert hz == pytest.approx(voice.pitch_hz(name), rel=0.15)


def test_unknown_voice_gets_a_stable_speaking_pitch() -> None:
    """An unknown voice name maps to the same pitch every time, within a speaking range."""
    assert voice.pitch_hz("my-custom-voice") == voice.pitch_hz("my-custom-voice")
    assert 100 <= voice.pitch_hz("my-custom-voice") <= 240
    hz = _fundamental_hz(voice.synthesize(PANGRAM, "my-custom-voice").pcm)
    assert hz == pytest.approx(voice.pitch_hz("my-custom-voice"), rel=0.15)


def test_energy_envelope_has_syllable_rhythm() -> None:
    """The loudness envelope is strongly modulated, with its main rhythm at a syllable rate (2.5-7 Hz)."""
    speech = voice.synthesize(" ".join([PANGRAM] * 2))
    envelope = _frame_rms(_samples(speech.pcm), RATE_HZ // 100)
    assert envelope.std() / envelope.mean() > 0.5
    spectrum = np.abs(np.fft.rfft(envelope - envelope.mean()))
    freqs = np.fft.rfftfreq(len(envelope), 0.01)
    band = (freqs >= 1.0) & (freqs <= 15.0)
    peak_hz = freqs[band][np.argmax(spectrum[band])]
    assert 2.5 <= peak_hz <= 7.0


def test_vowels_are_harmonic_not_a_beep() -> None:
    """A vowel has many harmonics of its fundamental, unlike a pure tone."""
    pcm = voice.synthesize("Ah", "echo").pcm
    x = _samples(pcm)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1.0 / RATE_HZ)
    f0 = voice.pitch_hz("echo")
    strong = [
        k for k in range(1, 20) if spectrum[np.abs(freqs - k * f0) < f0 * 0.3].max() > 0.05 * spectrum.max()
    ]
    assert len(strong) >= 5


def test_vowel_letters_shape_the_spectrum() -> None:
    """A front vowel (high second formant) carries more energy above 1.5 kHz than a back vowel."""
    front = voice.synthesize("me me me", "echo").pcm
    back = voice.synthesize("mo mo mo", "echo").pcm
    assert _band_ratio(front, 1500.0) > 3 * _band_ratio(back, 1500.0)


def test_fricatives_are_noise_bursts() -> None:
    """An "s" brings energy above 4 kHz that a nasal-vowel word lacks."""
    assert _band_ratio(voice.synthesize("sass").pcm, 4000.0) > 5 * _band_ratio(
        voice.synthesize("mama").pcm, 4000.0
    )


def test_speed_scales_duration() -> None:
    """Twice the speed gives about half the duration."""
    normal = voice.synthesize(PANGRAM).duration_ms
    assert voice.synthesize(PANGRAM, speed=2.0).duration_ms == pytest.approx(normal / 2, rel=0.05)


def test_question_rises_in_pitch() -> None:
    """A question's last word ends much higher than the same words as a statement."""
    tails = []
    for text in ("Are you there?", "Are you there."):
        speech = voice.synthesize(text, "echo")
        end = round(speech.words[-1].end_ms * RATE_HZ / 1000) * 2
        tails.append(_fundamental_hz(speech.pcm[end - 2 * RATE_HZ // 10 : end], min_rms=0.02))
    assert tails[0] > 1.4 * tails[1]


def test_other_sample_rates_keep_the_timing() -> None:
    """At 8 kHz the audio lasts as long and the words are at the same times (to a sample)."""
    high = voice.synthesize(SENTENCE, rate_hz=24_000)
    low = voice.synthesize(SENTENCE, rate_hz=8_000)
    assert low.rate_hz == 8_000
    assert low.duration_ms == pytest.approx(high.duration_ms, abs=len(high.words) + 5)
    for a, b in zip(high.words, low.words, strict=True):
        assert b.start_ms == pytest.approx(a.start_ms, abs=len(high.words) + 5)


def test_empty_text_gives_empty_audio() -> None:
    """Nothing to say: no samples and no words (punctuation alone included)."""
    for text in ("", "   ", "...", "!?"):
        speech = voice.synthesize(text)
        assert speech.pcm == b""
        assert speech.words == []


def test_numbers_are_spoken() -> None:
    """Digits are spoken as words and kept as written in the word list."""
    speech = voice.synthesize("Call 42 now.")
    assert [w.text for w in speech.words] == ["Call", "42", "now"]
    assert speech.words[1].end_ms - speech.words[1].start_ms > 300


def test_stream_chunks_add_up_to_the_speech() -> None:
    """synthesize_iter yields chunk_ms pieces that concatenate to synthesize()'s PCM."""
    chunks = list(voice.synthesize_iter(SENTENCE, "verse", chunk_ms=40))
    assert b"".join(chunks) == voice.synthesize(SENTENCE, "verse").pcm
    assert {len(c) for c in chunks[:-1]} == {40 * RATE_HZ // 1000 * 2}


def test_level_is_normal_speech() -> None:
    """Speech sits around -20 dBFS overall without clipping."""
    x = _samples(voice.synthesize(PANGRAM).pcm)
    level_dbfs = 20 * np.log10(np.sqrt(np.mean(x * x)))
    assert -30 < level_dbfs < -12
    assert np.abs(x).max() < 0.9


def test_bad_rate_is_rejected() -> None:
    """A sample rate too low for speech raises a clear ValueError."""
    with pytest.raises(ValueError, match="rate_hz"):
        voice.synthesize("hi", rate_hz=1000)


def test_any_script_is_spoken() -> None:
    """Accented and non-Latin words are voiced too, and keep their written form."""
    speech = voice.synthesize("Café 你好 Привет!")
    assert [w.text for w in speech.words] == ["Café", "你好", "Привет"]
    for word in speech.words:
        assert word.end_ms - word.start_ms > 150
