"""The state a :class:`~rtwidget.protocol.conversation.Conversation` holds: content parts, items, responses.

Private to :mod:`rtwidget.protocol.conversation` (which re-exports the public classes), with the small
helpers its event handlers read wire values through.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import msgspec

from rtwidget.protocol._base import Event
from rtwidget.protocol.formats import DEFAULT_FORMAT, FORMATS, AudioFormatName

__all__ = ["ContentPart", "ConversationItem", "ConversationResponse"]

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


def _append(obj: Any, name: str, delta: str) -> None:
    """Append ``delta`` to the text attribute ``name`` of ``obj`` in amortized O(1).

    ``obj.name = obj.name + delta`` copies the whole text on every delta (a 100k-delta reply: quadratic).
    With the attribute cleared first, the local is the string's only reference, and CPython's ``+=`` then
    grows it in place; if someone else holds the text, that one append copies it, as before.
    """
    text = getattr(obj, name) or ""
    setattr(obj, name, None)
    text += delta
    setattr(obj, name, text)


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
