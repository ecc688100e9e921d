"""The per-event handlers of :class:`~rtwidget.protocol.conversation.Conversation`, as a mixin.

Private to :mod:`rtwidget.protocol.conversation`: ``Conversation`` inherits these methods and its
``_HANDLERS`` table maps wire types to them.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

from rtwidget.protocol._base import Dialect
from rtwidget.protocol._conversation_state import (
    _BYTES_PER_MS,
    _BYTES_PER_SAMPLE,
    _DEFAULT_FORMAT,
    ContentPart,
    ConversationItem,
    ConversationResponse,
    _append,
    _int_or,
    _opt,
    _plain,
    _str_or_none,
    _wire,
)
from rtwidget.protocol.formats import AudioFormatName, format_name, session_audio_format

__all__: list[str] = []


class _ConversationEvents:
    """Helpers and event handlers of :class:`~rtwidget.protocol.conversation.Conversation`.

    The attributes are set by ``Conversation.__init__``; they are declared here so the handlers type-check.
    """

    dialect: Dialect
    keep_audio: bool
    keep_audio_s: float | None
    audio_dropped_ms: float
    _held: dict[int, ContentPart]
    _held_ms: float
    _now: float | None
    session: dict[str, Any] | None
    conversation_id: str | None
    responses: dict[str, ConversationResponse]
    rate_limits: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    warnings: list[str]
    input_audio_format: AudioFormatName
    output_audio_format: AudioFormatName
    _items: dict[str, ConversationItem]
    _order: list[str]

    # --- helpers ----------------------------------------------------------------------------------

    def _ensure_item(
        self, item_id: str, item_type: str = "message", role: str | None = None
    ) -> ConversationItem:
        item = self._items.get(item_id)
        if item is None:
            item = ConversationItem(id=item_id, type=item_type, role=role)
            self._items[item_id] = item
        return item

    def _item_for(
        self, event_type: str, item_id: Any, role: str | None = "assistant"
    ) -> ConversationItem | None:
        if not isinstance(item_id, str):
            self.warnings.append(f"{event_type}: no item_id")
            return None
        # An unknown item is normal: recorded GA traffic has input_audio_transcription.delta before the
        # user item's conversation.item.added, and a sideband socket may attach mid-response. The
        # content goes to a placeholder that the item's snapshot completes later.
        return self._ensure_item(item_id, role=role)

    @staticmethod
    def _part(item: ConversationItem, content_index: Any, part_type: str) -> ContentPart:
        index = _int_or(content_index, 0)
        while len(item.content) <= index:
            item.content.append(ContentPart(type=part_type))
        part = item.content[index]
        if not part.type:
            part.type = part_type
        return part

    def _place(self, item: ConversationItem, previous_item_id: Any) -> None:
        """Put ``item`` into the conversation after ``previous_item_id`` (once; later events keep it)."""
        if item.in_conversation:
            return
        item.in_conversation = True
        previous = _str_or_none(previous_item_id)
        item.previous_item_id = previous
        if previous_item_id is msgspec.UNSET:
            # Absent is not null: a server that leaves previous_item_id out (xAI, some mocks) appends.
            self._order.append(item.id)
        elif previous is None:
            # previous_item_id "Can be `null` if the item has no predecessor" (openai types,
            # conversation.item.created): the item went first (the first item, or one created with
            # previous_item_id "root": "added to the beginning of the conversation").
            self._order.insert(0, item.id)
        elif previous in self._items and self._items[previous].in_conversation:
            self._order.insert(self._order.index(previous) + 1, item.id)
        else:
            # The predecessor was never seen (e.g. a sideband socket attached to a running call).
            self._order.append(item.id)

    def _merge_snapshot(self, snapshot: Any, response_id: str | None = None) -> ConversationItem | None:
        """Merge a server item snapshot; ``null`` in the snapshot never erases what was streamed."""
        data = _plain(snapshot)
        if not isinstance(data, dict):
            self.warnings.append("item snapshot is not an object")
            return None
        item_id = data.get("id")
        if not isinstance(item_id, str):
            self.warnings.append(f"item snapshot without an id (type {data.get('type')!r})")
            return None
        item = self._ensure_item(item_id, str(data.get("type") or "message"))
        item.type = str(data.get("type") or item.type)
        if response_id is not None:
            item.response_id = response_id
        for key, value in data.items():
            if key in {"id", "type", "object"}:
                continue
            if key == "content":
                if isinstance(value, list):
                    self._merge_content(item, value)
            elif key in {"role", "status", "name", "call_id", "arguments", "output"}:
                if value is not None:
                    setattr(item, key, value)
            else:
                item.extra[key] = value
        return item

    def _merge_content(self, item: ConversationItem, content: list[Any]) -> None:
        for index, raw_part in enumerate(content):
            if not isinstance(raw_part, dict):
                continue
            part = self._part(item, index, str(raw_part.get("type") or ""))
            if isinstance(raw_part.get("type"), str):
                part.type = raw_part["type"]
            text = raw_part.get("text")
            if isinstance(text, str):
                part.text = text
            transcript = raw_part.get("transcript")
            if isinstance(transcript, str) and not (part.audio_end_ms is not None and transcript):
                part.transcript = transcript
            audio = raw_part.get("audio")
            if isinstance(audio, str) and audio:
                self._set_audio_from_snapshot(item, part, audio)

    def _set_audio_from_snapshot(self, item: ConversationItem, part: ContentPart, audio_b64: str) -> None:
        """Audio carried whole in an item (e.g. ``conversation.item.retrieved``): the part's audio is that."""
        try:
            data = base64.b64decode(audio_b64)
        except (binascii.Error, ValueError):
            self.warnings.append(f"item {item.id!r}: content audio is not valid base64")
            return
        is_input = part.type.startswith("input") or item.role == "user"
        audio_format = (
            self.input_audio_format if is_input else (part.audio_format or self.output_audio_format)
        )
        part.audio_format = audio_format
        part.audio_bytes = len(data)
        part.audio_received_bytes = max(part.audio_received_bytes, len(data))
        part.audio_ms = len(data) / _BYTES_PER_MS[audio_format]
        if self.keep_audio:
            if part.audio_buffer is not None:
                self._held_ms -= len(part.audio_buffer) / _BYTES_PER_MS[audio_format]
            part.audio_buffer = None
            part.audio_received_bytes = 0
            self._hold(part, data)
            part.audio_received_bytes = max(len(data), part.audio_received_bytes)

    def _response(self, response_id: Any) -> ConversationResponse | None:
        if not isinstance(response_id, str):
            return None
        response = self.responses.get(response_id)
        if response is None:
            response = ConversationResponse(id=response_id)
            self.responses[response_id] = response
        return response

    def _set_session(self, session: Any) -> None:
        data = _plain(session)
        if not isinstance(data, dict):
            return
        self.session = data
        for direction in ("input", "output"):
            name = session_audio_format(data, direction)
            if name is not None:
                setattr(self, f"{direction}_audio_format", name)

    # --- handlers (one per wire type; beta names share them) --------------------------------------

    def _on_session(self, ev: Any) -> None:
        self._set_session(_wire(ev, "session"))

    def _on_conversation_created(self, ev: Any) -> None:
        conversation = _wire(ev, "conversation")
        if isinstance(conversation, dict):
            self.conversation_id = _str_or_none(conversation.get("id"))

    def _on_item_added(self, ev: Any) -> None:
        item = self._merge_snapshot(_wire(ev, "item"))
        if item is not None:
            self._place(item, ev.previous_item_id)

    def _on_item_done(self, ev: Any) -> None:
        item = self._merge_snapshot(_wire(ev, "item"))
        # Recorded GA traffic: conversation.item.done carries "previous_item_id": null for items whose
        # .added named a predecessor, so only an item not yet placed is placed here.
        if item is not None and not item.in_conversation:
            self._place(item, ev.previous_item_id)

    def _on_item_retrieved(self, ev: Any) -> None:
        self._merge_snapshot(_wire(ev, "item"))

    def _on_item_deleted(self, ev: Any) -> None:
        item_id = ev.item_id
        if item_id in self._items:
            del self._items[item_id]
            if item_id in self._order:
                self._order.remove(item_id)
        else:
            self.warnings.append(f"conversation.item.deleted: unknown item {item_id!r}")

    def _on_item_truncated(self, ev: Any) -> None:
        item = self._item_for("conversation.item.truncated", ev.item_id)
        if item is None:
            return
        part = self._part(item, _opt(ev.content_index), "output_audio")
        end_ms = _int_or(ev.audio_end_ms, 0)
        part.audio_end_ms = end_ms
        audio_format = part.audio_format or self.output_audio_format
        sample_bytes = _BYTES_PER_SAMPLE[audio_format]
        keep_bytes = (end_ms * _BYTES_PER_MS[audio_format]) // sample_bytes * sample_bytes
        part.audio_bytes = min(part.audio_bytes, keep_bytes)
        part.audio_ms = part.audio_bytes / _BYTES_PER_MS[audio_format]
        # "This action will truncate the audio and remove the server-side text transcript to ensure there
        # is no text in the context that hasn't been heard by the user." (conversation.item.truncated)
        if part.transcript:
            part.truncated_transcript = part.transcript
        part.transcript = ""

    def _on_transcription_delta(self, ev: Any) -> None:
        item = self._item_for("input_audio_transcription.delta", ev.item_id, role="user")
        if item is None:
            return
        part = self._part(item, _opt(ev.content_index), "input_audio")
        _append(part, "transcript", _opt(ev.delta) or "")
        part.transcription_status = "in_progress"

    def _on_transcription_completed(self, ev: Any) -> None:
        item = self._item_for("input_audio_transcription.completed", ev.item_id, role="user")
        if item is None:
            return
        part = self._part(item, _opt(ev.content_index), "input_audio")
        part.transcript = _opt(ev.transcript) or ""
        part.transcription_status = "completed"

    def _on_transcription_failed(self, ev: Any) -> None:
        item = self._item_for("input_audio_transcription.failed", ev.item_id, role="user")
        if item is None:
            return
        part = self._part(item, _opt(ev.content_index), "input_audio")
        part.transcription_status = "failed"
        error = _wire(ev, "error")
        part.transcription_error = error if isinstance(error, dict) else None

    def _on_response_created(self, ev: Any) -> None:
        self._update_response(_wire(ev, "response"))

    def _on_response_done(self, ev: Any) -> None:
        data = _wire(ev, "response")
        response = self._update_response(data)
        output = data.get("output") if isinstance(data, dict) else None
        if response is None or not isinstance(output, list):
            return
        for snapshot in output:
            item = self._merge_snapshot(snapshot, response.id)
            if item is not None and item.id not in response.output_item_ids:
                response.output_item_ids.append(item.id)

    def _update_response(self, raw_response: Any) -> ConversationResponse | None:
        data = _plain(raw_response)
        if not isinstance(data, dict):
            return None
        response = self._response(data.get("id"))
        if response is None:
            self.warnings.append("response without an id")
            return None
        for key in ("status", "conversation_id"):
            if isinstance(data.get(key), str):
                setattr(response, key, data[key])
        for key in ("status_details", "usage", "metadata"):
            if isinstance(data.get(key), dict):
                setattr(response, key, data[key])
        # A response may choose its own output format: GA response.audio.output.format, beta
        # response.output_audio_format.
        audio = data.get("audio")
        output = audio.get("output") if isinstance(audio, dict) else None
        name = format_name(output.get("format")) if isinstance(output, dict) else None
        name = name or format_name(data.get("output_audio_format"))
        if name is not None:
            response.audio_format = name
        return response

    def _on_output_item(self, ev: Any) -> None:
        response_id = _str_or_none(ev.response_id)
        item = self._merge_snapshot(_wire(ev, "item"), response_id)
        response = self._response(response_id)
        if item is None or response is None:
            return
        if item.id not in response.output_item_ids:
            index = _int_or(ev.output_index, len(response.output_item_ids))
            response.output_item_ids.insert(min(index, len(response.output_item_ids)), item.id)

    def _on_content_part(self, ev: Any) -> None:
        item = self._item_for("response.content_part", ev.item_id)
        if item is None:
            return
        data = _wire(ev, "part")
        data = data if isinstance(data, dict) else {}
        part = self._part(item, _opt(ev.content_index), str(data.get("type") or ""))
        if isinstance(data.get("text"), str) and (data["text"] or part.text is None):
            part.text = data["text"]
        transcript = data.get("transcript")
        if (
            isinstance(transcript, str)
            and part.audio_end_ms is None
            and (transcript or part.transcript is None)
        ):
            part.transcript = transcript

    def _on_text_delta(self, ev: Any) -> None:
        item = self._item_for("response.output_text.delta", ev.item_id)
        if item is not None:
            part = self._part(item, ev.content_index, "output_text")
            _append(part, "text", ev.delta or "")

    def _on_text_done(self, ev: Any) -> None:
        item = self._item_for("response.output_text.done", ev.item_id)
        if item is not None:
            self._part(item, ev.content_index, "output_text").text = _opt(ev.text) or ""

    def _on_transcript_delta(self, ev: Any) -> None:
        item = self._item_for("response.output_audio_transcript.delta", ev.item_id)
        if item is not None:
            part = self._part(item, ev.content_index, "output_audio")
            _append(part, "transcript", ev.delta or "")

    def _on_transcript_done(self, ev: Any) -> None:
        item = self._item_for("response.output_audio_transcript.done", ev.item_id)
        if item is not None:
            part = self._part(item, ev.content_index, "output_audio")
            if part.audio_end_ms is None:
                part.transcript = _opt(ev.transcript) or ""

    def _on_audio_delta(self, ev: Any) -> None:
        item = self._item_for("response.output_audio.delta", ev.item_id)
        if item is None:
            return
        part = self._part(item, ev.content_index, "output_audio")
        if part.audio_format is None:
            response = self.responses.get(ev.response_id) if isinstance(ev.response_id, str) else None
            part.audio_format = (response.audio_format if response else None) or self.output_audio_format
        data: bytes = ev.audio or b""
        if item.first_audio_at is None:
            item.first_audio_at = self._now
        part.audio_received_bytes += len(data)
        part.audio_bytes += len(data)
        part.audio_ms = part.audio_bytes / _BYTES_PER_MS[part.audio_format]
        if self.keep_audio:
            self._hold(part, data)

    def _hold(self, part: ContentPart, data: bytes) -> None:
        """Keep ``data`` in the part's buffer, dropping the oldest other parts' audio past the cap."""
        if part.audio_buffer is None:
            if part.audio_received_bytes > len(data):
                return  # its earlier audio was dropped: the part stays counted, not held
            part.audio_buffer = bytearray()
            self._held[id(part)] = part
        part.audio_buffer += data
        fmt = part.audio_format or _DEFAULT_FORMAT
        self._held_ms += len(data) / _BYTES_PER_MS[fmt]
        cap_ms = None if self.keep_audio_s is None else self.keep_audio_s * 1000.0
        while cap_ms is not None and self._held_ms > cap_ms and len(self._held) > 1:
            oldest = self._held.pop(next(iter(self._held)))
            if oldest is part:  # never drop the part still arriving: move it to the back
                self._held[id(part)] = part
                continue
            buffer = oldest.audio_buffer or bytearray()
            dropped_ms = len(buffer) / _BYTES_PER_MS[oldest.audio_format or _DEFAULT_FORMAT]
            self._held_ms -= dropped_ms
            self.audio_dropped_ms += dropped_ms
            oldest.audio_buffer = None

    def _on_audio_done(self, ev: Any) -> None:
        # The part is complete: hold its audio in a buffer of exactly its size (a growing bytearray keeps
        # up to an eighth more than it holds).
        item = self._items.get(ev.item_id) if isinstance(ev.item_id, str) else None
        for part in item.content if item is not None else ():
            if part.audio_buffer is not None and id(part) in self._held:
                part.audio_buffer = bytearray(part.audio_buffer)
                self._held[id(part)] = part

    def _on_arguments_delta(self, ev: Any) -> None:
        item = self._item_for("response.function_call_arguments.delta", ev.item_id, role=None)
        if item is None:
            return
        if item.type == "message" and not item.content:
            item.type = "function_call"
        _append(item, "arguments", _opt(ev.delta) or "")
        call_id = _str_or_none(_opt(ev.call_id))
        if call_id is not None:
            item.call_id = call_id

    def _on_arguments_done(self, ev: Any) -> None:
        item = self._item_for("response.function_call_arguments.done", ev.item_id, role=None)
        if item is None:
            return
        if item.type == "message" and not item.content:
            item.type = "function_call"
        item.arguments = _opt(ev.arguments) or ""
        for key in ("call_id", "name"):
            value = _str_or_none(_opt(getattr(ev, key, None)))
            if value is not None:
                setattr(item, key, value)

    def _on_mcp_arguments_delta(self, ev: Any) -> None:
        item = self._item_for("response.mcp_call_arguments.delta", ev.item_id, role=None)
        if item is not None:
            _append(item, "arguments", _opt(ev.delta) or "")

    def _on_mcp_arguments_done(self, ev: Any) -> None:
        item = self._item_for("response.mcp_call_arguments.done", ev.item_id, role=None)
        if item is not None:
            item.arguments = _opt(ev.arguments) or ""

    def _on_error(self, ev: Any) -> None:
        error = _wire(ev, "error")
        self.errors.append(error if isinstance(error, dict) else {"error": error})

    def _on_rate_limits(self, ev: Any) -> None:
        limits = _wire(ev, "rate_limits")
        self.rate_limits = (
            [limit for limit in limits if isinstance(limit, dict)] if isinstance(limits, list) else []
        )
