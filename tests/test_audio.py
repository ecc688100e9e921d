"""Tests of rtwidget.audio: PCM16, G.711 (bit-exact), resampling, WAV, chunking, test signals."""

from __future__ import annotations

import importlib
import io
import warnings
import wave
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from rtwidget import audio

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = bytes(range(256))

# --- independent G.711 reference: the classic Sun Microsystems g711.c, transcribed as plain Python -----

SEG_UEND = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
SEG_AEND = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _search(value: int, table: tuple[int, ...]) -> int:
    for index, end in enumerate(table):
        if value <= end:
            return index
    return len(table)


def ref_linear2ulaw(pcm_val: int) -> int:
    """g711.c linear2ulaw()."""
    pcm_val >>= 2
    if pcm_val < 0:
        pcm_val = -pcm_val
        mask = 0x7F
    else:
        mask = 0xFF
    pcm_val = min(pcm_val, 8159)
    pcm_val += 0x84 >> 2
    seg = _search(pcm_val, SEG_UEND)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((pcm_val >> (seg + 1)) & 0xF)) ^ mask


def ref_ulaw2linear(u_val: int) -> int:
    """g711.c ulaw2linear()."""
    u_val = ~u_val & 0xFF
    t = ((u_val & 0x0F) << 3) + 0x84
    t <<= (u_val & 0x70) >> 4
    return 0x84 - t if u_val & 0x80 else t - 0x84


def ref_linear2alaw(pcm_val: int) -> int:
    """g711.c linear2alaw()."""
    pcm_val >>= 3
    if pcm_val >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        pcm_val = -pcm_val - 1
    seg = _search(pcm_val, SEG_AEND)
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= (pcm_val >> 1) & 0x0F if seg < 2 else (pcm_val >> seg) & 0x0F
    return aval ^ mask


def ref_alaw2linear(a_val: int) -> int:
    """g711.c alaw2linear()."""
    a_val ^= 0x55
    t = (a_val & 0x0F) << 4
    seg = (a_val & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t += 0x108
        t <<= seg - 1
    return t if a_val & 0x80 else -t


def _audioop() -> ModuleType:
    """CPython's audioop (3.11/3.12; deprecated, removed in 3.13) as a second, C-coded reference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return importlib.import_module("audioop")
        except ImportError:
            pytest.skip("audioop is not available in this Python")


# --- G.711 ---------------------------------------------------------------------------------------------


def test_ulaw_decode_matches_reference_for_all_256_codes() -> None:
    """Every u-law code decodes to g711.c's ulaw2linear value."""
    assert audio.ulaw_decode(ALL_CODES).tolist() == [ref_ulaw2linear(code) for code in range(256)]


def test_alaw_decode_matches_reference_for_all_256_codes() -> None:
    """Every A-law code decodes to g711.c's alaw2linear value."""
    assert audio.alaw_decode(ALL_CODES).tolist() == [ref_alaw2linear(code) for code in range(256)]


def test_ulaw_encode_matches_reference_for_all_int16_values() -> None:
    """u-law encoding of all 65536 int16 values equals g711.c's linear2ulaw."""
    expected = bytes(ref_linear2ulaw(value) for value in range(-32768, 32768))
    assert audio.ulaw_encode(ALL_INT16) == expected


def test_alaw_encode_matches_reference_for_all_int16_values() -> None:
    """A-law encoding of all 65536 int16 values equals g711.c's linear2alaw."""
    expected = bytes(ref_linear2alaw(value) for value in range(-32768, 32768))
    assert audio.alaw_encode(ALL_INT16) == expected


def test_g711_matches_cpython_audioop() -> None:
    """Encode and decode agree with CPython's C audioop (a second implementation of the same tables)."""
    audioop = _audioop()
    pcm = ALL_INT16.astype("<i2").tobytes()
    assert audio.ulaw_encode(pcm) == audioop.lin2ulaw(pcm, 2)
    assert audio.alaw_encode(pcm) == audioop.lin2alaw(pcm, 2)
    assert audio.ulaw_decode(ALL_CODES).astype("<i2").tobytes() == audioop.ulaw2lin(ALL_CODES, 2)
    assert audio.alaw_decode(ALL_CODES).astype("<i2").tobytes() == audioop.alaw2lin(ALL_CODES, 2)


@pytest.mark.parametrize(
    ("code", "value"),
    [(0xFF, 0), (0x7F, 0), (0x80, 32124), (0x00, -32124)],
)
def test_ulaw_decode_known_values(code: int, value: int) -> None:
    """Published u-law values: 0xFF/0x7F are zero, 0x80/0x00 the extremes +-32124."""
    assert int(audio.ulaw_decode(bytes([code]))[0]) == value


@pytest.mark.parametrize(
    ("code", "value"),
    [(0xD5, 8), (0x55, -8), (0xAA, 32256), (0x2A, -32256)],
)
def test_alaw_decode_known_values(code: int, value: int) -> None:
    """Published A-law values: 0xD5/0x55 are +-8 (no zero code), 0xAA/0x2A the extremes +-32256."""
    assert int(audio.alaw_decode(bytes([code]))[0]) == value


@pytest.mark.parametrize(
    ("value", "ulaw", "alaw"),
    [(0, 0xFF, 0xD5), (32767, 0x80, 0xAA), (-32768, 0x00, 0x2A)],
)
def test_g711_encode_known_values(value: int, ulaw: int, alaw: int) -> None:
    """Silence encodes to 0xFF (u-law) / 0xD5 (A-law), full scale to the extreme codes."""
    samples = np.array([value], dtype=np.int16)
    assert audio.ulaw_encode(samples) == bytes([ulaw])
    assert audio.alaw_encode(samples) == bytes([alaw])


@pytest.mark.parametrize(
    ("encode", "decode"), [(audio.ulaw_encode, audio.ulaw_decode), (audio.alaw_encode, audio.alaw_decode)]
)
def test_g711_decoded_values_survive_a_round_trip(
    encode: Callable[[np.ndarray], bytes], decode: Callable[[bytes], np.ndarray]
) -> None:
    """Re-encoding a decoded value gives back the same value (the quantizer is idempotent)."""
    decoded = decode(ALL_CODES)
    assert decode(encode(decoded)).tolist() == decoded.tolist()


def test_g711_encode_accepts_bytes_and_arrays_alike() -> None:
    """PCM16 bytes and the equal int16 array encode identically."""
    samples = np.array([0, 1000, -1000, 32767, -32768, 12345], dtype=np.int16)
    assert audio.ulaw_encode(samples.tobytes()) == audio.ulaw_encode(samples)
    assert audio.alaw_encode(samples.tobytes()) == audio.alaw_encode(samples)


def test_g711_encode_drops_a_trailing_odd_byte() -> None:
    """A 33-byte PCM16 payload (as in the recorded corpus) encodes its 16 whole samples."""
    payload = bytes(range(33))
    assert audio.ulaw_encode(payload) == audio.ulaw_encode(payload[:32])
    assert len(audio.alaw_encode(payload)) == 16


# --- PCM16 <-> float32 ----------------------------------------------------------------------------------


def test_pcm16_to_float32_scales_by_32768() -> None:
    """-32768 maps to -1.0, 16384 to 0.5, and the result is float32."""
    pcm = np.array([-32768, 0, 16384, 32767], dtype="<i2").tobytes()
    result = audio.pcm16_to_float32(pcm)
    assert result.dtype == np.float32
    assert result.tolist() == [-1.0, 0.0, 0.5, 32767 / 32768]


def test_pcm16_to_float32_drops_odd_trailing_byte() -> None:
    """An odd-length payload decodes its whole samples and does not raise."""
    assert len(audio.pcm16_to_float32(bytes(33))) == 16
    assert len(audio.pcm16_to_float32(b"\x01")) == 0


def test_pcm16_float32_round_trip_is_exact_for_all_values() -> None:
    """Every int16 value survives pcm16 -> float32 -> pcm16 unchanged."""
    pcm = ALL_INT16.astype("<i2").tobytes()
    assert audio.float32_to_pcm16(audio.pcm16_to_float32(pcm)) == pcm


def test_float32_to_pcm16_clips_out_of_range() -> None:
    """Values beyond full scale clip to 32767 / -32768 instead of wrapping; NaN becomes 0."""
    pcm = audio.float32_to_pcm16(np.array([2.0, -2.0, 1.0, np.nan], dtype=np.float32))
    assert np.frombuffer(pcm, dtype="<i2").tolist() == [32767, -32768, 32767, 0]


def test_pcm16_to_float32_rejects_float_arrays() -> None:
    """A float array is not PCM16: a clear TypeError instead of silent truncation."""
    with pytest.raises(TypeError, match="dtype float"):
        audio.pcm16_to_float32(np.zeros(4, dtype=np.float64))


# --- resampling -----------------------------------------------------------------------------------------


def _sine(freq_hz: float, rate_hz: int, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    return amplitude * np.sin(2 * np.pi * freq_hz * t)


def _peak_db(x: np.ndarray, reference: float) -> float:
    """Peak level of ``x`` (edges trimmed) in dB relative to ``reference``."""
    middle = x[len(x) // 10 : -len(x) // 10]
    return float(20 * np.log10(np.abs(middle).max() / reference + 1e-12))


def _dominant_hz(x: np.ndarray, rate_hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate_hz / len(x))


@pytest.mark.parametrize(
    ("from_hz", "to_hz", "freq_hz"),
    [
        (48_000, 24_000, 15_000),
        (48_000, 24_000, 12_500),
        (24_000, 8_000, 5_000),
        (24_000, 8_000, 4_200),
        (44_100, 24_000, 14_000),
        (24_000, 16_000, 9_000),
    ],
)
def test_resample_attenuates_tone_above_new_nyquist(from_hz: int, to_hz: int, freq_hz: int) -> None:
    """A tone above the target Nyquist frequency comes out more than 40 dB down (anti-aliasing)."""
    result = audio.resample(_sine(freq_hz, from_hz), from_hz, to_hz)
    assert _peak_db(result, 0.5) < -40


@pytest.mark.parametrize(
    ("from_hz", "to_hz"),
    [
        (8_000, 24_000),
        (16_000, 24_000),
        (24_000, 8_000),
        (44_100, 24_000),
        (48_000, 24_000),
        (22_050, 24_000),
    ],
)
def test_resample_keeps_in_band_tone_frequency_and_level(from_hz: int, to_hz: int) -> None:
    """A 1 kHz tone keeps its frequency (within one FFT bin) and its level (within 0.1 dB)."""
    result = audio.resample(_sine(1000, from_hz), from_hz, to_hz)
    assert result.dtype == np.float32
    assert abs(_dominant_hz(result, to_hz) - 1000) <= 1.0
    assert abs(_peak_db(result, 0.5)) < 0.1


def test_resample_keeps_telephone_band_edge() -> None:
    """24 kHz -> 8 kHz keeps a 3.4 kHz tone (the top of the telephone band) within 0.1 dB."""
    result = audio.resample(_sine(3400, 24_000), 24_000, 8_000)
    assert abs(_peak_db(result, 0.5)) < 0.1


def test_resample_adds_no_delay() -> None:
    """Output sample n lies at time n / to_hz: it matches the tone sampled directly at the new rate."""
    result = audio.resample(_sine(440, 8_000), 8_000, 24_000)
    direct = _sine(440, 24_000)
    middle = slice(2400, -2400)
    assert np.max(np.abs(result[middle] - direct[middle])) < 1e-3


@pytest.mark.parametrize(
    ("from_hz", "to_hz", "n_in", "n_out"),
    [(8_000, 24_000, 100, 300), (24_000, 8_000, 100, 34), (44_100, 24_000, 441, 240)],
)
def test_resample_output_length(from_hz: int, to_hz: int, n_in: int, n_out: int) -> None:
    """The output has ceil(n * to / from) samples."""
    assert len(audio.resample(np.zeros(n_in), from_hz, to_hz)) == n_out


def test_resample_short_and_long_inputs_agree() -> None:
    """A short input (one code path) and a long one (the other) agree where both are defined."""
    signal = _sine(700, 16_000, seconds=2.0)
    long_result = audio.resample(signal, 16_000, 24_000)
    short_result = audio.resample(signal[:200], 16_000, 24_000)
    np.testing.assert_allclose(short_result[:200], long_result[:200], atol=1e-6)


def test_resample_same_rate_returns_float32_copy() -> None:
    """Equal rates return the samples unchanged as a new float32 array."""
    signal = np.array([0.1, -0.2, 0.3])
    result = audio.resample(signal, 24_000, 24_000)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, signal, rtol=1e-7)


def test_resample_takes_int16_as_pcm16() -> None:
    """An int16 input is scaled like pcm16_to_float32."""
    samples = np.array([16384] * 200, dtype=np.int16)
    result = audio.resample(samples, 24_000, 24_000)
    assert result.tolist() == [0.5] * 200


def test_resample_rejects_nonpositive_rates() -> None:
    """A zero or negative rate raises ValueError naming both rates."""
    with pytest.raises(ValueError, match="from_hz=0"):
        audio.resample(np.zeros(4), 0, 24_000)


@pytest.mark.parametrize(
    ("from_hz", "to_hz"),
    [
        (48_000, 24_000),
        (24_000, 8_000),
        (8_000, 24_000),
        (44_100, 24_000),
        (16_000, 24_000),
        (24_000, 24_000),
    ],
)
def test_resampler_in_pieces_equals_one_call(from_hz: int, to_hz: int) -> None:
    """Feeding a Resampler random-sized pieces then flushing gives exactly resample() of the whole."""
    rng = np.random.default_rng(7)
    signal = rng.standard_normal(from_hz // 2) * 0.1
    resampler = audio.Resampler(from_hz, to_hz)
    pieces, start = [], 0
    while start < len(signal):
        size = int(rng.integers(1, 2000))
        pieces.append(resampler.process(signal[start : start + size]))
        start += size
    pieces.append(resampler.flush())
    np.testing.assert_array_equal(np.concatenate(pieces), audio.resample(signal, from_hz, to_hz))


def test_resampler_emits_with_small_latency() -> None:
    """A 20 ms piece at 48 kHz already yields all but about 32 of its 480 output samples at 24 kHz."""
    out = audio.Resampler(48_000, 24_000).process(np.zeros(960))
    assert 480 - 40 <= len(out) < 480


def test_resampler_flush_starts_afresh() -> None:
    """After flush() the same input gives the same output again."""
    resampler = audio.Resampler(8_000, 24_000)
    tone = _sine(300, 8_000, seconds=0.1)
    first = np.concatenate([resampler.process(tone), resampler.flush()])
    second = np.concatenate([resampler.process(tone), resampler.flush()])
    np.testing.assert_array_equal(first, second)


# --- session audio formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "audio_format", ["pcm16", "audio/pcm", "g711_ulaw", "audio/pcmu", "g711_alaw", "audio/pcma"]
)
def test_encode_then_decode_audio_keeps_a_tone(audio_format: str) -> None:
    """A 1 kHz tone encoded to a session format and decoded back keeps its frequency and RMS level."""
    tone = _sine(1000, 24_000)
    data = audio.encode_audio(tone, audio_format)
    native_hz = 24_000 if audio_format in {"pcm16", "audio/pcm"} else 8_000
    assert len(data) == native_hz * (2 if native_hz == 24_000 else 1)
    result = audio.decode_audio(data, audio_format)
    assert len(result) == 24_000
    assert abs(_dominant_hz(result, 24_000) - 1000) <= 1.0
    # RMS rather than peak: G.711's coarse top segments move single peaks by up to ~3 %.
    middle = slice(2400, -2400)
    level_db = 20 * np.log10(np.sqrt(np.mean(result[middle] ** 2)) / np.sqrt(np.mean(tone[middle] ** 2)))
    assert abs(level_db) < 0.1


def test_decode_audio_g711_is_the_codec_decode() -> None:
    """At 8 kHz, decode_audio of u-law bytes is ulaw_decode scaled to float."""
    codes = bytes(range(256))
    expected = audio.ulaw_decode(codes).astype(np.float32) / 32768
    np.testing.assert_array_equal(audio.decode_audio(codes, "audio/pcmu", rate_hz=8_000), expected)


def test_decode_audio_rejects_unknown_format() -> None:
    """An unknown format name raises ValueError listing the known ones."""
    with pytest.raises(ValueError, match=r"unknown audio format 'mp3'.*audio/pcm"):
        audio.decode_audio(b"", "mp3")


# --- WAV ------------------------------------------------------------------------------------------------


def _wav_bytes(frames: bytes, *, channels: int, width: int, rate_hz: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate_hz)
        writer.writeframes(frames)
    return buffer.getvalue()


def test_write_wav_returns_bytes_that_read_back() -> None:
    """write_wav(None, ...) returns a mono 16-bit WAV that read_wav decodes to the same samples and rate."""
    pcm = audio.tone(440, 100, rate_hz=11_025)
    data = audio.write_wav(None, pcm, 11_025)
    assert isinstance(data, bytes)
    samples, rate_hz = audio.read_wav(data)
    assert rate_hz == 11_025
    assert audio.float32_to_pcm16(samples) == pcm


def test_write_wav_to_path(tmp_path: Path) -> None:
    """write_wav(path, float samples, rate) writes the file and returns None."""
    path = tmp_path / "tone.wav"
    samples = audio.pcm16_to_float32(audio.tone(1000, 50))
    assert audio.write_wav(path, samples, audio.SAMPLE_RATE_HZ) is None
    with wave.open(str(path), "rb") as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, 24_000)
        assert reader.getnframes() == 1200
    read_back, _ = audio.read_wav(path)
    np.testing.assert_array_equal(read_back, samples)


def test_write_wav_accepts_int16_arrays() -> None:
    """An int16 array is written as is."""
    samples = np.array([1, -2, 300], dtype=np.int16)
    data = audio.write_wav(None, samples, 8_000)
    assert isinstance(data, bytes)
    assert data.endswith(samples.astype("<i2").tobytes())


def test_read_wav_averages_stereo_to_mono() -> None:
    """A stereo 16-bit WAV is read as the mean of its channels."""
    frames = np.array([1000, 3000, -2000, 0], dtype="<i2").tobytes()
    samples, rate_hz = audio.read_wav(_wav_bytes(frames, channels=2, width=2, rate_hz=48_000))
    assert rate_hz == 48_000
    assert samples.tolist() == [2000 / 32768, -1000 / 32768]


def test_read_wav_8_bit_is_unsigned() -> None:
    """8-bit WAV samples are unsigned with 128 as silence."""
    samples, _ = audio.read_wav(_wav_bytes(bytes([128, 255, 0]), channels=1, width=1, rate_hz=8_000))
    assert samples.tolist() == [0.0, 127 / 128, -1.0]


def test_read_wav_24_bit() -> None:
    """24-bit little-endian samples are sign-extended and scaled by 2**23."""
    frames = bytes([0x00, 0x00, 0x40, 0x00, 0x00, 0xC0])  # +0x400000, -0x400000
    samples, _ = audio.read_wav(_wav_bytes(frames, channels=1, width=3, rate_hz=16_000))
    assert samples.tolist() == [0.5, -0.5]


def test_read_wav_rejects_non_wav_with_clear_message() -> None:
    """Bytes that are not a WAV file raise ValueError saying what is supported."""
    with pytest.raises(ValueError, match="only integer PCM WAV"):
        audio.read_wav(b"definitely not a RIFF file")


# --- chunking, test signals, durations -------------------------------------------------------------------


def test_chunk_splits_into_equal_frames() -> None:
    """One second of 24 kHz PCM16 in 20 ms frames gives 50 frames of 960 bytes that join back."""
    pcm = audio.tone(300, 1000)
    frames = list(audio.chunk(pcm, 20))
    assert [len(frame) for frame in frames] == [960] * 50
    assert b"".join(frames) == pcm


def test_chunk_keeps_a_short_remainder() -> None:
    """Bytes that do not fill the last frame come out as a shorter final frame, odd byte included."""
    frames = list(audio.chunk(bytes(1000), 10, rate_hz=24_000))
    assert [len(frame) for frame in frames] == [480, 480, 40]
    assert [len(frame) for frame in audio.chunk(bytes(481), 10)] == [480, 1]


def test_chunk_g711_frames_are_one_byte_per_sample() -> None:
    """G.711 at 8 kHz in 20 ms frames: 160 bytes each."""
    frames = list(audio.chunk(bytes(800), 20, rate_hz=8_000, bytes_per_sample=1))
    assert [len(frame) for frame in frames] == [160] * 5


def test_chunk_rejects_nonpositive_ms() -> None:
    """A zero frame length raises ValueError."""
    with pytest.raises(ValueError, match="must be positive"):
        list(audio.chunk(bytes(10), 0))


def test_tone_has_requested_length_level_and_frequency() -> None:
    """tone() gives duration * rate samples of PCM16 with the requested peak and frequency."""
    pcm = audio.tone(1000, 500, rate_hz=16_000, amplitude=0.25)
    samples = audio.pcm16_to_float32(pcm)
    assert len(pcm) == 16_000
    assert abs(float(np.abs(samples).max()) - 0.25) < 1e-3
    assert abs(_dominant_hz(samples, 16_000) - 1000) <= 2.0


def test_silence_is_zero_bytes_of_the_right_length() -> None:
    """silence(100 ms) at 24 kHz is 4800 zero bytes."""
    assert audio.silence(100) == bytes(4800)
    assert audio.silence(20, rate_hz=8_000) == bytes(320)


@pytest.mark.parametrize(
    ("nbytes", "rate_hz", "ms"), [(48_000, 24_000, 1000.0), (320, 8_000, 20.0), (33, 24_000, 33 / 48)]
)
def test_pcm16_duration_ms(nbytes: int, rate_hz: int, ms: float) -> None:
    """Duration is bytes / (2 * rate) seconds, fractional for odd byte counts."""
    assert audio.pcm16_duration_ms(nbytes, rate_hz) == pytest.approx(ms)


def test_public_names_match_all() -> None:
    """Every name in __all__ exists."""
    missing = [name for name in audio.__all__ if not hasattr(audio, name)]
    assert missing == []
