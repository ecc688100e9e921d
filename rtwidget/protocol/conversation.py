"""Conversation state rebuilt from server events of either dialect (sans-I/O).

Feed every server event to :meth:`Conversation.apply`; read the conversation back as ordered items
(messages with their text, transcripts and audio counts, function calls with their arguments, function
call outputs), responses (status, status details, usage, output items) and the effective session.

Both dialects are understood at once: GA names (``response.output_text.delta``,
``response.output_audio.delta``, ``conversation.item.added`` ...) and beta names
(``response.text.delta``, ``response.audio.delta``, ``conversation.item.created`` ...) update the same
state. Nothing here does I/O or imports numpy: audio is counted in bytes and milliseconds, and kept as
bytes only when asked (``keep_audio=True``), since a long session's audio can be large.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from rtwidget.protocol._base import ClientEvent, Dialect, Event, UnknownEvent
from rtwidget.protocol.codec import parse_server_event
from rtwidget.protocol.formats import (
    AUDIO_FORMATS,
    DEFAULT_FORMAT,
    FORMATS,
    AudioFormatName,
    bytes_per_ms,
    format_name,
    session_audio_format,
)

__all__ = [
    "AUDIO_FORMATS",
    "AudioFormatName",
    "ContentPart",
    "Conversation",
    "ConversationItem",
    "ConversationResponse",
    "audio_bytes_per_ms",
]

audio_bytes_per_ms = bytes_per_ms  # the name this module exported first

_BYTES_PER_MS: dict[AudioFormatName, int] = {name: fmt.bytes_per_ms for name, fmt in FORMATS.items()}
_BYTES_PER_SAMPLE: dict[AudioFormatName, int] = {name: fmt.bytes_per_sample for name, fmt in FORMATS.items()}
_DEFAULT_FORMAT: AudioFormatName = DEFAULT_FORMAT


def _opt(value: Any) -> Any:
    """Map msgspec's UNSET (field absent on the wire) to ``None``, like an explicit ``null``."""
    return None if value is msgspec.UNSET else value


def _plain(value: Any) -> Any:
    """Return a nested protocol object as plain JSON data (dicts, lists, str, numbers, None)."""
    if value is None or value is msgspec.UNSET:
        return None
    if isinstance(value, dict | list | str | int | float | bool):
        return value
    return msgspec.to_builtins(value)


def _wire(event: Any, name: str) -> Any:
    """Field ``name`` of an event as plain JSON data, exactly as on the wire (unknown fields included).

    Used for the object-carrying events (items, responses, sessions): ``to_dict()`` of a parsed event is
    its input JSON, so fields this version does not model survive. Deltas use attribute access instead.
    """
    if isinstance(event, Event):
        return event.wire().get(name)
    return _plain(getattr(event, name))


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int_or(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass(slots=True)
class ContentPart:
    """One content part of an item, with what was streamed into it.

    Attributes:
        type: wire type: ``input_text`` / ``input_audio`` / ``output_text`` / ``output_audio`` (GA items),
            ``text`` / ``audio`` (beta items and ``response.content_part.*`` of both dialects), ...
        text: text of a text part (accumulated from deltas, then the ``done`` value).
        transcript: transcript of an audio part: the model's speech (``*audio_transcript*`` events) or the
            user's (``input_audio_transcription``); ``""`` after truncation (the server removes it).
        audio_bytes: bytes of audio currently held by this part (received minus what truncation cut).
        audio_ms: duration of ``audio_bytes`` in the part's audio format.
        audio_received_bytes: all audio bytes received for this part, truncation not applied.
        audio_format: format the audio arrived in (``pcm16``, ``g711_ulaw``, ``g711_alaw``).
        audio_end_ms: where ``conversation.item.truncated`` cut the audio, else ``None``.
        truncated_transcript: the transcript as it was before truncation removed it.
        transcription_status: for user audio: ``in_progress`` / ``completed`` / ``failed``, else ``None``.
        transcription_error: the ``error`` object of a failed input transcription.
    """

    type: str
    text: str | None = None
    transcript: str | None = None
    audio_bytes: int = 0
    audio_ms: float = 0.0
    audio_received_bytes: int = 0
    audio_format: AudioFormatName | None = None
    audio_end_ms: int | None = None
    truncated_transcript: str | None = None
    transcription_status: str | None = None
    transcription_error: dict[str, Any] | None = None
    audio_buffer: bytearray | None = field(default=None, repr=False)

    @property
    def audio(self) -> bytes | None:
        """The audio bytes held, truncation applied (``keep_audio=True`` only; else ``None``, also once the
        ``keep_audio_s`` cap dropped them)."""
        return None if self.audio_buffer is None else bytes(self.audio_buffer[: self.audio_bytes])


@dataclass(slots=True)
class ConversationItem:
    """An item as the server describes it, plus what was streamed into it.

    Attributes:
        id: item id.
        type: ``message``, ``function_call``, ``function_call_output``, ``mcp_call``, ...
        role: ``user`` / ``assistant`` / ``system`` for messages, else ``None``.
        status: ``in_progress`` / ``completed`` / ``incomplete`` (``None`` when the server sends none).
        content: content parts, by ``content_index``.
        name: function (or MCP tool) name of a call.
        call_id: call id of a ``function_call`` / ``function_call_output``.
        arguments: JSON arguments of a call (accumulated from deltas, then the ``done`` value).
        output: output of a ``function_call_output`` (or an MCP call).
        previous_item_id: the item before this one, as the server said when it was added.
        response_id: the response that produced it (``None`` for items the client created).
        in_conversation: whether the item is in the conversation (out-of-band response output is not).
        extra: other fields of the item's last snapshot (e.g. ``server_label``, ``error`` of MCP items).
        first_audio_at: the ``now`` given to :meth:`Conversation.apply` with the item's first audio delta.
        played_ms: how much of its audio a player reported as rendered (:meth:`Conversation.set_played`).
    """

    id: str
    type: str
    role: str | None = None
    status: str | None = None
    content: list[ContentPart] = field(default_factory=list)
    name: str | None = None
    call_id: str | None = None
    arguments: str | None = None
    output: str | None = None
    previous_item_id: str | None = None
    response_id: str | None = None
    in_conversation: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    first_audio_at: float | None = None
    played_ms: float = 0.0

    @property
    def text(self) -> str:
        """All text of the item: text parts and transcripts, joined in content order."""
        pieces = [part.text if part.text is not None else part.transcript for part in self.content]
        return "".join(piece for piece in pieces if piece)

    @property
    def transcript(self) -> str | None:
        """The transcript of the item's audio parts joined, or ``None`` if it has none."""
        found = [part.transcript for part in self.content if part.transcript is not None]
        return "".join(found) if found else None

    @property
    def audio_bytes(self) -> int:
        """Audio bytes held by all parts (after truncation)."""
        return sum(part.audio_bytes for part in self.content)

    @property
    def audio_ms(self) -> float:
        """Milliseconds of audio held by all parts (after truncation)."""
        return sum(part.audio_ms for part in self.content)

    @property
    def audio(self) -> bytes | None:
        """The item's audio bytes (``keep_audio=True`` only; else ``None``)."""
        buffers = [part.audio for part in self.content if part.audio_buffer is not None]
        return b"".join(b for b in buffers if b is not None) if buffers else None

    @property
    def audio_end_ms(self) -> int | None:
        """Where truncation cut the item's audio, or ``None`` if it was not truncated."""
        for part in self.content:
            if part.audio_end_ms is not None:
                return part.audio_end_ms
        return None


@dataclass(slots=True)
class ConversationResponse:
    """A response's lifecycle.

    Attributes:
        id: response id.
        status: ``in_progress``, then ``completed`` / ``cancelled`` / ``failed`` / ``incomplete``.
        status_details: why it ended that way (e.g. ``{"type": "cancelled", "reason": "turn_detected"}``).
        usage: token usage from ``response.done``.
        output_item_ids: ids of its output items, by ``output_index``.
        conversation_id: ``conversation_id`` of the response, if the server sent one.
        audio_format: the response's own output audio format, when it overrides the session's.
        metadata: the response's ``metadata``.
    """

    id: str
    status: str | None = None
    status_details: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    output_item_ids: list[str] = field(default_factory=list)
    conversation_id: str | None = None
    audio_format: AudioFormatName | None = None
    metadata: dict[str, Any] | None = None


class _RawView:
    """Attribute access over the raw dict of an :class:`UnknownEvent` whose known ``type`` failed to parse.

    Missing fields read as ``UNSET`` (as on a typed event); ``audio`` decodes the base64 ``delta``.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    def __getattr__(self, name: str) -> Any:
        if name == "audio":
            delta = self._raw.get("delta")
            try:
                return base64.b64decode(delta) if isinstance(delta, str) else b""
            except (binascii.Error, ValueError):
                return b""
        return self._raw.get(name, msgspec.UNSET)


_Handler = Callable[["Conversation", Any], None]


class Conversation:
    """Conversation state rebuilt from server events (sans-I/O, either dialect).

    ``conv.apply(event)`` for every server event; then ``conv.items`` (in conversation order, from
    ``previous_item_id``), ``conv.item(id)``, ``conv.responses``, ``conv.session``.

    Args:
        dialect: dialect used to parse raw frames given to :meth:`apply` (typed events of either
            dialect are understood regardless).
        keep_audio: keep received audio bytes per content part (else only bytes and ms are counted).
        keep_audio_s: with ``keep_audio``, the most audio held at once, in seconds (oldest dropped first).
    """

    def __init__(
        self, *, dialect: Dialect = "ga", keep_audio: bool = False, keep_audio_s: float | None = None
    ) -> None:
        self.dialect: Dialect = dialect
        self.keep_audio = keep_audio
        self.keep_audio_s = keep_audio_s
        """Cap on the received audio held (seconds, all parts): past it the oldest parts' audio is dropped
        (their byte and ms counts stay). ``None``: no cap."""
        self.audio_dropped_ms = 0.0
        """Milliseconds of received audio dropped by the ``keep_audio_s`` cap."""
        self._held: dict[int, ContentPart] = {}  # id(part) -> part, oldest first
        self._held_ms = 0.0
        self._now: float | None = None
        self.session: dict[str, Any] | None = None
        """The last effective session (``session`` of ``session.created`` / ``session.updated``)."""
        self.conversation_id: str | None = None
        self.responses: dict[str, ConversationResponse] = {}
        """Responses by id, in the order they were created."""
        self.rate_limits: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        """``error`` objects of ``error`` events, in arrival order."""
        self.warnings: list[str] = []
        """Inconsistencies noticed in the event stream (e.g. a delta for an unknown item); nothing is lost."""
        self.input_audio_format: AudioFormatName = _DEFAULT_FORMAT
        self.output_audio_format: AudioFormatName = _DEFAULT_FORMAT
        self._items: dict[str, ConversationItem] = {}
        self._order: list[str] = []

    # --- reading ----------------------------------------------------------------------------------

    @property
    def items(self) -> list[ConversationItem]:
        """Items in the conversation, in the server's order (a new list)."""
        return [self._items[item_id] for item_id in self._order]

    def item(self, item_id: str) -> ConversationItem:
        """Return the item with ``item_id`` (also items of out-of-band responses).

        Raises:
            KeyError: no such item (never seen, or deleted).
        """
        try:
            return self._items[item_id]
        except KeyError:
            raise KeyError(f"no item {item_id!r} in the conversation") from None

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __len__(self) -> int:
        return len(self._order)

    def __repr__(self) -> str:
        counts = f"items={len(self._order)}, responses={len(self.responses)}"
        return f"Conversation({counts}, dialect={self.dialect!r})"

    # --- applying events --------------------------------------------------------------------------

    def set_played(self, item_id: str, played_ms: float) -> None:
        """Record how much of an item's audio a player rendered (never moves backwards)."""
        item = self._items.get(item_id)
        if item is not None:
            item.played_ms = max(item.played_ms, float(played_ms))

    def audio_part(self, item_id: str, content_index: int = 0) -> ContentPart | None:
        """The content part an audio delta for ``item_id`` / ``content_index`` goes to, if it exists."""
        item = self._items.get(item_id)
        if item is None or not 0 <= content_index < len(item.content):
            return None
        return item.content[content_index]

    def apply(self, event: Event | dict[str, Any] | str | bytes, now: float | None = None) -> bool:
        """Update the state from one server event.

        Args:
            event: a typed server event of either dialect, or a raw frame (str / bytes / dict), parsed
                with this conversation's dialect.
            now: the caller's clock when the event arrived (kept as ``first_audio_at``); optional.

        Returns:
            Whether the event changed conversation state (``False`` for event types that do not, such as
            ``input_audio_buffer.speech_started``, and for client events).

        Raises:
            ProtocolError: a raw frame that is not a JSON object with a ``type``.
        """
        if not isinstance(event, Event):
            event = parse_server_event(event, self.dialect)
        self._now = now
        if isinstance(event, ClientEvent):
            return False
        handler = _HANDLERS.get(event.type)
        if handler is None:
            return False
        for problem in event.problems:
            if problem.kind != "unknown_type":
                self.warnings.append(f"{event.type}: {problem}")
        if isinstance(event, UnknownEvent):
            # A known type that did not match its schema: use what it has rather than dropping it.
            self.warnings.append(f"{event.type}: {event.error}")
            handler(self, _RawView(event.raw))
        else:
            handler(self, event)
        return True

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
        part.transcript = (part.transcript or "") + (_opt(ev.delta) or "")
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
            part.text = (part.text or "") + (ev.delta or "")

    def _on_text_done(self, ev: Any) -> None:
        item = self._item_for("response.output_text.done", ev.item_id)
        if item is not None:
            self._part(item, ev.content_index, "output_text").text = _opt(ev.text) or ""

    def _on_transcript_delta(self, ev: Any) -> None:
        item = self._item_for("response.output_audio_transcript.delta", ev.item_id)
        if item is not None:
            part = self._part(item, ev.content_index, "output_audio")
            part.transcript = (part.transcript or "") + (ev.delta or "")

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
        item.arguments = (item.arguments or "") + (_opt(ev.delta) or "")
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
            item.arguments = (item.arguments or "") + (_opt(ev.delta) or "")

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


_HANDLERS: dict[str, _Handler] = {
    "session.created": Conversation._on_session,
    "session.updated": Conversation._on_session,
    "transcription_session.created": Conversation._on_session,
    "transcription_session.updated": Conversation._on_session,
    "conversation.created": Conversation._on_conversation_created,
    "conversation.item.added": Conversation._on_item_added,
    "conversation.item.created": Conversation._on_item_added,  # beta name of .added
    "conversation.item.done": Conversation._on_item_done,
    "conversation.item.retrieved": Conversation._on_item_retrieved,
    "conversation.item.deleted": Conversation._on_item_deleted,
    "conversation.item.truncated": Conversation._on_item_truncated,
    "conversation.item.input_audio_transcription.delta": Conversation._on_transcription_delta,
    "conversation.item.input_audio_transcription.completed": Conversation._on_transcription_completed,
    "conversation.item.input_audio_transcription.failed": Conversation._on_transcription_failed,
    "response.created": Conversation._on_response_created,
    "response.done": Conversation._on_response_done,
    "response.output_item.added": Conversation._on_output_item,
    "response.output_item.done": Conversation._on_output_item,
    "response.content_part.added": Conversation._on_content_part,
    "response.content_part.done": Conversation._on_content_part,
    "response.output_text.delta": Conversation._on_text_delta,
    "response.text.delta": Conversation._on_text_delta,
    "response.output_text.done": Conversation._on_text_done,
    "response.text.done": Conversation._on_text_done,
    "response.output_audio_transcript.delta": Conversation._on_transcript_delta,
    "response.audio_transcript.delta": Conversation._on_transcript_delta,
    "response.output_audio_transcript.done": Conversation._on_transcript_done,
    "response.audio_transcript.done": Conversation._on_transcript_done,
    "response.output_audio.delta": Conversation._on_audio_delta,
    "response.audio.delta": Conversation._on_audio_delta,
    "response.output_audio.done": Conversation._on_audio_done,
    "response.audio.done": Conversation._on_audio_done,
    "response.function_call_arguments.delta": Conversation._on_arguments_delta,
    "response.function_call_arguments.done": Conversation._on_arguments_done,
    "response.mcp_call_arguments.delta": Conversation._on_mcp_arguments_delta,
    "response.mcp_call_arguments.done": Conversation._on_mcp_arguments_done,
    "error": Conversation._on_error,
    "rate_limits.updated": Conversation._on_rate_limits,
}
