"""Replay: a console rebuilt from a recording, with no server (``RealtimeWidget.replay``, Import).

A replay feeds the recording's frames through the path live frames take (:meth:`ConsoleState.frame` for every
frame, then :meth:`ConsoleState.event` for each server event), so the log rows, the conversation and the audio
come back as they were, from the console's own code. ``seek(t)`` rebuilds the state as of ``t``; ``play``
feeds the frames on the recorded clock. The recording format and its readers are rtwidget.widget.recording's.
"""

from __future__ import annotations

import asyncio
import json
import math
from bisect import bisect_right
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rtwidget.protocol import ProtocolError, UnknownEvent, parse_client_event, parse_server_event
from rtwidget.protocol.formats import duration_ms
from rtwidget.widget import recording as recordings  # MAX_IMPORT_BYTES read at call time
from rtwidget.widget.console import DEFAULT_KEEP_AUDIO_S, ConsoleState
from rtwidget.widget.logformat import AUDIO_PAYLOAD_TYPES
from rtwidget.widget.metrics import Timeline
from rtwidget.widget.recording import (
    MAX_PROBLEMS_SHOWN,
    REPLAY_STATUS,
    Frame,
    Recording,
    RecordingError,
    export_lines,
    header_of,
    read_recording,
)

if TYPE_CHECKING:
    from rtwidget.widget.widget import RealtimeWidget

__all__ = ["Replay", "ReplayMethods", "on_view_msg", "open_replay", "play", "rebuild", "seek"]


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
        self.timeline: Timeline | None = None
        """The console's metrics timeline, fed each frame as a live console feeds it (``w.metrics``)."""

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
        if typed is not None and self.timeline is not None:
            self.timeline.frame("client", typed, frame.time, console.conversation)
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
        if self.timeline is not None:  # before the conversation applies it, as Metrics.frame
            self.timeline.frame("server", typed, frame.time, console.conversation)
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
    replay.timeline = w._metrics.timeline = Timeline()
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
    if len(data) > recordings.MAX_IMPORT_BYTES:
        most_mb = recordings.MAX_IMPORT_BYTES // 1024 // 1024
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


class ReplayMethods:
    """RealtimeWidget's record-and-replay methods (the widget's shell stays small; the logic is above)."""

    _replay: Replay | None = None  # the recording this console shows (None: a live console)

    @classmethod
    def replay(cls, path: str | Path, *, keep_audio_s: float = DEFAULT_KEEP_AUDIO_S) -> RealtimeWidget:
        """A console holding the session recorded in ``path`` (rtwidget JSONL, HAR, pydantic-ai cassette), no
        server: status ``replay``, everything rebuilt at once; then ``await w.play()`` or ``w.seek(t)``."""
        recorded = read_recording(path)
        w = cast("RealtimeWidget", cls(keep_audio_s=keep_audio_s))  # type: ignore[call-arg]  # a mixin's cls
        open_replay(w, recorded, Path(path).name)
        return w

    async def play(self, speed: float = 1.0) -> None:
        """Play the recording from the current point (from the start when at its end) at ``speed`` x pace."""
        await play(cast("RealtimeWidget", self), speed)  # the module's play (names resolve to globals)

    def seek(self, t: float) -> None:
        """Show the recorded session as it was ``t`` seconds in (its log, conversation and audio)."""
        seek(cast("RealtimeWidget", self), t)
