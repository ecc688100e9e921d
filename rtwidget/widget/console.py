"""The console's state, sans I/O: frames in, log rows, conversation, reply and view messages out.

:class:`ConsoleState` is everything the console knows, rebuilt from the frames of one connection and the
reports of its views; it never touches a socket, a comm or an event loop, so the tests drive it directly.
The conversation is the protocol's one reducer (:class:`rtwidget.protocol.Conversation`); this module adds
what only a console needs: the log, the streamed reply box, errors and tolerated frames, played positions
and the audio to forward to the views. :class:`~rtwidget.widget.widget.RealtimeWidget` is the I/O shell
around it (traits, comm, loop hand-off).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

from rtwidget.protocol import Conversation, UnknownEvent, dialect_names
from rtwidget.protocol.formats import AudioFormatName, duration_ms, session_audio_format
from rtwidget.redaction import mask_known
from rtwidget.widget.convview import touched_items
from rtwidget.widget.items import AudioTrack, Item, to_pcm16
from rtwidget.widget.log import (
    TEXT_DELTA_TYPES,
    EventLog,
    redact,
    summarize,
)
from rtwidget.widget.logformat import AUDIO_PAYLOAD_TYPES, SentAudio, kv_summary, payload_len, raw_type
from rtwidget.widget.playback import Playback
from rtwidget.widget.session import jsonable, session_diff

if TYPE_CHECKING:
    from rtwidget.protocol import Dialect

T = TypeVar("T")
D = TypeVar("D")

__all__ = ["DEFAULT_KEEP_AUDIO_S", "MAX_ERRORS_SHOWN", "AudioTrack", "ConsoleState", "Item", "jsonable"]

MAX_ERRORS_SHOWN = 50
DEFAULT_KEEP_AUDIO_S = 1800.0
"""Received audio kept for ``w.items`` and the log's details/export: half an hour (86 MB of PCM16 at 24 kHz,
so a one-hour voice session stays under 150 MB of kernel memory); past it the oldest items' audio is dropped,
a ``local.audio_dropped`` row says so, and the log keeps their sizes and durations."""

OUTPUT_AUDIO_DELTAS = dialect_names("response.output_audio.delta")
OUTPUT_AUDIO_DONE = dialect_names("response.output_audio.done")
REPLY_TEXT_DELTAS = dialect_names("response.output_text.delta", "response.output_audio_transcript.delta")
_REPLY_STATUS = {
    "completed": "done",
    "cancelled": "cancelled",
    "incomplete": "incomplete",
    "failed": "failed",
}


class ConsoleState(Playback):
    """What one console shows, rebuilt from frames (sans I/O).

    The shell calls :meth:`frame` for every frame both ways (as the connection observes them), then
    :meth:`event` for every server event it receives, and reads back: ``log`` (rows for the views), the
    ``dirty`` set of state names that changed (``reply``, ``errors``, ``session``), and :meth:`take_audio`
    (PCM per item to forward, merged since the last call).

    Args:
        dialect: the connection's dialect.
        secrets: values to redact from everything shown (the API key).
        keep_audio_s: cap on the received audio kept (see :data:`DEFAULT_KEEP_AUDIO_S`).
    """

    def __init__(
        self,
        dialect: Dialect = "ga",
        secrets: list[str] | None = None,
        keep_audio_s: float = DEFAULT_KEEP_AUDIO_S,
    ) -> None:
        self.dialect: Dialect = dialect
        self.secrets = [s for s in (secrets or []) if s]
        self.keep_audio_s = keep_audio_s
        self.log = EventLog()
        self.sent_audio = SentAudio(keep_audio_s)
        """The sent appends' audio the log holds, capped like the received audio."""
        self.log.dialect = dialect
        self.log.secrets = self.secrets
        self.errors: list[dict[str, Any]] = []
        self.error_count = 0
        self.tolerated_count = 0
        self.dirty: set[str] = set()
        self.last_sent_index = -1
        self._frame_time = 0.0  # log time of the last frame (local rows about it take its time)
        self._client_rows: dict[str, int] = {}
        self._unresolved: Any = None
        self.conv_touched: set[str] = set()
        """Items events touched since the views last heard of them (rtwidget.widget.convview)."""
        self.reset()

    def reset(self) -> None:
        """Start a new server session: conversation, reply and audio afresh (the log goes on)."""
        self.conversation = Conversation(
            dialect=self.dialect, keep_audio=True, keep_audio_s=self.keep_audio_s
        )
        self.reply: dict[str, Any] = {}
        self.response_id: str | None = None
        self.last_audio_item: str | None = None
        self.output_format: AudioFormatName = "pcm16"
        self.tracks: dict[str, AudioTrack] = {}
        self.truncated: dict[str, int] = {}
        self.session_effective: dict[str, Any] = {}
        self.session_requested: dict[str, Any] = {}
        self.session_diff: list[dict[str, Any]] = []
        self._pending_audio: dict[str, bytearray] = {}  # per item, the PCM16 not yet forwarded
        self._pending_ends: list[str] = []
        self._conversation_failed: set[str] = set()
        self._dropped_ms = 0.0
        self._drop_cursor = 0  # tracks before it had their audio dropped (oldest first) and were noted
        self.dirty |= {"reply", "session"}

    def scrub(self, text: str) -> str:
        """``text`` with every secret redacted."""
        return str(redact(text, self.secrets))

    # --- frames into the log -----------------------------------------------------------------------

    def frame(
        self, direction: str, raw: str | bytes, event: Any, error: Exception | None, now: float
    ) -> None:
        """Log one frame (``direction`` ``client`` or ``server``); ``event`` None for an unparsable one."""
        log = self.log
        self._frame_time = now
        # The log keeps frames as they were, except the key's value: a server may echo it (its URL with
        # ?api-key=, a header), and w.events hands out the log's frames.
        secret = isinstance(raw, str) and any(s in raw for s in self.secrets)
        if secret:
            raw = mask_known(str(raw), self.secrets)
        if direction == "client":
            data = event.to_dict() if event is not None else None
            if secret and data is not None:
                data = json.loads(mask_known(json.dumps(data), self.secrets))
            nbytes = payload_len(event, data)
            entry, row = log.add(
                "client",
                event.type if event is not None else raw_type(raw),
                now,
                data=data,
                raw=raw if data is None else None,
                summary=self.scrub(summarize(event.type, data)) if data is not None else "",
                nbytes=nbytes,
                audio_ms=(audio_ms := duration_ms(nbytes, self.conversation.input_audio_format)),
            )
            event_id = entry.data.get("event_id")
            if isinstance(event_id, str):
                self._client_rows[event_id] = row.id
            if nbytes:  # input audio: held under keep_audio_s like the received audio
                self.sent_audio.add(entry, AUDIO_PAYLOAD_TYPES[entry.type], audio_ms)
            self.last_sent_index = entry.index
            return
        if event is None:
            message = (
                self.scrub(f"{type(error).__name__}: {error}") if error is not None else "unparsable frame"
            )
            _, row = log.add(
                "server", raw_type(raw) or "(bad frame)", now, raw=raw, flags="x", summary=message
            )
            self.add_error(row.id, "bad_frame", message, None, now)
            return
        type_ = event.type
        unknown = isinstance(event, UnknownEvent)
        problems = event.problems
        flags = "w" if problems and not unknown else ""
        if problems:
            self.tolerated_count += 1
            self.dirty.add("errors")
        if type_ in OUTPUT_AUDIO_DELTAS and not flags:
            self._log_audio(event, raw, now)
        elif type_ in TEXT_DELTA_TYPES and not flags:
            text = _field(event, "delta", str, "")
            item_id = _field(event, "item_id", str, None)
            # Deltas are many and small: kept compactly in their run (the entry is made again on demand).
            if not isinstance(raw, str) or log.add_delta(type_, now, raw, item_id=item_id, text=text) is None:
                log.add("server", type_, now, raw=raw, item_id=item_id, text=text, summary=text)
        else:
            self._log_other(event, raw, now, unknown, flags)

    def _log_audio(self, event: Any, raw: str | bytes, now: float) -> None:
        item_id = _field(event, "item_id", str, "")
        content_index = _field(event, "content_index", int, 0)
        audio = _field(event, "audio", bytes, b"")
        part = self.conversation.audio_part(item_id, content_index)
        offset = part.audio_received_bytes if part is not None else 0
        fmt = (part.audio_format if part is not None else None) or self.output_format
        # The frame is logged without its audio: the conversation holds the one copy of the PCM, and the
        # log rebuilds the frame from it on demand (see rtwidget.widget.logruns and LogEntry.audio_ref).
        ms = duration_ms(len(audio), fmt)
        if isinstance(raw, str):
            row = self.log.add_delta(
                event.type, now, raw, item_id=item_id, audio=(self.conversation, content_index, offset),
                nbytes=len(audio), audio_ms=ms,
            )  # fmt: skip
            if row is not None:
                self._unresolved = row.run  # bound to its content part once the conversation applied it
                return
        entry, _ = self.log.add_audio(
            type_=event.type,
            time=now,
            raw=raw,
            item_id=item_id,
            content_index=content_index,
            conversation=self.conversation,
            offset=offset,
            nbytes=len(audio),
            audio_ms=ms,
        )
        self._unresolved = entry.audio_ref  # bound to its content part once the conversation applied it

    def _log_other(self, event: Any, raw: str | bytes, now: float, unknown: bool, flags: str) -> None:
        data = event.wire()
        type_ = event.type
        cause = None
        if type_ == "error":
            flags += "e"
            err = data.get("error") if isinstance(data.get("error"), dict) else {}
            cause = self._client_rows.get(str(err.get("event_id"))) if err.get("event_id") else None
        summary = summarize(type_, data)
        if event.problems and not unknown:
            summary = f"⚠ {'; '.join(str(p) for p in event.problems)[:120]} · {summary}"
        # The entry keeps the frame text, its one copy: the typed event and its decoded JSON are made
        # again on demand (details, export, wait_for), not held for the whole session.
        summary = self.scrub(summary)
        _, row = self.log.add(
            "server", type_, now, raw=raw, unknown=unknown, flags=flags, summary=summary, cause=cause
        )
        if type_ == "error":
            err = data.get("error") if isinstance(data.get("error"), dict) else {}
            code = str(err.get("code") or err.get("type") or "error")
            self.add_error(row.id, code, self.scrub(str(err.get("message") or "")), cause, now)

    # --- local entries and errors --------------------------------------------------------------------

    def local(self, type_: str, data: dict[str, Any], now: float) -> None:
        """Log a local entry (state change, stop, ...)."""
        data = redact(data, self.secrets)
        self.log.add("local", type_, now, data=data, summary=summarize(type_, data) or kv_summary(data))

    def local_error(self, code: str, message: str, now: float, data: dict[str, Any] | None = None) -> None:
        """Log a local error and count it."""
        body = redact({"code": code, "message": message, **(data or {})}, self.secrets)
        _, row = self.log.add("local", "local.error", now, data=body, flags="e", summary=f"{code}: {message}")
        self.add_error(row.id, code, message, None, now)

    def add_error(self, row: int, code: str, message: str, cause: int | None, now: float) -> None:
        """Count an error and keep the last :data:`MAX_ERRORS_SHOWN` of them for the error list."""
        info: dict[str, Any] = {"row": row, "code": code, "message": message[:500], "time": round(now, 3)}
        if cause is not None:
            info["cause_row"] = cause
            info["cause_type"] = self.log.rows[cause].type
        self.errors = [*self.errors[-(MAX_ERRORS_SHOWN - 1) :], info]
        self.error_count += 1
        self.dirty.add("errors")

    def clear_errors(self) -> None:
        """Forget the shown errors (the log keeps them)."""
        self.errors = []
        self.error_count = 0
        self.tolerated_count = 0
        self.dirty.add("errors")

    # --- server events into state --------------------------------------------------------------------

    def event(self, event: Any, now: float) -> None:
        """Apply one received server event to the conversation, the reply, the session and the audio."""
        self.conv_touched.update(touched_items(event))
        self._apply_conversation(event, now)
        if self.conversation.audio_dropped_ms != self._dropped_ms:
            self._note_dropped()
        if self._unresolved is not None:
            self._unresolved.resolve()
            self._unresolved = None
        type_ = event.type
        if type_ in OUTPUT_AUDIO_DELTAS:
            self._route_audio(event)
        elif type_ in REPLY_TEXT_DELTAS:
            self._reply_text(event)
        elif type_ in OUTPUT_AUDIO_DONE:
            self._pending_ends.append(_str(getattr(event, "item_id", None)) or "")
        elif type_ == "response.created":
            response = event.wire().get("response") or {}
            self.response_id = str(response.get("id") or "?")
            self.reply = {"response_id": self.response_id, "item_id": None, "status": "streaming"}
            self.dirty.add("reply")
        elif type_ == "response.done":
            self._response_done(event.wire().get("response") or {})
        elif type_ == "conversation.item.truncated":
            item_id = _str(getattr(event, "item_id", None)) or ""
            end_ms = _field(event, "audio_end_ms", int, 0)
            self.truncated[item_id] = end_ms
            if self.reply.get("item_id") == item_id:
                self.reply.update(status="truncated", truncated_ms=end_ms)
                self.dirty.add("reply")
        elif type_ in ("session.created", "session.updated"):
            self._session(event.wire().get("session") or {})
        event.forget_wire()  # decoded for this step only (the log keeps the frame text)

    def _apply_conversation(self, event: Any, now: float) -> None:
        try:
            self.conversation.apply(event, now=now)
        except Exception as exc:  # the log and playback go on even if conversation state cannot
            if event.type not in self._conversation_failed:
                self._conversation_failed.add(event.type)
                self.local_error(
                    "conversation", self.scrub(f"{event.type}: {type(exc).__name__}: {exc}"), now
                )

    def _note_dropped(self) -> None:
        """Say in the log which items' audio the ``keep_audio_s`` cap dropped (their rows keep the sizes)."""
        self._dropped_ms = self.conversation.audio_dropped_ms
        tracks = list(self.tracks.values())
        while self._drop_cursor < len(tracks):
            track = tracks[self._drop_cursor]
            part = self.conversation.audio_part(track.item_id, track.content_index)
            if part is not None and part.audio_buffer is not None:
                break
            self._drop_cursor += 1
            if part is not None:
                data = {"item_id": track.item_id, "audio_ms": round(part.audio_ms),
                        "bytes": part.audio_bytes, "keep_audio_s": self.keep_audio_s,
                        "dropped_ms_total": round(self._dropped_ms)}  # fmt: skip
                self.log.add(
                    "local", "local.audio_dropped", self._frame_time, data=data, summary=kv_summary(data)
                )

    def _response_done(self, response: dict[str, Any]) -> None:
        self.response_id = None
        if (
            self.reply.get("response_id") in (response.get("id"), "?")
            and self.reply.get("status") != "truncated"
        ):
            status = str(response.get("status"))
            self.reply["status"] = _REPLY_STATUS.get(status, status)
            self.dirty.add("reply")
        if self.last_audio_item is not None:
            self._pending_ends.append(self.last_audio_item)

    def _session(self, session: dict[str, Any]) -> None:
        self.output_format = session_audio_format(session, "output") or "pcm16"
        self.session_effective = redact(jsonable(session), self.secrets)
        if self.session_requested:
            self.session_diff = session_diff(self.session_requested, self.session_effective)
        self.dirty.add("session")

    def _reply_text(self, event: Any) -> None:
        # The text itself is the conversation's (the one reducer); the reply box only follows one item.
        item_id = _str(getattr(event, "item_id", None))
        if not self.reply:
            self.reply = {"response_id": None, "item_id": item_id, "status": "streaming"}
        if self.reply.get("item_id") is None:
            self.reply["item_id"] = item_id
        if self.reply.get("item_id") == item_id:
            self.dirty.add("reply")

    def reply_view(self) -> dict[str, Any]:
        """The reply box: the followed item's text as the conversation holds it (after a truncation, the
        transcript the user heard up to the cut), with the response's status."""
        item_id = self.reply.get("item_id")
        text = ""
        if isinstance(item_id, str) and item_id in self.conversation:
            parts = self.conversation.item(item_id).content
            text = "".join(p.text or p.transcript or p.truncated_transcript or "" for p in parts)
        return {**self.reply, "text": text} if self.reply else {}

    def _route_audio(self, event: Any) -> None:
        item_id = _str(getattr(event, "item_id", None)) or ""
        audio = _field(event, "audio", bytes, b"")
        track = self.tracks.get(item_id)
        if track is None:
            content_index = _field(event, "content_index", int, 0)
            track = self.tracks[item_id] = AudioTrack(
                item_id, content_index, _str(getattr(event, "response_id", None))
            )
            if self.reply.get("item_id") is None:
                self.reply["item_id"] = item_id
        self.last_audio_item = item_id
        if not track.stopped:
            pcm = audio if self.output_format == "pcm16" else to_pcm16(audio, self.output_format)
            self._pending_audio.setdefault(item_id, bytearray()).extend(pcm)

    def connection_lost(self) -> None:
        """The connection ended: a reply still streaming is marked interrupted (nothing more will come)."""
        if self.response_id is not None and self.reply.get("status") == "streaming":
            self.reply["status"] = "interrupted"
            self.dirty.add("reply")
        self.response_id = None

    # --- reading -------------------------------------------------------------------------------------

    def items(self) -> list[Item]:
        """Conversation items with text; their audio is read from the conversation when asked for."""
        return [Item.of(it, self.truncated.get(it.id)) for it in self.conversation.items]


def _field(event: Any, name: str, kind: type[T], default: D) -> T | D:
    """Field ``name`` of an event when it holds a ``kind`` (tolerated frames hold UNSET), else ``default``."""
    value = getattr(event, name, None)
    return value if isinstance(value, kind) and not (kind is int and isinstance(value, bool)) else default


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
