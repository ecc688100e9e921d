"""The widget's event log: every frame both ways, aggregated into rows, filtered and windowed for views.

The kernel keeps the whole log (``EventLog.entries``); a view only ever holds a window of rows, so the
console stays fast after 100k events. A row is one entry, or a run of deltas of one type for one item
(``response.output_audio.delta x57 · 1.9 s · 91 KB``) whose members stay reachable one by one.
"""

from __future__ import annotations

import contextlib
import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Any

from rtwidget.protocol import Dialect, dialect_names
from rtwidget.redaction import REDACTED, redact
from rtwidget.widget.logformat import (
    AUDIO_PAYLOAD_TYPES,
    SUMMARY_CHARS,
    AudioRef,
    b64_decoded_len,
    elide_audio,
    search_text,
    summarize,
)
from rtwidget.widget.logruns import DeltaRun, Direction, Entries, Row, is_delta, split_frame

__all__ = [
    "AUDIO_PAYLOAD_TYPES",
    "FILTER_PRESETS",
    "REDACTED",
    "Direction",
    "EventLog",
    "LogEntry",
    "Row",
    "b64_decoded_len",
    "elide_audio",
    "redact",
    "summarize",
]

FILTER_PRESETS = ("all", "no_audio", "no_deltas", "errors")

TEXT_DELTA_TYPES = dialect_names(
    "response.output_text.delta",
    "response.output_audio_transcript.delta",
    "response.function_call_arguments.delta",
    "response.mcp_call_arguments.delta",
    "conversation.item.input_audio_transcription.delta",
)


class LogEntry:
    """One frame sent or received, or a local event (state change, refusal, stop).

    Attributes:
        index: Position in the widget's log (0-based).
        direction: ``"client"`` (sent), ``"server"`` (received) or ``"local"``.
        type: The event's wire ``type`` (``local.*`` for local entries).
        time: Seconds since the connection was opened.
        unknown: The server sent a type outside the dialect's event set.
    """

    __slots__ = (
        "_audio",
        "_data",
        "_dialect",
        "_event",
        "_frame",
        "direction",
        "index",
        "row",
        "time",
        "type",
        "unknown",
    )

    def __init__(
        self,
        index: int,
        direction: Direction,
        type_: str,
        time: float,
        *,
        data: dict[str, Any] | None = None,
        event: Any = None,
        raw: str | bytes | None = None,
        unknown: bool = False,
        dialect: Dialect = "ga",
    ) -> None:
        """Create an entry; ``data`` is computed lazily from ``event`` or ``raw`` when not given."""
        self.index = index
        self.direction: Direction = direction
        self.type = type_
        self.time = time
        self.unknown = unknown
        self.row = -1
        self._data = data
        self._event = event
        self._frame = raw
        self._audio: AudioRef | None = None
        self._dialect: Dialect = dialect  # to parse the frame again as the session's dialect

    @property
    def data(self) -> dict[str, Any]:
        """The event as a JSON object as on the wire, the key's value masked (computed on first access)."""
        if self._audio is not None:
            return self._audio.data()  # rebuilt on each access: audio frames are not kept decoded
        if self._data is None:
            if self._event is not None:
                self._data = self._event.to_dict()
            elif self._frame is not None:
                try:
                    parsed = json.loads(self._frame)
                except (ValueError, RecursionError):
                    parsed = None
                if isinstance(parsed, dict):
                    self._data = parsed
                else:
                    frame = self._frame
                    text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
                    self._data = {"raw": text[:2000], "raw_length": len(frame)}
            else:
                self._data = {}
        return self._data

    @property
    def audio_ref(self) -> AudioRef | None:
        """Where an audio frame's PCM lives (None for other entries and frames kept whole)."""
        return self._audio

    @property
    def event(self) -> Any:
        """The typed event (``rtwidget.protocol``), or None for local entries and unparsable frames."""
        if self._audio is not None:
            return self._audio.event()
        if self._event is None and self._frame is not None and self.direction == "server":
            from rtwidget.protocol import ProtocolError, parse_server_event

            with contextlib.suppress(ProtocolError):
                # Not kept: the frame is the entry's one copy.
                return parse_server_event(self._frame, self._dialect)
        return self._event

    def search_text(self) -> str:
        """The lower-cased JSON the search reads, audio payloads left out (computed per search, not kept)."""
        return search_text(self.type, self._frame, self._data, self._audio)

    def __repr__(self) -> str:
        return f"LogEntry(#{self.index} {self.direction} {self.type!r} at {self.time:.3f}s)"


class EventLog:
    """All entries, their rows, the rows matching the filter, and what changed since the last flush."""

    def __init__(self) -> None:
        """Create an empty log."""
        self.entries = Entries()
        self.rows: list[Row] = []
        self.preset = "all"
        self.search = ""
        self.cleared_at = 0
        self.secrets: list[str] = []
        self.dialect: Dialect = "ga"
        """The session's dialect, for parsing logged frames again."""
        self._matching: list[int] = []
        self._open_runs: dict[tuple[str, str, str | None], Row] = {}
        self._new: list[int] = []
        self._updated: set[int] = set()

    def add(
        self,
        entry_direction: Direction,
        type_: str,
        time: float,
        *,
        data: dict[str, Any] | None = None,
        event: Any = None,
        raw: str | bytes | None = None,
        unknown: bool = False,
        flags: str = "",
        summary: str = "",
        item_id: str | None = None,
        nbytes: int = 0,
        audio_ms: float = 0.0,
        text: str | None = None,
        cause: int | None = None,
    ) -> tuple[LogEntry, Row]:
        """Append an entry; fold it into the open run of its type and item when it is a delta."""
        entry = LogEntry(
            len(self.entries), entry_direction, type_, time, data=data, event=event, raw=raw, unknown=unknown,
            dialect=self.dialect,
        )  # fmt: skip
        self.entries.append(entry)
        if unknown and "u" not in flags:
            flags += "u"
        row = self._row_for(
            entry_direction, type_, time, item_id=item_id, summary=summary, flags=flags, cause=cause
        )
        self._fold(row, entry.index, nbytes, audio_ms, text)
        entry.row = row.id
        self._recheck(row, entry.index)  # the row was filtered before it had this member
        return entry, row

    def add_delta(
        self, type_: str, time: float, raw: str, *, item_id: str | None, text: str | None = None,
        audio: tuple[Any, int, int] | None = None, nbytes: int = 0, audio_ms: float = 0.0,
    ) -> Row | None:  # fmt: skip
        """Append a received delta to its run's compact storage; None (nothing added) if it does not fit.

        ``audio`` is ``(conversation, content_index, offset)`` for an audio delta whose PCM the conversation
        holds at ``offset`` of its part (the frame's base64 is not kept).
        """
        row = self._open_runs.get(("server", type_, item_id))
        if row is None:  # a run's first delta: its pieces
            pieces, spans, delta_at = split_frame(raw)
            if delta_at < 0:
                return None
            row = self._row_for(
                "server", type_, time, item_id=item_id, summary=text or "", flags="", cause=None
            )
            conversation, content_index, _ = audio or (None, 0, 0)
            run = row.run = DeltaRun(
                type_, row.id, pieces, delta_at, self.dialect, conversation=conversation,
                item_id=item_id or "", content_index=content_index,
            )  # fmt: skip
        elif row.run is None:
            return None  # a row whose first delta did not fit a run: its deltas are kept whole
        else:
            # The run's next delta, matched against its pieces where it lies (nothing split, nothing made).
            run = row.run
            found = run.match(raw)
            if found is None:
                return None  # not this run's shape: kept whole
            spans = found
            if row.id not in self._new:
                self._updated.add(row.id)
        index = len(self.entries)
        offset = audio[2] if audio else 0
        if not run.add(index, time, raw, spans, offset=offset, nbytes=nbytes):
            return None
        self.entries.append(run)
        self._fold(row, index, nbytes, audio_ms, text)
        self._recheck(row, index)
        return row

    def _row_for(
        self, direction: Direction, type_: str, time: float, *, item_id: str | None, summary: str, flags: str,
        cause: int | None,
    ) -> Row:  # fmt: skip
        if is_delta(type_) and not flags:
            key = (direction, type_, item_id)
            row = self._open_runs.get(key)
            if row is None:
                row = self._new_row(direction, type_, time, summary=summary, flags=flags, cause=cause)
                self._open_runs[key] = row
            elif row.id not in self._new:
                self._updated.add(row.id)
            return row
        # Any other event ends the runs: deltas after it start new rows, so order stays readable.
        self._open_runs.clear()
        return self._new_row(direction, type_, time, summary=summary, flags=flags, cause=cause)

    def _fold(self, row: Row, index: int, nbytes: int, audio_ms: float, text: str | None) -> None:
        row.members.append(index)
        row.nbytes += nbytes
        row.audio_ms += audio_ms
        if text and len(row.summary) <= SUMMARY_CHARS:
            # The summary shows the run's start: later text is not joined.
            joined = row.summary + text if len(row.members) > 1 else text
            row.summary = joined if len(joined) <= SUMMARY_CHARS else joined[:SUMMARY_CHARS] + "…"

    def add_audio(
        self,
        *,
        type_: str,
        time: float,
        raw: str | bytes,
        item_id: str,
        content_index: int,
        conversation: Any,
        offset: int,
        nbytes: int,
        audio_ms: float,
    ) -> tuple[LogEntry, Row]:
        """Append a received audio delta whose PCM the conversation holds (at ``offset`` in its part).

        The entry keeps the frame without its base64 (a few hundred bytes) and rebuilds it on demand,
        byte for byte, from the conversation's copy, so the session's audio is held once, as PCM.
        """
        entry, row = self.add("server", type_, time, item_id=item_id, nbytes=nbytes, audio_ms=audio_ms)
        entry._audio = AudioRef.cut(
            raw,
            conversation=conversation,
            item_id=item_id,
            content_index=content_index,
            offset=offset,
            nbytes=nbytes,
        )
        if entry._audio is None:  # the frame is not in the plain shape: keep it whole
            entry._frame = raw
        return entry, row

    def revise(self, row_id: int, summary: str, flags: str = "") -> None:
        """A row's state moved on (a tool call ended): a new summary, added flags; views get the update."""
        row = self.rows[row_id]
        row.summary = summary
        row.flags += "".join(f for f in flags if f not in row.flags)
        if row.id not in self._new:
            self._updated.add(row.id)

    def _new_row(
        self, direction: Direction, type_: str, time: float, *, summary: str, flags: str, cause: int | None
    ) -> Row:
        if len(summary) > SUMMARY_CHARS:
            summary = summary[:SUMMARY_CHARS] + "…"
        row = Row(len(self.rows), direction, type_, time, summary=summary, flags=flags, cause=cause)
        self.rows.append(row)
        if self.matches(row):
            self._matching.append(row.id)
            self._new.append(row.id)
        return row

    # --- filtering -------------------------------------------------------------------------------

    def _in_preset(self, row: Row) -> bool:
        preset = self.preset
        if preset == "no_audio" and row.type in AUDIO_PAYLOAD_TYPES:
            return False
        if preset == "no_deltas" and row.is_delta:
            return False
        return preset != "errors" or "e" in row.flags or "x" in row.flags

    def _recheck(self, row: Row, index: int) -> None:
        """A run grew while a search is set: it joins the matching rows if its new member, or the text that
        ends with it, matches (only the run's end is read, so a long run costs no more per delta)."""
        needle = self.search
        if not needle or not self._in_preset(row):
            return
        m = self._matching
        pos = bisect_left(m, row.id)
        if pos < len(m) and m[pos] == row.id:
            return
        if needle in self.entries[index].search_text() or needle in self._text_tail(row, len(needle)):
            m.insert(pos, row.id)
            self._new.append(row.id)

    def _text_tail(self, row: Row, need: int) -> str:
        """The end of a text run's joined deltas: enough to hold a match that ends in its last delta."""
        if row.type not in TEXT_DELTA_TYPES:
            return ""
        tail, last = "", -1
        for index in reversed(row.members):
            delta = self.entries[index].data.get("delta")
            piece = delta if isinstance(delta, str) else ""
            last = len(piece) if last < 0 else last
            tail = piece + tail
            if len(tail) >= need + last:
                break
        return tail.lower()

    def matches(self, row: Row) -> bool:
        """Whether a row passes the current preset and search (type, summary, a run's text, every member's
        JSON without audio payloads)."""
        if not self._in_preset(row):
            return False
        needle = self.search
        if not needle or needle in row.searchable() or needle in self.row_text(row).lower():
            return True
        entries, members = self.entries, row.members
        if len(members) == 1:  # most rows
            return needle in entries[members[0]].search_text()
        return any(needle in entries[i].search_text() for i in members)

    def set_filter(self, preset: str, search: str) -> None:
        """Change the filter and recompute the matching rows (one pass over the rows since the last clear)."""
        if preset not in FILTER_PRESETS:
            raise ValueError(f"unknown filter preset {preset!r}; expected one of {', '.join(FILTER_PRESETS)}")
        self.preset = preset
        self.search = search.strip().lower()
        rows = self.rows
        self._matching = [r.id for r in rows[self.cleared_at :] if self.matches(r)]
        self._new.clear()
        self._updated.clear()

    def clear(self) -> None:
        """Hide every row so far from views (entries stay in ``entries`` for the Python API and export)."""
        self.cleared_at = len(self.rows)
        self._matching = []
        self._open_runs.clear()
        self._new.clear()
        self._updated.clear()

    @property
    def total(self) -> int:
        """Number of rows matching the filter."""
        return len(self._matching)

    def take_changes(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """New matching rows and updated runs since the last call, as view JSON."""
        rows = self.rows
        new = [self._view(rows[i]) for i in self._new]
        m = self._matching  # membership, not matches(): a search would read every member of a long run
        updated = [
            self._view(rows[i])
            for i in sorted(self._updated)
            if (p := bisect_left(m, i)) < len(m) and m[p] == i
        ]
        self._new = []
        self._updated = set()
        return new, updated

    # --- windows ---------------------------------------------------------------------------------

    def tail(self, limit: int) -> dict[str, Any]:
        """The last ``limit`` matching rows."""
        m = self._matching
        start = max(0, len(m) - limit)
        return self._window(start, len(m))

    def before(self, row_id: int, limit: int) -> dict[str, Any]:
        """Up to ``limit`` matching rows older than ``row_id``."""
        m = self._matching
        end = bisect_left(m, row_id)
        return self._window(max(0, end - limit), end)

    def after(self, row_id: int, limit: int) -> dict[str, Any]:
        """Up to ``limit`` matching rows newer than ``row_id``."""
        m = self._matching
        start = bisect_right(m, row_id)
        return self._window(start, min(len(m), start + limit))

    def around(self, row_id: int, limit: int) -> dict[str, Any]:
        """A window of matching rows centred on ``row_id``."""
        m = self._matching
        pos = bisect_left(m, row_id)
        start = max(0, min(pos - limit // 2, len(m) - limit))
        return self._window(start, min(len(m), start + limit))

    def _view(self, row: Row) -> dict[str, Any]:
        out = row.view()
        # Summaries quote user text and streamed model text; a key pasted there must not reach a view.
        if "s" in out:
            out["s"] = redact(out["s"], self.secrets)
        return out

    def _window(self, start: int, end: int) -> dict[str, Any]:
        rows = self.rows
        m = self._matching
        return {
            "rows": [self._view(rows[i]) for i in m[start:end]],
            "offset": start,
            "total": len(m),
            "tail": end >= len(m),
        }

    # --- detail -----------------------------------------------------------------------

    def detail(self, row_id: int, member: int, secrets: Iterable[str] = ()) -> dict[str, Any]:
        """Pretty JSON of one member of a row, audio payloads elided and secrets redacted."""
        if not 0 <= row_id < len(self.rows):
            raise IndexError(f"no log row {row_id}")
        row = self.rows[row_id]
        member = max(0, min(member, len(row.members) - 1))
        entry = self.entries[row.members[member]]
        data = redact(elide_audio(entry.type, entry.data), secrets)
        out: dict[str, Any] = {
            "row": row_id,
            "member": member,
            "count": len(row.members),
            "entry": entry.index,
            "json": json.dumps(data, indent=2, ensure_ascii=False),
        }
        text = self.row_text(row)
        if text:
            out["text"] = redact(text, secrets)
        if row.cause is not None:
            out["cause"] = {"row": row.cause, "type": self.rows[row.cause].type}
        return out

    def row_text(self, row: Row) -> str:
        """The text deltas of a row joined ("" for other rows)."""
        if row.type not in TEXT_DELTA_TYPES:
            return ""
        run = row.run
        if run is not None and len(run) == len(row.members):
            return run.text()
        pieces = []
        for index in row.members:
            delta = self.entries[index].data.get("delta")
            pieces.append(delta if isinstance(delta, str) else "")
        return "".join(pieces)
