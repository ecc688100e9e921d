"""GA <-> beta mapping of sessions, response parameters and items: the one copy of these facts.

GA nests audio settings under ``session.audio.input`` / ``.output`` and names formats with objects; beta
keeps them flat (``input_audio_format``, ``voice``, ``turn_detection``, ...) with format strings. Field
mapping beta -> GA (the openai package's ``types/beta/realtime`` vs ``types/realtime``):

=============================== ====================================
beta                            GA
=============================== ====================================
``modalities``                  ``output_modalities``
``input_audio_format``          ``audio.input.format``
``input_audio_transcription``   ``audio.input.transcription``
``input_audio_noise_reduction`` ``audio.input.noise_reduction``
``turn_detection``              ``audio.input.turn_detection``
``output_audio_format``         ``audio.output.format``
``voice`` / ``speed``           ``audio.output.voice`` / ``.speed``
``max_response_output_tokens``  ``max_output_tokens``
``temperature``                 (none: GA has no temperature)
=============================== ====================================

GA allows one output modality (``["audio"]`` streams its transcript too); beta audio replies are
``["text", "audio"]``. Settings only beta has (``temperature``, the exact ``modalities``) are kept by the
caller in an ``extra`` dict so a beta peer reads back what it set. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from rtwidget.protocol.formats import (
    DEFAULT_FORMAT,
    AudioFormatName,
    session_audio_format,
    to_beta_format,
    to_ga_format,
)

__all__ = [
    "BETA_TEMPERATURE",
    "ga_session_to_beta",
    "item_to_beta",
    "item_to_ga",
    "modalities_to_beta",
    "modalities_to_ga",
    "output_audio_format",
    "response_params_to_ga",
    "response_to_beta",
    "session_to_beta",
    "session_to_ga",
]

JSON = dict[str, Any]

BETA_TEMPERATURE = 0.8
"""The beta server's default ``temperature`` (recorded ``session.created``)."""

# Beta content part types of assistant items <-> GA's.
_CONTENT_TO_BETA = {"output_text": "text", "output_audio": "audio"}
_CONTENT_TO_GA = {v: k for k, v in _CONTENT_TO_BETA.items()}
# Beta session key -> (GA audio side, GA field).
_BETA_AUDIO_KEYS = {
    "input_audio_format": ("input", "format"),
    "input_audio_transcription": ("input", "transcription"),
    "input_audio_noise_reduction": ("input", "noise_reduction"),
    "turn_detection": ("input", "turn_detection"),
    "output_audio_format": ("output", "format"),
    "voice": ("output", "voice"),
    "speed": ("output", "speed"),
}
_GA_AUDIO_KEYS = {ga: beta for beta, ga in _BETA_AUDIO_KEYS.items()}


def _beta_format(fmt: Any) -> Any:
    """A GA format object as its beta string; ``None`` stays ``None``."""
    return to_beta_format(fmt) if fmt else None


def modalities_to_beta(ga: list[str], extra: Mapping[str, Any] | None = None) -> list[str]:
    """GA ``output_modalities`` as beta ``modalities``: audio replies carry text too, unless the beta peer
    asked for ``["audio"]`` alone (kept in ``extra["modalities"]``)."""
    if "audio" in ga:
        asked = (extra or {}).get("modalities", ["text", "audio"])
        return ["text", "audio"] if "text" in asked else ["audio"]
    return ["text"]


def modalities_to_ga(value: Any) -> Any:
    """Beta ``modalities`` as GA ``output_modalities`` (one modality); a non-list is left to validation."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ["audio"] if "audio" in value else ["text"]
    return value


def item_to_beta(item: Mapping[str, Any]) -> JSON:
    """A GA item as beta writes it (``object: "realtime.item"``, assistant parts ``text`` / ``audio``)."""
    out: JSON = {"id": item["id"], "object": "realtime.item"}
    out.update({k: v for k, v in item.items() if k not in ("id", "content")})
    if "content" in item:
        out["content"] = [
            {**part, "type": _CONTENT_TO_BETA.get(part.get("type", ""), part.get("type"))}
            for part in item["content"]
        ]
    return out


def item_to_ga(item: Mapping[str, Any]) -> JSON:
    """A beta item as GA writes it (no ``object``; assistant parts ``output_text`` / ``output_audio``)."""
    out = {k: v for k, v in item.items() if k != "object"}
    if "content" in item and isinstance(item["content"], list):
        out["content"] = [
            {**part, "type": _CONTENT_TO_GA.get(part.get("type", ""), part.get("type"))}
            if item.get("role") == "assistant" and isinstance(part, dict)
            else part
            for part in item["content"]
        ]
    return out


def session_to_beta(session: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> JSON:
    """A full GA session object (``session.created`` / ``.updated``) as the beta server sent it."""
    extra = extra or {}
    inp = session["audio"]["input"]
    td = inp["turn_detection"]
    if td is not None:
        # Beta turn detection had no idle timeout.
        td = {k: v for k, v in td.items() if k != "idle_timeout_ms"}
    if session["type"] == "transcription":
        return {
            "id": session["id"],
            "object": "realtime.transcription_session",
            "expires_at": session["expires_at"],
            "modalities": ["text"],
            "input_audio_format": _beta_format(inp["format"]),
            "input_audio_transcription": inp["transcription"],
            "turn_detection": td,
            "input_audio_noise_reduction": inp["noise_reduction"],
            "include": session.get("include"),
        }
    out = session["audio"]["output"]
    return {
        "id": session["id"],
        "object": "realtime.session",
        "model": session["model"],
        "expires_at": session["expires_at"],
        "modalities": modalities_to_beta(session["output_modalities"], extra),
        "instructions": session["instructions"],
        "voice": out["voice"],
        "input_audio_format": _beta_format(inp["format"]),
        "output_audio_format": _beta_format(out["format"]),
        "input_audio_transcription": inp["transcription"],
        "input_audio_noise_reduction": inp["noise_reduction"],
        "turn_detection": td,
        "tools": session["tools"],
        # Beta's tool_choice was a string: a named GA choice reads as "required".
        "tool_choice": session["tool_choice"] if isinstance(session["tool_choice"], str) else "required",
        "temperature": extra.get("temperature", BETA_TEMPERATURE),
        "max_response_output_tokens": session["max_output_tokens"],
        "speed": out["speed"],
        "tracing": session["tracing"],
    }


def session_to_ga(
    session: Mapping[str, Any], kind: str = "realtime", extra: MutableMapping[str, Any] | None = None
) -> JSON:
    """A beta ``session.update`` / ``transcription_session.update`` session as a GA one of type ``kind``.

    Beta-only settings (``temperature``, the exact ``modalities``) go into ``extra``; ``client_secret`` is
    dropped.
    """
    extra = {} if extra is None else extra
    out: JSON = {"type": kind}
    audio: JSON = {}
    for key, value in session.items():
        if key in _BETA_AUDIO_KEYS:
            side, field = _BETA_AUDIO_KEYS[key]
            audio.setdefault(side, {})[field] = to_ga_format(value) if field == "format" else value
        elif key == "modalities":
            extra["modalities"] = value
            out["output_modalities"] = modalities_to_ga(value)
        elif key == "temperature":
            extra["temperature"] = value
        elif key == "max_response_output_tokens":
            out["max_output_tokens"] = value
        elif key != "client_secret":
            out[key] = value
    if audio:
        out["audio"] = audio
    if kind == "transcription":
        out.pop("output_modalities", None)
    return out


def ga_session_to_beta(session: Mapping[str, Any]) -> JSON:
    """A partial GA ``session.update.session`` (what a form or a user asks for) in the beta shape.

    Only the keys given are mapped; ``type`` is dropped; GA ``output_modalities: ["audio"]`` becomes beta
    ``["text", "audio"]`` (beta audio responses always carry their transcript as text too).
    """
    out: JSON = {}
    for key, value in session.items():
        if key == "type":
            continue
        if key == "output_modalities":
            out["modalities"] = modalities_to_beta(list(value))
        elif key == "max_output_tokens":
            out["max_response_output_tokens"] = value
        elif key == "audio" and isinstance(value, Mapping):
            for side in ("input", "output"):
                for field, field_value in (value.get(side) or {}).items():
                    beta_key = _GA_AUDIO_KEYS.get((side, field))
                    if beta_key is None:
                        continue
                    out[beta_key] = to_beta_format(field_value) if field == "format" else field_value
        else:
            out[key] = value
    return out


def output_audio_format(session: Mapping[str, Any]) -> AudioFormatName:
    """The output audio format an effective session of either dialect names (``"pcm16"`` if none)."""
    return session_audio_format(dict(session), "output") or DEFAULT_FORMAT


def response_to_beta(resp: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> JSON:
    """A GA response object (``response.created`` / ``.done``) as the beta server sent it."""
    extra = extra or {}
    audio_out = (resp.get("audio") or {}).get("output") or {}
    return {
        "object": "realtime.response",
        "id": resp["id"],
        "status": resp["status"],
        "status_details": resp["status_details"],
        "output": [item_to_beta(it) for it in resp["output"]],
        "conversation_id": resp["conversation_id"],
        "modalities": modalities_to_beta(resp["output_modalities"], extra),
        "voice": audio_out.get("voice"),
        "output_audio_format": _beta_format(audio_out.get("format")),
        "temperature": extra.get("temperature", BETA_TEMPERATURE),
        "max_output_tokens": resp["max_output_tokens"],
        "usage": _usage_to_beta(resp["usage"]),
        "metadata": resp["metadata"],
    }


def _usage_to_beta(usage: Mapping[str, Any] | None) -> JSON | None:
    # Beta usage had no image or per-modality cached token details.
    if usage is None:
        return None
    details = usage["input_token_details"]
    return {
        **usage,
        "input_token_details": {k: details[k] for k in ("text_tokens", "audio_tokens", "cached_tokens")},
    }


def response_params_to_ga(params: Mapping[str, Any]) -> JSON:
    """Beta ``response.create.response`` parameters as GA's (``temperature`` has no GA counterpart)."""
    ga: JSON = {}
    audio_out: JSON = {}
    for key, value in params.items():
        if key == "modalities":
            ga["output_modalities"] = modalities_to_ga(value)
        elif key == "voice":
            audio_out["voice"] = value
        elif key == "output_audio_format":
            audio_out["format"] = to_ga_format(value)
        elif key == "max_response_output_tokens":
            ga["max_output_tokens"] = value
        elif key == "temperature":
            continue
        elif key == "input" and isinstance(value, list):
            ga["input"] = [item_to_ga(v) if isinstance(v, dict) else v for v in value]
        else:
            ga[key] = value
    if audio_out:
        ga["audio"] = {"output": audio_out}
    return ga
