"""Session-side protocol objects of both dialects: audio formats, turn detection, voices, tools, sessions.

Private half of :mod:`rtwidget.protocol.models` (which re-exports every public name); the conventions of
that module's docstring hold here too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias, get_args

from msgspec import UNSET, Meta, UnsetType

from rtwidget.protocol._base import Model

__all__ = [
    "IDLE_TIMEOUT_MS_RANGE",
    "MAX_OUTPUT_TOKENS_LIMIT",
    "VAD_THRESHOLD_RANGE",
    "AudioConfig",
    "AudioFormat",
    "AudioInput",
    "AudioOutput",
    "AudioPCM",
    "AudioPCMA",
    "AudioPCMU",
    "BetaAudioFormat",
    "BetaSession",
    "BetaTranscriptionSession",
    "ClientSecret",
    "ClientSecretExpiresAfter",
    "Eagerness",
    "FunctionTool",
    "IncludeValue",
    "MaxOutputTokens",
    "McpApprovalFilter",
    "McpTool",
    "McpToolFilter",
    "Modality",
    "NoiseReduction",
    "NoiseReductionType",
    "OutputModalities",
    "Prompt",
    "RealtimeSession",
    "Reasoning",
    "ResponseAudio",
    "RetentionRatioTruncation",
    "SemanticVad",
    "ServerVad",
    "Session",
    "TokenLimits",
    "Tool",
    "ToolChoice",
    "ToolChoiceFunction",
    "ToolChoiceMcp",
    "ToolChoiceMode",
    "TracingConfig",
    "Transcription",
    "TranscriptionSession",
    "TruncationMode",
    "TurnDetection",
    "Voice",
    "VoiceId",
    "allowed_values",
]

Modality = Literal["text", "audio"]
Eagerness = Literal["low", "medium", "high", "auto"]
NoiseReductionType = Literal["near_field", "far_field"]
ToolChoiceMode = Literal["none", "auto", "required"]
TruncationMode = Literal["auto", "disabled"]
IncludeValue = Literal["item.input_audio_transcription.logprobs"]


def allowed_values(alias: Any) -> tuple[str, ...]:
    """The values a ``Literal`` alias of this module allows (for checks and messages elsewhere)."""
    return tuple(str(v) for v in get_args(alias))


OutputModalities = Annotated[list[Modality], Meta(min_length=1, max_length=1)]
"""GA ``output_modalities``: exactly one of ``["audio"]`` or ``["text"]``."""

MAX_OUTPUT_TOKENS_LIMIT = 4096
"""The largest integer ``max_output_tokens`` ("between 1 and 4096 tokens inclusive, or inf")."""
VAD_THRESHOLD_RANGE = (0.0, 1.0)
_THRESHOLD = Meta(ge=VAD_THRESHOLD_RANGE[0], le=VAD_THRESHOLD_RANGE[1])
"""server_vad ``threshold``: "between 0.0 and 1.0" (Realtime reference), inclusive."""
IDLE_TIMEOUT_MS_RANGE = (5000, 30000)
_IDLE_TIMEOUT = Meta(ge=IDLE_TIMEOUT_MS_RANGE[0], le=IDLE_TIMEOUT_MS_RANGE[1])
"""server_vad ``idle_timeout_ms``: "between 5000 and 30000" (Realtime reference), inclusive."""

MaxOutputTokens = Annotated[int, Meta(ge=1, le=MAX_OUTPUT_TOKENS_LIMIT)] | Literal["inf"]
"""``max_output_tokens``: "an integer between 1 and 4096 ... or `inf`" (Realtime reference)."""

BetaAudioFormat = Literal["pcm16", "g711_ulaw", "g711_alaw"]


class _Tagged(Model, tag_field="type", frozen=True, kw_only=True):
    """Base of nested objects told apart by their ``type`` field."""


# --- audio formats (GA objects; beta uses the strings of BetaAudioFormat) ---------------------------


class AudioPCM(_Tagged, tag="audio/pcm", frozen=True, kw_only=True):
    """PCM16 little-endian mono; GA: "Only a 24kHz sample rate is supported"."""

    rate: Literal[24000] | UnsetType = UNSET


class AudioPCMU(_Tagged, tag="audio/pcmu", frozen=True, kw_only=True):
    """G.711 u-law (8 kHz)."""


class AudioPCMA(_Tagged, tag="audio/pcma", frozen=True, kw_only=True):
    """G.711 A-law (8 kHz)."""


AudioFormat: TypeAlias = AudioPCM | AudioPCMU | AudioPCMA

# --- turn detection ----------------------------------------------------------------------------------


class ServerVad(_Tagged, tag="server_vad", frozen=True, kw_only=True):
    """Server-side voice activity detection by audio energy."""

    # Realtime reference: threshold "defaults to 0.5 ... between 0.0 and 1.0"; durations are ms.
    threshold: Annotated[float, _THRESHOLD] | UnsetType | None = UNSET
    prefix_padding_ms: Annotated[int, Meta(ge=0)] | UnsetType | None = UNSET
    silence_duration_ms: Annotated[int, Meta(ge=0)] | UnsetType | None = UNSET
    create_response: bool | UnsetType | None = UNSET
    interrupt_response: bool | UnsetType | None = UNSET
    idle_timeout_ms: Annotated[int, _IDLE_TIMEOUT] | UnsetType | None = UNSET
    eagerness: Eagerness | UnsetType | None = UNSET


class SemanticVad(_Tagged, tag="semantic_vad", frozen=True, kw_only=True):
    """Turn detection by a model that judges whether the user has finished speaking."""

    eagerness: Eagerness | UnsetType | None = UNSET
    create_response: bool | UnsetType | None = UNSET
    interrupt_response: bool | UnsetType | None = UNSET
    threshold: float | UnsetType | None = UNSET
    prefix_padding_ms: int | UnsetType | None = UNSET
    silence_duration_ms: int | UnsetType | None = UNSET


TurnDetection: TypeAlias = ServerVad | SemanticVad


class NoiseReduction(Model, frozen=True, kw_only=True):
    """Input noise reduction (``null`` turns it off)."""

    type: NoiseReductionType | UnsetType | None = UNSET
    # openai 3.57: "Input noise suppression strength. Higher values apply more suppression. Defaults to 1".
    strength: float | UnsetType | None = UNSET


class Transcription(Model, frozen=True, kw_only=True):
    """Input audio transcription settings (both dialects; GA adds ``languages``, ``keywords``, ``delay``)."""

    model: str | UnsetType | None = UNSET
    language: str | UnsetType | None = UNSET
    languages: list[str] | UnsetType | None = UNSET
    keywords: list[str] | UnsetType | None = UNSET
    prompt: str | UnsetType | None = UNSET
    delay: Literal["minimal", "low", "medium", "high", "xhigh"] | UnsetType | None = UNSET


class VoiceId(Model, frozen=True, kw_only=True):
    """A custom voice referenced by id."""

    id: str


Voice: TypeAlias = str | VoiceId


class AudioInput(Model, frozen=True, kw_only=True):
    """GA ``session.audio.input``."""

    format: AudioFormat | UnsetType = UNSET
    transcription: Transcription | UnsetType | None = UNSET
    noise_reduction: NoiseReduction | UnsetType | None = UNSET
    turn_detection: TurnDetection | UnsetType | None = UNSET


class AudioOutput(Model, frozen=True, kw_only=True):
    """GA ``session.audio.output`` (and ``response.audio.output``)."""

    format: AudioFormat | UnsetType = UNSET
    voice: Voice | UnsetType | None = UNSET
    speed: Annotated[float, Meta(ge=0.25, le=1.5)] | UnsetType | None = UNSET


class AudioConfig(Model, frozen=True, kw_only=True):
    """GA ``audio`` block: ``input`` and ``output``."""

    input: AudioInput | UnsetType | None = UNSET
    output: AudioOutput | UnsetType | None = UNSET


class ResponseAudio(Model, frozen=True, kw_only=True):
    """GA ``response.audio`` (response parameters): output format and voice only."""

    output: AudioOutput | UnsetType | None = UNSET


# --- tools ---------------------------------------------------------------------------------------------


class FunctionTool(_Tagged, tag="function", frozen=True, kw_only=True):
    """A function the model may call; ``parameters`` is a JSON Schema object."""

    name: str | UnsetType = UNSET
    description: str | UnsetType | None = UNSET
    parameters: dict[str, Any] | UnsetType | None = UNSET


class McpToolFilter(Model, frozen=True, kw_only=True):
    """Which MCP tools a filter selects."""

    tool_names: list[str] | UnsetType | None = UNSET
    read_only: bool | UnsetType | None = UNSET


class McpApprovalFilter(Model, frozen=True, kw_only=True):
    """Which MCP tools always or never need approval."""

    always: McpToolFilter | UnsetType | None = UNSET
    never: McpToolFilter | UnsetType | None = UNSET


class McpTool(_Tagged, tag="mcp", frozen=True, kw_only=True):
    """A remote MCP server whose tools the model may call (GA)."""

    server_label: str
    server_url: str | UnsetType | None = UNSET
    connector_id: str | UnsetType | None = UNSET
    tunnel_id: str | UnsetType | None = UNSET
    authorization: str | UnsetType | None = UNSET
    server_description: str | UnsetType | None = UNSET
    headers: dict[str, str] | UnsetType | None = UNSET
    allowed_tools: list[str] | McpToolFilter | UnsetType | None = UNSET
    allowed_callers: list[Literal["direct", "programmatic"]] | UnsetType | None = UNSET
    require_approval: Literal["always", "never"] | McpApprovalFilter | UnsetType | None = UNSET
    defer_loading: bool | UnsetType | None = UNSET


Tool: TypeAlias = FunctionTool | McpTool


class ToolChoiceFunction(_Tagged, tag="function", frozen=True, kw_only=True):
    """Force a call of the named function."""

    name: str


class ToolChoiceMcp(_Tagged, tag="mcp", frozen=True, kw_only=True):
    """Force a call of a tool on the named MCP server."""

    server_label: str
    name: str | UnsetType | None = UNSET


ToolChoice: TypeAlias = ToolChoiceMode | ToolChoiceFunction | ToolChoiceMcp

# --- session pieces ------------------------------------------------------------------------------------


class TracingConfig(Model, frozen=True, kw_only=True):
    """Tracing settings (``"auto"`` or this object)."""

    workflow_name: str | UnsetType | None = UNSET
    group_id: str | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET


class TokenLimits(Model, frozen=True, kw_only=True):
    """Token limits for retention-ratio truncation."""

    post_instructions: Annotated[int, Meta(ge=0)] | UnsetType | None = UNSET


class RetentionRatioTruncation(_Tagged, tag="retention_ratio", frozen=True, kw_only=True):
    """Drop this fraction of the conversation when it overflows."""

    retention_ratio: Annotated[float, Meta(ge=0, le=1)]
    token_limits: TokenLimits | UnsetType | None = UNSET


class Reasoning(Model, frozen=True, kw_only=True):
    """Reasoning effort."""

    effort: Literal["minimal", "low", "medium", "high", "xhigh"] | UnsetType | None = UNSET


class Prompt(Model, frozen=True, kw_only=True):
    """A stored prompt template reference."""

    id: str
    version: str | UnsetType | None = UNSET
    variables: dict[str, Any] | UnsetType | None = UNSET


class ClientSecretExpiresAfter(Model, frozen=True, kw_only=True):
    """Beta ``client_secret.expires_after`` / ``expires_at`` configuration."""

    anchor: Literal["created_at"] | UnsetType | None = UNSET
    seconds: int | UnsetType | None = UNSET


class ClientSecret(Model, frozen=True, kw_only=True):
    """Beta session ``client_secret``: configuration in requests, ``value``/``expires_at`` in responses."""

    expires_after: ClientSecretExpiresAfter | UnsetType | None = UNSET
    expires_at: ClientSecretExpiresAfter | int | UnsetType | None = UNSET
    value: str | UnsetType | None = UNSET

    def __repr__(self) -> str:
        # An ephemeral key is a key: keep it out of reprs and logs (the wire form still carries it).
        shown = self.value if self.value is UNSET or self.value is None else "'<redacted>'"
        expiry = f"expires_after={self.expires_after!r}, expires_at={self.expires_at!r}"
        return f"ClientSecret({expiry}, value={shown})"


class RealtimeSession(_Tagged, tag="realtime", frozen=True, kw_only=True):
    """GA realtime session (``session.type: "realtime"``), sent in ``session.update``, received in
    ``session.created`` / ``session.updated`` (which add ``id``, ``object``, ``expires_at``)."""

    id: str | UnsetType = UNSET
    object: str | UnsetType = UNSET
    expires_at: int | UnsetType | None = UNSET
    model: str | UnsetType | None = UNSET
    output_modalities: OutputModalities | UnsetType | None = UNSET
    instructions: str | UnsetType | None = UNSET
    audio: AudioConfig | UnsetType | None = UNSET
    include: list[IncludeValue] | UnsetType | None = UNSET
    tracing: Literal["auto"] | TracingConfig | UnsetType | None = UNSET
    tools: list[Tool] | UnsetType | None = UNSET
    tool_choice: ToolChoice | UnsetType | None = UNSET
    parallel_tool_calls: bool | UnsetType | None = UNSET
    reasoning: Reasoning | UnsetType | None = UNSET
    max_output_tokens: MaxOutputTokens | UnsetType | None = UNSET
    truncation: TruncationMode | RetentionRatioTruncation | UnsetType | None = UNSET
    prompt: Prompt | UnsetType | None = UNSET


class TranscriptionSession(_Tagged, tag="transcription", frozen=True, kw_only=True):
    """GA transcription session (``session.type: "transcription"``, or ``?intent=transcription``)."""

    id: str | UnsetType = UNSET
    object: str | UnsetType = UNSET
    expires_at: int | UnsetType | None = UNSET
    audio: AudioConfig | UnsetType | None = UNSET
    include: list[IncludeValue] | UnsetType | None = UNSET


Session: TypeAlias = RealtimeSession | TranscriptionSession
"""A GA session of either kind, told apart by ``session.type``."""


class BetaSession(Model, frozen=True, kw_only=True):
    """Beta session (flat fields), sent in ``session.update``, received in ``session.created|updated``."""

    id: str | UnsetType | None = UNSET
    object: str | UnsetType | None = UNSET
    expires_at: int | UnsetType | None = UNSET
    model: str | UnsetType | None = UNSET
    modalities: list[Modality] | UnsetType | None = UNSET
    instructions: str | UnsetType | None = UNSET
    voice: str | UnsetType | None = UNSET
    input_audio_format: BetaAudioFormat | UnsetType | None = UNSET
    output_audio_format: BetaAudioFormat | UnsetType | None = UNSET
    input_audio_transcription: Transcription | UnsetType | None = UNSET
    input_audio_noise_reduction: NoiseReduction | UnsetType | None = UNSET
    turn_detection: TurnDetection | UnsetType | None = UNSET
    tools: list[FunctionTool] | UnsetType | None = UNSET
    tool_choice: str | UnsetType | None = UNSET
    # No range check here: servers echo this class back in session.created/updated.
    temperature: float | UnsetType | None = UNSET
    max_response_output_tokens: MaxOutputTokens | UnsetType | None = UNSET
    speed: Annotated[float, Meta(ge=0.25, le=1.5)] | UnsetType | None = UNSET
    tracing: Literal["auto"] | TracingConfig | UnsetType | None = UNSET
    include: list[str] | UnsetType | None = UNSET
    prompt: Prompt | UnsetType | None = UNSET
    client_secret: ClientSecret | UnsetType | None = UNSET


class BetaTranscriptionSession(Model, frozen=True, kw_only=True):
    """Beta transcription session (``transcription_session.update|created|updated``)."""

    id: str | UnsetType | None = UNSET
    object: str | UnsetType | None = UNSET
    expires_at: int | UnsetType | None = UNSET
    modalities: list[Modality] | UnsetType | None = UNSET
    input_audio_format: BetaAudioFormat | UnsetType | None = UNSET
    input_audio_transcription: Transcription | UnsetType | None = UNSET
    input_audio_noise_reduction: NoiseReduction | UnsetType | None = UNSET
    turn_detection: TurnDetection | UnsetType | None = UNSET
    include: list[str] | UnsetType | None = UNSET
    client_secret: ClientSecret | UnsetType | None = UNSET
