"""Parse, validate and encode events of either dialect.

Server frames are decoded in one pass by a msgspec tagged-union decoder (audio deltas straight from
base64 to ``bytes``) and keep a reference to their input, so ``to_dict()`` and ``encode_event`` give
back exactly what arrived. Client events are checked strictly: types, ranges and unknown fields.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, TypeVar, Union

import msgspec

from rtwidget.protocol import beta, ga
from rtwidget.protocol._base import (
    ClientEvent,
    Dialect,
    Event,
    ProtocolError,
    ProtocolErrorCode,
    ServerEvent,
    UnknownEvent,
    ValidationError,
    decode_json,
    new_event_id,
)
from rtwidget.protocol._client_rules import (
    check_audio,
    check_items,
    check_session,
    check_values,
    first_unknown_field,
)
from rtwidget.protocol._tolerant import Problem, tolerant_convert

__all__ = [
    "BETA_TO_GA",
    "GA_TO_BETA",
    "client_events",
    "dialect_names",
    "encode_event",
    "encode_event_bytes",
    "ensure_event_id",
    "event_from_wire",
    "parse_client_event",
    "parse_server_event",
    "server_events",
    "to_dialect_type",
    "validate_client_event",
]

BETA_TO_GA: dict[str, str] = {
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    # docs/protocol-notes.md: "transcription_session.update | session.update with session.type transcription"
    "transcription_session.update": "session.update",
    "transcription_session.created": "session.created",
    "transcription_session.updated": "session.updated",
    # "conversation.item.created | conversation.item.added + conversation.item.done"
    "conversation.item.created": "conversation.item.added",
}
"""Beta wire type -> the GA type that replaced it (types not listed have the same name in both)."""

GA_TO_BETA: dict[str, str] = {
    ga_type: beta_type
    for beta_type, ga_type in BETA_TO_GA.items()
    if not beta_type.startswith("transcription_")
}
"""GA wire type -> its beta name, for the renamed output events and ``conversation.item.added``."""

C = TypeVar("C", bound=ClientEvent)

_DIALECTS: tuple[Dialect, ...] = ("ga", "beta")
_PATH_RE = re.compile(r" - at `(\$[^`]*)`$")
_FIELD_RE = re.compile(r"field `([^`]+)`")


def server_events(dialect: Dialect) -> dict[str, type[ServerEvent]]:
    """Return the server event classes of ``dialect`` by wire type."""
    classes: dict[str, type[ServerEvent]] = _module(dialect).SERVER_EVENTS
    return classes


def client_events(dialect: Dialect) -> dict[str, type[ClientEvent]]:
    """Return the client event classes of ``dialect`` by wire type."""
    classes: dict[str, type[ClientEvent]] = _module(dialect).CLIENT_EVENTS
    return classes


def to_dialect_type(wire_type: str, dialect: Dialect) -> str:
    """Return the name ``dialect`` uses for ``wire_type``.

    E.g. beta ``response.text.delta`` is ``response.output_text.delta`` in GA and back; names both
    dialects share are returned unchanged.
    """
    if dialect == "ga":
        return BETA_TO_GA.get(wire_type, wire_type)
    return GA_TO_BETA.get(wire_type, wire_type)


def dialect_names(*ga_types: str) -> frozenset[str]:
    """Every wire name the given GA types go by in either dialect (for matching events of both)."""
    return frozenset(name for t in ga_types for name in (t, GA_TO_BETA.get(t, t)))


def _module(dialect: str) -> Any:
    if dialect == "ga":
        return ga
    if dialect == "beta":
        return beta
    raise ValueError(f"unknown dialect {dialect!r}: expected one of {_DIALECTS}")


@cache
def _server_union(dialect: Dialect) -> Any:
    return Union[tuple(server_events(dialect).values())]  # noqa: UP007 - a runtime union of many classes


def _server_decoder(dialect: Dialect) -> msgspec.json.Decoder[Any]:
    decoder = _SERVER_DECODERS.get(dialect)
    if decoder is None:
        _module(dialect)  # ValueError for an unknown dialect
        decoder = _SERVER_DECODERS[dialect] = msgspec.json.Decoder(_server_union(dialect))
    return decoder


# One tagged-union decoder per dialect, built on first use: the hot path is a dict lookup.
_SERVER_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {}


def _decode_object(raw: str | bytes) -> dict[str, Any]:
    """Decode a frame to a JSON object with a string ``type``, or raise ProtocolError saying why not."""
    try:
        obj = decode_json(raw)
    except RecursionError:
        raise ProtocolError(f"frame is nested too deeply to decode: {_preview(raw)}") from None
    except ValueError as exc:
        raise ProtocolError(f"frame is not valid JSON ({exc}): {_preview(raw)}", "invalid_json") from None
    return _check_object(obj, raw)


def _check_object(obj: Any, raw: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ProtocolError(f"frame is JSON but not an object (got {type(obj).__name__}): {_preview(raw)}")
    kind = obj.get("type")
    if kind is None:
        raise ProtocolError(f"event has no `type` field: {_preview(raw)}")
    if not isinstance(kind, str):
        raise ProtocolError(f"event `type` must be a string, got {type(kind).__name__}: {_preview(raw)}")
    return obj


def _preview(raw: Any, limit: int = 120) -> str:
    text = raw if isinstance(raw, str) else repr(raw)
    return text if len(text) <= limit else text[:limit] + "..."


def parse_server_event(
    raw: str | bytes | bytearray | memoryview | dict[str, Any],
    dialect: Dialect = "ga",
    *,
    strict: bool = False,
) -> Event:
    """Parse a server frame into a typed event, tolerantly unless ``strict``.

    Args:
        raw: the frame text (``str`` or UTF-8 ``bytes``) or an already decoded JSON object.
        dialect: ``"ga"`` or ``"beta"``.
        strict: check the frame against the official schema: a known type whose fields deviate becomes
            an :class:`UnknownEvent` whose ``error`` says why, and the other dialect's names are unknown.

    Returns:
        The typed event (immutable; unknown fields are ignored by its attributes but kept by ``to_dict()``).
        Tolerant (the default): a frame of a known type is always that type's class; a field that did not
        match holds ``UNSET`` and is named in ``event.problems`` (path, kind, reason). The other dialect's
        name for an event (a GA server sending ``response.text.delta``) gives the other dialect's class,
        with a ``dialect`` problem. A type neither dialect knows gives an :class:`UnknownEvent`.
        Nothing that arrived is lost either way: ``to_dict()`` returns the frame.

    Raises:
        ProtocolError: the frame is not JSON, not an object, or has no string ``type``.
    """
    if isinstance(raw, dict):
        obj = _check_object(raw, raw)
        cls = server_events(dialect).get(obj["type"])
        try:
            if cls is None:
                raise msgspec.ValidationError(f"unknown type {obj['type']!r}")
            event: Event = msgspec.convert(obj, cls)
        except msgspec.ValidationError as exc:
            return _deviating(obj, dialect, strict, exc, raw)
    else:
        if not isinstance(raw, str | bytes):
            raw = bytes(raw)
        decoder = _SERVER_DECODERS.get(dialect) or _server_decoder(dialect)
        try:
            event = decoder.decode(raw)
        except (msgspec.DecodeError, RecursionError) as exc:
            # Not a well-typed known event: find out why (ProtocolError if not an event at all).
            obj = _decode_object(raw)
            if isinstance(exc, msgspec.ValidationError) or obj["type"] not in server_events(dialect):
                return _deviating(obj, dialect, strict, exc, raw)
            # JSON only json.loads accepts (NaN, 1e400, lone surrogates): type it from the object.
            try:
                event = msgspec.convert(obj, server_events(dialect)[obj["type"]])
            except msgspec.ValidationError as convert_exc:
                return _deviating(obj, dialect, strict, convert_exc, raw)
    # Keep the input (by reference; a dict passed in must not be changed afterwards): to_dict() and
    # encode_event() return it unchanged, unknown fields, nulls and key order included.
    event.__dict__["_raw"] = raw
    return event


def event_from_wire(obj: dict[str, Any], dialect: Dialect = "ga") -> Event:
    """Build a server event from its wire object; ``encode_event`` then sends exactly ``obj``.

    For code that makes events (a server, a test): the object is converted to the class its ``type``
    names (about a microsecond, no union lookup) and kept as the event's wire form, key order included.
    The caller must not change ``obj`` afterwards. An object that deviates is read tolerantly, as
    :func:`parse_server_event` does.
    """
    return parse_server_event(obj, dialect)


def _deviating(
    obj: dict[str, Any], dialect: Dialect, strict: bool, exc: Exception, raw: str | bytes | dict[str, Any]
) -> Event:
    """The event for a frame the strict decoder refused: tolerant typing, or an UnknownEvent."""
    kind: str = obj["type"]
    cls = server_events(dialect).get(kind)
    problems: list[Problem] = []
    if cls is None and not strict:
        other: Dialect = "beta" if dialect == "ga" else "ga"
        cls = server_events(other).get(kind)
        if cls is not None:
            problems.append(
                Problem("$.type", "dialect", f"{kind!r} is the {other} name; this is a {dialect} session")
            )
    if cls is None:
        event: Event = UnknownEvent(type=kind, raw=obj)
        problems.append(Problem("$.type", "unknown_type", f"{kind!r} is not a {dialect} server event"))
    elif strict:
        event = UnknownEvent(type=kind, raw=obj, error=f"{kind}: {exc}")
        problems.extend(tolerant_convert(obj, cls)[1])
    else:
        event, found = tolerant_convert(obj, cls)
        problems.extend(found)
    event.__dict__["_raw"] = raw
    event.__dict__["_problems"] = tuple(problems)
    return event


def parse_client_event(
    raw: str | bytes | bytearray | memoryview | dict[str, Any], dialect: Dialect = "ga"
) -> ClientEvent:
    """Parse a client frame strictly.

    Raises:
        ProtocolError: not JSON, not an object, or no string ``type``.
        ValidationError: unknown type or field, wrong type or out-of-range value; the message and
            ``.path`` name the field (e.g. ``$.session.temperature``).
    """
    if isinstance(raw, dict):
        obj = _check_object(raw, raw)
    else:
        obj = _decode_object(raw if isinstance(raw, str | bytes) else bytes(raw))
    return _validate_dict(obj, dialect)


def validate_client_event(event: ClientEvent | dict[str, Any], dialect: Dialect = "ga") -> ClientEvent:
    """Check a client event (typed or dict) strictly and return it as a typed event of ``dialect``.

    Raises:
        ValidationError: as :func:`parse_client_event`; also for an event class of the other dialect
            whose shape this one does not accept.
    """
    if isinstance(event, dict):
        return _validate_dict(_check_object(event, event), dialect)
    if not isinstance(event, ClientEvent):
        raise ValidationError(
            f"expected a client event or a dict, got {type(event).__name__}", code="invalid_event"
        )
    # Constructors do not check types, so round-trip through builtins to check everything.
    return _validate_dict(msgspec.to_builtins(event), dialect)


def _validate_dict(obj: dict[str, Any], dialect: Dialect) -> ClientEvent:
    kind: str = obj["type"]
    classes = client_events(dialect)
    if kind not in classes:
        other: Dialect = "beta" if dialect == "ga" else "ga"
        hint = f" ({kind!r} is a {other} client event)" if kind in client_events(other) else ""
        raise ValidationError(
            f"invalid {dialect} client event: unknown type {kind!r} at `$.type`{hint}; "
            f"expected one of {sorted(classes)}",
            "$.type",
            "unknown_type",
            f"unknown type {kind!r}{hint}",
        )
    check_values(obj, dialect, kind)
    try:
        event: ClientEvent = msgspec.convert(obj, classes[kind])
    except msgspec.ValidationError as exc:
        raise _validation_error(str(exc), dialect, kind) from None
    # msgspec ignores unknown fields; the wire must not carry any (the server answers
    # "unknown_parameter"), so compare the input with what the typed event would send.
    unknown = first_unknown_field(obj, msgspec.to_builtins(event), "$")
    if unknown is not None:
        raise ValidationError(
            f"invalid {dialect} {kind} event: unknown field `{unknown}`",
            unknown,
            "unknown_parameter",
            "unknown field",
        )
    check_items(event, dialect)
    check_session(event, dialect)
    check_audio(event, dialect)
    return event


def _validation_error(message: str, dialect: Dialect, kind: str) -> ValidationError:
    match = _PATH_RE.search(message)
    path = match.group(1) if match else "$"
    detail = message[: match.start()] if match else message
    field = _FIELD_RE.search(detail)
    code: ProtocolErrorCode = "invalid_type" if detail.startswith("Expected `") else "invalid_value"
    if field and detail.startswith("Object missing required field"):
        path = f"{path}.{field.group(1)}"
        detail = "missing required field"
        code = "missing_required_parameter"
    return ValidationError(f"invalid {dialect} {kind} event: {detail} at `{path}`", path, code, detail)


def encode_event(event: Event | dict[str, Any]) -> str:
    """Return the JSON text of an event for the wire (a parsed event gives back its exact input)."""
    if isinstance(event, dict):
        return msgspec.json.encode(event).decode()
    raw = event.__dict__.get("_raw")
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bytes):
        return raw.decode()
    if isinstance(raw, dict):
        return msgspec.json.encode(raw).decode()
    if isinstance(event, UnknownEvent):
        return msgspec.json.encode(event.raw).decode()
    return msgspec.json.encode(event).decode()


_ENCODER = msgspec.json.Encoder()


def encode_event_bytes(event: Event) -> bytes:
    """The event's JSON as UTF-8 bytes (what a text frame carries); as :func:`encode_event`, without a
    ``str`` round trip for built events (a simulator's audio deltas go straight from bytes to base64)."""
    raw = event.__dict__.get("_raw")
    if raw is None and not isinstance(event, UnknownEvent):
        return _ENCODER.encode(event)
    if isinstance(raw, bytes):
        return raw
    return encode_event(event).encode()


def ensure_event_id(event: C) -> C:
    """Return ``event`` with an ``event_id``: itself if it has one, else a copy with a new ``evt_...`` id."""
    if isinstance(event.event_id, str):
        return event
    return msgspec.structs.replace(event, event_id=new_event_id())
