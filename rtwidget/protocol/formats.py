"""Audio formats of both dialects, their rates and sizes: the one owner of these facts.

GA names a format with an object (``{"type": "audio/pcm", "rate": 24000}``, ``{"type": "audio/pcmu"}``,
``{"type": "audio/pcma"}``), beta with a string (``"pcm16"``, ``"g711_ulaw"``, ``"g711_alaw"``). Everything
here speaks the normalized beta-style name (:data:`AudioFormatName`) and converts at the edges.

- ``audio/pcm`` / ``pcm16``: 16-bit signed little-endian mono; GA ``AudioPCM``: "Only a 24kHz sample rate
  is supported" (``rate`` is the literal 24000).
- ``audio/pcmu`` / ``g711_ulaw`` and ``audio/pcma`` / ``g711_alaw``: G.711, 8 kHz by the G.711 standard,
  one byte per sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "AUDIO_FORMATS",
    "DEFAULT_FORMAT",
    "FORMATS",
    "G711_RATE_HZ",
    "PCM_RATE_HZ",
    "AudioFormat",
    "AudioFormatName",
    "bytes_per_ms",
    "duration_ms",
    "format_name",
    "session_audio_format",
    "to_beta_format",
    "to_ga_format",
]

AudioFormatName = Literal["pcm16", "g711_ulaw", "g711_alaw"]
"""A format by its beta name; the GA objects map onto these."""

PCM_RATE_HZ = 24_000
"""Rate of the protocol's PCM16 audio (GA ``audio/pcm``: "Only a 24kHz sample rate is supported")."""
G711_RATE_HZ = 8_000
"""Rate of G.711 u-law and A-law audio (the G.711 standard's)."""

DEFAULT_FORMAT: AudioFormatName = "pcm16"
"""The input and output format of a fresh session in both dialects."""


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """One audio format: its names in both dialects, rate and sample size."""

    name: AudioFormatName
    ga_type: str
    rate_hz: int
    bytes_per_sample: int

    @property
    def bytes_per_ms(self) -> int:
        """Bytes one millisecond takes (48 for PCM16 at 24 kHz, 8 for G.711)."""
        return self.rate_hz * self.bytes_per_sample // 1000

    def ga(self) -> dict[str, Any]:
        """The GA format object (``{"type": "audio/pcm", "rate": 24000}`` for PCM)."""
        if self.name == "pcm16":
            return {"type": self.ga_type, "rate": self.rate_hz}
        return {"type": self.ga_type}


FORMATS: dict[AudioFormatName, AudioFormat] = {
    "pcm16": AudioFormat("pcm16", "audio/pcm", PCM_RATE_HZ, 2),
    "g711_ulaw": AudioFormat("g711_ulaw", "audio/pcmu", G711_RATE_HZ, 1),
    "g711_alaw": AudioFormat("g711_alaw", "audio/pcma", G711_RATE_HZ, 1),
}

AUDIO_FORMATS: dict[str, AudioFormatName] = {
    **{fmt.name: fmt.name for fmt in FORMATS.values()},
    **{fmt.ga_type: fmt.name for fmt in FORMATS.values()},
}
"""Wire names of both dialects (``pcm16``, ``audio/pcm``, ...) -> the normalized name."""


def format_name(value: Any) -> AudioFormatName | None:
    """The normalized name of a format as either dialect writes it, or ``None`` if it names none.

    Accepts a beta string, a GA object (dict or typed ``AudioPCM`` / ``AudioPCMU`` / ``AudioPCMA``).
    """
    if isinstance(value, str):
        return AUDIO_FORMATS.get(value)
    if isinstance(value, dict):
        kind = value.get("type")
        return AUDIO_FORMATS.get(kind) if isinstance(kind, str) else None
    tag = getattr(type(value), "__struct_config__", None)
    kind = getattr(tag, "tag", None)
    return AUDIO_FORMATS.get(kind) if isinstance(kind, str) else None


def to_ga_format(value: Any) -> Any:
    """A format in the GA shape (a beta string becomes its object); other values unchanged."""
    name = format_name(value)
    if name is None or isinstance(value, dict):
        return value
    return FORMATS[name].ga()


def to_beta_format(value: Any) -> Any:
    """A format in the beta shape (a GA object becomes its string); other values unchanged."""
    name = format_name(value)
    return value if name is None else name


def bytes_per_ms(name: AudioFormatName) -> int:
    """Bytes one millisecond of ``name`` takes (48 for ``pcm16``, 8 for G.711)."""
    return FORMATS[name].bytes_per_ms


def duration_ms(nbytes: int, name: AudioFormatName = DEFAULT_FORMAT) -> float:
    """Milliseconds of audio in ``nbytes`` of ``name``."""
    return nbytes / FORMATS[name].bytes_per_ms


def session_audio_format(session: Any, direction: Literal["input", "output"]) -> AudioFormatName | None:
    """The input or output format a session (either dialect, a JSON object) names, or ``None``.

    GA: ``session.audio.<direction>.format`` (object); beta: ``session.<direction>_audio_format`` (string).
    """
    if not isinstance(session, dict):
        return None
    audio = session.get("audio")
    if isinstance(audio, dict):
        config = audio.get(direction)
        if isinstance(config, dict):
            name = format_name(config.get("format"))
            if name is not None:
                return name
    return format_name(session.get(f"{direction}_audio_format"))
