"""Session configuration of the simulator: defaults, `session.update` validation and merging (GA shapes).

The simulator keeps every session in the GA shape; the beta dialect is translated at the edges
(:mod:`rtwidget.server.dialect`). Defaults and key order follow the recorded `session.created` events in
tests/data/corpus (e.g. `max_output_tokens` is the string `"inf"`, `silence_duration_ms` 200).
"""

from __future__ import annotations

import copy
from typing import Any

from rtwidget.protocol import catalog, models
from rtwidget.protocol.formats import FORMATS, PCM_RATE_HZ, format_name

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "MAX_OUTPUT_TOKENS_LIMIT",
    "SessionError",
    "apply_session_update",
    "default_realtime_session",
    "default_transcription_session",
    "format_rate_hz",
]

JSON = dict[str, Any]

DEFAULT_INSTRUCTIONS = (
    "You are the rtwidget local simulator, a deterministic stand-in for a realtime model. "
    "Be friendly, and explain how to connect a real model when asked."
)
MAX_OUTPUT_TOKENS_LIMIT = models.MAX_OUTPUT_TOKENS_LIMIT
# The protocol owns the audio formats and their rates.
AUDIO_FORMAT_TYPES = tuple(fmt.ga_type for fmt in FORMATS.values())
# The allowed values are the protocol models' (one definition each).
OUTPUT_MODALITIES = models.allowed_values(models.Modality)
NOISE_REDUCTION_TYPES = models.allowed_values(models.NoiseReductionType)
EAGERNESS = models.allowed_values(models.Eagerness)
TOOL_CHOICE_MODES = models.allowed_values(models.ToolChoiceMode)
TRUNCATION_MODES = models.allowed_values(models.TruncationMode)
INCLUDE_VALUES = models.allowed_values(models.IncludeValue)

_SERVER_VAD_DEFAULTS: JSON = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 200,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
_SEMANTIC_VAD_DEFAULTS: JSON = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}


class SessionError(Exception):
    """A rejected `session.update`: carries the real server's error `code` and `param`."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


def format_rate_hz(fmt: JSON) -> int:
    """Sample rate of a GA audio format object (`audio/pcm` is 24 kHz, G.711 8 kHz)."""
    name = format_name(fmt)
    return FORMATS[name].rate_hz if name is not None else PCM_RATE_HZ


def default_realtime_session(session_id: str, model: str, expires_at: int) -> JSON:
    """The `session` object of a fresh GA realtime session, in the recorded key order."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": FORMATS["pcm16"].ga(),
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": dict(_SERVER_VAD_DEFAULTS),
            },
            "output": {"format": FORMATS["pcm16"].ga(), "voice": catalog.DEFAULT_VOICE, "speed": 1.0},
        },
        "include": None,
    }


def default_transcription_session(session_id: str, expires_at: int) -> JSON:
    """The `session` object of a fresh GA transcription session (`?intent=transcription`)."""
    return {
        "type": "transcription",
        "object": "realtime.transcription_session",
        "id": session_id,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": FORMATS["pcm16"].ga(),
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": dict(_SERVER_VAD_DEFAULTS),
            }
        },
        "include": None,
    }


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _expect(value: object, kinds: tuple[type, ...], param: str, expected: str) -> None:
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if not ok:
        raise SessionError(
            "invalid_type",
            f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
            param,
        )


def _unknown(keys: object, allowed: tuple[str, ...], prefix: str) -> None:
    if not isinstance(keys, dict):
        return
    for key in keys:
        if key not in allowed:
            raise SessionError(
                "unknown_parameter", f"Unknown parameter: '{prefix}.{key}'.", f"{prefix}.{key}"
            )


def _invalid(
    param: str, value: object, supported: tuple[str, ...] | None = None, why: str = ""
) -> SessionError:
    if supported is not None:
        listed = ", ".join(f"'{s}'" for s in supported)
        return SessionError(
            "invalid_value", f"Invalid value: '{value}'. Supported values are: {listed}.", param
        )
    return SessionError("invalid_value", f"Invalid value for '{param}': {why}", param)


def _check_format(fmt: object, param: str) -> JSON:
    _expect(fmt, (dict,), param, "an object")
    assert isinstance(fmt, dict)
    _unknown(fmt, ("type", "rate"), param)
    kind = fmt.get("type")
    if kind not in AUDIO_FORMAT_TYPES:
        raise _invalid(f"{param}.type", kind, AUDIO_FORMAT_TYPES)
    if kind == "audio/pcm":
        rate = fmt.get("rate", PCM_RATE_HZ)
        # GA `AudioPCM`: "Only a 24kHz sample rate is supported".
        if rate != PCM_RATE_HZ:
            raise _invalid(f"{param}.rate", rate, (str(PCM_RATE_HZ),))
        return FORMATS["pcm16"].ga()
    return {"type": kind}


def _check_turn_detection(td: object, current: JSON | None, param: str) -> JSON | None:
    if td is None:
        return None
    _expect(td, (dict,), param, "an object")
    assert isinstance(td, dict)
    kind = td.get("type", (current or {}).get("type", "server_vad"))
    if kind not in ("server_vad", "semantic_vad"):
        raise _invalid(f"{param}.type", kind, ("server_vad", "semantic_vad"))
    if kind == "server_vad":
        allowed: tuple[str, ...] = tuple(_SERVER_VAD_DEFAULTS)
        base = dict(_SERVER_VAD_DEFAULTS)
    else:
        allowed = tuple(_SEMANTIC_VAD_DEFAULTS)
        base = dict(_SEMANTIC_VAD_DEFAULTS)
    _unknown(td, allowed, param)
    if current is not None and current.get("type") == kind:
        base.update(current)
    base.update(td)
    if kind == "server_vad":
        _expect(base["threshold"], (int, float), f"{param}.threshold", "a decimal")
        low, high = models.VAD_THRESHOLD_RANGE
        if not low <= float(base["threshold"]) <= high:
            raise _invalid(
                f"{param}.threshold",
                base["threshold"],
                why=f"expected a number between {low:g} and {high:g}.",
            )
        for key in ("prefix_padding_ms", "silence_duration_ms"):
            _expect(base[key], (int,), f"{param}.{key}", "an integer")
            if base[key] < 0:
                raise _invalid(f"{param}.{key}", base[key], why="expected a non-negative integer.")
        if base["idle_timeout_ms"] is not None:
            _expect(base["idle_timeout_ms"], (int,), f"{param}.idle_timeout_ms", "an integer")
            low_ms, high_ms = models.IDLE_TIMEOUT_MS_RANGE
            if not low_ms <= base["idle_timeout_ms"] <= high_ms:
                raise _invalid(
                    f"{param}.idle_timeout_ms",
                    base["idle_timeout_ms"],
                    why=f"expected {low_ms} to {high_ms}.",
                )
    elif base["eagerness"] not in EAGERNESS:
        raise _invalid(f"{param}.eagerness", base["eagerness"], EAGERNESS)
    for key in ("create_response", "interrupt_response"):
        _expect(base[key], (bool,), f"{param}.{key}", "a boolean")
    return base


def _check_transcription(tr: object, param: str) -> JSON | None:
    if tr is None:
        return None
    _expect(tr, (dict,), param, "an object")
    assert isinstance(tr, dict)
    # Which keys and types are allowed is the protocol's check (it ran on the client event before this):
    # the newer documented fields (`delay`, `keywords`, `languages`) are kept as sent.
    for key in ("model", "language", "prompt"):
        if tr.get(key) is not None:
            _expect(tr[key], (str,), f"{param}.{key}", "a string")
    return {
        "model": tr.get("model", catalog.DEFAULT_TRANSCRIPTION_MODEL),
        "language": tr.get("language"),
        "prompt": tr.get("prompt"),
        **{k: v for k, v in tr.items() if k not in ("model", "language", "prompt")},
    }


def _check_tools(tools: object, param: str) -> list[JSON]:
    _expect(tools, (list,), param, "an array")
    assert isinstance(tools, list)
    out: list[JSON] = []
    for i, tool in enumerate(tools):
        p = f"{param}[{i}]"
        _expect(tool, (dict,), p, "an object")
        if tool.get("type", "function") == "function":
            _unknown(tool, ("type", "name", "description", "parameters"), p)
            if not isinstance(tool.get("name"), str) or not tool["name"]:
                raise SessionError(
                    "missing_required_parameter", f"Missing required parameter: '{p}.name'.", f"{p}.name"
                )
            fixed: JSON = {"type": "function", "name": tool["name"]}
            if "description" in tool:
                fixed["description"] = tool["description"]
            fixed["parameters"] = tool.get("parameters", {"type": "object", "properties": {}})
            out.append(fixed)
        else:
            # MCP tools need a remote server; the simulator keeps their definition but never calls them.
            out.append(dict(tool))
    return out


def _check_tool_choice(choice: object, tools: list[JSON], param: str) -> object:
    if isinstance(choice, str):
        if choice not in TOOL_CHOICE_MODES:
            raise _invalid(param, choice, TOOL_CHOICE_MODES)
        return choice
    _expect(choice, (dict,), param, "a string or an object")
    assert isinstance(choice, dict)
    if choice.get("type") == "function":
        names = [t.get("name") for t in tools]
        if choice.get("name") not in names:
            raise _invalid(f"{param}.name", choice.get("name"), tuple(str(n) for n in names))
    return dict(choice)


def _check_max_tokens(value: object, param: str) -> object:
    if value == "inf":
        return value
    _expect(value, (int,), param, "an integer or 'inf'")
    assert isinstance(value, int)
    if not 1 <= value <= MAX_OUTPUT_TOKENS_LIMIT:
        raise _invalid(param, value, why=f"expected 1 to {MAX_OUTPUT_TOKENS_LIMIT} or 'inf'.")
    return value


_REALTIME_KEYS = (
    "type", "model", "instructions", "output_modalities", "audio", "include", "max_output_tokens", "tools",
    "tool_choice", "tracing", "truncation", "prompt", "parallel_tool_calls", "reasoning",
)  # fmt: skip
_TRANSCRIPTION_KEYS = ("type", "audio", "include")


def check_output_modalities(value: object, param: str) -> list[str]:
    """Validate a GA `output_modalities` list ("not possible to request both")."""
    _expect(value, (list,), param, "an array")
    assert isinstance(value, list)
    for mod in value:
        if mod not in OUTPUT_MODALITIES:
            raise _invalid(param, mod, OUTPUT_MODALITIES)
    if len(value) != 1:
        raise _invalid(param, value, why="exactly one of 'text' or 'audio' is supported.")
    return list(value)


def apply_session_update(current: JSON, update: object, *, assistant_audio_present: bool) -> JSON:
    """Validate a GA `session.update` payload and return the new effective session (a new dict).

    Raises:
        SessionError: with the code the real server uses (`unknown_parameter`, `invalid_value`,
            `invalid_type`, `missing_required_parameter`, `cannot_update_voice`).
    """
    _expect(update, (dict,), "session", "an object")
    assert isinstance(update, dict)
    if "type" not in update:
        # docs/protocol-notes.md: GA `session.type` is required.
        raise SessionError(
            "missing_required_parameter", "Missing required parameter: 'session.type'.", "session.type"
        )
    kind = update["type"]
    if kind not in ("realtime", "transcription"):
        raise _invalid("session.type", kind, ("realtime", "transcription"))
    if kind != current["type"]:
        raise _invalid(
            "session.type", kind, why=f"cannot change the session type from '{current['type']}' to '{kind}'."
        )
    _unknown(update, _REALTIME_KEYS if kind == "realtime" else _TRANSCRIPTION_KEYS, "session")
    new = copy.deepcopy(current)
    for key in ("model", "instructions"):
        if key in update:
            _expect(update[key], (str,), f"session.{key}", "a string")
            new[key] = update[key]
    if "output_modalities" in update:
        new["output_modalities"] = check_output_modalities(
            update["output_modalities"], "session.output_modalities"
        )
    if "include" in update:
        inc = update["include"]
        if inc is not None:
            _expect(inc, (list,), "session.include", "an array")
            for v in inc:
                if v not in INCLUDE_VALUES:
                    raise _invalid("session.include", v, INCLUDE_VALUES)
        new["include"] = inc
    if "max_output_tokens" in update:
        new["max_output_tokens"] = _check_max_tokens(update["max_output_tokens"], "session.max_output_tokens")
    if "tools" in update:
        new["tools"] = _check_tools(update["tools"], "session.tools")
    if "tool_choice" in update:
        new["tool_choice"] = _check_tool_choice(
            update["tool_choice"], new.get("tools", []), "session.tool_choice"
        )
    if "truncation" in update:
        tr = update["truncation"]
        if isinstance(tr, str) and tr not in TRUNCATION_MODES:
            raise _invalid("session.truncation", tr, TRUNCATION_MODES)
        new["truncation"] = tr
    for key in ("tracing", "prompt", "parallel_tool_calls", "reasoning"):
        if key in update:
            new[key] = update[key]
    if "audio" in update:
        _apply_audio(new, update["audio"], kind, assistant_audio_present)
    return new


def _apply_audio(new: JSON, audio: object, kind: str, assistant_audio_present: bool) -> None:
    _expect(audio, (dict,), "session.audio", "an object")
    assert isinstance(audio, dict)
    _unknown(audio, ("input", "output") if kind == "realtime" else ("input",), "session.audio")
    if "input" in audio:
        inp = audio["input"]
        _expect(inp, (dict,), "session.audio.input", "an object")
        _unknown(inp, ("format", "transcription", "noise_reduction", "turn_detection"), "session.audio.input")
        target = new["audio"]["input"]
        if "format" in inp:
            target["format"] = _check_format(inp["format"], "session.audio.input.format")
        if "transcription" in inp:
            target["transcription"] = _check_transcription(
                inp["transcription"], "session.audio.input.transcription"
            )
        if "noise_reduction" in inp:
            nr = inp["noise_reduction"]
            if nr is not None:
                _expect(nr, (dict,), "session.audio.input.noise_reduction", "an object")
                # Keys are the protocol's check (documented: `type` and `strength`).
                if nr.get("type") not in NOISE_REDUCTION_TYPES:
                    raise _invalid(
                        "session.audio.input.noise_reduction.type", nr.get("type"), NOISE_REDUCTION_TYPES
                    )
            target["noise_reduction"] = nr
        if "turn_detection" in inp:
            target["turn_detection"] = _check_turn_detection(
                inp["turn_detection"], target["turn_detection"], "session.audio.input.turn_detection"
            )
    if "output" in audio:
        out = audio["output"]
        _expect(out, (dict,), "session.audio.output", "an object")
        _unknown(out, ("format", "voice", "speed"), "session.audio.output")
        target = new["audio"]["output"]
        if "format" in out:
            target["format"] = _check_format(out["format"], "session.audio.output.format")
        if "voice" in out:
            voice = out["voice"]
            if not isinstance(voice, dict):
                _expect(voice, (str,), "session.audio.output.voice", "a string")
            if not catalog.is_known_voice(voice):
                # Live server: an unknown voice name -> invalid_value listing the supported voices; a custom
                # voice object `{"id": ...}` is accepted.
                raise _invalid("session.audio.output.voice", voice, catalog.VOICES)
            # openai SessionUpdateEvent docstring: the voice "cannot be changed once the model has
            # responded with audio at least once".
            if voice != target["voice"] and assistant_audio_present:
                raise SessionError(
                    "cannot_update_voice",
                    "Cannot update a conversation's voice if assistant audio is present.",
                    "session.audio.output.voice",
                )
            target["voice"] = voice
        if "speed" in out:
            speed = out["speed"]
            _expect(speed, (int, float), "session.audio.output.speed", "a decimal")
            # GA reference: speed "between 0.25 and 1.5".
            if not 0.25 <= float(speed) <= 1.5:
                raise _invalid("session.audio.output.speed", speed, why="expected 0.25 to 1.5.")
            target["speed"] = float(speed)
