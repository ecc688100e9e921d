"""Tolerant conversion: a frame of a known type becomes that type's class even when fields deviate.

The rule: every field that matches its declared type is typed; a field that does not (wrong type,
unknown variant) or a required field that is missing holds ``UNSET``, so typed code never meets a value
of the wrong type, and is named in the event's ``problems`` with its JSON path and the reason. The wire
value itself is never lost: ``to_dict()`` of the event returns the frame as it arrived. A nested object
that deviates is converted by the same rule, field by field, so one bad leaf costs only that leaf; a list
keeps the elements that convert and names the others.

This runs only after the fast strict decode failed, so its cost is paid by deviating frames alone.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

__all__ = ["Problem", "ProblemKind", "tolerant_convert"]

ProblemKind = Literal["missing", "type", "variant", "dialect", "unknown_type"]
"""What deviated: a required field ``missing``; a value of the wrong ``type``; an unknown ``variant`` of a
tagged union (e.g. an item ``type`` this version does not know); the other ``dialect``'s event name; an
``unknown_type`` of event."""

_PATH_SUFFIX = " - at `$"


@dataclass(frozen=True, slots=True)
class Problem:
    """One way a received frame deviates from the protocol's schema.

    Attributes:
        path: JSON path of the field, e.g. ``"$.response.status_details"`` (``"$"`` for the frame).
        kind: machine-readable category (:data:`ProblemKind`).
        reason: what was expected and what arrived, e.g. ``"expected object, got str"``.
    """

    path: str
    kind: ProblemKind
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def tolerant_convert(obj: dict[str, Any], cls: type[Any]) -> tuple[Any, list[Problem]]:
    """Convert a JSON object to the struct ``cls`` by the tolerant rule; return it and its problems."""
    problems: list[Problem] = []
    return _struct(obj, cls, "$", problems), problems


_FIELDS: dict[type[Any], tuple[msgspec.structs.FieldInfo, ...]] = {}


def _fields(cls: type[Any]) -> tuple[msgspec.structs.FieldInfo, ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = msgspec.structs.fields(cls)
    return found


def _struct(value: dict[str, Any], cls: type[Any], path: str, problems: list[Problem]) -> Any:
    kwargs: dict[str, Any] = {}
    for info in _fields(cls):
        where = f"{path}.{info.encode_name}"
        if info.encode_name in value:
            kwargs[info.name] = _convert(value[info.encode_name], info.type, where, problems)
        elif info.required:
            problems.append(Problem(where, "missing", "missing required field"))
            kwargs[info.name] = msgspec.UNSET
    return cls(**kwargs)


def _members(annotation: Any) -> tuple[Any, ...]:
    """The alternatives of a (possibly Annotated) union annotation; a single type is its own union."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return tuple(m for arg in typing.get_args(annotation) for m in _members(arg))
    return (annotation,)


def _is_struct(member: Any) -> bool:
    return isinstance(member, type) and issubclass(member, msgspec.Struct)


def _convert(value: Any, annotation: Any, path: str, problems: list[Problem]) -> Any:
    try:
        return msgspec.convert(value, annotation)
    except msgspec.ValidationError as exc:
        error = exc
    members = _members(annotation)
    if isinstance(value, dict):
        structs = [m for m in members if _is_struct(m)]
        if structs:
            return _variant(value, structs, path, problems)
    if isinstance(value, list):
        lists = [m for m in members if typing.get_origin(m) is list]
        if lists:
            (element,) = typing.get_args(lists[0]) or (Any,)
            out = []
            for index, item in enumerate(value):
                converted = _convert(item, element, f"{path}[{index}]", problems)
                if converted is not msgspec.UNSET:
                    out.append(converted)
            return out
    problems.append(Problem(path, "type", _reason(error, path)))
    return msgspec.UNSET


def _variant(value: dict[str, Any], structs: list[type[Any]], path: str, problems: list[Problem]) -> Any:
    """Convert an object to the struct it names by its tag, or infer the variant when the tag is missing."""
    config = structs[0].__struct_config__
    tag_field = config.tag_field
    if tag_field is None:
        return _struct(value, structs[0], path, problems)
    by_tag = {s.__struct_config__.tag: s for s in structs}
    if tag_field in value:
        tag = value[tag_field]
        if tag in by_tag:
            return _struct(value, by_tag[tag], path, problems)
        expected = ", ".join(repr(t) for t in by_tag)
        reason = f"unknown {tag!r}; expected one of {expected}"
        problems.append(Problem(f"{path}.{tag_field}", "variant", reason))
        return msgspec.UNSET
    # No tag (e.g. a `session` without `type`): read it as the variant it fits best, first wins a tie.
    best: tuple[int, Any, list[Problem]] | None = None
    for tag, candidate in by_tag.items():
        found: list[Problem] = []
        converted = _struct(value, candidate, path, found)
        if best is None or len(found) < best[0]:
            inferred = Problem(f"{path}.{tag_field}", "missing", f"missing; read as {tag!r}")
            best = (len(found), converted, [inferred, *found])
    assert best is not None
    problems.extend(best[2])
    return best[1]


def _reason(error: msgspec.ValidationError, path: str) -> str:
    """msgspec's message about the value, with a nested location made absolute (our path, not ``$``)."""
    message = str(error)
    cut = message.find(_PATH_SUFFIX)
    if cut >= 0:
        inner = message[cut + len(_PATH_SUFFIX) : -1]
        message = f"{message[:cut]} at {path}{inner}"
    message = message.replace("`", "")
    return message[:1].lower() + message[1:]
