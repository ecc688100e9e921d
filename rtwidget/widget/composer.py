"""The event composer: a template per client event type, kernel-side checks, send, resend.

Every rule lives in the protocol core: a template is derived from the typed event classes (msgspec
Structs: their fields, which are required, their types), and a check is
:func:`rtwidget.protocol.validate_client_event` itself, asked through a view message on every (debounced)
keystroke. The browser holds no copy of a rule, so it cannot drift from what :meth:`send_event` enforces.

Templates fill the required fields with values that pass validation and list the optional fields as
``(path, type)`` pairs: JSON has no comments, and a template that set every optional field would send
them all.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
from typing import TYPE_CHECKING, Any

import msgspec.inspect as mi

from rtwidget.protocol import Dialect, ProtocolError, ValidationError, beta, ga, validate_client_event
from rtwidget.redaction import redact
from rtwidget.widget.viewinput import ViewMessageError, view_int

if TYPE_CHECKING:
    from rtwidget.widget.widget import RealtimeWidget

__all__ = ["KINDS", "MAX_OPTIONAL_DEPTH", "check", "client_types", "describe", "handle", "template"]

KINDS = frozenset({"composer.template", "composer.check", "composer.send", "resend"})
"""The view messages :func:`handle` answers."""

MAX_OPTIONAL_DEPTH = 4
"""How deep the optional-field list goes into nested objects (``session.audio.input.format.rate``)."""

# Friendlier values than the bare minimum where the minimum would say little: a user message to create,
# a short silence to append (2 ms of PCM16 at 24 kHz). Each still passes validate_client_event (tested).
_EXAMPLES: dict[tuple[str, str], Any] = {
    ("conversation.item.create", "$.item"): {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "Hello!"}],
    },
    ("input_audio_buffer.append", "$.audio"): base64.b64encode(bytes(96)).decode("ascii"),
}


def _events(dialect: Dialect) -> dict[str, type[Any]]:
    return beta.CLIENT_EVENTS if dialect == "beta" else ga.CLIENT_EVENTS


def client_types(dialect: Dialect) -> list[str]:
    """Every client event type of ``dialect``, sorted."""
    return sorted(_events(dialect))


def _members(t: mi.Type) -> tuple[mi.Type, ...]:
    return t.types if isinstance(t, mi.UnionType) else (t,)


def _bounds(t: mi.IntType | mi.FloatType) -> str:
    parts = []
    if t.ge is not None:
        parts.append(f"≥ {t.ge}")
    if t.gt is not None:
        parts.append(f"> {t.gt}")
    if t.le is not None:
        parts.append(f"≤ {t.le}")
    if t.lt is not None:
        parts.append(f"< {t.lt}")
    return f" {' '.join(parts)}" if parts else ""


def describe(t: mi.Type) -> str:
    """A JSON-side name for a type: ``string``, ``integer ≥ 1``, ``"auto" | "none"``, ``array of object``."""
    if isinstance(t, mi.UnionType):
        return " | ".join(describe(m) for m in t.types)
    if isinstance(t, mi.StrType):
        return "string" + (f" ≤ {t.max_length} chars" if t.max_length is not None else "")
    if isinstance(t, mi.BoolType):
        return "boolean"
    if isinstance(t, mi.IntType):
        return "integer" + _bounds(t)
    if isinstance(t, mi.FloatType):
        return "number" + _bounds(t)
    if isinstance(t, mi.NoneType):
        return "null"
    if isinstance(t, mi.LiteralType):
        return " | ".join(json.dumps(v) for v in t.values)
    if isinstance(t, mi.ListType):
        return f"array of {describe(t.item_type)}"
    if isinstance(t, mi.StructType):
        return f'{{"{t.tag_field}": {json.dumps(t.tag)}}}' if t.tag_field else "object"
    if isinstance(t, mi.DictType):
        return "object"
    return "any"


def _sample(t: mi.Type, kind: str, path: str) -> Any:
    """A value of type ``t`` that validates (the first choice of a union or literal, the lower bound)."""
    if (kind, path) in _EXAMPLES:
        return _EXAMPLES[kind, path]
    choices = [m for m in _members(t) if not isinstance(m, mi.NoneType)] or [mi.NoneType()]
    first = choices[0]
    if isinstance(first, mi.StructType):
        return _struct_sample(first, kind, path)
    if isinstance(first, mi.LiteralType):
        return first.values[0]
    if isinstance(first, mi.StrType):
        return "x" * (first.min_length or 0) or f"<{path.rsplit('.', 1)[-1]}>"
    if isinstance(first, mi.BoolType):
        return False
    if isinstance(first, mi.IntType | mi.FloatType):
        low = first.ge if first.ge is not None else (first.gt + 1 if first.gt is not None else 0)
        return float(low) if isinstance(first, mi.FloatType) else int(low)
    if isinstance(first, mi.ListType):
        return [_sample(first.item_type, kind, f"{path}[0]")] if first.min_length else []
    if isinstance(first, mi.DictType):
        return {}
    return None


def _struct_sample(t: mi.StructType, kind: str, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {t.tag_field: t.tag} if t.tag_field else {}
    for field in t.fields:
        if field.required:
            out[field.encode_name] = _sample(field.type, kind, f"{path}.{field.encode_name}")
    return out


def _optional(t: mi.StructType, path: str, depth: int, out: list[tuple[str, mi.Type]]) -> None:
    """Append ``(path, type)`` of every optional field under ``t``; descend into single-shape objects."""
    for field in t.fields:
        name = f"{path}.{field.encode_name}".removeprefix(".")
        if not field.required and field.encode_name != "event_id":
            out.append((name, field.type))
        structs = [m for m in _members(field.type) if isinstance(m, mi.StructType)]
        if len(structs) == 1 and depth < MAX_OPTIONAL_DEPTH:
            _optional(structs[0], name, depth + 1, out)


def template(kind: str, dialect: Dialect = "ga") -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    """The template of one client event type: required fields filled; the optional fields' paths and types.

    For a field that may take several shapes (an item, a session), the template shows the first and the
    optional list follows that shape. The event is a fresh copy, the caller's to edit.

    Raises:
        KeyError: ``kind`` is not a client event type of ``dialect``.
    """
    event, optional = _template(kind, dialect)
    return copy.deepcopy(event), optional


@functools.cache
def _template(kind: str, dialect: Dialect) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    info = mi.type_info(_events(dialect)[kind])
    assert isinstance(info, mi.StructType)  # every event class is a Struct
    event = _struct_sample(info, kind, "$")
    optional: list[tuple[str, mi.Type]] = []
    _optional(info, "", 0, optional)
    chosen = {
        f.encode_name: s
        for f in info.fields
        if f.required
        and len(s := [m for m in _members(f.type) if isinstance(m, mi.StructType)]) > 1  # a choice of shapes
    }
    for name, shapes in chosen.items():
        tag = event[name].get(shapes[0].tag_field) if isinstance(event[name], dict) else None
        shape = next((s for s in shapes if s.tag == tag), shapes[0])
        _optional(shape, name, 1, optional)
    sendable = (
        p for p in optional if _sendable(event, p[0], _sample(p[1], kind, f"$.{p[0]}"), kind, dialect)
    )
    return event, tuple((path, describe(t)) for path, t in sendable)


def _sendable(event: dict[str, Any], path: str, value: Any, kind: str, dialect: Dialect) -> bool:
    """Whether the core lets a client set the field at ``path`` (the server-set ``session.id`` it refuses).

    Asked of the core itself, with the field set to a sample of its type: refused only when the field
    itself is an unknown parameter, whatever else the sample breaks.
    """
    probe = json.loads(json.dumps(event))
    node = probe
    *parents, leaf = path.split(".")
    for name in parents:
        node = node.setdefault(name, {}) if isinstance(node.get(name), dict | None) else {}
    node[leaf] = value
    try:
        validate_client_event(probe, dialect=dialect)
    except ValidationError as exc:
        return not (exc.code == "unknown_parameter" and exc.path == f"$.{path}")
    return True


def check(text: str, dialect: Dialect = "ga") -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Parse and validate the composer's text: ``(event, verdict)``; ``event`` is None when refused.

    The verdict is ``{"ok": True, "event": type}`` or ``{"ok": False, "path", "code", "rule", "message"}``:
    the field's JSON path (``$.item.content[0].type``), the protocol core's code and the rule broken.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:  # JSONDecodeError: where the text stops being JSON
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        rule = f"not JSON: {getattr(exc, 'msg', exc)}{where}"
        return None, {"ok": False, "path": "$", "code": "invalid_json", "rule": rule, "message": rule}
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        rule = "an event is a JSON object with a string `type`"
        return None, {"ok": False, "path": "$", "code": "invalid_event", "rule": rule, "message": rule}
    try:
        validate_client_event(data, dialect=dialect)
    except ValidationError as exc:
        return None, {
            "ok": False,
            "path": exc.path,
            "code": exc.code,
            "rule": exc.detail,
            "message": str(exc),
        }
    except ProtocolError as exc:
        return None, {"ok": False, "path": "$", "code": exc.code, "rule": str(exc), "message": str(exc)}
    return data, {"ok": True, "event": data["type"]}


def _logged_client_event(widget: RealtimeWidget, content: dict[str, Any]) -> dict[str, Any]:
    """The client event a log row (and member) holds, without its ``event_id``."""
    log = widget._log
    row_id = view_int(content, "row")
    if not 0 <= row_id < len(log.rows):
        raise ViewMessageError(f"no log row {row_id}")
    row = log.rows[row_id]
    member = view_int(content, "member", 0, 0, len(row.members) - 1)
    entry = log.entries[row.members[member]]
    if entry.direction != "client":
        raise ViewMessageError(f"row {row_id} is a {entry.direction} {entry.type}, not a client event")
    data = dict(entry.data)
    data.pop("event_id", None)
    return data


async def _send(widget: RealtimeWidget, view: Any, data: dict[str, Any]) -> None:
    data.setdefault("event_id", f"evt_rtw_{next(widget._event_ids)}")
    try:
        await widget.send_event(data)
    except (ProtocolError, RuntimeError, OSError) as exc:  # refused, not connected, or the socket failed
        message = widget._scrub(str(exc))
        widget._views.post({"type": "composer.sent", "view": view, "ok": False, "message": message})
        return
    widget._views.post({"type": "composer.sent", "view": view, "ok": True, "event_id": data["event_id"]})


def handle(widget: RealtimeWidget, kind: str, view: Any, content: dict[str, Any]) -> None:
    """Answer one composer message (composer.template, composer.check, composer.send, resend)."""
    dialect = widget._wire_dialect
    post = widget._views.post
    if kind == "composer.template":
        types = client_types(dialect)
        if content.get("row") is not None:  # edit and resend: the logged event, minus its event_id
            event = redact(_logged_client_event(widget, content), widget._secrets())
            optional = template(event["type"], dialect)[1] if event.get("type") in types else ()
        else:
            wanted = content.get("event")
            event, optional = template(wanted if wanted in types else types[0], dialect)
        post({
            "type": "composer.template", "view": view, "dialect": dialect, "types": types,
            "event": event.get("type"), "json": json.dumps(event, indent=2, ensure_ascii=False),
            "optional": [list(pair) for pair in optional],
        })  # fmt: skip
    elif kind in ("composer.check", "composer.send"):
        text = content.get("json")
        if not isinstance(text, str):
            raise ViewMessageError("`json` must be a string")
        data, verdict = check(text, dialect)
        verdict = {k: widget._scrub(v) if isinstance(v, str) else v for k, v in verdict.items()}
        if kind == "composer.check" or data is None:
            post({"type": "composer.check", "view": view, "n": content.get("n"), **verdict})
        else:
            widget._spawn(_send(widget, view, data))
    elif kind == "resend":
        widget._spawn(_send(widget, view, _logged_client_event(widget, content)))
