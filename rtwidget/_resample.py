"""Resampling for :mod:`rtwidget.audio`: a polyphase windowed-sinc FIR filter, one-shot and streaming.

Private: :mod:`rtwidget.audio` re-exports :func:`resample` and :class:`Resampler`.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["Float32Array", "Resampler", "resample"]

Float32Array: TypeAlias = npt.NDArray[np.float32]

_PCM16_SCALE = 32768.0

# Filter design, measured for 24 kHz -> 8 kHz: flat (< 0.001 dB) to 0.8 x the lower Nyquist rate,
# -0.03 dB at 0.85 x, -6 dB at 0.92 x, at least 65 dB down from the Nyquist rate on (about 90 dB beyond
# 1.02 x), so aliases of content above the new Nyquist rate stay far below audibility.
_KAISER_BETA = 8.6  # Kaiser window: about 86 dB sidelobe attenuation
_ZERO_CROSSINGS = 32  # half-length of the sinc, in zero crossings at the lower Nyquist rate
_CUTOFF_FRACTION = 0.92  # -6 dB point, relative to the lower of the two Nyquist rates
_RESAMPLE_BLOCK_SAMPLES = 1 << 16  # outputs computed per block, bounding the gather's memory


@lru_cache(maxsize=32)
def _polyphase_filter(up: int, down: int) -> tuple[npt.NDArray[np.float64], int, int]:
    """Design the anti-aliasing low-pass for rational resampling ``up/down``, split into phases.

    Returns:
        ``(phases, taps_per_phase, delay)``: ``phases[p, k]`` is prototype tap ``p + k*up`` (times
        ``up``, restoring the level lost to zero-stuffing); ``delay`` is the prototype's centre tap.
    """
    # Work at the upsampled rate (``up * from_hz``); the lower of the two Nyquist rates, relative to it,
    # is 1 / (2 * max(up, down)). Put the cutoff a little below it so the band edge is mostly stopped.
    nyquist = 1.0 / (2.0 * max(up, down))
    cutoff = _CUTOFF_FRACTION * nyquist
    half_len = _ZERO_CROSSINGS * max(up, down)
    n = np.arange(-half_len, half_len + 1, dtype=np.float64)
    prototype = 2.0 * cutoff * np.sinc(2.0 * cutoff * n) * np.kaiser(len(n), _KAISER_BETA)
    prototype *= up / prototype.sum()  # unity gain at DC after zero-stuffing by ``up``
    taps_per_phase = math.ceil(len(prototype) / up)
    padded = np.zeros(taps_per_phase * up)
    padded[: len(prototype)] = prototype
    phases = padded.reshape(taps_per_phase, up).T.copy()
    return phases, taps_per_phase, half_len


def _fir_outputs(
    signal: npt.NDArray[np.float64],
    *,
    offset: int,
    n_start: int,
    n_stop: int,
    design: tuple[npt.NDArray[np.float64], int, int],
    up: int,
    down: int,
) -> npt.NDArray[np.float64]:
    """Compute outputs ``n_start <= n < n_stop`` of the polyphase filter.

    Output ``n`` sits at upsampled position ``n*down + delay`` (advanced by the prototype's delay, so
    it lies at time ``n / to_hz``); with ``base, p = divmod(position, up)`` it is
    ``sum_k h[p + k*up] * x[base - k]``. Input sample ``i`` is ``signal[i + offset]``; the caller pads
    ``signal`` so that every index read exists.
    """
    phases, taps_per_phase, delay = design
    count_total = max(n_stop - n_start, 0)
    out = np.empty(count_total, dtype=np.float64)
    if count_total == 0:
        return out
    if up * taps_per_phase <= count_total // 4:
        # Outputs n, n + up, n + 2*up ... share one phase and read inputs ``down`` apart: each tap is
        # one strided multiply-add over the whole class (fast when ``up`` is small).
        for j in range(min(up, count_total)):
            count = len(range(j, count_total, up))
            base, phase = divmod((n_start + j) * down + delay, up)
            acc = np.zeros(count)
            for k in range(taps_per_phase):
                weight = phases[phase, k]
                if weight != 0.0:
                    first = base - k + offset
                    acc += weight * signal[first : first + down * (count - 1) + 1 : down]
            out[j::up] = acc
        return out
    # Few outputs per phase (large ``up`` or a short input): gather all taps of each output at once.
    taps = np.arange(taps_per_phase)
    for block in range(0, count_total, _RESAMPLE_BLOCK_SAMPLES):
        stop = min(block + _RESAMPLE_BLOCK_SAMPLES, count_total)
        position = np.arange(n_start + block, n_start + stop, dtype=np.int64) * down + delay
        bases, phase_of = np.divmod(position, up)
        gathered = signal[bases[:, None] - taps[None, :] + offset]
        out[block:stop] = np.einsum("ij,ij->i", gathered, phases[phase_of])
    return out


def _as_float_signal(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    arr = np.asarray(x)
    if np.issubdtype(arr.dtype, np.integer):
        return arr.reshape(-1).astype(np.float64) / _PCM16_SCALE
    return arr.reshape(-1).astype(np.float64)


def _ratio(from_hz: int, to_hz: int) -> tuple[int, int]:
    if from_hz <= 0 or to_hz <= 0:
        raise ValueError(f"sample rates must be positive, got from_hz={from_hz}, to_hz={to_hz}")
    common = math.gcd(from_hz, to_hz)
    return to_hz // common, from_hz // common


def resample(x: npt.ArrayLike, from_hz: int, to_hz: int) -> Float32Array:
    """Resample mono audio between any two rates with an anti-aliasing polyphase windowed-sinc filter.

    Equivalent to zero-stuffing by ``up``, low-pass filtering below the lower of the two Nyquist
    frequencies (windowed sinc, >= 65 dB stopband) and keeping every ``down``-th sample, where
    ``up/down = to_hz/from_hz`` in lowest terms; only the needed products are computed. Output sample
    ``n`` is aligned with time ``n / to_hz`` (no filter delay). Output length ``ceil(len(x) * to/from)``.
    For audio arriving in pieces use :class:`Resampler`, which gives the same samples without seams.

    Args:
        x: mono samples. Float input is taken as is; integer input (e.g. int16) as PCM16 values.
        from_hz: rate of ``x``.
        to_hz: wanted rate.

    Returns:
        float32 samples at ``to_hz``.
    """
    up, down = _ratio(from_hz, to_hz)
    signal = _as_float_signal(x)
    if up == down:
        return signal.astype(np.float32)
    design = _polyphase_filter(up, down)
    _, taps_per_phase, delay = design
    n_out = -(-len(signal) * up // down)
    # Zeros on both sides stand for the silence before and after the signal.
    pad_left = taps_per_phase
    padded = np.concatenate([np.zeros(pad_left), signal, np.zeros(delay // up + taps_per_phase + 2)])
    out = _fir_outputs(padded, offset=pad_left, n_start=0, n_stop=n_out, design=design, up=up, down=down)
    return out.astype(np.float32)


class Resampler:
    """Streaming version of :func:`resample`: feed pieces, get the same samples as one call on the whole.

    Keeps the filter's history between pieces, so chunk boundaries leave no seams (resampling each
    chunk on its own would click at every boundary). Latency: about 32 samples of the lower rate.

    Example:
        >>> r = Resampler(48_000, 24_000)
        >>> out = np.concatenate([r.process(piece) for piece in pieces] + [r.flush()])
    """

    def __init__(self, from_hz: int, to_hz: int) -> None:
        self.from_hz = from_hz
        self.to_hz = to_hz
        self._up, self._down = _ratio(from_hz, to_hz)
        self._design = _polyphase_filter(self._up, self._down)
        self._reset()

    def _reset(self) -> None:
        taps_per_phase = self._design[1]
        # History starts with the silence before the first sample (input indices -taps..-1).
        self._history = np.zeros(taps_per_phase)
        self._history_start = -taps_per_phase
        self._n_in = 0
        self._n_out = 0

    def process(self, x: npt.ArrayLike) -> Float32Array:
        """Take the next piece of input; return every output sample that is now fully determined."""
        signal = _as_float_signal(x)
        if self._up == self._down:
            return signal.astype(np.float32)
        self._history = np.concatenate([self._history, signal])
        self._n_in += len(signal)
        delay = self._design[2]
        # Output n needs inputs up to base = (n*down + delay) // up, so n*down + delay < n_in * up.
        n_stop = max((self._n_in * self._up - 1 - delay) // self._down + 1, self._n_out)
        return self._emit(n_stop)

    def flush(self) -> Float32Array:
        """Return the remaining output (the input's end followed by silence); then start afresh."""
        if self._up == self._down:
            return np.zeros(0, dtype=np.float32)
        _, taps_per_phase, delay = self._design
        self._history = np.concatenate([self._history, np.zeros(delay // self._up + taps_per_phase + 2)])
        n_total = -(-self._n_in * self._up // self._down)
        out = self._emit(max(n_total, self._n_out))
        self._reset()
        return out

    def _emit(self, n_stop: int) -> Float32Array:
        out = _fir_outputs(
            self._history,
            offset=-self._history_start,
            n_start=self._n_out,
            n_stop=n_stop,
            design=self._design,
            up=self._up,
            down=self._down,
        )
        self._n_out = n_stop
        # Keep only what the next output can still read: inputs from its base - taps + 1 on.
        _, taps_per_phase, delay = self._design
        keep_from = (self._n_out * self._down + delay) // self._up - taps_per_phase + 1
        drop = min(max(keep_from - self._history_start, 0), len(self._history))
        if drop:
            self._history = self._history[drop:]
            self._history_start += drop
        return out.astype(np.float32)
