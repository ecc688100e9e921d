"""Recordings of a session: the JSONL export, and readers of it and of other tools' recordings.

The format is documented in docs/recording-format.md. In short: a header line
``{"format": "rtwidget.recording", "version": 2, ...}``, then one line per log entry
``{"i", "dir", "time", "type", "event"}`` (plus ``audio``, ``frame``, ``error`` where they apply), keys
redacted.

Writing is strict (one shape, every line valid JSON); reading is liberal: version 1 exports (no header),
Chrome DevTools HAR files (``entries[]._webSocketMessages``) and pydantic-ai's realtime cassettes (YAML
``interactions``) all become a :class:`Recording`, and a line that cannot be read is reported with its number
while the rest imports.

Replaying one in a console is rtwidget.widget.replay's.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from rtwidget.protocol.formats import duration_ms
from rtwidget.redaction import redact
from rtwidget.widget.console import ConsoleState
from rtwidget.widget.logformat import AUDIO_PAYLOAD_TYPES, b64_decoded_len, dropped_size

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
            "time": entry.time,  # exact: a replay rounds it as the live view did
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
        dropped = dropped_size(payload)
        nbytes = b64_decoded_len(payload) if dropped is None else dropped
        fmt = (
            console.conversation.input_audio_format if entry.direction == "client" else console.output_format
        )
        note = {"bytes": nbytes, "ms": round(duration_ms(nbytes, fmt), 3)}
        if dropped is not None:  # keep_audio_s dropped the sent audio before the export
            data = {**data, field_name: None}
            note["dropped"] = True
        elif not audio:
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


# --- the console's file picker and export button ---------------------------------------------------


def write(w: RealtimeWidget, path: str | Path, *, audio: bool = True) -> int:
    """Write ``w``'s recording to ``path`` (see :func:`export_lines`); returns the number of entries."""
    notes = w._replay.notes if w._replay is not None else None
    lines = export_lines(w._console, header_of(w), w._secrets(), audio=audio, notes=notes)
    with Path(path).open("w", encoding="utf-8") as fh:
        fh.writelines(lines)
    return len(w._console.log.entries)
