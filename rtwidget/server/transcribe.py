"""Deterministic "transcription" of input audio for the simulator.

Two strategies, tried in order:

1. Our own speech: :func:`rtwidget.server.voice.synthesize` sounds each word's text as quiet tones in a
   band the voice leaves empty (:mod:`rtwidget.server.watermark`). If the input contains such words (a
   client sending synthesized speech back, whole or cut into turns by the VAD, or a browser's microphone
   playing it: resampled, its gain changed), their text is the transcript. This is stateless, so it works
   across sessions and processes; G.711 (8 kHz) removes the band, which falls through to 2.
2. Anything else: a description of the audio, ``"(2.3 seconds of speech, about 6 words)"``, from the span of
   loud 10 ms frames and the count of syllable nuclei (energy peaks) in it; ``"(1.0 seconds of audio)"`` when
   the sound has no syllable rhythm (a steady tone), and ``""`` when nothing is above the VAD's default
   threshold (silence, low noise).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rtwidget.protocol.formats import PCM_RATE_HZ
from rtwidget.server import watermark
from rtwidget.server.vad import FRAME_MS, threshold_dbfs

__all__ = ["describe", "recover_words", "transcribe"]

_SYLLABLES_PER_WORD = 1.4
_SMOOTH_FRAMES = 5
_DIP_RATIO = 0.7  # a new syllable needs the energy to fall below 70 % of the smaller neighbouring peak


def transcribe(pcm16: bytes, rate_hz: int = PCM_RATE_HZ) -> str:
    """Return a deterministic transcript of PCM16 LE mono audio: recovered words, else a description."""
    samples = np.frombuffer(pcm16, dtype="<i2", count=len(pcm16) // 2)
    words = recover_words(samples, rate_hz)
    if words:
        return " ".join(words)
    return describe(samples, rate_hz)


def recover_words(samples: npt.NDArray[np.int16], rate_hz: int = PCM_RATE_HZ) -> list[str]:
    """Return the words that :mod:`rtwidget.server.voice` sounded into ``samples``, in order."""
    return watermark.decode(samples, rate_hz)


def describe(samples: npt.NDArray[np.int16], rate_hz: int = PCM_RATE_HZ) -> str:
    """Describe audio by its loud span and syllables, e.g. ``"(2.3 seconds of speech, about 6 words)"``."""
    frame = max(1, rate_hz * FRAME_MS // 1000)
    n_frames = len(samples) // frame
    if n_frames == 0:
        return ""
    x = samples[: n_frames * frame].astype(np.float64).reshape(n_frames, frame) / 32768.0
    rms = np.sqrt(np.mean(x * x, axis=1))
    loud = rms >= 10.0 ** (threshold_dbfs(0.5) / 20.0)
    active = np.flatnonzero(loud)
    if not len(active):
        return ""
    seconds = (active[-1] - active[0] + 1) * FRAME_MS / 1000.0
    syllables = _count_nuclei(rms, loud)
    if syllables <= 1 and seconds >= 0.6:
        return f"({seconds:.1f} seconds of audio)"
    words = max(1, round(syllables / _SYLLABLES_PER_WORD))
    return f"({seconds:.1f} seconds of speech, about {words} word{'s' if words != 1 else ''})"


def _count_nuclei(rms: npt.NDArray[np.float64], loud: npt.NDArray[np.bool_]) -> int:
    """Count energy peaks separated by dips (syllable nuclei) among the loud frames."""
    kernel = np.ones(_SMOOTH_FRAMES) / _SMOOTH_FRAMES
    env = np.convolve(rms, kernel, mode="same")
    interior = env[1:-1]
    peaks = np.flatnonzero((interior > env[:-2]) & (interior >= env[2:]) & loud[1:-1]) + 1
    count = 0
    last_peak = -1
    for p in peaks.tolist():
        if last_peak < 0:
            count, last_peak = 1, p
            continue
        dip = env[last_peak : p + 1].min()
        if dip < _DIP_RATIO * min(env[last_peak], env[p]):
            count += 1
            last_peak = p
        elif env[p] > env[last_peak]:
            last_peak = p
    return count
