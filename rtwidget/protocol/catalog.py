"""Model and voice facts: current realtime and transcription models, shutdowns, known voices.

The one owner of these names (the simulator's defaults and checks, the widget's shutdown note). Sources:
the openai package's ``realtime_session_create_request.py`` / ``audio_transcription.py`` (3.57) and
OpenAI's deprecation notices: ``gpt-realtime``, ``gpt-realtime-2025-08-28``, ``gpt-realtime-mini`` and the
``gpt-audio-mini`` models shut down on 2027-01-20; ``whisper-1``, ``gpt-4o-transcribe*`` and
``gpt-4o-mini-transcribe*`` on 2027-02-26.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TRANSCRIPTION_MODEL",
    "DEFAULT_VOICE",
    "REALTIME_MODELS",
    "SHUTDOWNS",
    "TRANSCRIPTION_MODELS",
    "VOICES",
    "is_known_voice",
    "shutdown_date",
    "shutdown_notice",
]

REALTIME_MODELS: tuple[str, ...] = (
    "gpt-realtime-2",
    "gpt-realtime-2.1",
    "gpt-realtime-2.1-mini",
    "gpt-realtime-1.5",
    "gpt-realtime-mini-2025-12-15",
)
"""Current realtime models (not on the shutdown list)."""

DEFAULT_MODEL = "gpt-realtime-2"
"""The model a session gets when none is named."""

TRANSCRIPTION_MODELS: tuple[str, ...] = ("gpt-realtime-whisper", "gpt-transcribe", "gpt-live-transcribe")
"""Current input transcription models."""

DEFAULT_TRANSCRIPTION_MODEL = "gpt-transcribe"
"""The transcription model a transcription session gets when none is named."""

_REALTIME_SHUTDOWN = _dt.date(2027, 1, 20)
_TRANSCRIBE_SHUTDOWN = _dt.date(2027, 2, 26)

SHUTDOWNS: dict[str, _dt.date] = {
    "gpt-realtime": _REALTIME_SHUTDOWN,
    "gpt-realtime-2025-08-28": _REALTIME_SHUTDOWN,
    "gpt-realtime-mini": _REALTIME_SHUTDOWN,
    "gpt-realtime-mini-2025-10-06": _REALTIME_SHUTDOWN,
    "gpt-audio-mini": _REALTIME_SHUTDOWN,
    "gpt-audio-mini-2025-10-06": _REALTIME_SHUTDOWN,
    "whisper-1": _TRANSCRIBE_SHUTDOWN,
    "gpt-4o-transcribe": _TRANSCRIBE_SHUTDOWN,
    "gpt-4o-transcribe-diarize": _TRANSCRIBE_SHUTDOWN,
    "gpt-4o-mini-transcribe": _TRANSCRIBE_SHUTDOWN,
    "gpt-4o-mini-transcribe-2025-12-15": _TRANSCRIBE_SHUTDOWN,
}
"""Models with an announced shutdown, and its date (still accepted until then)."""

# Families shut down as a whole: a dated snapshot of one of them shuts down with it.
_SHUTDOWN_PREFIXES: tuple[tuple[str, _dt.date], ...] = (
    ("gpt-audio-mini", _REALTIME_SHUTDOWN),
    ("gpt-4o-transcribe", _TRANSCRIBE_SHUTDOWN),
    ("gpt-4o-mini-transcribe", _TRANSCRIBE_SHUTDOWN),
)

VOICES: tuple[str, ...] = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
"""The built-in voices, in the order the live server lists them."""

DEFAULT_VOICE = "alloy"
"""The voice of a fresh session (recorded ``session.created``)."""


def shutdown_date(model: str) -> _dt.date | None:
    """The announced shutdown date of ``model``, or ``None`` if none is announced."""
    date = SHUTDOWNS.get(model)
    if date is not None:
        return date
    for prefix, when in _SHUTDOWN_PREFIXES:
        if model.startswith(prefix):
            return when
    return None


def shutdown_notice(model: str) -> str | None:
    """A one-line note for a model on the shutdown list, else ``None``.

    >>> shutdown_notice("gpt-realtime")
    "'gpt-realtime' shuts down on 2027-01-20; use 'gpt-realtime-2'."
    """
    date = shutdown_date(model)
    if date is None:
        return None
    successor = DEFAULT_TRANSCRIPTION_MODEL if date == _TRANSCRIBE_SHUTDOWN else DEFAULT_MODEL
    return f"'{model}' shuts down on {date.isoformat()}; use '{successor}'."


def is_known_voice(voice: Any) -> bool:
    """Whether a session may name ``voice``: a built-in name or a custom voice object ``{"id": ...}``."""
    if isinstance(voice, str):
        return voice in VOICES
    return isinstance(voice, dict) and isinstance(voice.get("id"), str)
