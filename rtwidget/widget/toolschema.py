"""JSON schemas for function tools from Python signatures, and the check of a model's arguments.

:func:`schema_for` reads a function's signature, type hints and Google-style docstring;
:func:`check_arguments` is the one check of tool arguments against a schema (the small part of JSON Schema
tool parameters use: ``jsonschema`` is a development dependency only); :func:`convert_arguments` turns
checked JSON into the Python values the hints name. :mod:`rtwidget.widget.tools` registers and runs tools.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["check_arguments", "convert_arguments", "doc_summary", "json_type_name", "schema_for"]

JSON = dict[str, Any]

_SECTION_RE = re.compile(r"^(\w[\w ]*):\s*$")
_ARG_LINE_RE = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_ARGS_HEADERS = frozenset({"Args", "Arguments", "Parameters", "Params"})
_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


# --- schema from a signature -------------------------------------------------------------------------


def _doc_parts(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The docstring's first line and the per-parameter descriptions of its Google-style ``Args:``."""
    doc = inspect.getdoc(fn) or ""
    lines = doc.splitlines()
    summary = lines[0].strip() if lines else ""
    params: dict[str, str] = {}
    in_args = False
    base: int | None = None
    current: str | None = None
    for line in lines[1:]:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        header = _SECTION_RE.match(line)
        if header and indent == 0:
            in_args = header.group(1) in _ARGS_HEADERS
            base, current = None, None
            continue
        if not in_args or not stripped:
            continue
        if base is None:
            base = indent
        entry = _ARG_LINE_RE.match(stripped) if indent == base else None
        if entry:
            current = entry.group(1)
            params[current] = entry.group(2).strip()
        elif current is not None and indent > base:
            params[current] = f"{params[current]} {stripped}".strip()
    return summary, params


def _strip_none(hint: Any) -> tuple[Any, bool]:
    """``(T, True)`` for ``Optional[T]`` / ``T | None``; ``(hint, False)`` otherwise."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        rest = tuple(a for a in args if a is not type(None))
        if len(rest) < len(args):
            if len(rest) == 1:
                return rest[0], True
            return typing.Union[rest], True  # noqa: UP007 - a Union built at run time  # type: ignore[return-value]
    return hint, False


def _is_typeddict(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, dict) and hasattr(hint, "__required_keys__")


def _type_schema(hint: Any) -> JSON:
    """The JSON schema of one type hint (``{}``, any value, for what it cannot describe)."""
    if hint is inspect.Parameter.empty or hint is Any:
        return {}
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        inner = _type_schema(args[0])
        notes = [a for a in args[1:] if isinstance(a, str)]
        return {**inner, "description": notes[0]} if notes else inner
    if hint is type(None):
        return {"type": "null"}
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if origin is typing.Literal:
        kinds = {_SCALARS.get(type(a)) for a in args}
        out: JSON = {"enum": list(args)}
        if len(kinds) == 1 and None not in kinds:
            out = {"type": kinds.pop(), **out}
        return out
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        values = [m.value for m in hint]
        kinds = {_SCALARS.get(type(v)) for v in values}
        out = {"enum": values}
        if len(kinds) == 1 and None not in kinds:
            out = {"type": kinds.pop(), **out}
        return out
    if origin in (typing.Union, types.UnionType):
        inner_hint, nullable = _strip_none(hint)
        if nullable:
            inner = _type_schema(inner_hint)
            if isinstance(inner.get("type"), str):
                return {**inner, "type": [inner["type"], "null"]}
            return {"anyOf": [inner, {"type": "null"}]}
        return {"anyOf": [_type_schema(a) for a in args]}
    if hint in (list, tuple, set, frozenset) or origin in (list, tuple, set, frozenset, Sequence, Iterable):
        if origin is tuple and args and args[-1] is not Ellipsis:
            return {"type": "array", "prefixItems": [_type_schema(a) for a in args], "minItems": len(args)}
        return {"type": "array", "items": _type_schema(args[0])} if args else {"type": "array"}
    if hint is dict or origin in (dict, Mapping):
        if len(args) == 2 and args[1] is not Any:
            return {"type": "object", "additionalProperties": _type_schema(args[1])}
        return {"type": "object"}
    if _is_typeddict(hint):
        hints = typing.get_type_hints(hint)
        return {
            "type": "object",
            "properties": {k: _type_schema(v) for k, v in hints.items()},
            "required": [k for k in hints if k in hint.__required_keys__],
            "additionalProperties": False,
        }
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = typing.get_type_hints(hint)
        fields = [f for f in dataclasses.fields(hint) if f.init]
        return {
            "type": "object",
            "properties": {f.name: _type_schema(hints.get(f.name, Any)) for f in fields},
            "required": [
                f.name
                for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            ],
            "additionalProperties": False,
        }
    raise TypeError(f"no JSON schema for the type {hint!r}: give `parameters=` or use a simpler type")


def schema_for(fn: Callable[..., Any]) -> JSON:
    """The ``parameters`` JSON schema of ``fn``'s keyword arguments, from its signature and type hints.

    ``str``, ``int``, ``float``, ``bool``, ``Literal`` (an ``enum``), an ``Enum``, ``list[T]``, ``dict``,
    a ``TypedDict`` or a dataclass; ``Optional[T]`` and parameters with a default are not required, and a
    default that is JSON is given as ``default``. Descriptions come from ``Annotated[T, "..."]`` or the
    docstring's Google-style ``Args:`` section. ``*args`` is ignored; ``**kwargs`` allows other properties.

    Raises:
        TypeError: a type hint has no JSON schema here (pass ``parameters=`` instead).
    """
    hints = typing.get_type_hints(fn, include_extras=True)
    _, described = _doc_parts(fn)
    props: JSON = {}
    required: list[str] = []
    extra = False
    for param in inspect.signature(fn).parameters.values():
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            extra = True
            continue
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise TypeError(f"{param.name} is positional-only: a tool's arguments are passed by name")
        hint = hints.get(param.name, inspect.Parameter.empty)
        schema = _type_schema(hint)
        if param.name in described and "description" not in schema:
            schema["description"] = described[param.name]
        if param.default is not inspect.Parameter.empty:
            default = param.default.value if isinstance(param.default, enum.Enum) else param.default
            try:
                json.dumps(default)
                schema["default"] = default
            except (TypeError, ValueError):
                pass  # a default that is not JSON still makes the argument optional
        elif not _strip_none(_unannotated(hint))[1]:
            required.append(param.name)
        props[param.name] = schema
    out: JSON = {"type": "object", "properties": props, "required": required}
    if not extra:
        out["additionalProperties"] = False
    return out


def _unannotated(hint: Any) -> Any:
    return typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint


# --- arguments: check and convert --------------------------------------------------------------------


_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def check_arguments(schema: Mapping[str, Any], value: Any, path: str = "$") -> list[str]:
    """What is wrong with ``value`` under the JSON schema ``schema`` (``[]``: nothing), each naming its path.

    The part of JSON Schema that tool parameters use: ``type`` (one or a list), ``enum``, ``const``,
    ``properties``, ``required``, ``additionalProperties``, ``items``, ``prefixItems``, ``anyOf`` /
    ``oneOf`` (one option must fit), ``minimum`` / ``maximum`` and ``minItems`` / ``maxItems``. Keywords
    outside that part are not checked (a server-side model is not bound by them either).
    """
    problems: list[str] = []
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_JSON_TYPES.get(k, lambda _v: True)(value) for k in kinds):
            return [f"{path}: expected {' or '.join(map(str, kinds))}, got {_json_name(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} is not one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{path}: must be {schema['const']!r}")
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options and all(check_arguments(o, value, path) for o in options):
            problems.append(f"{path}: fits none of the allowed shapes")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(schema.get("minimum"), int | float) and value < schema["minimum"]:
            problems.append(f"{path}: {value} is below the minimum {schema['minimum']}")
        if isinstance(schema.get("maximum"), int | float) and value > schema["maximum"]:
            problems.append(f"{path}: {value} is above the maximum {schema['maximum']}")
    if isinstance(value, dict):
        problems += _check_object(schema, value, path)
    if isinstance(value, list):
        problems += _check_array(schema, value, path)
    return problems


def _check_object(schema: Mapping[str, Any], value: dict[str, Any], path: str) -> list[str]:
    problems = [f"{path}.{k}: required" for k in schema.get("required") or [] if k not in value]
    found = schema.get("properties")
    props: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            problems += check_arguments(props[key], item, f"{path}.{key}")
        elif extra is False:
            problems.append(f"{path}.{key}: not a parameter (expected {', '.join(props) or 'none'})")
        elif isinstance(extra, Mapping):
            problems += check_arguments(extra, item, f"{path}.{key}")
    return problems


def _check_array(schema: Mapping[str, Any], value: list[Any], path: str) -> list[str]:
    problems: list[str] = []
    if isinstance(schema.get("minItems"), int) and len(value) < schema["minItems"]:
        problems.append(f"{path}: at least {schema['minItems']} items, got {len(value)}")
    if isinstance(schema.get("maxItems"), int) and len(value) > schema["maxItems"]:
        problems.append(f"{path}: at most {schema['maxItems']} items, got {len(value)}")
    found = schema.get("prefixItems")
    prefix: list[Any] = found if isinstance(found, list) else []
    items = schema.get("items")
    for i, item in enumerate(value):
        sub = prefix[i] if i < len(prefix) else items
        if isinstance(sub, Mapping):
            problems += check_arguments(sub, item, f"{path}[{i}]")
    return problems


def _json_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _convert(hint: Any, value: Any) -> Any:
    """A checked JSON value as the Python type the hint names (Enum members, dataclasses, int for 3.0)."""
    hint, _ = _strip_none(_unannotated(hint))
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if hint is int and isinstance(value, float):
        return int(value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type) and isinstance(value, dict):
        hints = typing.get_type_hints(hint)
        return hint(**{k: _convert(hints.get(k, Any), v) for k, v in value.items()})
    if origin in (list, Sequence, Iterable) and args and isinstance(value, list):
        return [_convert(args[0], v) for v in value]
    if origin in (set, frozenset) and isinstance(value, list):
        return origin(_convert(args[0], v) if args else v for v in value)
    if origin is tuple and isinstance(value, list):
        if args and args[-1] is not Ellipsis:
            return tuple(_convert(a, v) for a, v in zip(args, value, strict=False))
        return tuple(_convert(args[0], v) if args else v for v in value)
    return value


def doc_summary(fn: Callable[..., Any]) -> str:
    """The first line of ``fn``'s docstring (``""`` without one)."""
    return _doc_parts(fn)[0]


def json_type_name(value: Any) -> str:
    """The JSON name of a value's type (``object``, ``array``, ``integer``...), for messages."""
    return _json_name(value)


def convert_arguments(fn: Callable[..., Any], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Checked JSON arguments as the keyword values ``fn``'s hints name (Enum members, dataclasses, ints)."""
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:  # a given schema for a function whose hints do not resolve: pass JSON as is
        hints = {}
    return {k: _convert(hints.get(k, Any), v) for k, v in arguments.items()}
