"""GA dialect events (what OpenAI serves today): all 11 client and 46 server event types.

``CLIENT_EVENTS`` / ``SERVER_EVENTS`` map each wire ``type`` to its class. Classes whose shape the
beta dialect shares are defined once in :mod:`rtwidget.protocol._events` and re-exported here.
"""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from rtwidget.protocol._base import ClientEvent, ServerEvent
from rtwidget.protocol._events import (
    AudioDeltaShape,
    AudioDoneShape,
    ConversationCreatedEvent,
    ConversationItemAddedEvent,
    ConversationItemCreatedEvent,
    ConversationItemCreateEvent,
    ConversationItemDeletedEvent,
    ConversationItemDeleteEvent,
    ConversationItemDoneEvent,
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
    InputAudioBufferDtmfEventReceivedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    InputAudioBufferTimeoutTriggeredEvent,
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
from rtwidget.protocol.models import (
    AudioConfig,
    AudioInput,
    AudioOutput,
    AudioPCM,
    AudioPCMA,
    AudioPCMU,
    ContentPart,
    FunctionCallItem,
    FunctionCallOutputItem,
    FunctionTool,
    McpTool,
    MessageItem,
    NoiseReduction,
    RealtimeSession,
    ResponseAudio,
    ResponseCreateParams,
    SemanticVad,
    ServerVad,
    Session,
    ToolChoiceFunction,
    ToolChoiceMcp,
    Transcription,
    TranscriptionSession,
)

__all__ = [
    "CLIENT_EVENTS",
    "SERVER_EVENTS",
    "AudioConfig",
    "AudioInput",
    "AudioOutput",
    "AudioPCM",
    "AudioPCMA",
    "AudioPCMU",
    "ContentPart",
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
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "FunctionTool",
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
    "McpTool",
    "MessageItem",
    "NoiseReduction",
    "OutputAudioBufferClearEvent",
    "OutputAudioBufferClearedEvent",
    "OutputAudioBufferStartedEvent",
    "OutputAudioBufferStoppedEvent",
    "RateLimitsUpdatedEvent",
    "RealtimeSession",
    "ResponseAudio",
    "ResponseCancelEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseCreateEvent",
    "ResponseCreateParams",
    "ResponseCreatedEvent",
    "ResponseDoneEvent",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseMcpCallArgumentsDeltaEvent",
    "ResponseMcpCallArgumentsDoneEvent",
    "ResponseMcpCallCompletedEvent",
    "ResponseMcpCallFailedEvent",
    "ResponseMcpCallInProgressEvent",
    "ResponseOutputAudioDeltaEvent",
    "ResponseOutputAudioDoneEvent",
    "ResponseOutputAudioTranscriptDeltaEvent",
    "ResponseOutputAudioTranscriptDoneEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseOutputTextDeltaEvent",
    "ResponseOutputTextDoneEvent",
    "SemanticVad",
    "ServerVad",
    "SessionCreatedEvent",
    "SessionUpdateEvent",
    "SessionUpdatedEvent",
    "ToolChoiceFunction",
    "ToolChoiceMcp",
    "Transcription",
    "TranscriptionSession",
]


class SessionUpdateEvent(ClientEvent, tag="session.update", frozen=True, kw_only=True):
    """Update the session; ``session.type`` ("realtime" or "transcription") is required in GA."""

    session: Session


class ResponseCreateEvent(ClientEvent, tag="response.create", frozen=True, kw_only=True):
    """Ask the model for a response (optionally with per-response overrides)."""

    response: ResponseCreateParams | UnsetType = UNSET


class SessionCreatedEvent(ServerEvent, tag="session.created", frozen=True, kw_only=True):
    """First event after connecting: the session's effective settings."""

    event_id: str
    session: Session


class SessionUpdatedEvent(ServerEvent, tag="session.updated", frozen=True, kw_only=True):
    """The session's effective settings after a ``session.update``."""

    event_id: str
    session: Session


class ResponseOutputTextDeltaEvent(
    TextDeltaShape, tag="response.output_text.delta", frozen=True, kw_only=True
):
    """A piece of the response's text (beta: ``response.text.delta``)."""


class ResponseOutputTextDoneEvent(TextDoneShape, tag="response.output_text.done", frozen=True, kw_only=True):
    """The response's full text for one content part (beta: ``response.text.done``)."""


class ResponseOutputAudioTranscriptDeltaEvent(
    TextDeltaShape, tag="response.output_audio_transcript.delta", frozen=True, kw_only=True
):
    """A piece of the transcript of the model's audio (beta: ``response.audio_transcript.delta``)."""


class ResponseOutputAudioTranscriptDoneEvent(
    TranscriptDoneShape, tag="response.output_audio_transcript.done", frozen=True, kw_only=True
):
    """The full transcript of the model's audio (beta: ``response.audio_transcript.done``)."""


class ResponseOutputAudioDeltaEvent(
    AudioDeltaShape, tag="response.output_audio.delta", frozen=True, kw_only=True
):
    """A chunk of the model's audio: ``.audio`` bytes, ``.delta`` base64 (beta: ``response.audio.delta``)."""


class ResponseOutputAudioDoneEvent(
    AudioDoneShape, tag="response.output_audio.done", frozen=True, kw_only=True
):
    """The model's audio for one content part is complete (beta: ``response.audio.done``)."""


CLIENT_EVENTS = event_map(
    ConversationItemCreateEvent,
    ConversationItemDeleteEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    OutputAudioBufferClearEvent,
    ResponseCancelEvent,
    ResponseCreateEvent,
    SessionUpdateEvent,
)
"""GA client event classes by wire ``type`` (11)."""

SERVER_EVENTS = event_map(
    ConversationCreatedEvent,
    ConversationItemAddedEvent,
    ConversationItemCreatedEvent,
    ConversationItemDeletedEvent,
    ConversationItemDoneEvent,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    ConversationItemInputAudioTranscriptionSegmentEvent,
    ConversationItemRetrievedEvent,
    ConversationItemTruncatedEvent,
    ErrorEvent,
    InputAudioBufferClearedEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferDtmfEventReceivedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    InputAudioBufferTimeoutTriggeredEvent,
    McpListToolsCompletedEvent,
    McpListToolsFailedEvent,
    McpListToolsInProgressEvent,
    OutputAudioBufferClearedEvent,
    OutputAudioBufferStartedEvent,
    OutputAudioBufferStoppedEvent,
    RateLimitsUpdatedEvent,
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
    ResponseOutputAudioDeltaEvent,
    ResponseOutputAudioDoneEvent,
    ResponseOutputAudioTranscriptDeltaEvent,
    ResponseOutputAudioTranscriptDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputTextDeltaEvent,
    ResponseOutputTextDoneEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
)
"""GA server event classes by wire ``type`` (46)."""
