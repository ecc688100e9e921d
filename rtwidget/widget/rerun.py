"""Rerun: a recording's client events sent again to a live server, as a new console to compare.

A recording says what the client sent and what the server had said by then. The rerun sends the same client
events in the same order, each once the new server has said as much: before a client event goes, the new run
must have received as many of each of :data:`GATES` as the recording had when that event was sent (so a
turn's events wait for the previous turn's ``response.done``, a ``function_call_output`` for the response that
made the call, a ``response.cancel`` for its ``response.created``). Audio appends are a stream the server's
VAD reacts to, so they wait only for :data:`APPEND_GATES` (never for what the audio itself makes the server
say, which would wait for ever on a server whose VAD hears the turn a little later).

Ids the server assigns differ between runs: the k-th item id and the k-th call id the old server named map to
the k-th the new server names, and a client event carrying an old one is sent with the new one (an id the
client named first, e.g. ``item.id`` in its own ``conversation.item.create``, is the client's and is kept).

A server that refuses an event (an ``error`` the recording did not have there), closes, or says nothing for
``timeout_s`` ends the rerun: the new console keeps what happened, and ``w.rerun_report`` (and a
``local.error`` row with code ``rerun``) says where and why.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rtwidget.protocol import ProtocolError
from rtwidget.widget.recording import Recording, export_lines, header_of, read_recording

if TYPE_CHECKING:
    from rtwidget.widget.widget import RealtimeWidget

__all__ = [
    "APPEND_GATES",
    "DEFAULT_TIMEOUT_S",
    "GATES",
    "RerunError",
    "RerunMethods",
    "RerunReport",
    "Step",
    "plan",
    "rerun",
]

GATES: tuple[str, ...] = (
    "session.created",
    "session.updated",
    "response.created",
    "response.done",
    "input_audio_buffer.committed",
)
"""Server events a client event waits for (as many as the recording had received when it was sent)."""
APPEND_GATES: tuple[str, ...] = ("session.created", "session.updated", "response.done")
"""What an ``input_audio_buffer.append`` waits for: the turn before it over, not its own turn's answers."""
DEFAULT_TIMEOUT_S = 30.0
"""Seconds the rerun waits for the new server to say what the next client event waits for."""
_POLL_S = 0.25  # how often a wait looks at the connection's status between events

Pace = Literal["asap", "recorded"]
_PACES = ("asap", "recorded")


@dataclass
class Step:
    """One client event of the recording and what it waits for.

    Attributes:
        event: The event as recorded (old ids).
        time: When it was sent, in seconds on the recording's clock.
        gates: Per gate type, how many the recording had received before it was sent.
        after: Recorded seconds between its last gate (or the client event before it) and its send.
        errors: ``error`` events the recording had received before it was sent.
    """

    event: dict[str, Any]
    time: float
    gates: dict[str, int]
    after: float
    errors: int


@dataclass
class RerunReport:
    """How a rerun went: what was sent, the ids mapped, and why it stopped early (``problems``)."""

    source: str
    total: int
    pace: str
    sent: int = 0
    problems: list[str] = field(default_factory=list)
    item_ids: dict[str, str] = field(default_factory=dict)
    """Old item id -> the new run's, for the ids the server assigned."""
    call_ids: dict[str, str] = field(default_factory=dict)
    """Old call id -> the new run's."""

    @property
    def complete(self) -> bool:
        """Every recorded client event was sent and the server refused none."""
        return self.sent == self.total and not self.problems

    def __repr__(self) -> str:
        """One line: how many were sent, and the first problem."""
        why = f", stopped: {self.problems[0]}" if self.problems else ""
        sent = f"sent {self.sent} of {self.total} client events"
        return f"RerunReport({self.source}: {sent}, pace {self.pace}{why})"


def ids_named(event: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The item ids and call ids a server event names, in order (its item, its response's output items)."""
    items: list[dict[str, Any]] = []
    if isinstance(event.get("item"), dict):
        items.append(event["item"])
    response = event.get("response")
    if isinstance(response, dict) and isinstance(response.get("output"), list):
        items.extend(it for it in response["output"] if isinstance(it, dict))
    item_ids = [it["id"] for it in items if isinstance(it.get("id"), str)]
    call_ids = [it["call_id"] for it in items if isinstance(it.get("call_id"), str)]
    for key, out in (("item_id", item_ids), ("call_id", call_ids)):
        if isinstance(event.get(key), str):
            out.append(event[key])
    return item_ids, call_ids


class _Ids:
    """Ids in the order of their first naming by a server."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.calls: list[str] = []
        self._seen: set[str] = set()

    def add(self, event: dict[str, Any]) -> None:
        item_ids, call_ids = ids_named(event)
        for value, into in [*((v, self.items) for v in item_ids), *((v, self.calls) for v in call_ids)]:
            if value not in self._seen:
                self._seen.add(value)
                into.append(value)


def plan(recording: Recording) -> tuple[list[Step], _Ids, set[str]]:
    """The steps of a rerun, the ids the old server named, and the ids its client named first (kept)."""
    steps: list[Step] = []
    counts: Counter[str] = Counter()
    last_gate_t = 0.0
    last_client_t: float | None = None
    errors = 0
    old = _Ids()
    client_named: set[str] = set()
    for frame in recording.frames:
        if frame.event is None:
            continue
        if frame.direction == "server":
            old.add(frame.event)
            if frame.type in GATES:
                counts[frame.type] += 1
                last_gate_t = frame.time
            elif frame.type == "error":
                errors += 1
        elif frame.direction == "client":
            for value in _client_ids(frame.event):
                if value not in old._seen:
                    client_named.add(value)
            append = frame.type == "input_audio_buffer.append"
            gates = {g: counts[g] for g in (APPEND_GATES if append else GATES) if counts[g]}
            since = max(last_gate_t, last_client_t if last_client_t is not None else 0.0)
            steps.append(Step(dict(frame.event), frame.time, gates, max(0.0, frame.time - since), errors))
            last_client_t = frame.time
    return steps, old, client_named


_ITEM_KEYS = ("item_id", "previous_item_id")


def _client_ids(event: dict[str, Any]) -> list[str]:
    found = [event[k] for k in (*_ITEM_KEYS, "call_id") if isinstance(event.get(k), str)]
    item = event.get("item")
    if isinstance(item, dict):
        found += [item[k] for k in ("id", "call_id") if isinstance(item.get(k), str)]
    return found


class _Run:
    """One rerun in progress: the new run's counts and ids, fed by the widget's server events."""

    def __init__(self, w: RealtimeWidget, report: RerunReport, old: _Ids, kept: set[str]) -> None:
        self.w = w
        self.report = report
        self.old = old
        self.kept = kept
        self.new = _Ids()
        self.counts: Counter[str] = Counter()
        self.arrived: dict[tuple[str, int], float] = {}
        self.errors: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    def observe(self, event: Any) -> None:
        data = event.wire()
        self.new.add(data)
        if event.type in GATES:
            self.counts[event.type] += 1
            self.arrived[(event.type, self.counts[event.type])] = asyncio.get_running_loop().time()
        elif event.type == "error":
            self.errors.append(data.get("error") if isinstance(data.get("error"), dict) else {})
        self.changed.set()

    def mapped(self, value: str, old: list[str], new: list[str]) -> str | None:
        """The new run's id for an old one (None: the new server has not named it yet)."""
        if value in self.kept or value not in old:
            return value
        position = old.index(value)
        return new[position] if position < len(new) else None

    def rewrite(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """``event`` with the new run's ids (None while one of them is not known yet)."""
        out = dict(event)
        for key in (*_ITEM_KEYS, "call_id"):
            if isinstance(out.get(key), str):
                found = self._map(key, out[key])
                if found is None:
                    return None
                out[key] = found
        item = out.get("item")
        if isinstance(item, dict):
            item = out["item"] = dict(item)
            for key in ("id", "call_id"):
                if isinstance(item.get(key), str):
                    found = self._map("call_id" if key == "call_id" else "item_id", item[key])
                    if found is None:
                        return None
                    item[key] = found
        return out

    def _map(self, kind: str, value: str) -> str | None:
        calls = kind == "call_id"
        old, new = (self.old.calls, self.new.calls) if calls else (self.old.items, self.new.items)
        found = self.mapped(value, old, new)
        if found is not None and found != value:
            (self.report.call_ids if calls else self.report.item_ids)[value] = found
        return found

    def refusal(self, step: Step) -> str | None:
        """Why to stop: an error the recording did not have by then, or a connection that is gone."""
        if len(self.errors) > step.errors:
            error = self.errors[step.errors]
            return f"the server refused it: {error.get('code') or error.get('type')}: {error.get('message')}"
        if self.w.status in ("closed", "failed"):
            return f"the connection ended: {self.w._closed_message()}"
        return None

    async def ready(self, step: Step, timeout_s: float) -> dict[str, Any]:
        """Wait until ``step`` may be sent; its event with the new ids (raises RerunError with why not)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            why = self.refusal(step)
            if why is not None:
                raise RerunError(why)
            missing = {g: n for g, n in step.gates.items() if self.counts[g] < n}
            event = None if missing else self.rewrite(step.event)
            if event is not None:
                return event
            left = deadline - loop.time()
            if left <= 0:
                waited = ", ".join(f"{n - self.counts[g]} more {g}" for g, n in missing.items())
                waited = waited or "the server to name an id"
                raise RerunError(f"no answer within {timeout_s:g} s: waited for {waited}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, _POLL_S))

    def last_gate_arrival(self, step: Step) -> float | None:
        return max((self.arrived.get((g, n), 0.0) for g, n in step.gates.items()), default=None)


class RerunError(Exception):
    """The rerun cannot go on (the message says why); caught by the rerun and put in its report."""


def _recording_of(source: Any) -> tuple[Recording, str]:
    from rtwidget.widget.widget import RealtimeWidget

    if isinstance(source, RealtimeWidget):
        notes = source._replay.notes if source._replay is not None else None
        lines = export_lines(source._console, header_of(source), source._secrets(), notes=notes)
        label = source._replay.name if source._replay is not None else "a widget"
        return read_recording("".join(lines).encode("utf-8"), "widget.jsonl"), label
    if isinstance(source, str | Path):
        return read_recording(source), Path(source).name
    raise TypeError(f"rerun takes a recording's path or a RealtimeWidget, not {type(source).__name__}")


async def rerun(
    source: Any,
    *,
    pace: Pace = "asap",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    keep_open: bool = False,
    **widget_options: Any,
) -> RealtimeWidget:
    """Send ``source``'s client events to a server as a new console; see :meth:`RerunMethods.rerun`."""
    from rtwidget.widget.widget import RealtimeWidget

    if pace not in _PACES:
        raise ValueError(f"pace must be 'asap' or 'recorded', not {pace!r}")
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be a positive number of seconds, not {timeout_s!r}")
    recording, label = _recording_of(source)
    steps, old, kept = plan(recording)
    silent = [s for s in steps if s.event.get("type") == "input_audio_buffer.append"
              and not isinstance(s.event.get("audio"), str)]  # fmt: skip
    if silent:
        raise ValueError(
            f"{label} holds {len(silent)} input_audio_buffer.append events without their audio (exported "
            "with audio=False): they cannot be sent again"
        )
    model = recording.header.get("model")
    widget_options.setdefault("dialect", recording.dialect)
    if isinstance(model, str) and model and "config" not in widget_options:
        widget_options.setdefault("model", model)
    w = RealtimeWidget(**widget_options)
    w._tools.answering = False  # the recorded function_call_outputs answer the calls
    report = w.rerun_report = RerunReport(label, len(steps), pace)
    run = _Run(w, report, old, kept)
    w.on("*", run.observe)
    try:
        await w.connect()
        await _send_all(w, run, steps, pace, timeout_s)
        if steps:  # the recording's last answers, before the console closes
            final = Step({}, recording.frames[-1].time, _final_gates(recording), 0.0, _errors(recording))
            try:
                await run.ready(final, timeout_s)
            except RerunError as exc:
                raise RerunError(f"after the last event: {exc}") from None
    except RerunError as exc:
        _problem(w, report, str(exc))
    except (ConnectionError, OSError) as exc:
        _problem(w, report, f"could not connect: {exc}")
    finally:
        w.off("*", run.observe)
        if not keep_open:
            await w.disconnect()
    return w


def _final_gates(recording: Recording) -> dict[str, int]:
    return dict(Counter(f.type for f in recording.frames if f.direction == "server" and f.type in GATES))


def _errors(recording: Recording) -> int:
    return sum(1 for f in recording.frames if f.direction == "server" and f.type == "error")


async def _send_all(w: RealtimeWidget, run: _Run, steps: list[Step], pace: Pace, timeout_s: float) -> None:
    loop = asyncio.get_running_loop()
    last_send: float | None = None
    for number, step in enumerate(steps, 1):
        type_ = step.event.get("type")
        try:
            event = await run.ready(step, timeout_s)
        except RerunError as exc:
            raise RerunError(f"event {number} of {len(steps)} ({type_}) not sent: {exc}") from None
        if pace == "recorded":
            since = max(run.last_gate_arrival(step) or 0.0, last_send or 0.0)
            wait_s = since + step.after - loop.time()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
        try:
            await w.send_event(event)
        except (ProtocolError, RuntimeError) as exc:
            raise RerunError(f"event {number} of {len(steps)} ({type_}) not sent: {exc}") from None
        last_send = loop.time()
        run.report.sent += 1


def _problem(w: RealtimeWidget, report: RerunReport, message: str) -> None:
    message = w._scrub(message)
    report.problems.append(message)
    w._local_error("rerun", message)


class RerunMethods:
    """RealtimeWidget's rerun: a recorded session sent again to a live server."""

    rerun_report: RerunReport | None = None
    """How the rerun that made this console went (None: not made by a rerun)."""

    @classmethod
    async def rerun(
        cls,
        source: Any,
        *,
        pace: Pace = "asap",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        keep_open: bool = False,
        **widget_options: Any,
    ) -> RealtimeWidget:
        """Send a recording's client events again, to a live server, as a new console to compare with the old.

        Args:
            source: A recording's path (any format ``replay`` reads) or a RealtimeWidget (live or replayed).
            pace: ``"asap"``: each event as soon as what it waits for has come; ``"recorded"``: also as long
                after that as in the recording (audio streams at its recorded pace).
            timeout_s: Seconds to wait for the server's answer an event waits for; past it the rerun stops.
            keep_open: Leave the connection open at the end (default: disconnect).
            **widget_options: What ``RealtimeWidget(...)`` takes: ``url``, ``api_key``, ``model``,
                ``simulator_speed``, ... (no url and no key: the embedded simulator). The model and dialect
                default to the recording's.

        Returns the new console; its ``rerun_report`` says what was sent, the ids mapped, and any problem
        (a refused event, a closed connection, a timeout), also shown as a ``local.error`` row.
        """
        del cls  # the new console is a RealtimeWidget (rtwidget.widget.rerun.rerun makes it)
        return await rerun(source, pace=pace, timeout_s=timeout_s, keep_open=keep_open, **widget_options)
