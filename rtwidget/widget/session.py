"""What the console shows about sessions: the asked-vs-effective difference (the GA<->beta mapping is
:mod:`rtwidget.protocol.sessions`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["jsonable", "session_diff"]


def jsonable(value: Any) -> Any:
    """A plain-JSON copy (traits must hold only JSON types)."""
    import json

    return json.loads(json.dumps(value, default=str))


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    else:
        yield path, value


_MISSING = object()


def _lookup(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, Mapping) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def session_diff(asked: Mapping[str, Any], got: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every leaf the client asked for that the effective session does not hold as asked.

    Returns:
        ``[{"path": "audio.output.voice", "asked": "marin", "got": "alloy"}, ...]``; a field the server
        leaves out is reported with ``got: None`` and ``missing: True``.
    """
    out: list[dict[str, Any]] = []
    for path, want in _leaves(asked, ""):
        have = _lookup(got, path)
        if have is _MISSING:
            # Servers echo the whole session; an absent leaf asked as null/empty is no difference.
            if want in (None, [], {}):
                continue
            out.append({"path": path, "asked": want, "got": None, "missing": True})
        elif not _same(want, have):
            out.append({"path": path, "asked": want, "got": have})
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    return bool(a == b)
