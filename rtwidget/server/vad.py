"""Energy-based voice activity detection for the simulator's ``server_vad`` and ``semantic_vad`` turns.

The detector works on 10 ms frames of appended PCM16 and keeps its own timeline in milliseconds of audio
fed since construction (or :meth:`EnergyVad.reset`), so the same audio gives the same events however it is
split into chunks. Times follow what the real server reports (recording
``test_openai_ws__test_audio_in_server_vad_turn``: ``speech_started.audio_start_ms`` 1460 and
``speech_stopped.audio_end_ms`` 4256 for about 2 s of speech, repeated identically for each turn of
``..._three_server_vad_turns``) and the Realtime reference:

- ``speech_started.audio_start_ms`` = speech onset minus ``prefix_padding_ms`` (clamped at the end of the
  previous turn, or 0);
- ``speech_stopped.audio_end_ms`` = last loud frame + ``silence_duration_ms``: the reference says it "will
  correspond to the end of audio sent to the model, and thus includes the min_silence_duration_ms";
- ``timeout`` (GA ``input_audio_buffer.timeout_triggered``) after ``idle_timeout_ms`` of audio without speech
  since the later of the start, the last ``speech_stopped`` and the last timeout; its ``audio_start_ms`` /
  ``audio_end_ms`` span that idle stretch.

``threshold`` (0..1, like the real API's) is mapped linearly onto a frame RMS level in dBFS:
0 -> -60 dBFS, 0.5 (the default) -> -37.5 dBFS, 1 -> -15 dBFS. Speech from
:func:`rtwidget.server.voice.synthesize` (vowel frames around -20 dBFS) and ``audio.tone`` at amplitude 0.3
(-13.5 dBFS) trigger at the default; silence and low noise (below about -40 dBFS) do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from rtwidget.protocol.formats import PCM_RATE_HZ

__all__ = [
    "FRAME_MS",
    "MIN_SPEECH_MS",
    "SEMANTIC_SILENCE_MS",
    "EnergyVad",
    "VadEvent",
    "VadKind",
    "threshold_dbfs",
]

FRAME_MS = 10
"""Analysis frame length; onsets and ends are reported on this grid."""
MIN_SPEECH_MS = 30
"""Loud audio must last this long before it counts as speech, so a click does not start a turn."""
SEMANTIC_SILENCE_MS: dict[str, int] = {"low": 800, "medium": 500, "high": 250, "auto": 500}
"""``semantic_vad`` eagerness approximated by how long a pause ends the turn (eager = shorter)."""

_DBFS_AT_ZERO = -60.0
_DBFS_SPAN = 45.0

VadKind = Literal["speech_started", "speech_stopped", "timeout"]


def threshold_dbfs(threshold: float) -> float:
    """Return the frame RMS level in dBFS that ``threshold`` (0..1) stands for."""
    return _DBFS_AT_ZERO + _DBFS_SPAN * min(1.0, max(0.0, float(threshold)))


@dataclass(frozen=True, slots=True)
class VadEvent:
    """One detection, with times in milliseconds on the detector's timeline.

    Attributes:
        kind: "speech_started", "speech_stopped" or "timeout".
        audio_start_ms: start of the turn's audio (onset minus prefix padding) or of the idle stretch.
        audio_end_ms: end of the turn's audio (last speech + silence duration) or the timeout's trigger
            point; ``None`` for "speech_started".
    """

    kind: VadKind
    audio_start_ms: int
    audio_end_ms: int | None = None


class EnergyVad:
    """Stateful energy VAD over appended PCM16 mono audio; feed chunks of any size."""

    def __init__(
        self,
        threshold: float = 0.5,
        prefix_padding_ms: int = 300,
        silence_duration_ms: int = 500,
        idle_timeout_ms: int | None = None,
        rate_hz: int = PCM_RATE_HZ,
    ) -> None:
        """Configure the detector.

        Args:
            threshold: 0..1 like the API's (higher needs louder audio); see :func:`threshold_dbfs`.
            prefix_padding_ms: audio kept before the onset, reported in ``audio_start_ms``.
            silence_duration_ms: quiet audio that ends a turn.
            idle_timeout_ms: emit "timeout" after this much audio without speech; ``None`` disables it.
            rate_hz: sample rate of the PCM16 fed in.

        Raises:
            ValueError: on a non-positive rate or negative durations.
        """
        if rate_hz <= 0:
            raise ValueError(f"rate_hz must be positive, got {rate_hz}")
        for name, value in (
            ("prefix_padding_ms", prefix_padding_ms),
            ("silence_duration_ms", silence_duration_ms),
        ):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if idle_timeout_ms is not None and idle_timeout_ms <= 0:
            raise ValueError(f"idle_timeout_ms must be positive or None, got {idle_timeout_ms}")
        self.threshold = float(threshold)
        self.prefix_padding_ms = int(prefix_padding_ms)
        self.silence_duration_ms = int(silence_duration_ms)
        self.idle_timeout_ms = None if idle_timeout_ms is None else int(idle_timeout_ms)
        self.rate_hz = int(rate_hz)
        self._frame_samples = max(1, self.rate_hz * FRAME_MS // 1000)
        # Compare mean squares in int64 sample units: no float rounding differs between chunkings.
        level = 10.0 ** (threshold_dbfs(self.threshold) / 20.0) * 32768.0
        self._min_sum_squares = level * level * self._frame_samples
        self.reset()

    @classmethod
    def semantic(cls, eagerness: str = "auto", rate_hz: int = PCM_RATE_HZ) -> EnergyVad:
        """Return a detector approximating ``semantic_vad`` with ``eagerness`` (low/medium/high/auto)."""
        if eagerness not in SEMANTIC_SILENCE_MS:
            raise ValueError(f"eagerness must be one of {sorted(SEMANTIC_SILENCE_MS)}, got {eagerness!r}")
        return cls(silence_duration_ms=SEMANTIC_SILENCE_MS[eagerness], rate_hz=rate_hz)

    def reset(self) -> None:
        """Forget all audio and state; the timeline starts again at 0."""
        self._pending = b""
        self._frames = 0
        self._speaking = False
        self._run_frames = 0
        self._run_start_ms = 0
        self._turn_start_ms = 0
        self._last_loud_end_ms = 0
        self._floor_ms = 0
        self._idle_since_ms = 0

    @property
    def speaking(self) -> bool:
        """Whether a turn has started and not yet stopped."""
        return self._speaking

    @property
    def position_ms(self) -> int:
        """Milliseconds of whole frames analysed so far."""
        return self._frames * FRAME_MS

    def feed(self, pcm16: bytes) -> list[VadEvent]:
        """Analyse appended PCM16 LE mono audio and return the events it completes, in timeline order."""
        data = self._pending + bytes(pcm16)
        frame_bytes = 2 * self._frame_samples
        n_frames = len(data) // frame_bytes
        self._pending = data[n_frames * frame_bytes :]
        if n_frames == 0:
            return []
        samples = np.frombuffer(data, dtype="<i2", count=n_frames * self._frame_samples).astype(np.int64)
        loud = (samples * samples).reshape(n_frames, self._frame_samples).sum(axis=1) >= self._min_sum_squares
        events: list[VadEvent] = []
        for is_loud in loud.tolist():
            self._step(bool(is_loud), events)
        return events

    def _step(self, loud: bool, events: list[VadEvent]) -> None:
        start_ms = self._frames * FRAME_MS
        self._frames += 1
        end_ms = start_ms + FRAME_MS
        if self._speaking:
            if loud:
                self._last_loud_end_ms = end_ms
            elif end_ms - self._last_loud_end_ms >= self.silence_duration_ms:
                self._speaking = False
                self._run_frames = 0
                self._floor_ms = end_ms
                self._idle_since_ms = end_ms
                events.append(VadEvent("speech_stopped", self._turn_start_ms, end_ms))
            return
        if loud:
            if self._run_frames == 0:
                self._run_start_ms = start_ms
            self._run_frames += 1
            if self._run_frames * FRAME_MS >= MIN_SPEECH_MS:
                self._speaking = True
                self._last_loud_end_ms = end_ms
                self._turn_start_ms = max(self._floor_ms, self._run_start_ms - self.prefix_padding_ms)
                events.append(VadEvent("speech_started", self._turn_start_ms))
            return
        self._run_frames = 0
        if self.idle_timeout_ms is not None and end_ms - self._idle_since_ms >= self.idle_timeout_ms:
            events.append(VadEvent("timeout", self._idle_since_ms, end_ms))
            self._idle_since_ms = end_ms
            self._floor_ms = end_ms
