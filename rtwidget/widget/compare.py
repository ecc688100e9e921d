"""Compare two sessions (``w.compare(other)``): server events aligned, differing fields, timing per turn.

Each side's server events are read from its log, the deltas between two other events folded into one step
per type; the two type sequences are aligned with :class:`difflib.SequenceMatcher`.
For aligned single events, the JSON paths whose values differ are listed, leaving out the fields that differ
between any two runs (:data:`IGNORED_KEYS`: ids, timestamps, audio payloads); a folded run is compared by its
count (its text is in the ``.done`` event that follows). Responses are paired in order: per pair, whether its
events have the same types, the output text of each, tokens and cost, and the latency stages of
rtwidget.widget.metrics side by side with their difference.
"""

from __future__ import annotations

import difflib
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rtwidget.widget.logformat import AUDIO_PAYLOAD_TYPES
from rtwidget.widget.metrics import STAGES

if TYPE_CHECKING:
    from rtwidget.widget.log import LogEntry
    from rtwidget.widget.widget import RealtimeWidget

__all__ = ["IGNORED_KEYS", "MAX_FIELDS_PER_EVENT", "CompareMethods", "Comparison", "compare", "fold"]

IGNORED_KEYS: tuple[str, ...] = (
    "event_id",
    "id",
    "item_id",
    "call_id",
    "response_id",
    "previous_item_id",
    "conversation_id",
    "created_at",
    "expires_at",
    "obfuscation",
    "reset_seconds",
)
"""Keys left out of the field comparison wherever they are (the audio payloads are left out too)."""
MAX_FIELDS_PER_EVENT = 20
"""Most differing paths listed for one pair of aligned events (the rest are counted)."""
_TEXT_CHARS = 80


@dataclass
class Comparison:
    """Two sessions compared: plain data (lists of dicts), a short repr and an HTML table for the notebook.

    Attributes:
        a: What the first session is (its backend label).
        b: What the second one is.
        events: The aligned server event steps: ``op`` (``equal``, ``replace``, ``delete``: only in a,
            ``insert``: only in b), ``a_type``/``b_type``, ``a_count``/``b_count`` (events in a folded run),
            ``a_time``/``b_time`` (seconds), and ``fields``: ``{path, a, b}`` for each differing value.
        turns: Per response, paired in order: ``a_response_id``/``b_response_id``, ``same_events`` (the
            types of its events, folded, are the same), ``a_text``/``b_text``, ``a_status``/``b_status``,
            tokens, ``cost_usd``, and per latency stage ``a_<stage>``, ``b_<stage>`` and ``delta_<stage>``
            (b - a, in ms).
        ignored: The keys left out of the field comparison.
    """

    a: str
    b: str
    events: list[dict[str, Any]] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list)
    ignored: tuple[str, ...] = IGNORED_KEYS

    @property
    def same_events(self) -> bool:
        """Both sessions received the same server event types in the same order (runs folded)."""
        return all(step["op"] == "equal" for step in self.events)

    @property
    def differences(self) -> dict[str, int]:
        """How many steps are only in a, only in b, replaced, and how many fields differ."""
        ops = [step["op"] for step in self.events]
        return {
            "only_a": ops.count("delete"),
            "only_b": ops.count("insert"),
            "replaced": ops.count("replace"),
            "counts": sum(1 for s in self.events if s["op"] == "equal" and s["a_count"] != s["b_count"]),
            "fields": sum(len(step["fields"]) for step in self.events),
        }

    def __repr__(self) -> str:
        """One line: what was compared and how much differs."""
        d = self.differences
        return (
            f"Comparison({self.a!r} vs {self.b!r}: {len(self.turns)} turns, "
            f"{'same' if self.same_events else 'different'} event types "
            f"({d['only_a']} only in a, {d['only_b']} only in b, {d['replaced']} replaced), "
            f"{d['fields']} differing fields)"
        )

    def _repr_html_(self) -> str:
        return _html(self)


def fold(entries: list[LogEntry]) -> list[dict[str, Any]]:
    """Server entries as steps: the deltas between two other events fold into one step per type, counted
    (audio and its transcript interleave, and how finely a server cuts a reply is not worth a difference)."""
    steps: list[dict[str, Any]] = []
    block: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.direction != "server":
            continue
        if not entry.type.endswith(".delta"):
            block = {}
        elif entry.type in block:
            block[entry.type]["count"] += 1
            continue
        step = {"type": entry.type, "count": 1, "time": entry.time, "entry": entry}
        if entry.type.endswith(".delta"):
            block[entry.type] = step
        steps.append(step)
    return steps


def flatten(value: Any, path: str = "$") -> dict[str, Any]:
    """JSON paths to their leaf values, without the ignored keys."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            if key not in IGNORED_KEYS:
                out.update(flatten(inner, f"{path}.{key}"))
        return out or {path: {}}
    if isinstance(value, list):
        out = {}
        for index, inner in enumerate(value):
            out.update(flatten(inner, f"{path}[{index}]"))
        return out or {path: []}
    return {path: value}


def _data(step: dict[str, Any]) -> dict[str, Any]:
    entry = step["entry"]
    data = dict(entry.data)
    payload = AUDIO_PAYLOAD_TYPES.get(entry.type)
    if payload is not None:
        data.pop(payload, None)
    return data


def field_differences(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """The paths whose values differ between two events (a path on one side only has None on the other)."""
    flat_a, flat_b = flatten(a), flatten(b)
    paths = list(flat_a) + [p for p in flat_b if p not in flat_a]
    return [
        {"path": p, "a": flat_a.get(p), "b": flat_b.get(p)}
        for p in paths
        if flat_a.get(p, _MISSING) != flat_b.get(p, _MISSING)
    ]


_MISSING = object()


def align(steps_a: list[dict[str, Any]], steps_b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The two step lists aligned by type, with the differing fields of each pair of the same type."""
    types_a, types_b = [s["type"] for s in steps_a], [s["type"] for s in steps_b]
    matcher = difflib.SequenceMatcher(None, types_a, types_b, autojunk=False)
    out: list[dict[str, Any]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs = zip(range(i1, i2), range(j1, j2), strict=False) if op in ("equal", "replace") else ()
        for i, j in pairs:
            out.append(_row(op, steps_a[i], steps_b[j]))
        paired = min(i2 - i1, j2 - j1) if op == "replace" else 0
        if op in ("delete", "replace"):
            out.extend(_row("delete", steps_a[i], None) for i in range(i1 + paired, i2))
        if op in ("insert", "replace"):
            out.extend(_row("insert", None, steps_b[j]) for j in range(j1 + paired, j2))
    return out


def _row(op: str, a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any]:
    fields: list[dict[str, Any]] = []
    if op == "equal" and a is not None and b is not None and a["count"] == b["count"] == 1:
        fields = field_differences(_data(a), _data(b))
        if len(fields) > MAX_FIELDS_PER_EVENT:
            more = len(fields) - MAX_FIELDS_PER_EVENT
            fields = [*fields[:MAX_FIELDS_PER_EVENT], {"path": f"… {more} more", "a": None, "b": None}]
    return {
        "op": op,
        "a_type": a["type"] if a else None,
        "b_type": b["type"] if b else None,
        "a_count": a["count"] if a else 0,
        "b_count": b["count"] if b else 0,
        "a_time": round(a["time"], 3) if a else None,
        "b_time": round(b["time"], 3) if b else None,
        "fields": fields,
    }


def responses(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per response (``response.created`` to its ``response.done``): id, folded types, status, output text."""
    out: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for step in steps:
        if step["type"] == "response.created":
            current = {"response_id": _response(step).get("id"), "types": [], "status": None, "text": ""}
            out.append(current)
        if current is None:
            continue
        current["types"].append((step["type"], step["count"]))
        if step["type"] == "response.done":
            response = _response(step)
            current["status"] = response.get("status")
            current["text"] = output_text(response)
            current = None
    return out


def _response(step: dict[str, Any]) -> dict[str, Any]:
    response = step["entry"].data.get("response")
    return response if isinstance(response, dict) else {}


def output_text(response: dict[str, Any]) -> str:
    """What a response said: its messages' text or transcripts, its calls as ``name(arguments)``."""
    parts: list[str] = []
    for item in response.get("output") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call":
            parts.append(f"{item.get('name')}({item.get('arguments')})")
        for part in item.get("content") or []:
            if isinstance(part, dict):
                text = part.get("text") or part.get("transcript")
                if isinstance(text, str):
                    parts.append(text)
    return " ".join(parts)


def turns(w_a: RealtimeWidget, w_b: RealtimeWidget, steps_a: Any, steps_b: Any) -> list[dict[str, Any]]:
    """Responses paired in order, with their metrics side by side."""
    metrics_a = {row["response_id"]: row for row in w_a._metrics.rows()}
    metrics_b = {row["response_id"]: row for row in w_b._metrics.rows()}
    resp_a, resp_b = responses(steps_a), responses(steps_b)
    out = []
    for index in range(max(len(resp_a), len(resp_b))):
        ra = resp_a[index] if index < len(resp_a) else None
        rb = resp_b[index] if index < len(resp_b) else None
        ma = metrics_a.get(ra["response_id"], {}) if ra else {}
        mb = metrics_b.get(rb["response_id"], {}) if rb else {}
        row: dict[str, Any] = {
            "turn": index + 1,
            "a_response_id": ra and ra["response_id"],
            "b_response_id": rb and rb["response_id"],
            "same_events": bool(ra and rb and [t for t, _ in ra["types"]] == [t for t, _ in rb["types"]]),
            "a_status": ra and ra["status"],
            "b_status": rb and rb["status"],
            "a_text": ra["text"] if ra else None,
            "b_text": rb["text"] if rb else None,
        }
        for name in ("input_tokens", "output_tokens", "cost_usd"):
            row[f"a_{name}"], row[f"b_{name}"] = ma.get(name), mb.get(name)
        for stage in STAGES:
            a, b = ma.get(stage), mb.get(stage)
            row[f"a_{stage}"], row[f"b_{stage}"] = a, b
            row[f"delta_{stage}"] = round(b - a, 1) if a is not None and b is not None else None
        out.append(row)
    return out


def compare(a: RealtimeWidget, other: Any) -> Comparison:
    """Compare ``a`` with ``other``: a RealtimeWidget (live or replayed) or a recording's path."""
    from rtwidget.widget.widget import RealtimeWidget

    if isinstance(other, str | Path):
        b = RealtimeWidget.replay(other)
    elif isinstance(other, RealtimeWidget):
        b = other
    else:
        raise TypeError(f"compare takes a RealtimeWidget or a recording's path, not {type(other).__name__}")
    steps_a, steps_b = fold(a.events), fold(b.events)
    return Comparison(
        a=_label(a), b=_label(b), events=align(steps_a, steps_b), turns=turns(a, b, steps_a, steps_b)
    )


def _label(w: RealtimeWidget) -> str:
    run = getattr(w, "rerun_report", None)
    return f"rerun of {run.source}" if run is not None else str(w.backend)


# --- HTML -----------------------------------------------------------------------------------------

_OP_STYLE = {
    "equal": "",
    "replace": "background: rgba(230, 160, 0, 0.18)",
    "delete": "background: rgba(220, 50, 50, 0.15)",
    "insert": "background: rgba(40, 160, 70, 0.15)",
}
_OP_MARK = {"equal": "=", "replace": "≠", "delete": "−", "insert": "+"}


def _cell(value: Any, limit: int = _TEXT_CHARS) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return html.escape(text if len(text) <= limit else text[: limit - 1] + "…")


def _step(type_: str | None, count: int) -> str:
    return "" if type_ is None else _cell(type_ + (f" ×{count}" if count > 1 else ""))


def _html(c: Comparison) -> str:
    d = c.differences
    head = (
        f"<p><b>a</b>: {_cell(c.a)} &nbsp; <b>b</b>: {_cell(c.b)} &nbsp; "
        f"{'same event types' if c.same_events else 'event types differ'}: {d['only_a']} only in a, "
        f"{d['only_b']} only in b, {d['replaced']} replaced, {d['counts']} with other counts, "
        f"{d['fields']} differing fields. Not compared: {', '.join(c.ignored)} and audio payloads.</p>"
    )
    turn_rows = []
    for t in c.turns:
        stages = "<br>".join(
            f"{s.removeprefix('to_').removesuffix('_ms')}: {_cell(t['a_' + s])} / {_cell(t['b_' + s])}"
            + (f" (Δ {t['delta_' + s]:+g})" if t["delta_" + s] is not None else "")
            for s in STAGES
            if t["a_" + s] is not None or t["b_" + s] is not None
        )
        style = "" if t["same_events"] else _OP_STYLE["replace"]
        turn_rows.append(
            f"<tr style='{style}'><td>{t['turn']}</td><td>{'yes' if t['same_events'] else 'no'}</td>"
            f"<td>{_cell(t['a_text'])}</td><td>{_cell(t['b_text'])}</td>"
            f"<td>{_cell(t['a_output_tokens'])} / {_cell(t['b_output_tokens'])}</td><td>{stages}</td></tr>"
        )
    event_rows = []
    for step in c.events:
        fields = "".join(
            f"<div><code>{_cell(f['path'])}</code>: {_cell(f['a'], 40)} → {_cell(f['b'], 40)}</div>"
            for f in step["fields"]
        )
        event_rows.append(
            f"<tr style='{_OP_STYLE[step['op']]}'><td>{_OP_MARK[step['op']]}</td>"
            f"<td>{_step(step['a_type'], step['a_count'])}</td>"
            f"<td>{_step(step['b_type'], step['b_count'])}</td>"
            f"<td>{fields}</td></tr>"
        )
    table = "<table style='font-size: 12px; text-align: left'>"
    return (
        f"<div class='rt-compare'>{head}<h4>Turns (ms from the turn start: a / b, Δ = b − a)</h4>{table}"
        "<tr><th>#</th><th>same events</th><th>a said</th><th>b said</th><th>output tokens</th>"
        f"<th>latency</th></tr>{''.join(turn_rows)}</table>"
        f"<h4>Server events</h4>{table}"
        "<tr><th></th><th>a</th><th>b</th><th>differing fields (a → b)</th></tr>"
        f"{''.join(event_rows)}</table></div>"
    )


class CompareMethods:
    """RealtimeWidget's ``compare``."""

    def compare(self, other: Any) -> Comparison:
        """Compare this session with ``other`` (a RealtimeWidget, live or replayed, or a recording's path):
        server event types aligned, differing fields, and per turn the texts, tokens and latency stages."""
        return compare(self, other)  # type: ignore[arg-type]  # self is the RealtimeWidget this is mixed into
