"""Beta dialect events (``OpenAI-Beta: realtime=v1``): the original 9 client and 28 server types,
plus the later beta additions (``transcription_session.*``, ``conversation.item.retrieve(d)``,
``conversation.item.input_audio_transcription.delta``, ``output_audio_buffer.*``, MCP events).

Classes whose shape GA shares are the same objects as in :mod:`rtwidget.protocol.ga`. ``SERVER_EVENTS``
also maps the GA output names (``response.output_text.delta``...) that the spec's ``RealtimeBeta*``
schemas use, so a beta-dialect server speaking either naming parses to typed events.
"""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from rtwidget.protocol._base import ClientEvent, ServerEvent
from rtwidget.protocol._events import (
    AudioDeltaShape,
    AudioDoneShape,
    ConversationCreatedEvent,
    ConversationItemCreatedEvent,
    ConversationItemCreateEvent,
    ConversationItemDeletedEvent,
    ConversationItemDeleteEvent,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    ConversationItemInputAudioTranscriptionSegmentEvent,
    ConversationItemRetrievedEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncatedEvent,
    ConversationItemTruncateEvent,
    ErrorEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearedEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    McpListToolsCompletedEvent,
    McpListToolsFailedEvent,
    McpListToolsInProgressEvent,
    OutputAudioBufferClearedEvent,
    OutputAudioBufferClearEvent,
    OutputAudioBufferStartedEvent,
    OutputAudioBufferStoppedEvent,
    RateLimitsUpdatedEvent,
    ResponseCancelEvent,
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
from rtwidget.protocol._registry import event_map
from rtwidget.protocol.ga import (
    ResponseOutputAudioDeltaEvent,
    ResponseOutputAudioDoneEvent,
    ResponseOutputAudioTranscriptDeltaEvent,
    ResponseOutputAudioTranscriptDoneEvent,
    ResponseOutputTextDeltaEvent,
    ResponseOutputTextDoneEvent,
)
from rtwidget.protocol.models import (
    BetaResponseCreateParams,
    BetaSession,
    BetaTranscriptionSession,
    ContentPart,
    FunctionCallItem,
    FunctionCallOutputItem,
    FunctionTool,
    MessageItem,
    NoiseReduction,
    SemanticVad,
    ServerVad,
    Transcription,
)

__all__ = [
    "CLIENT_EVENTS",
    "SEED_CLIENT_TYPES",
    "SEED_SERVER_TYPES",
    "SERVER_EVENTS",
    "BetaResponseCreateParams",
    "BetaSession",
    "BetaTranscriptionSession",
    "ContentPart",
    "ConversationCreatedEvent",
    "ConversationItemCreateEvent",
    "ConversationItemCreatedEvent",
    "ConversationItemDeleteEvent",
    "ConversationItemDeletedEvent",
    "ConversationItemInputAudioTranscriptionCompletedEvent",
    "ConversationItemInputAudioTranscriptionDeltaEvent",
    "ConversationItemInputAudioTranscriptionFailedEvent",
    "ConversationItemInputAudioTranscriptionSegmentEvent",
    "ConversationItemRetrieveEvent",
    "ConversationItemRetrievedEvent",
    "ConversationItemTruncateEvent",
    "ConversationItemTruncatedEvent",
    "ErrorEvent",
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "FunctionTool",
    "InputAudioBufferAppendEvent",
    "InputAudioBufferClearEvent",
    "InputAudioBufferClearedEvent",
    "InputAudioBufferCommitEvent",
    "InputAudioBufferCommittedEvent",
    "InputAudioBufferSpeechStartedEvent",
    "InputAudioBufferSpeechStoppedEvent",
    "McpListToolsCompletedEvent",
    "McpListToolsFailedEvent",
    "McpListToolsInProgressEvent",
    "MessageItem",
    "NoiseReduction",
    "OutputAudioBufferClearEvent",
    "OutputAudioBufferClearedEvent",
    "OutputAudioBufferStartedEvent",
    "OutputAudioBufferStoppedEvent",
    "RateLimitsUpdatedEvent",
    "ResponseAudioDeltaEvent",
    "ResponseAudioDoneEvent",
    "ResponseAudioTranscriptDeltaEvent",
    "ResponseAudioTranscriptDoneEvent",
    "ResponseCancelEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseCreateEvent",
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
    "ResponseTextDeltaEvent",
    "ResponseTextDoneEvent",
    "SemanticVad",
    "ServerVad",
    "SessionCreatedEvent",
    "SessionUpdateEvent",
    "SessionUpdatedEvent",
    "Transcription",
    "TranscriptionSessionCreatedEvent",
    "TranscriptionSessionUpdateEvent",
    "TranscriptionSessionUpdatedEvent",
]


class SessionUpdateEvent(ClientEvent, tag="session.update", frozen=True, kw_only=True):
    """Update the session (beta: flat fields such as ``modalities``, ``voice``, ``input_audio_format``)."""

    session: BetaSession


class TranscriptionSessionUpdateEvent(
    ClientEvent, tag="transcription_session.update", frozen=True, kw_only=True
):
    """Update a transcription session (beta only; GA: ``session.update``, ``type: "transcription"``)."""

    session: BetaTranscriptionSession


class ResponseCreateEvent(ClientEvent, tag="response.create", frozen=True, kw_only=True):
    """Ask the model for a response (beta parameters: ``modalities``, ``voice``, ``temperature``...)."""

    response: BetaResponseCreateParams | UnsetType = UNSET


class SessionCreatedEvent(ServerEvent, tag="session.created", frozen=True, kw_only=True):
    """First event after connecting: the session's effective settings."""

    event_id: str
    session: BetaSession


class SessionUpdatedEvent(ServerEvent, tag="session.updated", frozen=True, kw_only=True):
    """The session's effective settings after a ``session.update``."""

    event_id: str
    session: BetaSession


class TranscriptionSessionCreatedEvent(
    ServerEvent, tag="transcription_session.created", frozen=True, kw_only=True
):
    """A transcription session was created (beta only)."""

    event_id: str
    session: BetaTranscriptionSession


class TranscriptionSessionUpdatedEvent(
    ServerEvent, tag="transcription_session.updated", frozen=True, kw_only=True
):
    """A transcription session was updated (beta only)."""

    event_id: str
    session: BetaTranscriptionSession


class ResponseTextDeltaEvent(TextDeltaShape, tag="response.text.delta", frozen=True, kw_only=True):
    """A piece of the response's text (GA: ``response.output_text.delta``)."""


class ResponseTextDoneEvent(TextDoneShape, tag="response.text.done", frozen=True, kw_only=True):
    """The response's full text for one content part (GA: ``response.output_text.done``)."""


class ResponseAudioTranscriptDeltaEvent(
    TextDeltaShape, tag="response.audio_transcript.delta", frozen=True, kw_only=True
):
    """A piece of the transcript of the model's audio (GA: ``response.output_audio_transcript.delta``)."""


class ResponseAudioTranscriptDoneEvent(
    TranscriptDoneShape, tag="response.audio_transcript.done", frozen=True, kw_only=True
):
    """The full transcript of the model's audio (GA: ``response.output_audio_transcript.done``)."""


class ResponseAudioDeltaEvent(AudioDeltaShape, tag="response.audio.delta", frozen=True, kw_only=True):
    """Model audio: ``.audio`` bytes, ``.delta`` base64 (GA: ``response.output_audio.delta``)."""


class ResponseAudioDoneEvent(AudioDoneShape, tag="response.audio.done", frozen=True, kw_only=True):
    """The model's audio for one content part is complete (GA: ``response.output_audio.done``)."""


SEED_CLIENT_TYPES = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
)
"""The 9 client types of the original (beta) spec."""

SEED_SERVER_TYPES = (
    "error",
    "session.created",
    "session.updated",
    "conversation.created",
    "input_audio_buffer.committed",
    "input_audio_buffer.cleared",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "conversation.item.created",
    "conversation.item.input_audio_transcription.completed",
    "conversation.item.input_audio_transcription.failed",
    "conversation.item.truncated",
    "conversation.item.deleted",
    "response.created",
    "response.done",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.content_part.done",
    "response.text.delta",
    "response.text.done",
    "response.audio_transcript.delta",
    "response.audio_transcript.done",
    "response.audio.delta",
    "response.audio.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "rate_limits.updated",
)
"""The 28 server types of the original (beta) spec."""

CLIENT_EVENTS = event_map(
    SessionUpdateEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferCommitEvent,
    InputAudioBufferClearEvent,
    ConversationItemCreateEvent,
    ConversationItemTruncateEvent,
    ConversationItemDeleteEvent,
    ResponseCreateEvent,
    ResponseCancelEvent,
    # later beta additions
    TranscriptionSessionUpdateEvent,
    ConversationItemRetrieveEvent,
    OutputAudioBufferClearEvent,
)
"""Beta client event classes by wire ``type`` (9 seed + 3 later)."""

SERVER_EVENTS = event_map(
    ErrorEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    ConversationCreatedEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferClearedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    ConversationItemCreatedEvent,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    ConversationItemTruncatedEvent,
    ConversationItemDeletedEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseAudioTranscriptDoneEvent,
    ResponseAudioDeltaEvent,
    ResponseAudioDoneEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    RateLimitsUpdatedEvent,
    # later beta additions (docs/protocol-notes.md, openai-python's beta union, the spec's RealtimeBeta*)
    TranscriptionSessionCreatedEvent,
    TranscriptionSessionUpdatedEvent,
    ConversationItemRetrievedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    ConversationItemInputAudioTranscriptionSegmentEvent,
    OutputAudioBufferStartedEvent,
    OutputAudioBufferStoppedEvent,
    OutputAudioBufferClearedEvent,
    McpListToolsInProgressEvent,
    McpListToolsCompletedEvent,
    McpListToolsFailedEvent,
    ResponseMcpCallArgumentsDeltaEvent,
    ResponseMcpCallArgumentsDoneEvent,
    ResponseMcpCallInProgressEvent,
    ResponseMcpCallCompletedEvent,
    ResponseMcpCallFailedEvent,
    # the spec's RealtimeBeta* output events carry the GA names
    ResponseOutputTextDeltaEvent,
    ResponseOutputTextDoneEvent,
    ResponseOutputAudioTranscriptDeltaEvent,
    ResponseOutputAudioTranscriptDoneEvent,
    ResponseOutputAudioDeltaEvent,
    ResponseOutputAudioDoneEvent,
)
"""Beta server event classes by wire ``type``."""
