"""Recordings of a session: the JSONL export, readers of it and of other tools' recordings, and replay.

The format is documented in docs/recording-format.md. In short: a header line
``{"format": "rtwidget.recording", "version": 2, ...}``, then one line per log entry
``{"i", "dir", "time", "type", "event"}`` (plus ``audio``, ``frame``, ``error`` where they apply), keys
redacted.

Writing is strict (one shape, every line valid JSON); reading is liberal: version 1 exports (no header),
Chrome DevTools HAR files (``entries[]._webSocketMessages``) and pydantic-ai's realtime cassettes (YAML
``interactions``) all become a :class:`Recording`, and a line that cannot be read is reported with its number
while the rest imports.

A replay rebuilds a console from a recording by feeding its frames through the path live frames take
(:meth:`ConsoleState.frame` for every frame, then :meth:`ConsoleState.event` for each server event), so the
log rows, the conversation and the audio come back as they were, from the console's own code.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from rtwidget.protocol import ProtocolError, UnknownEvent, parse_client_event, parse_server_event
from rtwidget.protocol.formats import duration_ms
from rtwidget.redaction import redact
from rtwidget.widget.console import ConsoleState
from rtwidget.widget.logformat import AUDIO_PAYLOAD_TYPES, b64_decoded_len

if TYPE_CHECKING:
    from rtwidget.protocol import Dialect
    from rtwidget.widget.log import Direction, LogEntry
    from rtwidget.widget.widget import RealtimeWidget

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_IMPORT_BYTES",
    "MAX_PROBLEMS_SHOWN",
    "REPLAY_STATUS",
    "Frame",
    "Recording",
    "RecordingError",
    "Replay",
    "export_lines",
    "read_recording",
]

FORMAT_NAME = "rtwidget.recording"
FORMAT_VERSION = 2
"""Version 1 was the header-less export of rtwidget 0.1 (entry lines only); both are read."""
MAX_IMPORT_BYTES = 200 * 1024 * 1024
"""Largest file the console's file picker imports (``RealtimeWidget.replay(path)`` has no limit)."""
MAX_PROBLEMS_SHOWN = 20
"""Unreadable lines or messages a replay lists in its log (one local.error row each; the rest are counted)."""
REPLAY_STATUS = "replay"
"""The ``status`` of a console that shows a recording (it has no server)."""

_DIRECTIONS: dict[str, Direction] = {
    "client": "client", "c": "client", "send": "client", "sent": "client", ">": "client",
    "server": "server", "s": "server", "receive": "server", "received": "server", "<": "server",
    "local": "local", "l": "local", "=": "local",
}  # fmt: skip


class RecordingError(ValueError):
    """A file that is no recording at all (nothing in it could be read)."""


@dataclass
class Frame:
    """One recorded frame or local entry.

    Attributes:
        direction: ``client``, ``server`` or ``local``.
        time: Seconds since the session's start.
        type: The event's ``type`` (``local.*`` for local entries).
        event: The frame as a JSON object, or None when it was not one (then ``frame`` holds its text).
        frame: The text of a frame that is not a JSON object.
        audio: For an audio frame: ``bytes``, ``ms``, and ``omitted`` or ``dropped`` when its payload is
            not in the recording.
        error: Why the frame was refused when it was received (a bad frame).
        line: Where it is in its file (1-based line of a JSONL file, else its position).
    """

    direction: Direction
    time: float
    type: str
    event: dict[str, Any] | None = None
    frame: str | None = None
    audio: dict[str, Any] | None = None
    error: str | None = None
    line: int = 0


@dataclass
class Recording:
    """A recorded session: its header, its frames in order, and what could not be read."""

    header: dict[str, Any]
    frames: list[Frame]
    problems: list[str] = field(default_factory=list)
    source: str = "rtwidget"
    """``rtwidget``, ``har`` or ``cassette``."""

    @property
    def dialect(self) -> Dialect:
        """The session's dialect (``ga`` unless the recording says ``beta``)."""
        return "beta" if self.header.get("dialect") == "beta" else "ga"

    @property
    def started_unix(self) -> float:
        """Wall-clock start of the session (Unix seconds; 0 when the recording does not say)."""
        value = self.header.get("started_unix")
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


# --- writing ---------------------------------------------------------------------------------------


def export_lines(
    console: ConsoleState,
    header: Mapping[str, Any],
    secrets: list[str],
    *,
    audio: bool = True,
    notes: Mapping[int, dict[str, Any]] | None = None,
) -> Iterator[str]:
    """The recording of ``console`` as JSON lines (each ends with a newline), keys redacted.

    Args:
        console: the console whose log is written (every entry, also those cleared from the view).
        header: what the header line says about the session besides the format (model, backend...).
        secrets: the values to redact.
        audio: write audio payloads (base64, the exact bytes received or sent); False writes ``null`` in their
            place, with their size and duration in the line's ``audio``.
        notes: per entry index, the ``audio`` note of an entry whose payload was already absent (a replay of a
            recording without audio).
    """
    notes = notes or {}
    log = console.log
    head = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        **header,
        "entries": len(log.entries),
        "audio": "included" if audio else "omitted",
        "audio_dropped_ms": round(console.conversation.audio_dropped_ms, 3),
    }
    yield _dumps(redact(head, secrets))
    for entry in log.entries:
        line: dict[str, Any] = {
            "i": entry.index,
            "dir": entry.direction,
            "time": round(entry.time, 6),
            "type": entry.type,
        }
        data, note = _entry_event(console, entry, audio, notes.get(entry.index))
        line["event"] = data
        if note is not None:
            line["audio"] = note
        row = log.rows[entry.row] if 0 <= entry.row < len(log.rows) else None
        if row is not None and "x" in row.flags:
            # A bad frame: its text as it arrived (the event holds only a preview) and why it was refused.
            frame = entry._frame
            line["frame"] = frame if isinstance(frame, str) else (frame or b"").decode("utf-8", "replace")
            line["error"] = row.summary
        yield _dumps(redact(line, secrets))


def _entry_event(
    console: ConsoleState, entry: LogEntry, audio: bool, note: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """An entry's event for the export and its audio note (None for entries without audio)."""
    field_name = AUDIO_PAYLOAD_TYPES.get(entry.type)
    ref = entry.audio_ref
    if ref is not None:
        text = ref.text()  # the frame exactly as received, its base64 rebuilt from the conversation's PCM
        data: dict[str, Any] = json.loads(text) if text is not None else ref.data()
        fmt = (ref.part.audio_format if ref.part is not None else None) or console.output_format
        note = {"bytes": ref.nbytes, "ms": round(duration_ms(ref.nbytes, fmt), 3)}
        if text is None:
            data["delta"] = None
            note["dropped"] = True  # keep_audio_s dropped it before the export: only its size is known
        elif not audio:
            data["delta"] = None
            note["omitted"] = True
        return data, note
    data = entry.data
    if field_name is None or entry.direction == "local":
        return (_without_item_audio(data) if not audio else data), None
    if note is not None:  # already absent in what this console replayed
        return {**data, field_name: None}, dict(note)
    payload = data.get(field_name)
    if isinstance(payload, str):
        nbytes = b64_decoded_len(payload)
        fmt = (
            console.conversation.input_audio_format if entry.direction == "client" else console.output_format
        )
        note = {"bytes": nbytes, "ms": round(duration_ms(nbytes, fmt), 3)}
        if not audio:
            data = {**data, field_name: None}
            note["omitted"] = True
        return data, note
    return data, None


def _without_item_audio(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the base64 audio of an item's content parts left out (``conversation.item.*``)."""
    item = data.get("item")
    if not isinstance(item, dict) or not isinstance(item.get("content"), list):
        return data
    if not any(isinstance(p, dict) and isinstance(p.get("audio"), str) for p in item["content"]):
        return data
    parts = [
        {**p, "audio": None} if isinstance(p, dict) and isinstance(p.get("audio"), str) else p
        for p in item["content"]
    ]
    return {**data, "item": {**item, "content": parts}}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


def header_of(w: RealtimeWidget) -> dict[str, Any]:
    """What the export's header says about a widget's session (model, dialect, backend, start time)."""
    t0 = w._t0
    started = time.time() - (time.monotonic() - t0) if t0 is not None else time.time()
    replay = w._replay
    if replay is not None:  # a replay exported again keeps the recorded start
        started = replay.recording.started_unix or started
    return {
        "dialect": w.dialect,
        "model": w.model,
        "backend": w.backend,
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="milliseconds"),
        "started_unix": round(started, 3),
    }


# --- reading ---------------------------------------------------------------------------------------


def read_recording(source: str | Path | bytes, name: str | None = None) -> Recording:
    """Read a recording: an rtwidget JSONL export (any version), a HAR file or a pydantic-ai cassette.

    ``source`` is a path, or the file's bytes (then ``name`` helps tell the format). Lines or messages that
    cannot be read are listed in ``problems`` (with their line number) and skipped.

    Raises:
        RecordingError: nothing in it is a recording (or a cassette without PyYAML installed).
        OSError: the file cannot be read.
    """
    if isinstance(source, bytes):
        data, name = source, name or "recording"
    else:
        path = Path(source)
        data, name = path.read_bytes(), name or path.name
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    lowered = name.lower()
    stripped = text.lstrip()
    if lowered.endswith((".yaml", ".yml")) or stripped.startswith(("version:", "interactions:", "---")):
        return _read_cassette(text)
    if lowered.endswith(".har") or (stripped.startswith("{") and '"_webSocketMessages"' in text[:2_000_000]):
        try:
            whole = json.loads(text)
        except ValueError:
            whole = None
        if isinstance(whole, dict) and isinstance(whole.get("log"), dict):
            return _read_har(whole)
    return _read_jsonl(text)


def _read_jsonl(text: str) -> Recording:
    header: dict[str, Any] = {}
    frames: list[Frame] = []
    problems: list[str] = []
    last_time = 0.0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            problems.append(f"line {number}: not JSON ({exc})")
            continue
        if not isinstance(obj, dict):
            problems.append(f"line {number}: not a JSON object")
            continue
        if "format" in obj and "dir" not in obj:
            if obj.get("format") != FORMAT_NAME:
                problems.append(f"line {number}: unknown format {obj.get('format')!r}, read as {FORMAT_NAME}")
            header = obj
            continue
        frame = _frame_of(obj, number, last_time, problems)
        if frame is not None:
            frames.append(frame)
            last_time = frame.time
    if not frames and not header:
        raise RecordingError("no recorded frames: " + ("; ".join(problems[:3]) or "the file is empty"))
    return Recording(header, frames, problems)


def _frame_of(obj: dict[str, Any], number: int, last_time: float, problems: list[str]) -> Frame | None:
    direction = _DIRECTIONS.get(str(obj.get("dir", obj.get("direction", ""))).lower())
    if direction is None:
        problems.append(f"line {number}: no direction (dir client | server | local)")
        return None
    event = obj.get("event", obj.get("data"))
    frame = obj.get("frame")
    if isinstance(event, str) and frame is None:  # some tools keep the frame's text
        try:
            parsed = json.loads(event)
        except ValueError:
            parsed = None
        event, frame = (parsed, None) if isinstance(parsed, dict) else (None, event)
    if not isinstance(event, dict):
        event = None
    if event is None and not isinstance(frame, str):
        problems.append(f"line {number}: no event")
        return None
    type_ = obj.get("type") or (event or {}).get("type") or "(bad frame)"
    seconds = obj.get("time", last_time)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        problems.append(f"line {number}: time {seconds!r} is not a number; kept the previous one")
        seconds = last_time
    audio = obj.get("audio") if isinstance(obj.get("audio"), dict) else None
    error = obj.get("error") if isinstance(obj.get("error"), str) else None
    return Frame(direction, float(seconds), str(type_), event, frame if isinstance(frame, str) else None,
                 audio, error, number)  # fmt: skip


def _read_har(har: dict[str, Any]) -> Recording:
    """Chrome DevTools HAR: WebSocket frames in ``entries[]._webSocketMessages`` ({type, time, data})."""
    entries = [
        e for e in har["log"].get("entries") or [] if isinstance(e, dict) and e.get("_webSocketMessages")
    ]
    if not entries:
        raise RecordingError("the HAR file holds no WebSocket messages (entries[]._webSocketMessages)")
    problems: list[str] = []
    realtime = [e for e in entries if "realtime" in str((e.get("request") or {}).get("url", ""))]
    entry = (realtime or entries)[0]
    if len(entries) > 1:
        problems.append(f"the HAR file holds {len(entries)} WebSocket connections; imported the first")
    request = entry.get("request") or {}
    url = str(request.get("url", ""))
    query = parse_qs(urlsplit(url).query)
    headers = {
        str(h.get("name", "")).lower(): str(h.get("value", ""))
        for h in request.get("headers") or []
        if isinstance(h, dict)
    }
    messages = [m for m in entry["_webSocketMessages"] if isinstance(m, dict)]
    times = [m["time"] for m in messages if isinstance(m.get("time"), int | float)]
    start = min(times) if times else 0.0
    frames: list[Frame] = []
    for number, message in enumerate(messages, 1):
        direction = _DIRECTIONS.get(str(message.get("type", "")).lower())
        data = message.get("data")
        if direction is None or not isinstance(data, str):
            problems.append(f"message {number}: not a sent or received text frame")
            continue
        if message.get("opcode") == 2:  # binary: DevTools keeps it base64
            problems.append(f"message {number}: a binary frame (Realtime frames are text), kept as text")
        at = message.get("time")
        seconds = float(at) - start if isinstance(at, int | float) and not isinstance(at, bool) else 0.0
        frames.append(_text_frame(direction, seconds, data, number))
    header = {
        "dialect": "beta" if "realtime=v1" in headers.get("openai-beta", "") else "ga",
        "model": (query.get("model") or [""])[0],
        "backend": urlsplit(url).hostname or "",
        "started_unix": start,
    }
    started = entry.get("startedDateTime")
    if isinstance(started, str):
        header["started"] = started
    return Recording(header, frames, problems, source="har")


def _read_cassette(text: str) -> Recording:
    """pydantic-ai's realtime cassette: YAML ``interactions: [{kind, direction: sent | received, data}]``."""
    try:
        import yaml  # type: ignore[import-untyped]  # optional: only cassettes need it
    except ImportError:
        raise RecordingError(
            "this is a YAML cassette: reading it needs PyYAML (pip install pyyaml), which is not installed"
        ) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RecordingError(f"not a YAML cassette: {exc}") from None
    interactions = doc.get("interactions") if isinstance(doc, dict) else None
    if not isinstance(interactions, list):
        raise RecordingError("not a cassette: no `interactions` list")
    frames: list[Frame] = []
    problems: list[str] = []
    for number, item in enumerate(interactions, 1):
        if not isinstance(item, dict) or item.get("kind", "message") != "message":
            problems.append(f"interaction {number}: not a message, skipped")
            continue
        direction = _DIRECTIONS.get(str(item.get("direction", "")).lower())
        data = item.get("data")
        if direction is None or not isinstance(data, dict | str):
            problems.append(f"interaction {number}: no direction or data")
            continue
        seconds = item.get("time", 0.0)  # cassettes keep no times: every frame is at 0
        seconds = (
            float(seconds) if isinstance(seconds, int | float) and not isinstance(seconds, bool) else 0.0
        )
        raw = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        frames.append(_text_frame(direction, seconds, raw, number))
    return Recording({"dialect": "ga", "model": "", "backend": ""}, frames, problems, source="cassette")


def _text_frame(direction: Direction, seconds: float, text: str, number: int) -> Frame:
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict):
        return Frame(direction, seconds, str(parsed.get("type") or "(bad frame)"), parsed, line=number)
    return Frame(direction, seconds, "(bad frame)", frame=text, line=number)


# --- replay ----------------------------------------------------------------------------------------


class Replay:
    """A recording shown by a console, and how far into it the console is (``position`` frames fed)."""

    def __init__(self, recording: Recording, name: str) -> None:
        """Hold ``recording`` (from the file ``name``); nothing is fed yet."""
        self.recording = recording
        self.name = name
        self.position = 0
        self.notes: dict[int, dict[str, Any]] = {}
        """Per log entry: the audio note of a frame whose payload is not in the recording."""
        self._times = [f.time for f in recording.frames]
        self._generated: deque[tuple[str, Any]] = deque()

    @property
    def label(self) -> str:
        """The backend label of the console: ``replay: <file name>``."""
        return f"replay: {self.name}"

    @property
    def duration_s(self) -> float:
        """Time of the last recorded frame."""
        return self._times[-1] if self._times else 0.0

    def count_until(self, t: float) -> int:
        """How many frames were recorded at or before ``t`` seconds."""
        return bisect_right(self._times, t)

    def feed(self, console: ConsoleState, frame: Frame) -> Any:
        """Apply one recorded frame to ``console`` as a live one is; returns its server event or None."""
        self.position += 1
        if frame.direction == "local":
            self._local(console, frame)
            return None
        if frame.direction == "client":
            self._client(console, frame)
            return None
        return self._server(console, frame)

    def _local(self, console: ConsoleState, frame: Frame) -> None:
        data = dict(frame.event or {})
        if self._generated and self._generated[0] == (frame.type, data):
            self._generated.popleft()  # the console logged it again while replaying the frame before
            return
        if frame.type == "local.error" and isinstance(data.get("code"), str):
            code, message = data.pop("code"), str(data.pop("message", ""))
            console.local_error(code, message, frame.time, data)
        else:
            console.local(frame.type, data, frame.time)

    def _client(self, console: ConsoleState, frame: Frame) -> None:
        event = frame.event
        absent = self._absent(frame)
        if event is not None and absent:
            event = {**event, absent: ""}  # fed empty, shown as absent (below)
        raw = frame.frame if event is None else json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        try:
            typed = parse_client_event(event if event is not None else raw or "", console.dialect)
        except ProtocolError:
            typed = None
        console.frame("client", raw or "", typed, None, frame.time)
        if absent:
            self._mark_absent(console, frame, absent)

    def _server(self, console: ConsoleState, frame: Frame) -> Any:
        event = frame.event
        absent = self._absent(frame)
        if event is not None and absent:
            event = {**event, absent: ""}
        raw = frame.frame if event is None else json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        raw = raw or ""
        error: Exception | None = None
        typed: Any = None
        if frame.error is not None:
            error = _FrameError(frame.error)
        else:
            # As Connection._parse: an unparsable frame, or a known type that fails its schema, is refused.
            try:
                typed = parse_server_event(raw, console.dialect)
            except ProtocolError as exc:
                error = _FrameError(f"bad frame: {exc}")
            else:
                if isinstance(typed, UnknownEvent) and typed.error is not None:
                    error, typed = _FrameError(f"bad {typed.type} event: {typed.error}"), None
        before = len(console.log.entries)
        console.frame("server", raw, typed, error, frame.time)
        if typed is None:
            return None
        console.event(typed, self.recording.started_unix + frame.time)
        if absent:
            self._mark_absent(console, frame, absent, before)
        for entry in console.log.entries[before + 1 :]:  # logged by the console itself while applying it
            if entry.direction == "local":
                self._generated.append((entry.type, entry.data))
        return typed

    @staticmethod
    def _absent(frame: Frame) -> str | None:
        """The payload field of an audio frame recorded without its audio, else None."""
        field_name = AUDIO_PAYLOAD_TYPES.get(frame.type)
        if field_name is None or frame.event is None or isinstance(frame.event.get(field_name), str):
            return None
        return field_name

    def _mark_absent(
        self, console: ConsoleState, frame: Frame, field_name: str, at: int | None = None
    ) -> None:
        """Show a frame fed without its audio as recorded: its entry says so, its row keeps the size."""
        log = console.log
        entry = log.entries.pin(len(log.entries) - 1 if at is None else at)
        note = dict(frame.audio or {})
        nbytes = note["bytes"] if isinstance(note.get("bytes"), int) else 0
        why = (
            "dropped by keep_audio_s before the export"
            if note.get("dropped")
            else "left out of the recording"
        )
        entry._audio, entry._frame, entry._event = None, None, None
        entry._data = {**(frame.event or {}), field_name: f"<{nbytes} bytes of audio {why}>"}
        row = log.rows[entry.row]
        row.nbytes += nbytes
        ms = note.get("ms")
        row.audio_ms += float(ms) if isinstance(ms, int | float) else duration_ms(nbytes)
        self.notes[entry.index] = {"bytes": nbytes, "ms": ms, **({"dropped": True} if note.get("dropped") else
                                                               {"omitted": True})}  # fmt: skip


class _FrameError(Exception):
    """A recorded refusal, shown as the live console showed it (``FrameError: ...``)."""


_FrameError.__name__ = "FrameError"


# --- the widget's side -----------------------------------------------------------------------------


def open_replay(w: RealtimeWidget, recording: Recording, name: str) -> None:
    """Make ``w`` show ``recording`` (all of it, at once): status ``replay``, backend ``replay: <name>``."""
    replay = Replay(recording, name)
    w._replay = replay
    header = recording.header
    w.dialect = replay.recording.dialect
    if isinstance(header.get("model"), str) and header["model"]:
        w.model = header["model"]
    w.backend = replay.label
    w.close_code, w.close_reason, w.close_hint = None, "", ""
    w.status = REPLAY_STATUS
    rebuild(w, len(recording.frames))


def rebuild(w: RealtimeWidget, count: int) -> None:
    """Rebuild ``w``'s console from the first ``count`` recorded frames (no audio goes to the views)."""
    replay = w._replay
    if replay is None:
        raise RuntimeError("this console shows no recording: open one with RealtimeWidget.replay(path)")
    console = ConsoleState(replay.recording.dialect, [], w._console.keep_audio_s)
    replay.position, replay.notes = 0, {}
    replay._generated.clear()
    problems = replay.recording.problems
    for problem in problems[:MAX_PROBLEMS_SHOWN]:  # what could not be read, first (once per rebuild)
        console.local_error("import", problem, 0.0)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        console.local_error("import", f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more", 0.0)
    for frame in replay.recording.frames[:count]:
        replay.feed(console, frame)
    console.take_audio()  # a rebuilt state is not played
    w._console = console
    _refresh(w)


def _refresh(w: RealtimeWidget) -> None:
    w._console.log.take_changes()  # the views get one fresh window, not every row as new
    w._console.dirty |= {"reply", "errors", "session"}
    w._views.flush()
    if w._ready:
        w._views.post({"type": "log.window", "view": "*", **w._log.tail(300)})


def seek(w: RealtimeWidget, t: float) -> None:
    """Show the state as of ``t`` seconds into the recording (rebuilt from its start)."""
    replay = w._replay
    if replay is None:
        raise RuntimeError("this console shows no recording: open one with RealtimeWidget.replay(path)")
    rebuild(w, replay.count_until(t))


async def play(w: RealtimeWidget, speed: float = 1.0) -> None:
    """Play the recording from where the console is (from the start once at the end) at ``speed``."""
    replay = w._replay
    if replay is None:
        raise RuntimeError("this console shows no recording: open one with RealtimeWidget.replay(path)")
    if not speed > 0:
        raise ValueError(f"speed must be a positive number, not {speed!r}")
    frames = replay.recording.frames
    if replay.position >= len(frames):
        rebuild(w, 0)
    loop = asyncio.get_running_loop()
    w._kernel.loop = loop
    start_t = frames[replay.position].time if replay.position < len(frames) else 0.0
    start_loop = loop.time()
    while replay.position < len(frames):
        frame = frames[replay.position]
        wait_s = (frame.time - start_t) / speed - (loop.time() - start_loop)
        if wait_s > 0 and math.isfinite(wait_s):
            await asyncio.sleep(wait_s)
        console = w._console
        event = replay.feed(console, frame)
        views = w._views
        if console.audio_end_pending:
            views.send_audio()
        elif console.audio_pending:
            views.schedule_audio()
        views.sync()
        views.schedule_flush()
        if event is not None:
            w._hub.publish(event)
    w._views.flush()


# --- the console's file picker and export button ---------------------------------------------------


def write(w: RealtimeWidget, path: str | Path, *, audio: bool = True) -> int:
    """Write ``w``'s recording to ``path`` (see :func:`export_lines`); returns the number of entries."""
    notes = w._replay.notes if w._replay is not None else None
    lines = export_lines(w._console, header_of(w), w._secrets(), audio=audio, notes=notes)
    with Path(path).open("w", encoding="utf-8") as fh:
        fh.writelines(lines)
    return len(w._console.log.entries)


def on_view_msg(w: RealtimeWidget, content: Any, buffers: list[Any]) -> None:
    """Handle ``export`` and ``import`` from a view (docs/view-protocol.md); other messages are not ours."""
    if w._kernel.hand_off(lambda _w, c, b: on_view_msg(w, c, b), w, content, buffers):
        return  # arrived on a subshell's thread: handled on the kernel loop (as the shell's own handler)
    if not isinstance(content, dict) or content.get("type") not in ("export", "import"):
        return
    try:
        _view_message(w, content, buffers)
    except Exception as exc:  # a bad file must not break the console
        w._local_error("import", w._scrub(f"{type(exc).__name__}: {exc}"))


def _view_message(w: RealtimeWidget, content: dict[str, Any], buffers: list[Any]) -> None:
    kind, view = content.get("type"), content.get("view")
    if kind == "export":
        lines = export_lines(w._console, header_of(w), w._secrets(), audio=content.get("audio") is not False,
                             notes=w._replay.notes if w._replay is not None else None)  # fmt: skip
        data = "".join(lines).encode("utf-8")
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        w._views.post({"type": "export.data", "view": view, "name": f"rtwidget-{stamp}.jsonl"}, [data])
    elif kind == "import":
        name = str(content.get("name") or "recording.jsonl")[:200]
        message = _import(w, name, buffers)
        w._views.post(
            {"type": "import.result", "view": view, "ok": message is None, "message": message or ""}
        )


def _import(w: RealtimeWidget, name: str, buffers: list[Any]) -> str | None:
    """Replace the console's session with the file's; the refusal's reason, or None when it imported."""
    if not buffers:
        return _refuse(w, "the import carried no file")
    data = bytes(buffers[0])
    if len(data) > MAX_IMPORT_BYTES:
        most_mb = MAX_IMPORT_BYTES // 1024 // 1024
        size_mb = len(data) / 1024 / 1024
        return _refuse(w, f"{name} is {size_mb:.0f} MB; the console imports at most {most_mb} MB")
    if w._conn is not None or w.status in ("connecting", "open", "closing"):
        return _refuse(w, "disconnect first: an import replaces this console's session")
    try:
        recording = read_recording(data, name)
    except RecordingError as exc:
        return _refuse(w, f"{name}: {exc}")
    open_replay(w, recording, name)
    return None


def _refuse(w: RealtimeWidget, message: str) -> str:
    w._local_error("import", w._scrub(message))
    return message
