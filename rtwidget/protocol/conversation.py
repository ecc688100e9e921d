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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rtwidget.protocol._base import ClientEvent, Dialect, Event, UnknownEvent
from rtwidget.protocol._conversation_events import _ConversationEvents
from rtwidget.protocol._conversation_state import (
    _DEFAULT_FORMAT,
    ContentPart,
    ConversationItem,
    ConversationResponse,
    _RawView,
    _wire,
)
from rtwidget.protocol.codec import parse_server_event
from rtwidget.protocol.formats import AUDIO_FORMATS, AudioFormatName, bytes_per_ms

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

_Handler = Callable[["Conversation", Any], None]


class Conversation(_ConversationEvents):
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
        self._input_audio = bytearray()  # appended since the last commit or clear (keep_audio only)
        self._committed_audio: dict[str, bytes] = {}  # item id -> its audio, until the item is added

    # --- reading ----------------------------------------------------------------------------------

    @property
    def items(self) -> list[ConversationItem]:
        """Items in the conversation, in the server's order (a new list)."""
        return [self._items[item_id] for item_id in self._order]

    def item_ids(self) -> Sequence[str]:
        """Item ids in conversation order, without a copy (read it, do not keep it: it changes)."""
        return self._order

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

    def sent(self, event: Mapping[str, Any], audio: bytes | None = None) -> None:
        """Note a client event this side sent (a dict as on the wire). The server never echoes input audio,
        so with ``keep_audio`` the audio of a user's audio item is what was appended before its commit;
        it is held under the same ``keep_audio_s`` cap as the model's audio. ``audio``: an append's audio
        as bytes when the sender has them (its base64 is then not decoded again)."""
        type_ = event.get("type")
        if type_ == "input_audio_buffer.append" and self.keep_audio:
            if audio is not None:
                self._input_audio += audio
                return
            try:
                self._input_audio += base64.b64decode(str(event.get("audio") or ""), validate=True)
            except (binascii.Error, ValueError):
                self.warnings.append("input_audio_buffer.append: audio is not valid base64 (not kept)")
        elif type_ == "input_audio_buffer.clear":
            self._input_audio.clear()

    def _on_input_committed(self, ev: Any) -> None:
        data, self._input_audio = bytes(self._input_audio), bytearray()
        item_id = ev.item_id if isinstance(ev.item_id, str) else None
        if item_id is None or not data:
            return
        self._committed_audio[item_id] = data
        if item_id in self._items:  # the item came first
            self._attach_input_audio(self._items[item_id])

    def _on_input_cleared(self, _ev: Any) -> None:
        self._input_audio.clear()

    def _on_item_added_with_audio(self, ev: Any) -> None:
        self._on_item_added(ev)
        raw = _wire(ev, "item")
        item = self._items.get(str(raw.get("id"))) if isinstance(raw, dict) else None
        if item is not None and item.id in self._committed_audio:
            self._attach_input_audio(item)

    def _attach_input_audio(self, item: ConversationItem) -> None:
        part = next((p for p in item.content if p.type == "input_audio"), None)
        if part is not None:
            data = self._committed_audio.pop(item.id)
            self._set_audio_from_snapshot(item, part, base64.b64encode(data).decode("ascii"))

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


_HANDLERS: dict[str, _Handler] = {
    "session.created": Conversation._on_session,
    "session.updated": Conversation._on_session,
    "transcription_session.created": Conversation._on_session,
    "transcription_session.updated": Conversation._on_session,
    "conversation.created": Conversation._on_conversation_created,
    "conversation.item.added": Conversation._on_item_added_with_audio,
    "conversation.item.created": Conversation._on_item_added_with_audio,  # beta name of .added
    "input_audio_buffer.committed": Conversation._on_input_committed,
    "input_audio_buffer.cleared": Conversation._on_input_cleared,
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
