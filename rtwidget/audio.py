"""Audio helpers for the Realtime protocol: PCM16, G.711, resampling, WAV, chunking and test signals.

The Realtime API carries audio as base64 inside JSON. Its formats are PCM16 (16-bit signed little-endian
mono, "Only a 24kHz sample rate is supported" for GA ``audio/pcm``) and G.711 u-law / A-law (``audio/pcmu``,
``audio/pcma``; 8 kHz by the G.711 standard, one byte per sample). Everything here is vectorized numpy:
the codecs are table lookups, the resampler a polyphase windowed-sinc FIR filter.

Floating-point audio is ``float32`` in ``[-1.0, 1.0)``, where PCM16 value ``v`` maps to ``v / 32768``.
"""

from __future__ import annotations

import io
import os
import wave
from collections.abc import Iterator
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from rtwidget._resample import _PCM16_SCALE, Float32Array, Resampler, resample
from rtwidget.protocol.formats import AUDIO_FORMATS, G711_RATE_HZ, PCM_RATE_HZ, format_name

__all__ = [
    "G711_SAMPLE_RATE_HZ",
    "PCM16_BYTES_PER_SAMPLE",
    "SAMPLE_RATE_HZ",
    "Float32Array",
    "Int16Array",
    "Resampler",
    "alaw_decode",
    "alaw_encode",
    "chunk",
    "decode_audio",
    "encode_audio",
    "float32_to_pcm16",
    "pcm16_duration_ms",
    "pcm16_to_float32",
    "read_wav",
    "resample",
    "silence",
    "tone",
    "ulaw_decode",
    "ulaw_encode",
    "write_wav",
]

SAMPLE_RATE_HZ = PCM_RATE_HZ
"""Rate of the protocol's PCM16 audio: GA ``audio/pcm`` "Only a 24kHz sample rate is supported"."""
G711_SAMPLE_RATE_HZ = G711_RATE_HZ
"""Rate of G.711 u-law / A-law audio (the G.711 standard's 8 kHz)."""
PCM16_BYTES_PER_SAMPLE = 2

Int16Array: TypeAlias = npt.NDArray[np.int16]
PcmInput: TypeAlias = bytes | bytearray | memoryview | npt.NDArray[Any]
WavSource: TypeAlias = str | os.PathLike[str] | bytes | bytearray | memoryview

_PCM16_MAX = 32767
_PCM16_MIN = -32768


# --- PCM16 <-> float32 -------------------------------------------------------------------------------


def _as_int16(data: PcmInput) -> Int16Array:
    """View PCM16 bytes (little-endian) or an integer array as int16 samples, dropping a trailing odd byte."""
    if isinstance(data, np.ndarray):
        if data.dtype == np.int16:
            return data.reshape(-1)
        if np.issubdtype(data.dtype, np.integer):
            return np.clip(data, _PCM16_MIN, _PCM16_MAX).astype(np.int16).reshape(-1)
        raise TypeError(f"expected PCM16 bytes or an integer array, got an array of dtype {data.dtype}")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"expected PCM16 bytes or an integer array, got {type(data).__name__}")
    raw = memoryview(data).cast("B")
    # Real recordings carry odd-length payloads (every audio delta in the recorded corpus is 33 bytes):
    # the trailing half sample cannot be decoded, so it is dropped rather than raising.
    usable = len(raw) - (len(raw) % PCM16_BYTES_PER_SAMPLE)
    return np.frombuffer(raw[:usable], dtype="<i2").astype(np.int16, copy=False)


def pcm16_to_float32(data: PcmInput) -> Float32Array:
    """Convert PCM16 little-endian bytes (or an int16 array) to float32 samples in ``[-1, 1)``.

    Args:
        data: PCM16 bytes; an odd trailing byte is dropped. An integer array is taken as PCM16 values.

    Returns:
        A new float32 array, ``sample / 32768``.
    """
    samples = _as_int16(data)
    return samples.astype(np.float32) * np.float32(1.0 / _PCM16_SCALE)


def float32_to_pcm16(x: npt.ArrayLike) -> bytes:
    """Convert float samples in ``[-1, 1]`` to PCM16 little-endian bytes, clipping out-of-range values.

    Args:
        x: float samples (any shape; flattened). NaN becomes 0.

    Returns:
        PCM16 bytes, ``round(sample * 32768)`` clipped to ``[-32768, 32767]``.
    """
    values = np.asarray(x)
    # float32 input stays float32 (scaling by 2**15 is exact there); anything else is worked in float64.
    work_dtype = np.float32 if values.dtype == np.float32 else np.float64
    scaled = np.multiply(values.reshape(-1), _PCM16_SCALE, dtype=work_dtype)
    np.rint(scaled, out=scaled)
    np.nan_to_num(scaled, copy=False, nan=0.0)
    np.clip(scaled, _PCM16_MIN, _PCM16_MAX, out=scaled)
    pcm: bytes = scaled.astype("<i2").tobytes()
    return pcm


# --- G.711 (ITU-T G.711; bit-exact with the classic Sun Microsystems g711.c) ---------------------------

_G711_SEG_SHIFT = 4
_G711_QUANT_MASK = 0x0F
_G711_SEG_MASK = 0x70
_G711_SIGN_BIT = 0x80
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159  # g711.c: "CLIP 8159", the 14-bit magnitude limit
_ULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def _segment(magnitude: npt.NDArray[np.int64], seg_end: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """g711.c ``search()``: index of the first segment end >= value (8 when above the last)."""
    return np.searchsorted(seg_end, magnitude, side="left").astype(np.int64)


def _build_ulaw_encode_table() -> npt.NDArray[np.uint8]:
    """u-law code of every int16 value, indexed by the value's uint16 bit pattern (g711.c linear2ulaw)."""
    pcm = np.arange(65536, dtype=np.int64)
    pcm = np.where(pcm >= 32768, pcm - 65536, pcm) >> 2  # "u-law uses 14-bit input"
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = _segment(magnitude, _ULAW_SEG_END)
    code = (np.minimum(seg, 7) << _G711_SEG_SHIFT) | ((magnitude >> (np.minimum(seg, 7) + 1)) & 0xF)
    code = np.where(seg >= 8, 0x7F, code)  # out of range: "return (0x7F ^ mask)"
    return (code ^ mask).astype(np.uint8)


def _build_alaw_encode_table() -> npt.NDArray[np.uint8]:
    """A-law code of every int16 value, indexed by the value's uint16 bit pattern (g711.c linear2alaw)."""
    pcm = np.arange(65536, dtype=np.int64)
    pcm = np.where(pcm >= 32768, pcm - 65536, pcm) >> 3  # "A-law uses 13-bit input"
    mask = np.where(pcm >= 0, 0xD5, 0x55)  # sign (7th) bit = 1, plus even-bit inversion
    magnitude = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = _segment(magnitude, _ALAW_SEG_END)
    clipped_seg = np.minimum(seg, 7)
    shift = np.where(clipped_seg < 2, 1, clipped_seg)
    code = (clipped_seg << _G711_SEG_SHIFT) | ((magnitude >> shift) & _G711_QUANT_MASK)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _build_ulaw_decode_table() -> Int16Array:
    """Linear value of every u-law code (g711.c ulaw2linear)."""
    u = ~np.arange(256, dtype=np.int64) & 0xFF
    t = ((u & _G711_QUANT_MASK) << 3) + _ULAW_BIAS
    t <<= (u & _G711_SEG_MASK) >> _G711_SEG_SHIFT
    return np.where(u & _G711_SIGN_BIT, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def _build_alaw_decode_table() -> Int16Array:
    """Linear value of every A-law code (g711.c alaw2linear)."""
    a = np.arange(256, dtype=np.int64) ^ 0x55
    t = (a & _G711_QUANT_MASK) << 4
    seg = (a & _G711_SEG_MASK) >> _G711_SEG_SHIFT
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & _G711_SIGN_BIT, t, -t).astype(np.int16)


_ULAW_ENCODE = _build_ulaw_encode_table()
_ALAW_ENCODE = _build_alaw_encode_table()
_ULAW_DECODE = _build_ulaw_decode_table()
_ALAW_DECODE = _build_alaw_decode_table()


def _as_codes(data: bytes | bytearray | memoryview | npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    if isinstance(data, np.ndarray):
        return data.astype(np.uint8, copy=False).reshape(-1)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"expected G.711 bytes, got {type(data).__name__}")
    return np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)


def ulaw_encode(pcm16: PcmInput) -> bytes:
    """Encode PCM16 (bytes or int16 array) to G.711 u-law bytes, one byte per sample (bit-exact g711.c)."""
    return _ULAW_ENCODE[_as_int16(pcm16).view(np.uint16)].tobytes()


def ulaw_decode(data: bytes | bytearray | memoryview | npt.NDArray[Any]) -> Int16Array:
    """Decode G.711 u-law bytes to int16 samples (bit-exact g711.c ``ulaw2linear``)."""
    return _ULAW_DECODE[_as_codes(data)]


def alaw_encode(pcm16: PcmInput) -> bytes:
    """Encode PCM16 (bytes or int16 array) to G.711 A-law bytes, one byte per sample (bit-exact g711.c)."""
    return _ALAW_ENCODE[_as_int16(pcm16).view(np.uint16)].tobytes()


def alaw_decode(data: bytes | bytearray | memoryview | npt.NDArray[Any]) -> Int16Array:
    """Decode G.711 A-law bytes to int16 samples (bit-exact g711.c ``alaw2linear``)."""
    return _ALAW_DECODE[_as_codes(data)]


# --- session audio formats ------------------------------------------------------------------------------


def _format_name(audio_format: str) -> str:
    name = format_name(audio_format)
    if name is None:
        known = ", ".join(sorted(AUDIO_FORMATS))
        raise ValueError(f"unknown audio format {audio_format!r}; expected one of {known}")
    return name


def decode_audio(
    data: bytes | bytearray | memoryview, audio_format: str, rate_hz: int = SAMPLE_RATE_HZ
) -> Float32Array:
    """Decode session audio (PCM16 at 24 kHz or G.711 at 8 kHz) to float32 samples at ``rate_hz``.

    Args:
        data: audio bytes as received (e.g. a ``response.output_audio.delta`` payload, or an item's audio).
        audio_format: beta name (``pcm16``, ``g711_ulaw``, ``g711_alaw``) or GA ``type``
            (``audio/pcm``, ``audio/pcmu``, ``audio/pcma``).
        rate_hz: wanted output rate (resampled with :func:`resample` when it differs).
    """
    name = _format_name(audio_format)
    if name == "pcm16":
        samples, native_hz = pcm16_to_float32(data), SAMPLE_RATE_HZ
    else:
        decoded = ulaw_decode(data) if name == "g711_ulaw" else alaw_decode(data)
        samples, native_hz = pcm16_to_float32(decoded), G711_SAMPLE_RATE_HZ
    return samples if native_hz == rate_hz else resample(samples, native_hz, rate_hz)


def encode_audio(x: npt.ArrayLike, audio_format: str, rate_hz: int = SAMPLE_RATE_HZ) -> bytes:
    """Encode float samples at ``rate_hz`` to session audio bytes (PCM16 24 kHz or G.711 8 kHz).

    Args:
        x: float samples in ``[-1, 1]``.
        audio_format: beta name or GA ``type`` of the session's input format (see :func:`decode_audio`).
        rate_hz: rate of ``x`` (resampled to the format's rate when it differs).
    """
    name = _format_name(audio_format)
    target_hz = SAMPLE_RATE_HZ if name == "pcm16" else G711_SAMPLE_RATE_HZ
    samples = np.asarray(x) if rate_hz == target_hz else resample(x, rate_hz, target_hz)
    pcm = float32_to_pcm16(samples)
    if name == "pcm16":
        return pcm
    return ulaw_encode(pcm) if name == "g711_ulaw" else alaw_encode(pcm)


# --- WAV ---------------------------------------------------------------------------------------------


def read_wav(source: WavSource) -> tuple[Float32Array, int]:
    """Read a PCM WAV file (path or bytes) as mono float32 samples and its sample rate.

    8-bit (unsigned), 16-, 24- and 32-bit integer PCM at any rate; several channels are averaged to mono.

    Args:
        source: a file path, or the WAV file's bytes.

    Returns:
        ``(samples, rate_hz)``: float32 in ``[-1, 1)`` and the file's rate.

    Raises:
        ValueError: not a WAV file, or an encoding other than integer PCM (e.g. float or compressed).
    """
    # wave.open() takes a str path or a file object (not a PathLike before Python 3.12).
    handle: Any = (
        io.BytesIO(bytes(source)) if isinstance(source, bytes | bytearray | memoryview) else os.fspath(source)
    )
    try:
        with wave.open(handle, "rb") as reader:
            channels = reader.getnchannels()
            width = reader.getsampwidth()
            rate_hz = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(
            f"cannot read WAV: {exc} (only integer PCM WAV is supported, 8/16/24/32-bit)"
        ) from exc
    usable = len(frames) - len(frames) % (width * channels)
    raw = np.frombuffer(frames[:usable], dtype=np.uint8)
    if width == 1:
        samples = (raw.astype(np.float32) - 128.0) / 128.0  # 8-bit WAV is unsigned, 128 = silence
    elif width == 2:
        samples = raw.view("<i2").astype(np.float32) / _PCM16_SCALE
    elif width == 3:
        triples = raw.reshape(-1, 3).astype(np.int32)
        value = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        samples = value.astype(np.float32) / float(1 << 23)
    elif width == 4:
        samples = (raw.view("<i4").astype(np.float64) / float(1 << 31)).astype(np.float32)
    else:
        raise ValueError(f"cannot read WAV: unsupported sample width of {width} bytes")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return samples.astype(np.float32, copy=False), rate_hz


def write_wav(path: str | os.PathLike[str] | None, samples: PcmInput, rate_hz: int) -> bytes | None:
    """Write mono 16-bit PCM WAV.

    Args:
        path: where to write; ``None`` to get the file's bytes back instead.
        samples: float samples in ``[-1, 1]`` (clipped), an int16 array, or PCM16 bytes.
        rate_hz: sample rate recorded in the header.

    Returns:
        The WAV bytes when ``path`` is ``None``, else ``None``.
    """
    if rate_hz <= 0:
        raise ValueError(f"rate_hz must be positive, got {rate_hz}")
    if isinstance(samples, np.ndarray) and np.issubdtype(samples.dtype, np.floating):
        pcm = float32_to_pcm16(samples)
    else:
        pcm = _as_int16(samples).astype("<i2", copy=False).tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(PCM16_BYTES_PER_SAMPLE)
        writer.setframerate(rate_hz)
        writer.writeframes(pcm)
    data = buffer.getvalue()
    if path is None:
        return data
    with open(path, "wb") as file:
        file.write(data)
    return None


# --- framing, test signals, durations ----------------------------------------------------------------


def chunk(
    pcm: bytes | bytearray | memoryview,
    ms: int,
    rate_hz: int = SAMPLE_RATE_HZ,
    *,
    bytes_per_sample: int = PCM16_BYTES_PER_SAMPLE,
) -> Iterator[bytes]:
    """Split audio bytes into frames of ``ms`` milliseconds; the last frame holds what is left.

    Args:
        pcm: audio bytes (PCM16 by default; pass ``bytes_per_sample=1`` for G.711).
        ms: frame length in milliseconds (``ms * rate_hz / 1000`` is rounded to whole samples, at least 1).
        rate_hz: sample rate of ``pcm``.
        bytes_per_sample: 2 for PCM16, 1 for G.711.

    Yields:
        Frames of equal length, then a shorter remainder if any (kept as is, even an odd byte, so
        nothing is lost).
    """
    if ms <= 0 or rate_hz <= 0 or bytes_per_sample <= 0:
        raise ValueError(
            f"ms, rate_hz and bytes_per_sample must be positive, got {ms}, {rate_hz}, {bytes_per_sample}"
        )
    frame_bytes = max(1, round(ms * rate_hz / 1000)) * bytes_per_sample
    view = memoryview(pcm).cast("B")
    for start in range(0, len(view), frame_bytes):
        yield bytes(view[start : start + frame_bytes])


def _n_samples(duration_ms: float, rate_hz: int) -> int:
    if duration_ms < 0 or rate_hz <= 0:
        raise ValueError(f"need duration_ms >= 0 and rate_hz > 0, got {duration_ms}, {rate_hz}")
    return round(duration_ms * rate_hz / 1000)


def tone(freq_hz: float, duration_ms: float, rate_hz: int = SAMPLE_RATE_HZ, amplitude: float = 0.3) -> bytes:
    """Return a sine tone as PCM16 bytes.

    Args:
        freq_hz: frequency of the sine.
        duration_ms: length; rounded to whole samples.
        rate_hz: sample rate.
        amplitude: peak level, 1.0 = full scale (clipped beyond).
    """
    t = np.arange(_n_samples(duration_ms, rate_hz), dtype=np.float64) / rate_hz
    return float32_to_pcm16(amplitude * np.sin(2.0 * np.pi * freq_hz * t))


def silence(duration_ms: float, rate_hz: int = SAMPLE_RATE_HZ) -> bytes:
    """Return ``duration_ms`` of PCM16 silence (zero bytes), rounded to whole samples."""
    return bytes(_n_samples(duration_ms, rate_hz) * PCM16_BYTES_PER_SAMPLE)


def pcm16_duration_ms(nbytes: int, rate_hz: int = SAMPLE_RATE_HZ) -> float:
    """Return the duration in milliseconds of ``nbytes`` of PCM16 mono audio (fractional for odd counts)."""
    if rate_hz <= 0:
        raise ValueError(f"rate_hz must be positive, got {rate_hz}")
    return nbytes * 1000.0 / (PCM16_BYTES_PER_SAMPLE * rate_hz)
