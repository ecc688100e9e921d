"""The words inside the simulator's synthesized speech, as quiet tones that survive a browser's microphone.

:mod:`rtwidget.server.voice` writes each word's text into the audio it synthesizes, so that
:mod:`rtwidget.server.transcribe` can give the words back when a client sends that audio in (a notebook's
``send_audio``, or a browser whose fake microphone plays it). The channel must survive what a capture path
does to audio: resampling (24 kHz -> 44.1 or 48 kHz -> 24 kHz), gain changes, float <-> PCM16 rounding, and
cuts anywhere (push-to-talk, the VAD). So the text is not in the samples' bits but in the spectrum:

- a packet per word: sync (2 bytes), length (1 byte), the word's UTF-8 text, CRC-16 (the low half of CRC-32);
  then, when the word is long enough to hold it, the same packet again with a second sync (kept only when
  the first did not survive);
- one byte per 10 ms symbol, as two tones sounding together: the high nibble picks one of 16 frequencies in
  ``BAND_A_HZ`` (100 Hz apart), the low nibble one of 16 in ``BAND_B_HZ``; 6.2-9.3 kHz, a band the synthesized
  voice leaves empty (``STOP_BAND_HZ``), each tone at ``LEVEL_DBFS`` (about 30 dB under the voice);
- whole cycles per symbol (the frequencies are multiples of 100 Hz), so a symbol starts and ends at zero.

Decoding looks at 10 ms Hann-windowed frames at eight alignments, reads each frame's strongest tone per band
(after taking off the frame's median, so a click of the voice does not count), finds the sync bytes and keeps
the packets whose CRC holds. G.711 (8 kHz) removes the band: such audio has no
words to recover, and the transcriber describes it instead.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

import numpy as np
import numpy.typing as npt

__all__ = [
    "BAND_A_HZ",
    "BAND_B_HZ",
    "LEVEL_DBFS",
    "MIN_RATE_HZ",
    "STOP_BAND_HZ",
    "SYMBOL_MS",
    "decode",
    "tones",
]

SYMBOL_MS = 10
"""One byte per symbol."""
BAND_A_HZ = (6200.0, 7700.0)
"""The high nibble's 16 tones, first and last (100 Hz apart)."""
BAND_B_HZ = (7800.0, 9300.0)
"""The low nibble's 16 tones."""
STOP_BAND_HZ = (6000.0, 9500.0)
"""What the synthesized voice leaves empty, so the tones are alone there."""
LEVEL_DBFS = -50.0
"""RMS of each tone (two sound at once): under the VAD's default threshold (-37.5 dBFS), far above PCM16's
floor."""
MIN_RATE_HZ = 22_000
"""Below this the band does not fit under Nyquist: no words are written or read."""

_SYNC = b"\xb5\x3c"
_AGAIN = b"\xb5\x3d"  # the same word once more (a second chance for a packet a capture path damaged)
_STEP_HZ = 100.0
_ALIGNMENTS = 8  # frame offsets tried, in steps of 1/8 symbol
_PEAK_RATIO = 4.0  # a band's strongest tone against the mean of its 15 others


def _packet(token: str, again: bool) -> bytes:
    payload = token.encode("utf-8")[:255]
    crc = zlib.crc32(payload) & 0xFFFF
    return (_AGAIN if again else _SYNC) + bytes([len(payload)]) + payload + crc.to_bytes(2, "big")


@lru_cache(maxsize=4)
def _symbols(rate_hz: int) -> npt.NDArray[np.float64]:
    """The 32 tones over one symbol at ``rate_hz`` (rows: band A's 16, then band B's)."""
    n = rate_hz * SYMBOL_MS // 1000
    t = np.arange(n) / rate_hz
    freqs = np.concatenate([lo + _STEP_HZ * np.arange(16) for lo, _ in (BAND_A_HZ, BAND_B_HZ)])
    amplitude = 10 ** (LEVEL_DBFS / 20) * np.sqrt(2.0)
    table: npt.NDArray[np.float64] = amplitude * np.sin(2 * np.pi * np.outer(freqs, t))
    return table


def tones(token: str, rate_hz: int, again: bool = False) -> npt.NDArray[np.float64]:
    """The word ``token`` as its packet of tones (float samples at ``rate_hz``, full scale 1.0); ``again``:
    its repeat, which the decoder keeps only when the first went missing. Empty under ``MIN_RATE_HZ``."""
    if rate_hz < MIN_RATE_HZ or rate_hz % 100:
        return np.zeros(0)
    table = _symbols(rate_hz)
    data = np.frombuffer(_packet(token, again), dtype=np.uint8).astype(np.int64)
    packet: npt.NDArray[np.float64] = (table[data >> 4] + table[16 + (data & 15)]).ravel()
    return packet


def decode(samples: npt.NDArray[np.int16] | npt.NDArray[np.float64], rate_hz: int) -> list[str]:
    """The words written by :func:`tones` into ``samples`` (any scale), in order of where they start."""
    if rate_hz < MIN_RATE_HZ or rate_hz % 100:
        return []
    n = rate_hz * SYMBOL_MS // 1000
    x = np.asarray(samples, dtype=np.float64)
    bins_a = np.round((BAND_A_HZ[0] + _STEP_HZ * np.arange(16)) * n / rate_hz).astype(np.int64)
    bins_b = np.round((BAND_B_HZ[0] + _STEP_HZ * np.arange(16)) * n / rate_hz).astype(np.int64)
    window = np.hanning(n)
    found: dict[int, tuple[str, bool, int]] = {}  # first sample -> (text, is a repeat, packet samples)
    for offset in range(0, n, max(1, n // _ALIGNMENTS)):
        frames = (len(x) - offset) // n
        if frames < len(_SYNC) + 3:
            break
        spectrum = np.abs(np.fft.rfft(x[offset : offset + frames * n].reshape(frames, n) * window, axis=1))
        byte, sure = _read(spectrum[:, bins_a], spectrum[:, bins_b])
        head = sure[:-4] & sure[1:-3] & sure[2:-2] & (byte[:-4] == _SYNC[0])
        for i in np.flatnonzero(head & ((byte[1:-3] == _SYNC[1]) | (byte[1:-3] == _AGAIN[1]))).tolist():
            length = int(byte[i + 2])
            end = i + 5 + length
            if end > frames:
                continue
            # The payload's tones need not all stand out: the CRC decides (a sync, a length and a CRC-16
            # matching by chance is about one in 2^40).
            payload = byte[i + 3 : i + 3 + length].astype(np.uint8).tobytes()
            if zlib.crc32(payload) & 0xFFFF != int(byte[end - 2]) << 8 | int(byte[end - 1]):
                continue
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                continue
            at = offset + i * n
            if not any(abs(at - seen) < n for seen in found):
                found[at] = (text, int(byte[i + 1]) == _AGAIN[1], (end - i) * n)
    words: list[str] = []
    # The last word read, where its repeat would start and how far off that a repeat is still its own: a
    # packet's length (a loaded capture path drops or inserts audio between the copies; a word said
    # twice has a first copy of its own, which is no repeat).
    expected: tuple[str, int, int] | None = None
    for at in sorted(found):
        text, again, size = found[at]
        if again and expected is not None and expected[0] == text and abs(expected[1] - at) < expected[2]:
            expected = None
            continue  # the repeat of the word just read
        words.append(text)
        expected = (text, at + size, size)
    return words


def _read(
    band_a: npt.NDArray[np.float64], band_b: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Per frame: the byte its strongest tones spell, and whether both stand out of their band. A click of
    the voice (a stop's burst) raises every bin of a frame alike: each frame's median over both bands is
    taken off first."""
    floor = np.median(np.concatenate((band_a, band_b), axis=1), axis=1, keepdims=True)
    sure = np.ones(len(band_a), dtype=bool)
    nibbles = []
    for band in (band_a - floor, band_b - floor):
        peak = band.max(axis=1)
        rest = (np.clip(band, 0.0, None).sum(axis=1) - peak) / 15
        sure &= peak > _PEAK_RATIO * rest
        nibbles.append(band.argmax(axis=1))
    return (nibbles[0] << 4) | nibbles[1], sure
