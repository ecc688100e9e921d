"""Tool choice and argument filling for the simulator's "model": deterministic, schema-valid.

A function tool is called when ``tool_choice`` forces it or the user's text names it: its name
("get_weather"), its name as words ("get weather"), a distinctive word of its name ("weather"), or two or more
distinctive words of its description. Arguments are built from the tool's JSON schema (``parameters``) so they
validate against it: strings are taken from the user's text where they fit (quoted text, capitalised words
after "in"/"for"/"at"/..., "<property> is <value>", enum values mentioned), numbers from the numbers in the
text, everything else from ``default``, ``examples``, ``enum[0]`` or a plain placeholder within the bounds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["arguments_for", "choose_tool", "tool_score"]

JSON = dict[str, Any]

_STOPWORD_TEXT = (
    "a an the and or but if of to in on at by for from with about into over under is are was were be been "
    "this that these those it its as not no yes do does did can could should would will may might must "
    "shall get set list create update delete fetch make use using used return returns given current "
    "specified user users value values some any all each which what when where who how function tool call "
    "data info information please me my your our their i you we they he she them "
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Words of a tool name that say nothing about what it does ("get_weather": only "weather" is telling).
_GENERIC_NAME_PARTS = _STOPWORDS | frozenset(
    {"run", "do", "query", "lookup", "find", "search", "check", "send"}
)
_LOCATION_PROPS = frozenset(
    {"city", "location", "place", "country", "destination", "origin", "town", "region", "address", "where"}
)
_FREE_TEXT_PROPS = frozenset(
    {
        "query",
        "q",
        "text",
        "message",
        "prompt",
        "input",
        "term",
        "topic",
        "search",
        "question",
        "content",
        "body",
    }
)
_PREPOSITIONS = ("in", "for", "at", "to", "from", "near", "of", "about", "called", "named")
_CAPITALISED_AFTER_RE = re.compile(
    r"\b(?:"
    + "|".join(_PREPOSITIONS)
    + r")\s+((?:[A-Z][\w'-]*)(?:\s+(?:[A-Z][\w'-]*|de|del|la|le|of|upon))*)"
)
_QUOTED_RE = re.compile(r"\"([^\"]+)\"|“([^”]+)”|(?<![\w])'([^']+)'(?![\w])")
_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")
_WORD_RE = re.compile(r"[a-z0-9]+")
_PLACEHOLDER = "example"


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _name_parts(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return _words(spaced.replace("_", " ").replace("-", " ").replace(".", " "))


def tool_score(tool: Mapping[str, Any], user_text: str) -> int:
    """Return how strongly ``user_text`` asks for ``tool``: 0 none, 1 weak, >= 2 strong enough to call it.

    The full name (or its words in order) scores 10, each distinctive word of the name 3, each distinctive
    description word 1.
    """
    name = str(tool.get("name", ""))
    if not name:
        return 0
    text_words = _words(user_text)
    text_stems = {_stem(w) for w in text_words}
    joined = " ".join(text_words)
    parts = _name_parts(name)
    if name.lower() in user_text.lower() or (parts and f" {' '.join(parts)} " in f" {joined} "):
        return 10
    score = 3 * sum(1 for p in set(parts) if p not in _GENERIC_NAME_PARTS and _stem(p) in text_stems)
    description = {
        _stem(w)
        for w in _words(str(tool.get("description", "")))
        if len(w) >= 4 and w not in _STOPWORDS and w not in parts
    }
    score += len(description & text_stems)
    return score


def _function_tools(tools: Sequence[Mapping[str, Any]]) -> list[JSON]:
    return [dict(t) for t in tools if t.get("type", "function") == "function" and t.get("name")]


def choose_tool(tools: Sequence[Mapping[str, Any]], user_text: str, tool_choice: Any = "auto") -> JSON | None:
    """Return the function tool to call for ``user_text``, or ``None`` to answer in words.

    Args:
        tools: the session's or response's tools (non-function tools such as MCP are ignored).
        user_text: the user's last message or transcript.
        tool_choice: "auto" (call a tool the text asks for), "none", "required" (best match, else the first
            tool), or ``{"type": "function", "name": ...}`` (beta: ``{"type": "function", "function":
            {"name": ...}}``) to force one.
    """
    candidates = _function_tools(tools)
    if not candidates or tool_choice == "none":
        return None
    if isinstance(tool_choice, Mapping):
        if tool_choice.get("type", "function") != "function":
            return None
        nested = tool_choice.get("function")
        wanted = tool_choice.get("name") or (nested.get("name") if isinstance(nested, Mapping) else None)
        return next((t for t in candidates if t["name"] == wanted), None)
    scores = [tool_score(t, user_text) for t in candidates]
    best = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    if tool_choice == "required":
        return candidates[best]
    return candidates[best] if scores[best] >= 2 else None


class _Text:
    """What the user's text offers: quoted strings, capitalised phrases, numbers (each used once)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lower = text.lower()
        self.quoted = [next(g for g in m.groups() if g) for m in _QUOTED_RE.finditer(text)]
        self.places = [m.group(1) for m in _CAPITALISED_AFTER_RE.finditer(text)]
        self.numbers = [float(n) for n in _NUMBER_RE.findall(text)]

    def after_property(self, prop: str) -> str | None:
        """Return the word after "<prop> is", "<prop>:", "<prop>=" or "<prop>" in the text."""
        words = " ".join(_name_parts(prop))
        match = re.search(
            rf"\b{re.escape(words)}\s*(?:is|=|:|of|to|as)?\s*\"?([\w.@/+-]+)", self.text, re.IGNORECASE
        )
        if match and match.group(1).lower() not in _STOPWORDS:
            return match.group(1).rstrip(".")
        return None

    def free_text(self) -> str | None:
        """Return the text after "for"/"about" (else "search"/"on"), else the whole text, unpunctuated."""
        found = self.text
        for pattern in (r"\b(?:for|about)\s+(.+)$", r"\b(?:search|on)\s+(.+)$"):
            match = re.search(pattern, self.text, re.IGNORECASE)
            if match:
                found = match.group(1)
                break
        return found.strip().rstrip("?.!") or None


def arguments_for(tool: Mapping[str, Any], user_text: str) -> JSON:
    """Return arguments for ``tool`` that validate against its JSON schema, filled from ``user_text``.

    Args:
        tool: a function tool (``name``, ``description``, ``parameters``: a JSON schema object).
        user_text: the user's last message or transcript.
    """
    schema = tool.get("parameters")
    if not isinstance(schema, Mapping):
        return {}
    value = _value(schema, "", _Text(user_text), required=True)
    return value if isinstance(value, dict) else {}


def _first_type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return kinds[0] if kinds else "null"
    if kind is None and "properties" in schema:
        return "object"
    return kind if isinstance(kind, str) else None


def _value(schema: Mapping[str, Any], name: str, text: _Text, *, required: bool) -> Any:
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options and isinstance(options[0], Mapping):
            merged = {**{k: v for k, v in schema.items() if k != key}, **options[0]}
            return _value(merged, name, text, required=required)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        for option in enum:
            if isinstance(option, str) and re.search(rf"\b{re.escape(option.lower())}\b", text.lower):
                return option
        if "default" in schema and schema["default"] in enum:
            return schema["default"]
        return enum[0]
    kind = _first_type(schema)
    if kind == "object":
        return _object(schema, text)
    if kind == "array":
        return _array(schema, name, text)
    if kind in ("number", "integer"):
        return _number(schema, name, text, integer=kind == "integer")
    if kind == "boolean":
        return _boolean(schema, name, text)
    if kind == "null":
        return None
    return _string(schema, name, text)


def _object(schema: Mapping[str, Any], text: _Text) -> JSON:
    props = schema.get("properties")
    props = props if isinstance(props, Mapping) else {}
    required = set(schema.get("required") or [])
    out: JSON = {}
    for prop, sub in props.items():
        if not isinstance(sub, Mapping):
            continue
        if prop in required or _mentioned(prop, sub, text):
            out[prop] = _value(sub, prop, text, required=prop in required)
    return out


def _mentioned(prop: str, schema: Mapping[str, Any], text: _Text) -> bool:
    """Whether the text says something for an optional property (its name, an enum value, a location)."""
    if " ".join(_name_parts(prop)) in " ".join(_words(text.text)):
        return True
    enum = schema.get("enum")
    if isinstance(enum, list) and any(
        isinstance(e, str) and re.search(rf"\b{re.escape(e.lower())}\b", text.lower) for e in enum
    ):
        return True
    return prop.lower() in _LOCATION_PROPS and bool(text.places) and _first_type(schema) == "string"


def _array(schema: Mapping[str, Any], name: str, text: _Text) -> list[Any]:
    if isinstance(schema.get("default"), list):
        return list(schema["default"])
    items = schema.get("items")
    items = items if isinstance(items, Mapping) else {}
    min_items = int(schema.get("minItems", 0))
    max_items = schema.get("maxItems")
    enum = items.get("enum")
    if isinstance(enum, list):
        picked = [
            e for e in enum if isinstance(e, str) and re.search(rf"\b{re.escape(e.lower())}\b", text.lower)
        ]
        while len(picked) < min_items and len(picked) < len(enum):
            picked.append(next(e for e in enum if e not in picked))
        out = picked or enum[: max(1, min_items)]
    else:
        out = [_value(items, name, text, required=True) for _ in range(max(1, min_items))]
    if isinstance(max_items, int):
        out = out[:max_items]
    return out


def _bounds(schema: Mapping[str, Any], integer: bool) -> tuple[float | None, float | None]:
    step = 1.0 if integer else 1e-6
    low = schema.get("minimum")
    high = schema.get("maximum")
    if isinstance(schema.get("exclusiveMinimum"), (int, float)) and not isinstance(
        schema.get("exclusiveMinimum"), bool
    ):
        low = (
            max(low, schema["exclusiveMinimum"] + step)
            if low is not None
            else schema["exclusiveMinimum"] + step
        )
    if isinstance(schema.get("exclusiveMaximum"), (int, float)) and not isinstance(
        schema.get("exclusiveMaximum"), bool
    ):
        high = (
            min(high, schema["exclusiveMaximum"] - step)
            if high is not None
            else schema["exclusiveMaximum"] - step
        )
    return low, high


def _number(schema: Mapping[str, Any], name: str, text: _Text, *, integer: bool) -> float | int:
    low, high = _bounds(schema, integer)
    candidate: float | None = None
    after = text.after_property(name) if name else None
    if after is not None and _NUMBER_RE.fullmatch(after):
        candidate = float(after)
        if candidate in text.numbers:
            text.numbers.remove(candidate)
    elif text.numbers:
        candidate = text.numbers.pop(0)
    if candidate is None:
        for key in ("default", "examples"):
            value = schema.get(key)
            value = value[0] if key == "examples" and isinstance(value, list) and value else value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                candidate = float(value)
                break
    if candidate is None:
        candidate = float(low) if low is not None else (float(high) if high is not None and high < 0 else 0.0)
    if low is not None:
        candidate = max(candidate, float(low))
    if high is not None:
        candidate = min(candidate, float(high))
    if integer:
        whole = round(candidate)
        if low is not None and whole < low:
            whole += 1
        if high is not None and whole > high:
            whole -= 1
        return int(whole)
    return int(candidate) if candidate == int(candidate) else candidate


def _boolean(schema: Mapping[str, Any], name: str, text: _Text) -> bool:
    words = " ".join(_name_parts(name))
    if words and words in " ".join(_words(text.text)):
        return not re.search(rf"\b(?:no|not|without|don't|disable)\s+{re.escape(words)}", text.lower)
    default = schema.get("default")
    return default if isinstance(default, bool) else False


def _string(schema: Mapping[str, Any], name: str, text: _Text) -> str:
    found: str | None = None
    lname = name.lower()
    if lname in _LOCATION_PROPS and text.places:
        found = text.places.pop(0)
    elif text.quoted:
        found = text.quoted.pop(0)
    else:
        after = text.after_property(name) if name and lname not in _FREE_TEXT_PROPS else None
        if after is not None:
            found = after
        elif lname in _FREE_TEXT_PROPS:
            found = text.free_text()
    if found is None:
        for key in ("default", "examples"):
            value = schema.get(key)
            value = value[0] if key == "examples" and isinstance(value, list) and value else value
            if isinstance(value, str):
                found = value
                break
    if found is None:
        found = _format_placeholder(str(schema.get("format", ""))) or _PLACEHOLDER
    min_len = int(schema.get("minLength", 0))
    max_len = schema.get("maxLength")
    if len(found) < min_len:
        found = found + "x" * (min_len - len(found))
    if isinstance(max_len, int):
        found = found[:max_len]
    return found


def _format_placeholder(fmt: str) -> str | None:
    return {
        "date": "2024-01-01",
        "date-time": "2024-01-01T00:00:00Z",
        "time": "00:00:00Z",
        "email": "user@example.com",
        "uri": "https://example.com",
        "url": "https://example.com",
        "uuid": "00000000-0000-0000-0000-000000000000",
    }.get(fmt)
