"""Base classes, errors and small helpers shared by every event module."""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Self

import msgspec

from rtwidget.protocol._tolerant import Problem

__all__ = [
    "UNSET",
    "ClientEvent",
    "Dialect",
    "Event",
    "Model",
    "ProtocolError",
    "ProtocolErrorCode",
    "ServerEvent",
    "UnknownEvent",
    "UnsetType",
    "ValidationError",
    "decode_json",
    "event_class_name",
    "new_event_id",
]

Dialect = Literal["ga", "beta"]
"""Protocol dialect: ``"ga"`` (what OpenAI serves today) or ``"beta"`` (``OpenAI-Beta: realtime=v1``)."""

UNSET = msgspec.UNSET
UnsetType = msgspec.UnsetType

_EVENT_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_EVENT_ID_LENGTH = 21  # the live server's ids look like "event_E4ySyqtszaCwtKJ3TNavm" (21 characters)


_JSON_DECODER = msgspec.json.Decoder()


def decode_json(raw: str | bytes) -> Any:
    """Decode JSON text as ``json.loads`` would, fast.

    msgspec refuses a few things ``json.loads`` accepts (numbers beyond float range such as ``1e400``,
    ``NaN``, lone surrogate escapes); such frames are still data, so fall back rather than lose them.

    Raises:
        ValueError: not JSON (``json.JSONDecodeError`` or ``UnicodeDecodeError``).
        RecursionError: nested too deeply.
    """
    try:
        return _JSON_DECODER.decode(raw)
    except msgspec.DecodeError:
        return json.loads(raw)


ProtocolErrorCode = Literal[
    "invalid_json",
    "invalid_event",
    "unknown_type",
    "unknown_parameter",
    "missing_required_parameter",
    "invalid_type",
    "invalid_value",
]
"""Machine-readable reason of a :class:`ProtocolError`. The validation codes are the live server's own
``error.code`` values for the same faults (``unknown_parameter``, ``missing_required_parameter``,
``invalid_type``, ``invalid_value``), so a simulator can answer with them unchanged."""


class ProtocolError(Exception):
    """A frame is not a protocol event at all: not JSON, not an object, or no string ``type``.

    Attributes:
        code: ``"invalid_json"`` (not JSON) or ``"invalid_event"`` (not an object with a string ``type``);
            subclasses use the other :data:`ProtocolErrorCode` values.
    """

    def __init__(self, message: str, code: ProtocolErrorCode = "invalid_event") -> None:
        super().__init__(message)
        self.code: ProtocolErrorCode = code

    def reworded(self, edit: Callable[[str], str]) -> Self:
        """A copy whose message (and a ValidationError's detail) went through ``edit``, e.g. a key masked;
        the code and the path stay."""
        copied = copy.copy(self)
        copied.args = tuple(edit(a) if isinstance(a, str) else a for a in self.args)
        if isinstance(copied, ValidationError):
            copied.detail = edit(copied.detail)
        return copied


class ValidationError(ProtocolError):
    """A client event breaks the protocol's rules (unknown field, wrong type, out-of-range value).

    Attributes:
        path: JSON path of the offending field, e.g. ``"$.session.temperature"`` (``"$"`` for the event).
        code: ``unknown_type``, ``unknown_parameter``, ``missing_required_parameter``, ``invalid_type``
            or ``invalid_value``.
        detail: the rule that was broken, without the event type and path (e.g. ``"expected int, got str"``).
    """

    def __init__(
        self,
        message: str,
        path: str = "$",
        code: ProtocolErrorCode = "invalid_value",
        detail: str | None = None,
    ) -> None:
        super().__init__(message, code)
        self.path = path
        self.detail = detail if detail is not None else message

    @property
    def param(self) -> str | None:
        """The field as the live server's ``error.param`` names it (``"session.voice"``), or ``None``."""
        return self.path.removeprefix("$").removeprefix(".") or None


def new_event_id() -> str:
    """Return a fresh client event id such as ``"evt_3fQ9..."`` (random, 21 characters after the prefix)."""
    return "evt_" + "".join(secrets.choice(_EVENT_ID_ALPHABET) for _ in range(_EVENT_ID_LENGTH))


def event_class_name(wire_type: str) -> str:
    """Return the class name for a wire type, e.g. ``ResponseOutputAudioDeltaEvent``.

    CamelCase of the ``type`` split at dots and underscores, plus ``Event``.
    """
    parts = wire_type.replace(".", "_").split("_")
    return "".join(part[:1].upper() + part[1:] for part in parts if part) + "Event"


class Model(msgspec.Struct, frozen=True, kw_only=True, dict=True):
    """Base of nested protocol objects (sessions, items, responses...): keyword-only, wire names unchanged.

    Frozen like the events, so a parsed event is immutable all the way down (and stays equal to the
    input its ``to_dict()`` returns); copy with changes via ``msgspec.structs.replace``.
    """


class Event(msgspec.Struct, frozen=True, kw_only=True, dict=True):
    """Base of every protocol event, client or server, known or not.

    ``to_dict()`` of a parsed event returns exactly the JSON object it was parsed from (unknown fields
    and explicit ``null`` values included); for an event built in Python it returns its wire form.
    """

    if TYPE_CHECKING:
        # Typed events get ``type`` as a class attribute (their tag, set by the registry);
        # UnknownEvent has it as a field.
        @property
        def type(self) -> str:
            """The wire ``type``."""

    @property
    def problems(self) -> tuple[Problem, ...]:
        """How this received frame deviates from the schema (empty when it matched, and for built events).

        Each :class:`~rtwidget.protocol.Problem` names a field's JSON path, a ``kind`` and the reason;
        such a field reads as ``UNSET`` here, and ``to_dict()`` still has the value that arrived.
        """
        found: tuple[Problem, ...] = self.__dict__.get("_problems", ())
        return found

    def wire(self) -> dict[str, Any]:
        """The event's JSON object, decoded once and cached: shared, so treat it as read-only.

        For readers that look at fields the classes do not model (several consumers of one event pay
        one decode); :meth:`to_dict` returns a private copy instead.
        """
        cached: dict[str, Any] | None = self.__dict__.get("_wire")
        if cached is None:
            raw = self.__dict__.get("_raw")
            if isinstance(raw, dict):
                cached = raw
            elif raw is not None:
                cached = decode_json(raw)
            else:
                cached = self.to_dict()
            self.__dict__["_wire"] = cached
        return cached

    def forget_wire(self) -> None:
        """Drop the JSON object :meth:`wire` cached (for events kept long after they were read)."""
        self.__dict__.pop("_wire", None)

    def to_dict(self) -> dict[str, Any]:
        """Return the event as a JSON-compatible dict (the exact input for parsed events)."""
        raw = self.__dict__.get("_raw")
        if raw is None:
            result: dict[str, Any] = msgspec.to_builtins(self)
            return result
        if isinstance(raw, dict):
            # A fresh copy, so callers cannot alter what the event was parsed from.
            copied: dict[str, Any] = copy.deepcopy(raw)
            return copied
        decoded: dict[str, Any] = decode_json(raw)
        return decoded


class ServerEvent(Event, frozen=True, tag_field="type", kw_only=True):
    """Base of typed server events: immutable; the wire ``type`` is the msgspec tag."""


class ClientEvent(Event, frozen=True, tag_field="type", kw_only=True):
    """Base of typed client events, built with keyword arguments.

    Unset fields are left off the wire; an explicit ``None`` is sent as ``null`` (``turn_detection=None``
    turns VAD off). Immutable like server events: copy with changes via ``msgspec.structs.replace``.
    """

    event_id: str | UnsetType = UNSET


class UnknownEvent(Event, frozen=True, kw_only=True):
    """A server frame whose ``type`` this dialect does not know, or a known type that failed to parse.

    Attributes:
        type: the wire ``type``.
        raw: the decoded JSON object, unchanged.
        error: ``None`` for an unknown type; for a known type whose fields did not match, why
            (e.g. ``"Expected `int`, got `str` - at `$.audio_end_ms`"``). Nothing is lost either way.
    """

    type: str
    raw: dict[str, Any]
    error: str | None = None

    @property
    def event_id(self) -> str | None:
        """The frame's ``event_id`` if it has a string one."""
        value = self.raw.get("event_id")
        return value if isinstance(value, str) else None

    def to_dict(self) -> dict[str, Any]:
        """Return a copy of the decoded JSON object."""
        raw = self.__dict__.get("_raw")
        if isinstance(raw, str | bytes):
            decoded: dict[str, Any] = decode_json(raw)
            return decoded
        # deepcopy, not a JSON round trip: the object may hold what only json.loads makes (NaN, surrogates).
        copied: dict[str, Any] = copy.deepcopy(self.raw)
        return copied
