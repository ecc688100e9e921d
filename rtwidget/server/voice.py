"""Speech-like synthesis for the simulator's audio output: voiced, syllable-shaped, pitch by voice.

This is not text-to-speech, but it sounds like someone talking behind a wall: letters are turned into
rough phone segments (vowels, nasals, liquids, fricatives, stops) with durations, a per-syllable amplitude
envelope, a declining pitch contour (rising at "?") and pauses between words, longer at punctuation. Vowels
are a harmonic source (a glottal-like 1/k spectrum) shaped by three formants chosen from the vowel letter;
fricatives and stop bursts are shaped noise. Everything is vectorized numpy: the formant-filtered source
is precomputed as one wavetable period per vowel (cached per voice and rate) and read at the pitch contour's
phase, so 10 s of speech take a few milliseconds (``bench/voice.py``).

Each word's text is also sounded as quiet tones in a band the voice leaves empty (6-9.5 kHz: harmonics stop
below it, the fricative noise is notched), so :func:`rtwidget.server.transcribe.transcribe` can recover the
words when a client sends this audio back, even through a browser's microphone path (resampling, gain): see
:mod:`rtwidget.server.watermark`. Deterministic: same arguments, same bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from rtwidget import audio
from rtwidget.server import watermark
from rtwidget.server.speechplan import CORE_RE, breakpoints, plan

__all__ = [
    "VOICE_PITCH_HZ",
    "Speech",
    "SpeechStream",
    "Word",
    "pitch_hz",
    "prepare",
    "synthesize",
    "synthesize_iter",
]

VOICE_PITCH_HZ: dict[str, float] = {
    "alloy": 180.0,
    "ash": 120.0,
    "ballad": 135.0,
    "coral": 210.0,
    "echo": 110.0,
    "sage": 200.0,
    "shimmer": 220.0,
    "verse": 145.0,
    "marin": 190.0,
    "cedar": 115.0,
}
"""Mean fundamental frequency of each built-in voice; other names get a stable pitch from their hash."""

_TABLE_SIZE = 4096
_VOWEL_RMS = 0.12  # about -18 dBFS in vowels: a normal speaking level, well above the VAD's default
_NOISE_RMS = 0.045
_RISE = 1.6  # the pitch contour rises up to +60 % in stressed questions
_MAX_HARMONIC_HZ = watermark.STOP_BAND_HZ[0] / _RISE  # every harmonic stays under the words' band
_NOISE_SAMPLES = 1 << 16

# Durations in ms at speed 1.0: about 4-5 syllables per second, like conversational English.
# Streaming renders this much audio at a time (see `SpeechStream.pcm`).
_BLOCK_MS = 500
_FIRST_BLOCK_MS = 100
_RAMP_MS = 12.0
_GLIDE_MS = 25.0

# Formants (F1, F2, F3 in Hz) of the vowel classes and the voiced consonants, for an adult male voice;
# higher voices scale them up a little.
_TABLES: dict[str, tuple[float, float, float]] = {
    "a": (730.0, 1090.0, 2440.0),
    "e": (530.0, 1840.0, 2480.0),
    "i": (300.0, 2250.0, 3000.0),
    "o": (570.0, 840.0, 2410.0),
    "u": (320.0, 870.0, 2240.0),
    "@": (500.0, 1500.0, 2500.0),  # schwa
    "n": (260.0, 1000.0, 2200.0),  # nasal murmur
    "l": (360.0, 1100.0, 2500.0),  # liquids and glides
}
_TABLE_INDEX = {name: i for i, name in enumerate(_TABLES)}
_BANDWIDTHS_HZ = (80.0, 90.0, 130.0)
# Spectral tilt of source and lip radiation together: amplitude ~ 1 / k**0.6 (a slightly bright voice).
_SOURCE_TILT = 0.6


@dataclass(frozen=True, slots=True)
class Word:
    """One spoken word and where it is in the audio.

    Attributes:
        text: the word as written, without surrounding punctuation.
        start_ms: first sample of the word, in ms from the start of the audio.
        end_ms: end of the word's last sample, in ms (before the following pause).
    """

    text: str
    start_ms: float
    end_ms: float


@dataclass(frozen=True, slots=True)
class Speech:
    """Synthesized speech.

    Attributes:
        pcm: PCM16 little-endian mono samples at ``rate_hz``.
        words: the words in order, with their timing in ``pcm``.
        rate_hz: sample rate of ``pcm``.
    """

    pcm: bytes
    words: list[Word]
    rate_hz: int = audio.SAMPLE_RATE_HZ

    @property
    def duration_ms(self) -> float:
        """Length of ``pcm`` in milliseconds."""
        return audio.pcm16_duration_ms(len(self.pcm), self.rate_hz)


def pitch_hz(voice: str) -> float:
    """Return the mean fundamental frequency of ``voice`` (unknown names: a stable 100-240 Hz)."""
    if voice in VOICE_PITCH_HZ:
        return VOICE_PITCH_HZ[voice]
    return 100.0 + zlib.crc32(voice.encode("utf-8")) % 141


def synthesize(
    text: str, voice: str = "alloy", *, speed: float = 1.0, rate_hz: int = audio.SAMPLE_RATE_HZ
) -> Speech:
    """Synthesize ``text`` as speech-like PCM16 with word timings.

    Args:
        text: what to say; empty or punctuation-only text gives empty audio.
        voice: a Realtime voice name (sets the pitch); unknown names are accepted.
        speed: speaking rate multiplier (the API's 0.25-1.5; clamped to 0.25-4).
        rate_hz: output sample rate (24 kHz for ``audio/pcm``; 8 kHz suits G.711).

    Returns:
        The audio and its words; ``words[i].end_ms <= duration``.
    """
    if rate_hz < 4000:
        raise ValueError(f"rate_hz must be at least 4000, got {rate_hz}")
    pcm, words = _synthesize_cached(text, voice, min(4.0, max(0.25, float(speed))), int(rate_hz))
    return Speech(pcm=pcm, words=list(words), rate_hz=int(rate_hz))


@lru_cache(maxsize=32)
def _prepare_cached(text: str, voice: str, speed: float, rate_hz: int) -> SpeechStream:
    return SpeechStream(text, voice, speed, rate_hz)


def prepare(
    text: str, voice: str = "alloy", *, speed: float = 1.0, rate_hz: int = audio.SAMPLE_RATE_HZ
) -> SpeechStream:
    """Plan ``text`` as speech and return it for rendering range by range (`SpeechStream.pcm`).

    Same arguments and same bytes as :func:`synthesize`; planning costs a fraction of rendering, so a
    streaming caller can send the first chunk long before the whole text would be synthesized. Cached per
    arguments: sessions saying the same sentence share its rendered blocks.
    """
    if rate_hz < 4000:
        raise ValueError(f"rate_hz must be at least 4000, got {rate_hz}")
    return _prepare_cached(text, voice, min(4.0, max(0.25, float(speed))), int(rate_hz))


def synthesize_iter(
    text: str,
    voice: str = "alloy",
    *,
    chunk_ms: int = 40,
    speed: float = 1.0,
    rate_hz: int = audio.SAMPLE_RATE_HZ,
) -> Iterator[bytes]:
    """Yield the PCM16 of :func:`synthesize` in chunks of ``chunk_ms`` (the last may be shorter)."""
    yield from audio.chunk(synthesize(text, voice, speed=speed, rate_hz=rate_hz).pcm, chunk_ms, rate_hz)


@lru_cache(maxsize=32)
def _synthesize_cached(text: str, voice: str, speed: float, rate_hz: int) -> tuple[bytes, tuple[Word, ...]]:
    # Replies repeat across sessions (same greeting, same help text), so 50 sessions cost one synthesis.
    renderer = SpeechStream(text, voice, speed, rate_hz)
    return renderer.pcm(), renderer.words


class SpeechStream:
    """The speech of one text, rendered on demand for any sample range (the bytes of `synthesize`).

    Planning (segments, envelope breakpoints, the pitch phase) is cheap and done once; the per-sample work
    (envelope, wavetable lookup, formant glides, noise, PCM16 and the watermark) is pointwise, so a range
    costs in proportion to its length. The simulator renders the audio of a reply chunk by chunk as it
    streams, so a reply starts after ~0.1 ms instead of after its whole first sentence (~1 ms per second
    of speech), and 50 sessions starting at once do not queue behind each other's synthesis.

    Attributes:
        n_samples: length of the audio in samples.
        words: the words in order, with their timing (as in `Speech.words`).
        rate_hz: sample rate.
    """

    def __init__(self, text: str, voice: str, speed: float, rate_hz: int) -> None:
        segments, spans = plan(text)
        self.rate_hz = rate_hz
        if not segments:
            self.n = self.n_samples = 0
            self.words: tuple[Word, ...] = ()
            return
        per_ms = rate_hz / 1000.0 / speed
        lengths = np.maximum(1, np.round(np.array([s.ms for s in segments]) * per_ms)).astype(np.int64)
        starts = np.concatenate(([0], np.cumsum(lengths)))
        n = int(starts[-1])
        base_hz = pitch_hz(voice)
        self.n = self.n_samples = n
        self.starts = starts
        ramp = max(1, round(_RAMP_MS * rate_hz / 1000.0 / speed))

        sharp = np.array([s.kind == "P" for s in segments])
        voiced = np.array([s.voiced for s in segments])
        self.xs, self.ys = breakpoints(voiced, starts, lengths, ramp, sharp)

        # Pitch moves slowly: a contour step every 2 ms is inaudible and saves a full-rate interpolation.
        step = max(1, rate_hz // 500)
        pitched: list[tuple[int, float]] = []
        for i, seg in enumerate(segments):
            if seg.kind != "V":
                continue
            if seg.pitch_end is None:
                pitched.append((int(starts[i]) + int(lengths[i]) // 2, seg.pitch))
            else:
                pitched.append((int(starts[i]) + int(lengths[i]) // 5, seg.pitch))
                pitched.append((int(starts[i]) + int(lengths[i]) * 7 // 10, seg.pitch_end))
        control = np.arange(0, n, step, dtype=np.float64)
        if pitched:
            increment = np.interp(control, [p for p, _ in pitched], [m for _, m in pitched])
        else:
            increment = np.ones(len(control))
        increment *= base_hz / rate_hz * _TABLE_SIZE
        # The phase is a running sum from the first sample: extended block by block as rendering advances
        # (the running sum restarted from the last value adds in the same order, so the same floats).
        self.increment = increment
        self.step = step
        self.phase = np.empty(n)
        self.phase_n = 0
        self.blocks: dict[int, bytes] = {}
        self.block = max(1, rate_hz * _BLOCK_MS // 1000)
        self.first_block = max(1, rate_hz * _FIRST_BLOCK_MS // 1000)
        self.offsets = np.array([_TABLE_INDEX[s.table] * _TABLE_SIZE for s in segments])
        self.flat = _wavetables(round(base_hz), rate_hz).ravel()
        # Formants glide from one sound to the next instead of jumping (a jump would click):
        # (first sample, width, previous table offset) per glide.
        glide = max(1, round(_GLIDE_MS * rate_hz / 1000.0 / speed))
        self.glides: list[tuple[int, int, int]] = []  # in order of their first sample
        for i in range(1, len(segments)):
            if (
                self.offsets[i] == self.offsets[i - 1]
                or segments[i].voiced <= 0.0
                or segments[i - 1].voiced <= 0.0
            ):
                continue
            self.glides.append((int(starts[i]), min(glide, int(lengths[i])), int(self.offsets[i - 1])))
        # Noise only where fricatives and bursts are: a trapezoid inside each such segment.
        noise_ramp = max(1, ramp // 2)
        self.bands = dict(zip(("hi", "lo"), _noise(rate_hz), strict=True))
        self.noises: list[tuple[int, int, int, float, str]] = []  # in order of their first sample
        for i, seg in enumerate(segments):
            if seg.noise > 0.0:
                length = int(lengths[i])
                edge = min(noise_ramp, max(1, length // 2))
                self.noises.append((int(starts[i]), length, edge, seg.noise, seg.band))
        # Each word's text as tones (`watermark.tones`) from its first sample, or after the previous word's
        # tones if they are still sounding (one packet at a time).
        self.marks: list[tuple[int, npt.NDArray[np.float64]]] = []
        words = []
        free = 0
        for token, first, last in spans:
            lo, hi = int(starts[first]), int(starts[last + 1])
            mark = watermark.tones(token, rate_hz)
            at = max(lo, free)
            if len(mark) and at + len(mark) <= n:
                again = watermark.tones(token, rate_hz, again=True)
                if at + 2 * len(mark) <= hi:  # room for a second chance inside the word
                    mark = np.concatenate((mark, again))
                self.marks.append((at, mark))
                free = at + len(mark)
            core = CORE_RE.match(token)
            words.append(Word(core.group(1) if core else token, lo * 1000.0 / rate_hz, hi * 1000.0 / rate_hz))
        self.words = tuple(words)
        self.glide_starts = np.array([g[0] for g in self.glides], dtype=np.int64)
        self.noise_starts = np.array([z[0] for z in self.noises], dtype=np.int64)
        self.mark_starts = np.array([m[0] for m in self.marks], dtype=np.int64)

    def pcm(self, lo: int = 0, hi: int | None = None) -> bytes:
        """PCM16 little-endian bytes of samples ``lo`` to ``hi`` (default: to the end).

        Rendered in blocks of `_BLOCK_MS`, kept: a chunked stream renders each sample once, and sessions
        saying the same sentence share the blocks (the renderer is cached per text).
        """
        hi = self.n if hi is None else min(hi, self.n)
        lo = max(0, lo)
        if hi <= lo:
            return b""
        if lo == 0 and hi == self.n and self.n > 4 * self.block and self.phase_n < self.n:
            return self._render(0, self.n)  # all at once: one pass is cheaper than many blocks
        first, last = self._block_of(lo), self._block_of(hi - 1)
        parts = []
        for index in range(first, last + 1):
            data = self.blocks.get(index)
            if data is None:
                start = self._block_start(index)
                end = min(self._block_start(index + 1), self.n)
                data = self.blocks[index] = self._render(start, end)
                if len(self.blocks) > self._block_of(self.n - 1):
                    self.phase = np.empty(0)  # every block is rendered: the phase is not needed again
            parts.append(data)
        joined = b"".join(parts) if len(parts) > 1 else parts[0]
        offset = self._block_start(first)
        return joined[2 * (lo - offset) : 2 * (hi - offset)]

    # The first block is short, so the first chunk of a stream is ready after little work.
    def _block_of(self, sample: int) -> int:
        return 0 if sample < self.first_block else 1 + (sample - self.first_block) // self.block

    def _block_start(self, index: int) -> int:
        return 0 if index == 0 else self.first_block + (index - 1) * self.block

    def _phase(self, hi: int) -> None:
        """Extend the running pitch phase to sample ``hi``."""
        a = self.phase_n
        if hi <= a:
            return
        if len(self.phase) < self.n:
            self.phase = np.empty(self.n)
            a = self.phase_n = 0
        k0 = a // self.step
        steps = np.repeat(self.increment[k0 : (hi - 1) // self.step + 1], self.step)[a - k0 * self.step :]
        steps = steps[: hi - a]
        if a:
            self.phase[a:hi] = np.cumsum(np.concatenate(([self.phase[a - 1]], steps)))[1:]
        else:
            self.phase[a:hi] = np.cumsum(steps)
        self.phase_n = hi

    def _render(self, lo: int, hi: int) -> bytes:
        self._phase(hi)
        signal = np.interp(np.arange(lo, hi, dtype=np.float64), self.xs, self.ys)
        cycle = self.phase[lo:hi].astype(np.int64) & (_TABLE_SIZE - 1)
        first = int(np.searchsorted(self.starts, lo, side="right")) - 1
        last = int(np.searchsorted(self.starts, hi - 1, side="right")) - 1
        bounds = np.clip(self.starts[first : last + 2], lo, hi)
        flat = self.flat
        source = flat[cycle + np.repeat(self.offsets[first : last + 1], np.diff(bounds))]
        # Glides and noise bursts are short (<= a segment): only those starting from a segment before
        # `lo` can reach into the range.
        g0 = max(0, int(np.searchsorted(self.glide_starts, lo, side="right")) - 1)
        g1 = int(np.searchsorted(self.glide_starts, hi, side="left"))
        for g_lo, width, before_offset in self.glides[g0:g1]:
            a, b = max(g_lo, lo), min(g_lo + width, hi)
            if a >= b:
                continue
            weight = (np.arange(a - g_lo, b - g_lo) + 0.5) / width
            before = flat[cycle[a - lo : b - lo] + before_offset]
            source[a - lo : b - lo] = weight * source[a - lo : b - lo] + (1.0 - weight) * before
        signal *= source
        z0 = max(0, int(np.searchsorted(self.noise_starts, lo, side="right")) - 1)
        z1 = int(np.searchsorted(self.noise_starts, hi, side="left"))
        for s_lo, length, edge, amount, band in self.noises[z0:z1]:
            a, b = max(s_lo, lo), min(s_lo + length, hi)
            if a >= b:
                continue
            position = np.arange(a - s_lo, b - s_lo, dtype=np.float64)
            shape = np.minimum(1.0, np.minimum(position + 1, length - position) / edge)
            noise = self.bands[band]
            index = (np.arange(a - s_lo, b - s_lo) + s_lo % len(noise)) % len(noise)
            signal[a - lo : b - lo] += amount * shape * noise[index]
        m0 = max(0, int(np.searchsorted(self.mark_starts, lo, side="right")) - 1)
        m1 = int(np.searchsorted(self.mark_starts, hi, side="left"))
        for w_lo, mark in self.marks[m0:m1]:
            a, b = max(w_lo, lo), min(w_lo + len(mark), hi)
            if a < b:
                signal[a - lo : b - lo] += mark[a - w_lo : b - w_lo]
        # `audio.float32_to_pcm16` without its NaN pass (the signal is finite): float32, scale, round, clip.
        scaled = np.multiply(signal.astype(np.float32), np.float32(32768.0), dtype=np.float32)
        np.rint(scaled, out=scaled)
        np.clip(scaled, -32768, 32767, out=scaled)
        samples = scaled.astype("<i2")
        return samples.astype("<i2").tobytes()


@lru_cache(maxsize=64)
def _wavetables(base_hz: int, rate_hz: int) -> npt.NDArray[np.float64]:
    """One period per vowel class: harmonics of a glottal-like source through three formant resonances."""
    # Leave headroom for the pitch contour's rise so no harmonic aliases or reaches the words' band.
    top_hz = min(_MAX_HARMONIC_HZ, 0.45 * rate_hz / _RISE)
    k = np.arange(1, max(2, int(top_hz // base_hz)) + 1, dtype=np.float64)
    freqs = k * base_hz
    # Shorter vocal tracts (higher voices) have higher formants.
    scale = 1.0 + 0.15 * min(1.0, max(0.0, (base_hz - 110.0) / 110.0))
    theta = 2.0 * np.pi * np.arange(_TABLE_SIZE) / _TABLE_SIZE
    basis = np.sin(np.outer(k, theta))
    out = np.empty((len(_TABLES), _TABLE_SIZE))
    for row, formants in enumerate(_TABLES.values()):
        gain = k**-_SOURCE_TILT
        for formant, bandwidth in zip(formants, _BANDWIDTHS_HZ, strict=True):
            f = formant * scale
            gain = gain * f * f / np.sqrt((f * f - freqs * freqs) ** 2 + (bandwidth * freqs) ** 2)
        wave = gain @ basis
        out[row] = wave * (_VOWEL_RMS / np.sqrt(np.mean(wave * wave)))
    return out


@lru_cache(maxsize=8)
def _noise(rate_hz: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Fixed (seeded) noise: a bright band for s/sh/t/k and a dull one for f/h/th/p."""
    white = np.random.default_rng(20_240_601).standard_normal(_NOISE_SAMPLES)
    bright = white - np.roll(white, 1)
    dull = white + np.roll(white, 1) + np.roll(white, 2)
    # The words' tones sound alone in their band: notch it out of both (the tables loop, so a circular
    # filter is exact).
    freqs = np.fft.rfftfreq(_NOISE_SAMPLES, 1.0 / rate_hz)
    notch = (freqs >= watermark.STOP_BAND_HZ[0]) & (freqs <= watermark.STOP_BAND_HZ[1])
    bright, dull = (
        np.fft.irfft(np.where(notch, 0.0, np.fft.rfft(x)), _NOISE_SAMPLES) for x in (bright, dull)
    )
    return (
        bright * (_NOISE_RMS / np.sqrt(np.mean(bright * bright))),
        dull * (0.6 * _NOISE_RMS / np.sqrt(np.mean(dull * dull))),
    )
