"""The log's rows, and compact storage of its delta runs: one object per run, a few bytes per delta.

Deltas are most of a session's frames (ten audio deltas per second of speech, one text delta per word, 100k
in a long reply), and all frames of one run differ only in a few string values: ``event_id``, the payload
``delta`` and, on OpenAI's text deltas, ``obfuscation``. A :class:`DeltaRun` keeps the frame's constant
pieces once and, per delta, those values packed in one ``bytearray`` plus offsets in ``array``\\ s; an audio
delta's payload is not kept at all, it is a range of the conversation's PCM. :class:`Entries` is the log's
sequence of entries: a ``LogEntry`` per other frame, and the run itself in the slot of each of its deltas,
made into a ``LogEntry`` again when read. Frames are rebuilt byte for byte; a delta whose frame does not fit
its run's pieces is kept whole.
"""

from __future__ import annotations

import base64
import json
import re
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from rtwidget.widget.logformat import AudioRef

if TYPE_CHECKING:
    from rtwidget.widget.log import LogEntry

__all__ = ["DeltaRun", "Direction", "Entries", "Row", "is_delta", "split_frame"]

Direction = Literal["client", "server", "local"]

_DIR_CODE = {"client": "c", "server": "s", "local": "l"}


def is_delta(type_: str) -> bool:
    """Whether events of this type come in runs that the log aggregates into one row."""
    return type_.endswith(".delta") or type_ == "input_audio_buffer.append"


# Where a varying string value starts. Only the key is matched (a regex over an audio payload's 6 KB of
# base64 costs more than the rest of the frame's handling); a key cannot occur inside a JSON string, where
# its quotes would be escaped.
_VARYING_KEY = re.compile(r'"(event_id|delta|obfuscation)"\s*:\s*"')


def _string_end(text: str, start: int) -> int:
    """Index of the quote that ends the JSON string whose first character is at ``start`` (-1: none)."""
    end = text.find('"', start)
    while end > 0:
        backslashes = 0
        while text[end - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return end
        end = text.find('"', end + 1)
    return -1


def split_frame(text: str) -> tuple[tuple[str, ...], list[tuple[int, int]], int]:
    """The constant pieces of a delta frame, the spans of its varying string values, which one is the delta.

    With ``values = [text[a:b] for a, b in spans]``: ``pieces[0] + values[0] + pieces[1] + ... +
    values[-1] + pieces[-1] == text``; the delta index is -1 when the frame has no string ``delta``.
    """
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    delta_at = -1
    last = 0
    search = _VARYING_KEY.search
    # Search on from the end of each value: a regex run over an audio payload's 6 KB of base64 would cost
    # more than the rest of the frame's handling (the value's end is found by str.find, in C).
    match = search(text)
    while match is not None:
        start = match.end()
        end = _string_end(text, start)
        if end < 0:
            break
        pieces.append(text[last:start])
        if match.group(1) == "delta":
            delta_at = len(spans)
        spans.append((start, end))
        last = end
        match = search(text, end + 1)
    pieces.append(text[last:])
    return tuple(sys.intern(p) for p in pieces), spans, delta_at


class DeltaRun:
    """The deltas of one log row whose frames share their constant pieces (see the module docstring)."""

    __slots__ = (
        "content_index",
        "conversation",
        "delta_at",
        "dialect",
        "ends",
        "indices",
        "item_id",
        "nbytes",
        "offsets",
        "part",
        "pieces",
        "row",
        "times",
        "type",
        "values",
    )

    def __init__(
        self, type_: str, row: int, pieces: tuple[str, ...], delta_at: int, dialect: Any, *,
        conversation: Any = None, item_id: str = "", content_index: int = 0,
    ) -> None:  # fmt: skip
        """An empty run; ``conversation`` given for audio deltas (their payload is its PCM)."""
        self.type, self.row, self.pieces, self.delta_at, self.dialect = type_, row, pieces, delta_at, dialect
        self.conversation, self.item_id, self.content_index = conversation, item_id, content_index
        self.part: Any = None
        self.indices = array("q")
        self.times = array("d")
        self.values = bytearray()
        self.ends = array("q")  # end offset in ``values`` of each value of each delta, in order
        self.offsets = array("q")  # audio only: where each delta's PCM starts in the content part
        self.nbytes = array("q")  # audio only: its size

    @property
    def audio(self) -> bool:
        """Whether the payload is audio held by the conversation."""
        return self.conversation is not None

    def match(self, text: str) -> list[tuple[int, int]] | None:
        """The spans of ``text``'s varying values if it is made of this run's pieces, else None.

        The next delta of a run almost always is: checking the pieces in place is a few ``startswith`` and
        ``find`` calls in C, where :func:`split_frame` runs the key regex and builds the pieces anew. The
        frame still rebuilds byte for byte: each value ends at its string's closing quote, and what lies
        between the values is exactly the run's pieces.
        """
        pieces = self.pieces
        first = pieces[0]
        if not text.startswith(first):
            return None
        spans = []
        pos = len(first)
        for piece in pieces[1:]:
            end = _string_end(text, pos)
            if end < 0 or not text.startswith(piece, end):
                return None
            spans.append((pos, end))
            pos = end + len(piece)
        return spans if pos == len(text) else None

    def add(
        self, index: int, time: float, text: str, spans: list[tuple[int, int]], *, offset: int = 0,
        nbytes: int = 0,
    ) -> bool:  # fmt: skip
        """Append the delta ``text`` made of this run's pieces (``spans``: its values, from :meth:`match` or
        :func:`split_frame`); False (nothing kept) if an audio payload would not rebuild from the PCM."""
        if self.audio:
            start, end = spans[self.delta_at]
            # The payload is not kept: it must come back exactly from the PCM (standard, padded base64).
            if end - start != 4 * ((nbytes + 2) // 3) or text.find("\\", start, end) >= 0:
                return False
            spans = spans[: self.delta_at] + spans[self.delta_at + 1 :]
            self.offsets.append(offset)
            self.nbytes.append(nbytes)
        for start, end in spans:
            self.values += text[start:end].encode("utf-8", "surrogatepass")
            self.ends.append(len(self.values))
        self.indices.append(index)
        self.times.append(time)
        return True

    def resolve(self) -> None:
        """Keep the content part the audio went to, so frames rebuild after its item is deleted."""
        if self.part is None and self.conversation is not None:
            self.part = self.conversation.audio_part(self.item_id, self.content_index)

    def __len__(self) -> int:
        return len(self.indices)

    def _values(self, k: int) -> list[str]:
        per = len(self.pieces) - 1 - (1 if self.audio else 0)
        first = k * per
        start = self.ends[first - 1] if first else 0
        out = []
        for end in self.ends[first : first + per]:
            out.append(self.values[start:end].decode("utf-8", "surrogatepass"))
            start = end
        return out

    def frame(self, k: int) -> str:
        """The ``k``-th delta's frame exactly as received (an audio payload must still be held)."""
        values = self._values(k)
        if self.audio:
            values.insert(self.delta_at, self._b64(k) or "")
        return "".join(p + v for p, v in zip(self.pieces, [*values, ""], strict=True))

    def _b64(self, k: int) -> str | None:
        self.resolve()
        buffer = None if self.part is None else self.part.audio_buffer
        offset, nbytes = self.offsets[k], self.nbytes[k]
        if buffer is None or len(buffer) < offset + nbytes:
            return None
        return base64.b64encode(bytes(buffer[offset : offset + nbytes])).decode("ascii")

    def text(self) -> str:
        """The run's text deltas joined (unescaped), for a row's details."""
        if self.audio or self.delta_at < 0:
            return ""
        per = len(self.pieces) - 1
        parts = []
        for k in range(len(self)):
            raw = self._values(k)[self.delta_at] if per else ""
            parts.append(json.loads(f'"{raw}"') if "\\" in raw else raw)
        return "".join(parts)

    def entry(self, k: int) -> LogEntry:
        """The ``k``-th delta as a log entry (made on each read; not kept)."""
        from rtwidget.widget.log import LogEntry

        entry = LogEntry(self.indices[k], "server", self.type, self.times[k], dialect=self.dialect)
        entry.row = self.row
        if self.audio:
            at, pieces = self.delta_at, self.pieces
            values: list[str] = self._values(k)
            head = "".join(p + v for p, v in zip(pieces[:at], values[:at], strict=True)) + pieces[at]
            tail = "".join(p + v for p, v in zip(pieces[at + 1 :], [*values[at:], ""], strict=True))
            ref = AudioRef(
                (head,), tail, 4 * ((self.nbytes[k] + 2) // 3), conversation=self.conversation,
                item_id=self.item_id, content_index=self.content_index, offset=self.offsets[k],
                nbytes=self.nbytes[k],
            )  # fmt: skip
            self.resolve()
            ref.part = self.part
            entry._audio = ref
        else:
            entry._frame = self.frame(k)
        return entry


class Row:
    """What a view shows as one line: a single entry or a run of deltas."""

    __slots__ = (
        "audio_ms",
        "cause",
        "direction",
        "flags",
        "id",
        "is_delta",
        "members",
        "nbytes",
        "run",
        "summary",
        "time",
        "type",
    )

    def __init__(
        self, id_: int, direction: Direction, type_: str, time: float, *, summary: str, flags: str,
        cause: int | None,
    ) -> None:  # fmt: skip
        """Start an empty row (its entries are added to ``members``)."""
        self.id = id_
        self.direction: Direction = direction
        self.type = type_
        self.time = time
        self.members = array("q")  # entry indices: 8 bytes each (a row may have 100k)
        self.nbytes = 0
        self.audio_ms = 0.0
        self.summary = summary
        self.flags = flags
        self.cause = cause
        self.is_delta = is_delta(type_)
        self.run: DeltaRun | None = None
        """Where the row's deltas are kept compactly (see :mod:`rtwidget.widget.logruns`)."""

    def view(self) -> dict[str, Any]:
        """Compact JSON for the view (keys kept short: rows are the bulk of the traffic)."""
        out: dict[str, Any] = {
            "i": self.id,
            "d": _DIR_CODE[self.direction],
            "t": round(self.time, 3),
            "y": self.type,
        }
        if len(self.members) > 1:
            out["n"] = len(self.members)
        if self.nbytes:
            out["b"] = self.nbytes
        if self.audio_ms:
            out["ms"] = round(self.audio_ms)
        if self.summary:
            out["s"] = self.summary
        if self.flags:
            out["f"] = self.flags
        if self.cause is not None:
            out["c"] = self.cause
        return out

    def searchable(self) -> str:
        """Lower-cased text the search box matches against."""
        return f"{self.type} {self.summary}".lower()


class Entries(Sequence["LogEntry"]):
    """The log's entries in order: each a ``LogEntry``, or a delta of a :class:`DeltaRun` made into one."""

    def __init__(self) -> None:
        """An empty log."""
        self._slots: list[LogEntry | DeltaRun] = []

    def append(self, item: LogEntry | DeltaRun) -> None:
        """Add an entry, or the run that holds the next entry (after :meth:`DeltaRun.add`)."""
        self._slots.append(item)

    def __len__(self) -> int:
        return len(self._slots)

    def pin(self, index: int) -> LogEntry:
        """The entry at ``index`` as a ``LogEntry`` of its own, kept from now on (so it can be changed: a
        replayed audio delta recorded without its audio says so), where a run made it anew on each read."""
        entry = self._at(index)
        self._slots[index] = entry
        return entry

    def _at(self, index: int) -> LogEntry:
        slot = self._slots[index]
        if isinstance(slot, DeltaRun):
            return slot.entry(bisect_left(slot.indices, index))
        return slot

    @overload
    def __getitem__(self, index: int) -> LogEntry: ...
    @overload
    def __getitem__(self, index: slice) -> list[LogEntry]: ...
    def __getitem__(self, index: int | slice) -> LogEntry | list[LogEntry]:
        if isinstance(index, slice):
            return list(self._iter(*index.indices(len(self._slots))))
        if index < 0:
            index += len(self._slots)
        return self._at(index)

    def __iter__(self) -> Iterator[LogEntry]:
        return self._iter(0, len(self._slots), 1)

    def _iter(self, start: int, stop: int, step: int) -> Iterator[LogEntry]:
        if step != 1:
            yield from (self._at(i) for i in range(start, stop, step))
            return
        cursors: dict[int, int] = {}  # a run's members come in index order: walk each with a cursor
        for i in range(start, stop):
            slot = self._slots[i]
            if isinstance(slot, DeltaRun):
                k = cursors.get(id(slot))
                k = bisect_left(slot.indices, i) if k is None else k
                cursors[id(slot)] = k + 1
                yield slot.entry(k)
            else:
                yield slot
