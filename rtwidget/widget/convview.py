"""The conversation panel's side of the view protocol: items to the views as windows and increments.

The views show the conversation (``rtwidget.protocol.Conversation``, the one reducer) as one row per item.
A new view, or every view after a new session, gets ``conv.window`` (the last items, whole); then each flush
sends ``conv.items``: only the items that events touched since the last flush, each with the text it gained
(a :class:`~rtwidget.widget.increments.ReplyStream` per item: appends while it streams, the whole text
when it changed otherwise). A long reply therefore costs bytes in proportion to its text, not its square,
and a long session costs a view only the window it shows (older items come on request, ``conv.page``).

Audio stays in the kernel: a view asks for one item's PCM (``conv.audio``) when the user plays it.

Latency: the first output item of each response carries the response's stages (``timeline``: the
:class:`~rtwidget.widget.metrics.Timeline` row, ms from the turn start), whole in a window and again in
``conv.items`` whenever a stage changed (a frame, or a view's playback report); the message then carries the
session's median and p90 per stage too (``latency``). The views draw them and compute nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

# The module, not its names: view.py imports the console, which imports this module for touched_items.
import rtwidget.widget.view as protocol
from rtwidget.protocol.formats import duration_ms
from rtwidget.redaction import redact
from rtwidget.widget.items import to_pcm16

if TYPE_CHECKING:
    from rtwidget.protocol.conversation import Conversation, ConversationItem
    from rtwidget.widget.widget import RealtimeWidget

__all__ = ["CONV_WINDOW", "ConversationSync", "item_role", "item_status", "touched_items"]

CONV_WINDOW = 100
"""Items a new view gets at once (the newest); it asks for older ones as the reader scrolls up."""


def touched_items(event: Any) -> list[str]:
    """Ids of the conversation items one server event may change (read before the event is forgotten)."""
    found: list[str] = []
    item_id = getattr(event, "item_id", None)
    if isinstance(item_id, str):
        found.append(item_id)
    item = getattr(event, "item", None)
    snapshot_id = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
    if isinstance(snapshot_id, str):
        found.append(snapshot_id)
    if event.type == "response.done":  # its output snapshots carry the items' final status
        response = event.wire().get("response")
        output = response.get("output") if isinstance(response, dict) else None
        snapshots = output if isinstance(output, list) else []
        found.extend(o["id"] for o in snapshots if isinstance(o, dict) and isinstance(o.get("id"), str))
    return found


def item_role(item: ConversationItem) -> str:
    """``user`` | ``assistant`` | ``system`` | ``tool``: a call is the model's, its output the tool's."""
    if item.type == "message":
        return item.role if item.role in ("user", "assistant", "system") else "assistant"
    return "assistant" if item.type == "function_call" else "tool"


def item_status(item: ConversationItem, conv: Conversation) -> str:
    """``in_progress`` | ``completed`` | ``interrupted`` | ``incomplete`` | ``failed``."""
    if item.audio_end_ms is not None:  # truncated: the user heard only part of it
        return "interrupted"
    response = conv.responses.get(item.response_id) if item.response_id else None
    if response is not None and response.status == "failed":
        return "failed"
    if item.status in ("in_progress", "completed", "incomplete"):
        return item.status
    if response is None or response.status in (None, "in_progress"):
        return "in_progress" if response is not None else "completed"
    return "completed" if response.status == "completed" else "incomplete"


def item_text(item: ConversationItem) -> str:
    """What the panel shows as the item's text: its text and transcripts (after a truncation, the transcript
    the server removed, which is what was heard up to the cut), a call's arguments, an output."""
    if item.type == "function_call":
        return item.arguments or ""
    if item.type == "function_call_output":
        return item.output or ""
    parts = item.content
    if len(parts) == 1:  # the common case, without a copy of a long text
        p = parts[0]
        return p.text or p.transcript or p.truncated_transcript or ""
    return "".join(p.text or p.transcript or p.truncated_transcript or "" for p in parts)


def _after(order: Sequence[str], item_id: str) -> str | None:
    """The id before ``item_id`` in conversation order, searched from the end (new items are there)."""
    for i in range(len(order) - 1, -1, -1):
        if order[i] == item_id:
            return order[i - 1] if i > 0 else None
    return None


def _first_output(conv: Conversation, response_id: str) -> str | None:
    """The item that shows a response's timeline: its first output item."""
    response = conv.responses.get(response_id)
    return response.output_item_ids[0] if response is not None and response.output_item_ids else None


def _position(order: Sequence[str], item_id: str) -> int:
    for i in range(len(order) - 1, -1, -1):
        if order[i] == item_id:
            return i
    return -1


class ConversationSync:
    """What the views know of the conversation, and the messages that bring them up to date."""

    def __init__(self, widget: RealtimeWidget) -> None:
        """Serve one widget's views; nothing sent yet."""
        self._w = widget
        self._conv: Conversation | None = None
        self._streams: dict[str, protocol.ReplyStream] = {}  # text as the views have it, per item sent
        self._sent: set[str] = set()  # items the views were told about (a window or an upsert)

    def payload(
        self, item: ConversationItem, conv: Conversation, text: tuple[int, str] | None, timeline: bool = True
    ) -> dict[str, Any]:
        """One item as the views show it; ``text`` = ``(at, text)``: its text from character ``at`` on;
        ``timeline``: with its response's stages, if it is the response's first output item."""
        out: dict[str, Any] = {
            "id": item.id,
            "type": item.type,
            "role": item_role(item),
            "status": item_status(item, conv),
        }
        if item.name:
            out["name"] = item.name
        if item.call_id:
            out["call_id"] = item.call_id
        received = sum(p.audio_received_bytes for p in item.content)
        if received:
            fmt = next((p.audio_format for p in item.content if p.audio_format), None) or "pcm16"
            out["audio"] = {
                "received_ms": round(duration_ms(received, fmt)),
                "heard_ms": round(item.audio_ms),
                "end_ms": item.audio_end_ms,
                "played_ms": round(item.played_ms),
                "held": any(p.audio_buffer is not None for p in item.content),
            }
        transcription = next((p.transcription_status for p in item.content if p.transcription_status), None)
        if transcription:
            out["transcription"] = transcription
        if text is not None:
            out["at"], out["text"] = text
        if timeline and item.response_id is not None and _first_output(conv, item.response_id) == item.id:
            stages = self._w._metrics.timeline.stages(item.response_id)
            if stages is not None:
                out["timeline"] = stages
        return out

    # --- kernel -> views ----------------------------------------------------------------------------

    def window(self, view: Any, limit: int = CONV_WINDOW) -> dict[str, Any]:
        """``conv.window``: the last ``limit`` items, whole, for ``view`` (``"*"``: every view)."""
        conv = self._current()
        items = conv.items
        start = max(0, len(items) - limit)
        whole = self._whole(conv, items[start:], shared=view == "*")
        return {"type": "conv.window", "view": view, **whole, "offset": start,
                "total": len(items), "latency": self._w._metrics.timeline.summary()}  # fmt: skip

    def page(self, view: Any, before: str, limit: int) -> dict[str, Any]:
        """``conv.page``: up to ``limit`` items before the item ``before`` (older, for a scrolled-up view)."""
        conv = self._current()
        items = conv.items
        end = next((i for i, it in enumerate(items) if it.id == before), 0)
        start = max(0, end - limit)
        whole = self._whole(conv, items[start:end], shared=False)
        return {"type": "conv.page", "view": view, **whole, "offset": start,
                "total": len(items)}  # fmt: skip

    def _whole(self, conv: Conversation, items: Iterable[ConversationItem], shared: bool) -> dict[str, Any]:
        """Items with their whole text. ``shared``: every view gets them, so the increments start from
        here; for one view the increments stay those of the others (``at`` lets it catch up: the text from
        ``at`` on replaces what it has there)."""
        secrets = self._w._secrets()
        out = []
        for item in items:
            text = item_text(item)
            if shared:
                stream = self._streams[item.id] = protocol.ReplyStream()
                stream.update(item.id, text, secrets)
                self._sent.add(item.id)
            out.append(self.payload(item, conv, (0, str(redact(text, secrets)))))
        return {"items": out}

    def flush(self) -> None:
        """Send what changed since the last flush: a window after a new session, else ``conv.items``."""
        w = self._w
        console = w._console
        if console.conversation is not self._conv:  # a new session (or a replay's seek): start afresh
            console.conv_touched.clear()
            self._conv = console.conversation
            self._streams, self._sent = {}, set()
            if w._ready:
                w._views.post(self.window("*"))
            return
        if not w._ready:
            return
        conv = self._conv
        changed = w._metrics.timeline.take_changed()
        timed = {i for i in (_first_output(conv, r) for r in changed) if i is not None}
        touched = console.conv_touched
        touched.update(timed)
        if not touched:
            return
        order = conv.item_ids()
        ids = sorted(touched, key=lambda i: _position(order, i))
        touched.clear()
        secrets = w._secrets()
        items: list[dict[str, Any]] = []
        removed: list[str] = []
        for item_id in ids:
            if item_id not in conv or not conv.item(item_id).in_conversation:
                if item_id in self._sent:  # conversation.item.deleted: gone from every view
                    self._sent.discard(item_id)
                    self._streams.pop(item_id, None)
                    removed.append(item_id)
                continue
            item = conv.item(item_id)
            stream = self._streams.setdefault(item_id, protocol.ReplyStream())
            text = stream.update(item_id, item_text(item), secrets)
            payload = self.payload(item, conv, text, timeline=item_id in timed or item_id not in self._sent)
            if item_id not in self._sent:
                self._sent.add(item_id)
                payload["after"] = _after(order, item_id)
            items.append(payload)
        if items or removed:
            message = {"type": "conv.items", "items": items, "removed": removed, "total": len(order)}
            if changed:
                message["latency"] = w._metrics.timeline.summary()
            w._views.post(message)

    def _current(self) -> Conversation:
        conv = self._w._console.conversation
        if conv is not self._conv:
            self._conv, self._streams, self._sent = conv, {}, set()
            self._w._console.conv_touched.clear()
        return conv

    # --- views -> kernel ----------------------------------------------------------------------------

    def route(self, kind: str, view: Any, content: dict[str, Any]) -> None:
        """Answer one ``conv.*`` view message."""
        from rtwidget.widget.viewinput import view_int  # it imports this module's importers

        w = self._w
        limit = view_int(content, "limit", CONV_WINDOW, 1, protocol.WINDOW_LIMIT_MAX)
        if kind == "conv.window":
            w._views.post(self.window(view, limit))
        elif kind == "conv.page":
            w._views.post(self.page(view, str(content.get("before")), limit))
        elif kind == "conv.audio":
            self._send_audio(view, str(content.get("item")))
        elif kind == "conv.delete":
            event = {"type": "conversation.item.delete", "item_id": str(content.get("item"))}
            w._spawn(w.send_event(event))

    def _send_audio(self, view: Any, item_id: str) -> None:
        """``conv.audio``: one item's audio as PCM16 24 kHz, truncation applied (what was heard)."""
        conv = self._w._console.conversation
        reply: dict[str, Any] = {"type": "conv.audio", "view": view, "item": item_id}
        item = conv.item(item_id) if item_id in conv else None
        pcm = item.audio if item is not None else None
        if item is None or not pcm:
            dropped = item is not None and item.audio_bytes > 0
            reply["reason"] = "its audio was dropped (keep_audio_s)" if dropped else "no audio"
            self._w._views.post(reply)
            return
        fmt = next((p.audio_format for p in item.content if p.audio_format), None) or "pcm16"
        data = pcm if fmt == "pcm16" else to_pcm16(pcm, fmt)
        reply["ms"] = len(data) / 48  # PCM16 at 24 kHz: 48 bytes a millisecond
        self._w._views.post(reply, [data])
