"""The view protocol: the messages between the kernel and the widget's views, and their checks.

This module is the one description of the contract between ``widget.py`` (kernel) and ``widget.js``
(browser); docs/view-protocol.md explains it for readers.

View protocol (anywidget custom messages; every name below is part of the contract with widget.js):

Traits (small state a new view rebuilds from): ``status`` (idle, connecting, open, closing, closed, failed:
closed by the server with a code other than 1000/1001, or a connect that did not succeed; replay: a
recording, no server), ``close_code``,
``close_reason``, ``close_hint`` (what to do after a failure), ``model_notice`` (the model is on the
shutdown list: when, and what replaces it), ``backend``,
``model``, ``dialect``, ``error_count``, ``reply`` (status and item; its text comes as ``reply.text``),
``session_effective``, ``session_requested``, ``session_diff``, ``form_error`` (a refused Apply: the form's
rule or the server's error), ``form_notice`` (an Apply's progress: sent, applied), ``talk_notice`` (a reply
waiting for the one in flight), ``mic_rate`` (the rate the views capture at: the session's input format),
``mic_chunk_ms`` (audio per microphone message), ``log_filter``, ``log_search``, ``preroll_ms``,
``tolerated_count``.

Browser -> kernel (UI actions carry ``seq`` and are acknowledged at once with ``ack``; an action left
unacknowledged for a second means a cell is running, and the view says "kernel busy — waiting"):
    {type: "ready", view, limit}                       -> log.window, errors.window, reply.text and
                                                          conv.window for that view (the handshake: the kernel
                                                          sends no custom message before the first ready)
    {type: "bye", view, req}                           the view's element was removed (cell re-run, output
                                                          cleared); the last one leaving closes the connection
                                                          (rtwidget.widget.lifecycle)
    {type: "connect" | "disconnect" | "clear", seq}
    {type: "ping", seq}                                acknowledged only: playback starved, is the kernel busy
    {type: "send_text", seq, text, respond}
    {type: "apply", seq, session}                      GA session object from the form
    {type: "stop", seq, played: {item_id: ms}, item}
    {type: "mic", rate} + buffers [PCM16 LE at rate]   microphone audio, mic_chunk_ms a message (voice.py)
    {type: "ptt.start", seq, played, item}             push-to-talk pressed (playback flushed at played)
    {type: "ptt.end", seq}                             released, after the last microphone chunk
    {type: "mode", seq, mode}                          text | ptt | server_vad | semantic_vad
    {type: "log.window", view, req, limit}             tail
    {type: "log.page", view, req, before | after: row_id, limit}
    {type: "log.around", view, req, row, limit}
    {type: "log.detail", view, req, row, member}
    {type: "conv.window", view, req, limit?}           -> conv.window (the newest items: "↓ latest")
    {type: "conv.page", view, req, before: item_id, limit?}   -> conv.page (the items before that one)
    {type: "conv.audio", view, req, item}              -> conv.audio (the item's audio, to play it)
    {type: "conv.delete", seq, item}                   sends conversation.item.delete; the item leaves the
                                                          views when conversation.item.deleted comes back
    {type: "played", items: {item_id: ms}, underruns, buffered_ms, flushed_ms?}   throttled by the view
                                                          (~300 ms), at once at a flush (flushed_ms: the
                                                          worklet's wall clock when playback went quiet), an
                                                          item's first sample, and when the item's queued
                                                          audio runs out (its end, an underrun)
    {type: "audio.started", item, at_ms, rendered_ms, arrived_ms, noticed_ms}   wall-clock ms: an item's
                                                          first sample heard (the worklet's frame through
                                                          getOutputTimestamp) and rendered (the worklet's
                                                          Date.now()), its audio reached the page, the
                                                          notice reached the main thread
    {type: "export", seq, audio}                       -> export.data (rtwidget.widget.recording)
    {type: "import", view, name, size} + buffers [the file's bytes]   -> import.result; refused over 200 MB
                                                          or while connected, else the session is replaced
    {type: "composer.template", view, req, event | row, member}   -> composer.template: the template of a
                                                          client type (rtwidget.widget.composer), or a logged
                                                          client event without its event_id (edit and resend)
    {type: "composer.check", view, req, n, json}       -> composer.check: the protocol core checks the text
    {type: "composer.send", seq, view, json}           checked again: refused -> composer.check, else sent
                                                          with w.send_event, -> composer.sent
    {type: "resend", seq, view, row, member}           a logged client event sent again with a new event_id
                                                          (-> composer.sent)
Kernel -> browser:
    {type: "ack", seq, view}
    {type: "batch", parts: [message, ...]} + buffers    several of the messages below as one comm message,
                                                          in order (a flush with the audio of a loop pass); a
                                                          part with buffers has nbuf, how many are its own
    {type: "log.append", rows, updates, total}         within FLUSH_S (100 ms) while the log changes, with
                                                          audio no sooner than FLUSH_S / 2 after the last
    {type: "log.window", view, rows, offset, total, tail}   view "*" = every view (filter change, clear)
    {type: "log.page", view, dir: "older" | "newer", rows, offset, total, tail}
    {type: "log.detail", view, row, member, count, entry, json, text?, cause?}
    {type: "errors.window", view, errors, max}         the pinned errors (the last ``max``): to a new view, or
                                                          to "*" (empty) after Clear
    {type: "errors.append", errors, max}               the errors since the last flush, each sent once; a view
                                                          skips an error whose row it already shows
    {type: "reply.text", view?, item, at, text}        the reply's text from character ``at`` on is
                                                          ``text`` (``at`` 0 replaces it): appends while the
                                                          reply streams (as log.append is sent), the whole
                                                          text for a new item, a changed text or a new view
    {type: "conv.window", view, items, offset, total, latency}   the last CONV_WINDOW items, whole
                                                          (widget/convview.py): to a new view, or to "*" after
                                                          a new session; latency: per stage {n, median_ms,
                                                          p90_ms} over the session (metrics.Timeline.summary)
    {type: "conv.page", view, items, offset, total}    older items, whole, for a scrolled-up view
    {type: "conv.items", items, removed, total}        per flush: the items events touched, each with its text
                                                          from ``at`` on (appends while it streams, redacted),
                                                          and the ids conversation.item.deleted removed;
                                                          latency? when a response's stages changed
    {type: "conv.audio", view, item, ms?, reason?} + buffers [PCM16 LE 24 kHz]   one item's audio, truncation
                                                          applied (what was heard); no buffer and a reason
                                                          when there is none or keep_audio_s dropped it
    {type: "audio", item} + buffers [PCM16 LE 24 kHz bytes]   the deltas of one loop pass, merged per item
    {type: "audio.end", item}                          no more audio for now: release the pre-roll gate
    {type: "audio.flush", item}                        Stop: drop what is buffered, ignore that item from now
    {type: "export.data", view, name} + buffers [JSONL bytes]   the recording, saved by the view as a download
    {type: "import.result", view, ok, message}         how an import went (the reason when refused)
    {type: "composer.template", view, dialect, types, event, json, optional: [[path, type]]}   the
                                                          dialect's client types, the event as JSON text, and
                                                          the optional fields' paths and types
    {type: "composer.check", view, n, ok, event? | path, code, rule, message}   n echoed; path e.g.
                                                          "$.item.content[0].type", code the core's
    {type: "composer.sent", view, ok, event_id? | message}   the send went out, or why not (not connected)
Error JSON: {row: log row id, code, message, time, cause_row?, cause_type?}.
Item JSON (conv.*): {id, type, role: user | assistant | system | tool (a function_call is the assistant's, its
           output the tool's), status: in_progress | completed | interrupted | incomplete | failed, name?,
           call_id?, audio?: {received_ms, heard_ms, end_ms, played_ms, held}, transcription?, at?, text?,
           after? (a new item: the id before it, null when first), timeline? (on a response's first output
           item, when a stage changed: {turn, to_created_ms, to_first_text_ms, to_first_audio_ms,
           to_first_played_ms, to_last_played_ms, to_done_ms}, ms from the turn start or null)}.
Row JSON: {i: row id, d: "c"|"s"|"l", t: seconds, y: type, n: members, b: bytes, ms: audio ms,
           s: summary, f: flags (e error, u unknown type, x bad frame), c: row of the causing client event}.
Row flags: ``w`` a tolerated frame (a known type that deviates from the schema: its problems are in the
summary and the ``tolerated_count`` trait counts them). A ``local.tool`` row's ``c`` is the model's call it
runs (``response.function_call_arguments.done``, else ``response.done``); the row comes again in ``updates``
when the call ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rtwidget.protocol.closes import CLOSE_INVALID_KEY, CLOSE_INVALID_REQUEST
from rtwidget.redaction import redact
from rtwidget.widget.console import MAX_ERRORS_SHOWN
from rtwidget.widget.increments import ReplyStream, split_batch
from rtwidget.widget.log import FILTER_PRESETS

if TYPE_CHECKING:
    from rtwidget.widget.widget import RealtimeWidget

__all__ = [
    "AHEAD_MS",
    "FLUSH_S",
    "WINDOW_LIMIT_MAX",
    "ReplyStream",
    "ViewSync",
    "close_hint",
    "split_batch",
]

FLUSH_S = 0.1
"""Log rows and the reply go to the views at most this often (10 Hz; one message per flush, and a flush
rides along with the audio of a loop pass when one is due)."""
AHEAD_MS = 1500.0
"""Audio of an item this far ahead of what the views reported heard waits for the next flush (at most
FLUSH_S) instead of a message of its own: a server streaming faster than real time fills the views' buffer
in a few messages, and nothing is heard later (the played reports are at most ~0.35 s old)."""
WINDOW_LIMIT_MAX = 1000
"""Most rows a view may ask for at once."""


# What to do after a failed connection, by close code (the live server's: 3000 for a bad key, 4000 for a bad
# model or the beta shape on a GA server) or by what the error says.
_CLOSE_HINTS = {
    CLOSE_INVALID_KEY: "check the API key (OPENAI_API_KEY, or api_key=...)",
    CLOSE_INVALID_REQUEST: "check the model name and the dialect (GA servers refuse the beta shape)",
    1006: "the connection dropped without a close: network or server failure; Connect again",
    1011: "the server or the client failed internally; see the log for the last frames",
}


# How "nothing listens there" reads in connect errors (asyncio, getaddrinfo, websockets).
_UNREACHABLE = ("refused", "unreachable", "name or service", "connect call failed", "errno 111", "nodename")


def close_hint(code: int | None, reason: str) -> str:
    """One line on what to do after a connection failed with ``code`` and ``reason``."""
    if code in _CLOSE_HINTS:
        return _CLOSE_HINTS[code]
    lowered = reason.lower()
    if any(marker in lowered for marker in _UNREACHABLE):
        return "nothing answers at that address: check the URL and that the server runs"
    if "timed out" in lowered or "timeout" in lowered:
        return "the server did not answer in time: check the URL, the network or a proxy"
    if "401" in lowered or "403" in lowered or "invalid_api_key" in lowered:
        return _CLOSE_HINTS[CLOSE_INVALID_KEY]
    return "see the log for the last frames and the error list"


class ViewSync:
    """What goes from the kernel to the views: log rows and the reply on a short timer, audio as it comes,
    trait copies of the console's state. Nothing is sent before a view said ``ready``."""

    def __init__(self, widget: RealtimeWidget) -> None:
        """Serve one widget's views."""
        self._w = widget
        self._flush_handle: asyncio.TimerHandle | None = None
        self._audio_handle: asyncio.Handle | None = None
        self._flushed_at = -FLUSH_S
        """Loop time of the last flush (audio takes a waiting flush along from half a period after it)."""
        self._errors_sent_row = -1
        """Log row of the last error sent to the views (error rows only grow)."""
        self._batch: list[tuple[dict[str, Any], list[Any]]] | None = None
        self._reply = ReplyStream()
        from rtwidget.widget.convview import ConversationSync

        self.conversation = ConversationSync(widget)
        """The conversation panel's windows and increments (rtwidget.widget.convview)."""

    def post(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        """Send one custom message to the views (inside :meth:`batched`: with the others of the batch)."""
        if self._batch is not None:
            self._batch.append((content, buffers or []))
        else:
            self._w.send(content, buffers)

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Post the messages of the block as one comm message (``batch``), in order.

        Each comm message costs the kernel about as much CPU as handling a dozen frames (serialization,
        signing, a zmq send and the browser's dispatch): a flush and the audio of a loop pass go out together.
        The traits the block changes go out after the batch, as one update (``hold_sync``): the page handles
        its kernel messages in order, one task each, so a trait update sent first (the reply's, at a turn's
        start) delayed the turn's first audio by its handling (bench/page_profile.py).
        """
        if self._batch is not None:
            yield
            return
        self._batch = []
        with self._w.hold_sync():
            try:
                yield
            finally:
                parts, self._batch = self._batch, None
                self._send_batch(parts)

    def _send_batch(self, parts: list[tuple[dict[str, Any], list[Any]]]) -> None:
        if len(parts) <= 1:
            for content, buffers in parts:
                self._w.send(content, buffers or None)
            return
        messages: list[dict[str, Any]] = []
        joined: list[Any] = []
        for content, own in parts:
            messages.append({**content, "nbuf": len(own)} if own else content)
            joined.extend(own)
        self._w.send({"type": "batch", "parts": messages}, joined or None)

    def sync(self) -> None:
        """Copy what changed in the console state to the traits the views rebuild from."""
        w, console = self._w, self._w._console
        dirty = console.dirty
        if "errors" in dirty:
            w.errors = console.errors  # kernel-side only: the views get errors.append (see flush)
            w.error_count = console.error_count
            w.tolerated_count = console.tolerated_count
            dirty.discard("errors")
            if not console.errors and self._errors_sent_row >= 0:  # cleared: every view empties its list
                self._errors_sent_row = -1
                if w._ready:
                    self.post({"type": "errors.window", "view": "*", "errors": [], "max": MAX_ERRORS_SHOWN})
        if "session" in dirty:
            w.session_effective = console.session_effective
            w.session_diff = console.session_diff
            dirty.discard("session")

    def hello(self, view: Any) -> None:
        """What a new view cannot rebuild from traits: the pinned errors and the reply's text."""
        w = self._w
        self.post(
            {"type": "errors.window", "view": view, "errors": w._console.errors, "max": MAX_ERRORS_SHOWN}
        )
        reply = w._console.reply_view()
        text = redact(reply.get("text", ""), w._secrets())
        self.post({"type": "reply.text", "view": view, "item": reply.get("item_id"), "at": 0, "text": text})
        self.post(self.conversation.window(view))

    def schedule_flush(self) -> None:
        """Send new log rows and the reply within FLUSH_S (batched: one message for many rows); a new error
        on the next loop iteration, so the list is there when the count (a trait, sent at once) shows it."""
        if not self._w._ready:
            return
        errors = self._w._console.errors
        urgent = bool(errors) and errors[-1]["row"] > self._errors_sent_row
        if self._flush_handle is not None and not urgent:
            return
        loop = self._w._kernel.adopt()
        if loop is None:
            return
        if self._flush_handle is None:
            self._flush_handle = loop.call_later(0 if urgent else FLUSH_S, self.flush)
        elif self._flush_handle.when() > loop.time():  # a later flush waits: bring it forward (once)
            self._flush_handle.cancel()
            self._flush_handle = loop.call_later(0, self.flush)

    def flush(self) -> None:
        """Send what changed in the log, the errors and the reply now (one message)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        with self.batched():
            if self._w._console.audio_pending:
                self._post_audio()
            self._flush()

    def _flush(self) -> None:
        self._flush_handle = None
        w = self._w
        if (loop := w._kernel.loop) is not None:
            self._flushed_at = loop.time()
        if w._ready:
            new, updated = w._log.take_changes()
            if new or updated:
                self.post({"type": "log.append", "rows": new, "updates": updated, "total": w._log.total})
            self._send_errors()
        if "reply" in w._console.dirty:
            w._console.dirty.discard("reply")
            reply = w._console.reply_view()
            text = reply.pop("text", "")
            w.reply = redact(reply, w._secrets())
            change = self._reply.update(reply.get("item_id"), text, w._secrets())
            if w._ready and change is not None:
                at, piece = change
                self.post({"type": "reply.text", "item": reply.get("item_id"), "at": at, "text": piece})
        self.conversation.flush()
        self.sync()

    def _send_errors(self) -> None:
        # Only the errors since the last flush: resending the whole list per error made N errors cost
        # O(N x 50) bytes (20k bad frames were 217 MB to the browser).
        errors = self._w._console.errors
        start = len(errors)
        while start > 0 and errors[start - 1]["row"] > self._errors_sent_row:
            start -= 1
        if start < len(errors):
            self._errors_sent_row = errors[-1]["row"]
            self.post({"type": "errors.append", "errors": errors[start:], "max": MAX_ERRORS_SHOWN})

    def schedule_audio(self) -> None:
        """Forward received audio on the next loop iteration: the deltas read in one pass go out merged."""
        # No timer: a timer adds latency and, at real-time pace, a wake-up per delta; the next iteration
        # comes after the read loop has taken every frame the socket read had.
        loop = self._w._kernel.loop
        if self._audio_handle is not None or loop is None:
            return
        if self._w._console.audio_lead_ms() > AHEAD_MS and self._w._ready:
            self.schedule_flush()  # which sends it
            return
        self._audio_handle = loop.call_soon(self.send_audio)

    def send_audio(self) -> None:
        """Send the audio waiting in the console now (raw PCM16 in binary buffers), with a pending flush."""
        # Raw bytes in a binary buffer: base64 in JSON would cost a third more and a decode, and a trait
        # would grow without bound. The log rows and text waiting for a flush ride along once half a period
        # passed since the last one: at real-time pace (a delta every ~100 ms) a flush then hardly ever
        # needs a message of its own, its rows go out sooner, and in a burst flushes stay <= 2 / FLUSH_S.
        with self.batched():
            self._post_audio()
            loop = self._w._kernel.loop
            if (
                self._flush_handle is not None
                and loop is not None
                and loop.time() - self._flushed_at >= FLUSH_S / 2
            ):
                self.flush()

    def _post_audio(self) -> None:
        if self._audio_handle is not None:
            self._audio_handle.cancel()
            self._audio_handle = None
        for item_id, pcm in self._w._console.take_audio():
            if not self._w._ready:
                continue
            if pcm is None:
                self.post({"type": "audio.end", "item": item_id})
            else:
                self.post({"type": "audio", "item": item_id}, [pcm])
                self._w._console.audio_sent(item_id)

    def on_filter(self, change: Any) -> None:
        """The filter or search changed: every view gets a fresh window."""
        w = self._w
        preset = w.log_filter if w.log_filter in FILTER_PRESETS else "all"
        w._log.set_filter(preset, w.log_search)
        if w._ready:
            self.post({"type": "log.window", "view": "*", **w._log.tail(300)})
