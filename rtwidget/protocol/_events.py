"""Event classes whose wire shape both dialects share, and the shapes renamed events reuse.

Public access is through :mod:`rtwidget.protocol.ga` and :mod:`rtwidget.protocol.beta`, which
re-export these classes next to their dialect-only ones.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from msgspec import UNSET, Meta, UnsetType

from rtwidget.protocol._base import ClientEvent, ServerEvent
from rtwidget.protocol._response_events import (
    AudioDeltaShape,
    AudioDoneShape,
    McpListToolsCompletedEvent,
    McpListToolsFailedEvent,
    McpListToolsInProgressEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseMcpCallArgumentsDeltaEvent,
    ResponseMcpCallArgumentsDoneEvent,
    ResponseMcpCallCompletedEvent,
    ResponseMcpCallFailedEvent,
    ResponseMcpCallInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    TextDeltaShape,
    TextDoneShape,
    TranscriptDoneShape,
)
from rtwidget.protocol.models import (
    ConversationInfo,
    ErrorDetail,
    Item,
    LogProb,
    RateLimit,
    TranscriptionUsageDuration,
    TranscriptionUsageTokens,
)

__all__ = [
    "MAX_APPEND_AUDIO_CHARS",
    "AudioDeltaShape",
    "AudioDoneShape",
    "ConversationCreatedEvent",
    "ConversationItemAddedEvent",
    "ConversationItemCreateEvent",
    "ConversationItemCreatedEvent",
    "ConversationItemDeleteEvent",
    "ConversationItemDeletedEvent",
    "ConversationItemDoneEvent",
    "ConversationItemInputAudioTranscriptionCompletedEvent",
    "ConversationItemInputAudioTranscriptionDeltaEvent",
    "ConversationItemInputAudioTranscriptionFailedEvent",
    "ConversationItemInputAudioTranscriptionSegmentEvent",
    "ConversationItemRetrieveEvent",
    "ConversationItemRetrievedEvent",
    "ConversationItemTruncateEvent",
    "ConversationItemTruncatedEvent",
    "ErrorEvent",
    "InputAudioBufferAppendEvent",
    "InputAudioBufferClearEvent",
    "InputAudioBufferClearedEvent",
    "InputAudioBufferCommitEvent",
    "InputAudioBufferCommittedEvent",
    "InputAudioBufferDtmfEventReceivedEvent",
    "InputAudioBufferSpeechStartedEvent",
    "InputAudioBufferSpeechStoppedEvent",
    "InputAudioBufferTimeoutTriggeredEvent",
    "McpListToolsCompletedEvent",
    "McpListToolsFailedEvent",
    "McpListToolsInProgressEvent",
    "OutputAudioBufferClearEvent",
    "OutputAudioBufferClearedEvent",
    "OutputAudioBufferStartedEvent",
    "OutputAudioBufferStoppedEvent",
    "RateLimitsUpdatedEvent",
    "ResponseCancelEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseCreatedEvent",
    "ResponseDoneEvent",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseMcpCallArgumentsDeltaEvent",
    "ResponseMcpCallArgumentsDoneEvent",
    "ResponseMcpCallCompletedEvent",
    "ResponseMcpCallFailedEvent",
    "ResponseMcpCallInProgressEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "TextDeltaShape",
    "TextDoneShape",
    "TranscriptDoneShape",
]


MAX_APPEND_AUDIO_CHARS = 15 * 2**20
"""Largest base64 ``audio`` of one ``input_audio_buffer.append`` (15 MiB)."""


# ==== client events (identical in both dialects) =========================================================


class ConversationItemCreateEvent(ClientEvent, tag="conversation.item.create", frozen=True, kw_only=True):
    """Add an item to the conversation (after ``previous_item_id``, or at the end)."""

    item: Item
    previous_item_id: str | UnsetType | None = UNSET


class ConversationItemDeleteEvent(ClientEvent, tag="conversation.item.delete", frozen=True, kw_only=True):
    """Remove an item from the conversation."""

    item_id: str


class ConversationItemRetrieveEvent(ClientEvent, tag="conversation.item.retrieve", frozen=True, kw_only=True):
    """Ask for the server's copy of an item (answered by ``conversation.item.retrieved``)."""

    item_id: str


class ConversationItemTruncateEvent(ClientEvent, tag="conversation.item.truncate", frozen=True, kw_only=True):
    """Cut an assistant audio item at what the user actually heard."""

    item_id: str
    content_index: Annotated[int, Meta(ge=0)]
    audio_end_ms: Annotated[int, Meta(ge=0)]  # a position in the item's audio: never negative


class InputAudioBufferAppendEvent(ClientEvent, tag="input_audio_buffer.append", frozen=True, kw_only=True):
    """Append audio to the input buffer; ``audio`` is the base64 wire string (see :meth:`from_pcm`)."""

    # Realtime reference: "a maximum of 15 MiB" per append event.
    audio: Annotated[str, Meta(max_length=MAX_APPEND_AUDIO_CHARS)]

    @classmethod
    def from_pcm(cls, pcm: bytes, *, event_id: str | UnsetType = UNSET) -> InputAudioBufferAppendEvent:
        """Build the event from raw audio bytes (PCM16 LE or G.711, per the session's input format)."""
        return cls(audio=base64.b64encode(pcm).decode("ascii"), event_id=event_id)

    @property
    def pcm(self) -> bytes:
        """The decoded audio bytes."""
        return base64.b64decode(self.audio)


class InputAudioBufferClearEvent(ClientEvent, tag="input_audio_buffer.clear", frozen=True, kw_only=True):
    """Discard the input buffer."""


class InputAudioBufferCommitEvent(ClientEvent, tag="input_audio_buffer.commit", frozen=True, kw_only=True):
    """Commit the input buffer as a user item (not needed under server VAD)."""


class OutputAudioBufferClearEvent(ClientEvent, tag="output_audio_buffer.clear", frozen=True, kw_only=True):
    """Cut off the model's audio (WebRTC/SIP only)."""


class ResponseCancelEvent(ClientEvent, tag="response.cancel", frozen=True, kw_only=True):
    """Cancel the in-progress response (or the given one)."""

    response_id: str | UnsetType = UNSET


# ==== server events ========================================================================================


class ErrorEvent(ServerEvent, tag="error", frozen=True, kw_only=True):
    """The server reports an error; most are non-fatal and the socket stays open."""

    event_id: str
    error: ErrorDetail


class ConversationCreatedEvent(ServerEvent, tag="conversation.created", frozen=True, kw_only=True):
    """A conversation was created."""

    event_id: str
    conversation: ConversationInfo


class _ItemWithPrevious(ServerEvent, frozen=True, kw_only=True):
    """Shape: an item and the id of the item before it."""

    event_id: str
    item: Item
    previous_item_id: str | UnsetType | None = UNSET


class ConversationItemCreatedEvent(
    _ItemWithPrevious, tag="conversation.item.created", frozen=True, kw_only=True
):
    """An item entered the conversation (beta; legacy in GA)."""


class ConversationItemAddedEvent(_ItemWithPrevious, tag="conversation.item.added", frozen=True, kw_only=True):
    """An item entered the conversation (GA); content may still be streaming."""


class ConversationItemDoneEvent(_ItemWithPrevious, tag="conversation.item.done", frozen=True, kw_only=True):
    """An item is final (GA)."""


class ConversationItemRetrievedEvent(
    ServerEvent, tag="conversation.item.retrieved", frozen=True, kw_only=True
):
    """Answer to ``conversation.item.retrieve``."""

    event_id: str
    item: Item


class ConversationItemDeletedEvent(ServerEvent, tag="conversation.item.deleted", frozen=True, kw_only=True):
    """An item was removed."""

    event_id: str
    item_id: str


class ConversationItemTruncatedEvent(
    ServerEvent, tag="conversation.item.truncated", frozen=True, kw_only=True
):
    """An assistant audio item was truncated."""

    event_id: str
    item_id: str
    content_index: int
    audio_end_ms: int


class ConversationItemInputAudioTranscriptionCompletedEvent(
    ServerEvent, tag="conversation.item.input_audio_transcription.completed", frozen=True, kw_only=True
):
    """The transcript of a user audio item."""

    event_id: str
    item_id: str
    content_index: int
    transcript: str
    usage: TranscriptionUsageTokens | TranscriptionUsageDuration | UnsetType | None = UNSET
    logprobs: list[LogProb] | UnsetType | None = UNSET
    languages: list[Any] | UnsetType | None = UNSET


class ConversationItemInputAudioTranscriptionDeltaEvent(
    ServerEvent, tag="conversation.item.input_audio_transcription.delta", frozen=True, kw_only=True
):
    """A piece of a user audio item's transcript."""

    event_id: str
    item_id: str
    content_index: int | UnsetType = UNSET
    delta: str | UnsetType = UNSET
    logprobs: list[LogProb] | UnsetType | None = UNSET
    obfuscation: str | UnsetType | None = UNSET


class ConversationItemInputAudioTranscriptionFailedEvent(
    ServerEvent, tag="conversation.item.input_audio_transcription.failed", frozen=True, kw_only=True
):
    """Transcription of a user audio item failed."""

    event_id: str
    item_id: str
    content_index: int
    error: ErrorDetail


class ConversationItemInputAudioTranscriptionSegmentEvent(
    ServerEvent, tag="conversation.item.input_audio_transcription.segment", frozen=True, kw_only=True
):
    """A diarized transcript segment (GA)."""

    event_id: str
    item_id: str
    content_index: int
    text: str
    id: str
    speaker: str
    start: float
    end: float


class InputAudioBufferCommittedEvent(
    ServerEvent, tag="input_audio_buffer.committed", frozen=True, kw_only=True
):
    """The input buffer became a user item."""

    event_id: str
    item_id: str
    previous_item_id: str | UnsetType | None = UNSET


class InputAudioBufferClearedEvent(ServerEvent, tag="input_audio_buffer.cleared", frozen=True, kw_only=True):
    """The input buffer was cleared."""

    event_id: str


class InputAudioBufferSpeechStartedEvent(
    ServerEvent, tag="input_audio_buffer.speech_started", frozen=True, kw_only=True
):
    """Server VAD heard speech start (ms on the input buffer's timeline)."""

    event_id: str
    audio_start_ms: int
    item_id: str


class InputAudioBufferSpeechStoppedEvent(
    ServerEvent, tag="input_audio_buffer.speech_stopped", frozen=True, kw_only=True
):
    """Server VAD heard speech stop."""

    event_id: str
    audio_end_ms: int
    item_id: str


class InputAudioBufferTimeoutTriggeredEvent(
    ServerEvent, tag="input_audio_buffer.timeout_triggered", frozen=True, kw_only=True
):
    """Server VAD's ``idle_timeout_ms`` expired (GA)."""

    event_id: str
    audio_start_ms: int
    audio_end_ms: int
    item_id: str


class InputAudioBufferDtmfEventReceivedEvent(
    ServerEvent, tag="input_audio_buffer.dtmf_event_received", frozen=True, kw_only=True
):
    """A DTMF key press on a SIP call (GA; the schema gives it no ``event_id``)."""

    event: str
    received_at: int
    event_id: str | UnsetType = UNSET


class OutputAudioBufferStartedEvent(
    ServerEvent, tag="output_audio_buffer.started", frozen=True, kw_only=True
):
    """The server started playing audio (WebRTC/SIP)."""

    event_id: str
    response_id: str


class OutputAudioBufferStoppedEvent(
    ServerEvent, tag="output_audio_buffer.stopped", frozen=True, kw_only=True
):
    """The server's audio output finished (WebRTC/SIP)."""

    event_id: str
    response_id: str


class OutputAudioBufferClearedEvent(
    ServerEvent, tag="output_audio_buffer.cleared", frozen=True, kw_only=True
):
    """The server's audio output was cut off (WebRTC/SIP)."""

    event_id: str
    response_id: str


class RateLimitsUpdatedEvent(ServerEvent, tag="rate_limits.updated", frozen=True, kw_only=True):
    """Current rate limits (arrives shortly after ``response.done``)."""

    event_id: str
    rate_limits: list[RateLimit]
