"""Dialect edges of the simulator: GA <-> beta translation, client validation, typed events.

The core builds every server event in the GA shape. For a beta session (`OpenAI-Beta: realtime=v1`)
`ga_server_to_beta` renames and reshapes it (docs/protocol-notes.md) and `beta_client_to_ga` turns the
beta client events into their GA equivalents, so one state machine serves both dialects.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from typing import Any

from rtwidget.protocol import ValidationError, beta, event_from_wire, ga, parse_client_event, sessions
from rtwidget.protocol.codec import GA_TO_BETA

__all__ = [
    "BETA_CLIENT_TYPES",
    "GA_CLIENT_TYPES",
    "beta_client_to_ga",
    "client_types",
    "ga_server_to_beta",
    "live_error",
    "to_event",
    "validate_client",
]

JSON = dict[str, Any]

# The protocol core's registries are the one list of what each dialect accepts.
GA_CLIENT_TYPES = tuple(ga.CLIENT_EVENTS)
BETA_CLIENT_TYPES = tuple(beta.CLIENT_EVENTS)

# docs/protocol-notes.md: beta names of the renamed GA server events.
_BETA_NAMES = GA_TO_BETA
# GA-only events with no beta counterpart (the beta server did not send them).
_BETA_DROPPED = {"conversation.item.done", "input_audio_buffer.timeout_triggered"}


def client_types(dialect: str) -> tuple[str, ...]:
    """The client event types the server accepts in this dialect."""
    return BETA_CLIENT_TYPES if dialect == "beta" else GA_CLIENT_TYPES


# Streamed deltas are most of the traffic and have only flat, known fields: they are built with their class
# directly (~0.1 us) instead of converted from a dict through the dialect's event union (~45 us).
_DIRECT_TYPES = frozenset(
    {
        "response.output_audio.delta",
        "response.audio.delta",
        "response.output_text.delta",
        "response.text.delta",
        "response.output_audio_transcript.delta",
        "response.audio_transcript.delta",
        "response.function_call_arguments.delta",
        "conversation.item.input_audio_transcription.delta",
    }
)


_CLASSES: dict[str, dict[str, Any]] = {}


def _server_classes(dialect: str) -> dict[str, Any]:
    """The dialect's server event classes by type."""
    classes = _CLASSES.get(dialect)
    if classes is None:
        classes = _CLASSES[dialect] = dict((beta if dialect == "beta" else ga).SERVER_EVENTS)
    return classes


def to_event(event: JSON, dialect: str) -> Any:
    """Turn a server event dict into the protocol core's typed event (the one copy of the event types).

    An audio delta carries its PCM/G.711 bytes under the private key `_audio`; the event class encodes
    them as the base64 wire field `delta`.
    """
    classes = _server_classes(dialect)
    kind = event["type"]
    if kind in _DIRECT_TYPES and "logprobs" not in event:
        cls = classes[kind]
        fields = {k: v for k, v in event.items() if k != "type"}
        if "_audio" in fields:
            fields["audio"] = fields.pop("_audio")
        return cls(**fields)
    if "_audio" in event:
        audio = event["_audio"]
        event = {k: v for k, v in event.items() if k != "_audio"}
        event["delta"] = base64.b64encode(audio).decode("ascii")
    # One class by type, kept as the wire form (encode_event sends exactly this dict, key order included).
    return event_from_wire(event, dialect)  # type: ignore[arg-type]


def validate_client(event: JSON, dialect: str) -> tuple[str, str, str | None] | None:
    """Strictly validate a client event with the protocol core; map a failure to (code, message, param).

    The code comes from `ValidationError.code` (the protocol's `unknown_type` is the live server's
    `invalid_value`, as for `{"type":"nope"}`); the message is worded the way the live server words it,
    never msgspec's (`Expected `int` >= 1` becomes "integer below minimum value. Expected a value >= 1, but
    got 0 instead.", with that code).
    """
    try:
        parse_client_event(event, dialect=dialect)  # type: ignore[arg-type]
    except ValidationError as exc:
        return live_error(exc, event)
    return None


_TYPE_WORDS = {
    "int": "an integer",
    "float": "a decimal",
    "str": "a string",
    "bool": "a boolean",
    "array": "an array",
    "object": "an object",
    "null": "null",
}
_RANGE_RE = re.compile(r"Expected `(int|float)` (>=|<=|>|<) (-?[\d.e+-]+)")
_TYPE_RE = re.compile(r"Expected `([^`]+)`, got `([^`]+)`")


def _type_words(msgspec_types: str) -> str:
    names = [_TYPE_WORDS.get(t.strip(), f"a {t.strip()}") for t in msgspec_types.split("|")]
    return names[0] if len(names) == 1 else "one of " + ", ".join(names[:-1]) + " or " + names[-1]


def _value_at(event: JSON, param: str | None) -> Any:
    value: Any = event
    for key in re.findall(r"[^.\[\]]+", param or ""):
        if isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            return None
    return value


def live_error(exc: ValidationError, event: JSON) -> tuple[str, str, str | None]:
    """The live server's (code, message, param) for a client event the protocol refused."""
    param = exc.param
    code = "invalid_value" if exc.code == "unknown_type" else exc.code
    if code == "unknown_parameter":
        return code, f"Unknown parameter: '{param}'.", param
    if code == "missing_required_parameter":
        return code, f"Missing required parameter: '{param}'.", param
    value = _value_at(event, param)
    ranged = _RANGE_RE.search(exc.detail)
    if ranged is not None and isinstance(value, int | float) and not isinstance(value, bool):
        # Live wording: "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got
        # 5 instead." (code `decimal_above_max_value`).
        kind = "integer" if ranged.group(1) == "int" else "decimal"
        side = "below_min" if ranged.group(2).startswith(">") else "above_max"
        words = "below minimum" if side == "below_min" else "above maximum"
        return (
            f"{kind}_{side}_value",
            f"Invalid '{param}': {kind} {words} value. Expected a value {ranged.group(2)} "
            f"{ranged.group(3)}, but got {value} instead.",
            param,
        )
    typed = _TYPE_RE.search(exc.detail)
    if typed is not None:
        # Live wording: "Invalid type for 'audio': expected a string, but got an integer instead."
        return (
            "invalid_type",
            f"Invalid type for '{param}': expected {_type_words(typed.group(1))}, but got "
            f"{_type_words(typed.group(2))} instead.",
            param,
        )
    if exc.code == "unknown_type":
        return code, f"Invalid value: '{value}'.", param
    shown = json.dumps(value) if not isinstance(value, str) else f"'{value}'"
    return "invalid_value", f"Invalid value for '{param}': {shown}.", param


# ---------------------------------------------------------------------- GA -> beta (server events)


def ga_server_to_beta(event: JSON, extra: JSON) -> list[JSON]:
    """The beta form of a GA server event (empty when beta had no such event)."""
    kind = event["type"]
    if kind in _BETA_DROPPED:
        return []
    out = {k: v for k, v in event.items() if k != "obfuscation"}
    out["type"] = _BETA_NAMES.get(kind, kind)
    if kind in ("session.created", "session.updated"):
        if event["session"]["type"] == "transcription":
            out["type"] = "transcription_session." + kind.split(".")[1]
        out["session"] = sessions.session_to_beta(event["session"], extra)
    elif kind in ("response.created", "response.done"):
        out["response"] = sessions.response_to_beta(event["response"], extra)
    elif "item" in event:
        out["item"] = sessions.item_to_beta(event["item"])
    return [out]


# ---------------------------------------------------------------------- beta -> GA (client events)


def beta_client_to_ga(event: JSON, extra: JSON) -> JSON:
    """The GA form of a (validated) beta client event; beta-only settings are kept in `extra`."""
    event = copy.deepcopy(event)
    kind = event["type"]
    if kind == "session.update" and isinstance(event.get("session"), dict):
        event["session"] = sessions.session_to_ga(event["session"], "realtime", extra)
    elif kind == "transcription_session.update" and isinstance(event.get("session"), dict):
        event = {
            **event,
            "type": "session.update",
            "session": sessions.session_to_ga(event["session"], "transcription", extra),
        }
    elif kind == "conversation.item.create" and isinstance(event.get("item"), dict):
        event["item"] = sessions.item_to_ga(event["item"])
    elif kind == "response.create" and isinstance(event.get("response"), dict):
        event["response"] = sessions.response_params_to_ga(event["response"])
    return event
