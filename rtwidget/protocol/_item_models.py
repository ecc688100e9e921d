"""Conversation-side protocol objects of both dialects: content parts, items, responses, small server objects.

Private half of :mod:`rtwidget.protocol.models` (which re-exports every public name); the conventions of
that module's docstring hold here too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

import msgspec
from msgspec import UNSET, Meta, UnsetType

from rtwidget.protocol._base import Model
from rtwidget.protocol._session_models import (
    BetaAudioFormat,
    FunctionTool,
    MaxOutputTokens,
    Modality,
    OutputModalities,
    Prompt,
    Reasoning,
    ResponseAudio,
    Tool,
    ToolChoice,
    _Tagged,
)

__all__ = [
    "BetaResponseCreateParams",
    "CachedTokensDetails",
    "ContentPart",
    "ContentType",
    "ConversationInfo",
    "ErrorDetail",
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "InputTokenDetails",
    "Item",
    "ItemReference",
    "LogProb",
    "McpApprovalRequestItem",
    "McpApprovalResponseItem",
    "McpCallError",
    "McpCallItem",
    "McpHttpError",
    "McpListToolsItem",
    "McpListToolsTool",
    "McpProtocolError",
    "McpToolExecutionError",
    "MessageItem",
    "OutputTokenDetails",
    "RateLimit",
    "Response",
    "ResponseCreateParams",
    "ResponseStatusDetails",
    "StatusError",
    "TranscriptionUsageDuration",
    "TranscriptionUsageTokens",
    "Usage",
]

ContentType = Literal[
    "input_text",
    "input_audio",
    "input_image",
    "output_text",
    "output_audio",
    "text",
    "audio",
    "item_reference",
]
ItemStatus = Literal["completed", "incomplete", "in_progress"]
ResponseStatus = Literal["completed", "cancelled", "failed", "incomplete", "in_progress"]


# --- conversation items ----------------------------------------------------------------------------------


class ContentPart(Model, frozen=True, kw_only=True):
    """One content part of a message item, or the ``part`` of ``response.content_part.*``.

    ``type`` is ``input_text`` / ``input_audio`` / ``input_image`` (user), ``output_text`` /
    ``output_audio`` (GA assistant), ``text`` / ``audio`` (beta assistant, and ``content_part`` events
    of both dialects: "part.type is "text" or "audio"" in recorded GA traffic), ``item_reference`` (beta).
    ``audio`` is base64 (input audio); ``transcript`` is ``null`` until transcription arrives.
    """

    type: ContentType | UnsetType = UNSET
    text: str | UnsetType | None = UNSET
    audio: str | UnsetType | None = UNSET
    transcript: str | UnsetType | None = UNSET
    image_url: str | UnsetType | None = UNSET
    detail: Literal["auto", "low", "high"] | UnsetType | None = UNSET
    id: str | UnsetType | None = UNSET


class MessageItem(_Tagged, tag="message", frozen=True, kw_only=True):
    """A system, user or assistant message."""

    id: str | UnsetType | None = UNSET
    object: Literal["realtime.item"] | UnsetType | None = UNSET
    status: ItemStatus | UnsetType | None = UNSET
    role: Literal["system", "user", "assistant"]
    content: list[ContentPart] = msgspec.field(default_factory=list)
    # Recorded gpt-realtime-2.1 traffic: assistant items carry "phase": "commentary" | "final_answer".
    phase: Literal["commentary", "final_answer"] | UnsetType | None = UNSET


class FunctionCallItem(_Tagged, tag="function_call", frozen=True, kw_only=True):
    """A function call made by the model; ``arguments`` is a JSON string."""

    id: str | UnsetType | None = UNSET
    object: Literal["realtime.item"] | UnsetType | None = UNSET
    status: ItemStatus | UnsetType | None = UNSET
    call_id: str | UnsetType | None = UNSET
    name: str | UnsetType | None = UNSET
    arguments: str | UnsetType | None = UNSET


class FunctionCallOutputItem(_Tagged, tag="function_call_output", frozen=True, kw_only=True):
    """The result of a function call, sent back by the client."""

    id: str | UnsetType | None = UNSET
    object: Literal["realtime.item"] | UnsetType | None = UNSET
    status: ItemStatus | UnsetType | None = UNSET
    call_id: str
    output: str


class McpApprovalResponseItem(_Tagged, tag="mcp_approval_response", frozen=True, kw_only=True):
    """The client's answer to an MCP approval request."""

    id: str | UnsetType | None = UNSET
    approval_request_id: str
    approve: bool
    reason: str | UnsetType | None = UNSET


class McpListToolsTool(Model, frozen=True, kw_only=True):
    """One tool listed by an MCP server."""

    name: str
    input_schema: dict[str, Any] | UnsetType | None = UNSET
    description: str | UnsetType | None = UNSET
    annotations: dict[str, Any] | UnsetType | None = UNSET


class McpListToolsItem(_Tagged, tag="mcp_list_tools", frozen=True, kw_only=True):
    """The tools an MCP server offers."""

    id: str | UnsetType | None = UNSET
    server_label: str
    tools: list[McpListToolsTool] = msgspec.field(default_factory=list)


class McpProtocolError(_Tagged, tag="protocol_error", frozen=True, kw_only=True):
    """An MCP protocol error."""

    code: int | UnsetType | None = UNSET
    message: str | UnsetType | None = UNSET


class McpToolExecutionError(_Tagged, tag="tool_execution_error", frozen=True, kw_only=True):
    """An MCP tool failed."""

    message: str | UnsetType | None = UNSET


class McpHttpError(_Tagged, tag="http_error", frozen=True, kw_only=True):
    """An MCP server answered with an HTTP error."""

    code: int | UnsetType | None = UNSET
    message: str | UnsetType | None = UNSET


McpCallError: TypeAlias = McpProtocolError | McpToolExecutionError | McpHttpError


class McpCallItem(_Tagged, tag="mcp_call", frozen=True, kw_only=True):
    """A call of an MCP tool."""

    id: str | UnsetType | None = UNSET
    server_label: str | UnsetType | None = UNSET
    name: str | UnsetType | None = UNSET
    arguments: str | UnsetType | None = UNSET
    approval_request_id: str | UnsetType | None = UNSET
    output: str | UnsetType | None = UNSET
    error: McpCallError | UnsetType | None = UNSET


class McpApprovalRequestItem(_Tagged, tag="mcp_approval_request", frozen=True, kw_only=True):
    """The server asks the client to approve an MCP tool call."""

    id: str | UnsetType | None = UNSET
    server_label: str | UnsetType | None = UNSET
    name: str | UnsetType | None = UNSET
    arguments: str | UnsetType | None = UNSET


class ItemReference(_Tagged, tag="item_reference", frozen=True, kw_only=True):
    """Beta: a reference to an existing item by id (in ``response.create`` ``input``)."""

    id: str


Item: TypeAlias = (
    MessageItem
    | FunctionCallItem
    | FunctionCallOutputItem
    | McpApprovalResponseItem
    | McpListToolsItem
    | McpCallItem
    | McpApprovalRequestItem
    | ItemReference
)
"""A conversation item of either dialect, told apart by ``item.type``."""

# --- responses -------------------------------------------------------------------------------------------


class StatusError(Model, frozen=True, kw_only=True):
    """Why a response failed."""

    type: str | UnsetType | None = UNSET
    code: str | UnsetType | None = UNSET
    message: str | UnsetType | None = UNSET  # sent by OpenAI's own server, not in the SDK types


class ResponseStatusDetails(Model, frozen=True, kw_only=True):
    """Details of a response's final status."""

    type: str | UnsetType | None = UNSET
    reason: str | UnsetType | None = UNSET
    error: StatusError | UnsetType | None = UNSET


class CachedTokensDetails(Model, frozen=True, kw_only=True):
    """Cached input tokens by kind."""

    text_tokens: int | UnsetType | None = UNSET
    image_tokens: int | UnsetType | None = UNSET
    audio_tokens: int | UnsetType | None = UNSET


class InputTokenDetails(Model, frozen=True, kw_only=True):
    """Input tokens by kind."""

    cached_tokens: int | UnsetType | None = UNSET
    text_tokens: int | UnsetType | None = UNSET
    image_tokens: int | UnsetType | None = UNSET
    audio_tokens: int | UnsetType | None = UNSET
    cached_tokens_details: CachedTokensDetails | UnsetType | None = UNSET


class OutputTokenDetails(Model, frozen=True, kw_only=True):
    """Output tokens by kind (``reasoning_tokens``: seen in recorded gpt-realtime-2.1 traffic)."""

    text_tokens: int | UnsetType | None = UNSET
    audio_tokens: int | UnsetType | None = UNSET
    reasoning_tokens: int | UnsetType | None = UNSET


class Usage(Model, frozen=True, kw_only=True):
    """Token usage of a response."""

    total_tokens: int | UnsetType | None = UNSET
    input_tokens: int | UnsetType | None = UNSET
    output_tokens: int | UnsetType | None = UNSET
    input_token_details: InputTokenDetails | UnsetType | None = UNSET
    output_token_details: OutputTokenDetails | UnsetType | None = UNSET


class Response(Model, frozen=True, kw_only=True):
    """A response as the server reports it (``response.created`` / ``response.done``), both dialects."""

    id: str | UnsetType | None = UNSET
    object: str | UnsetType | None = UNSET
    status: ResponseStatus | UnsetType | None = UNSET
    status_details: ResponseStatusDetails | UnsetType | None = UNSET
    output: list[Item] | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET
    usage: Usage | UnsetType | None = UNSET
    conversation_id: str | UnsetType | None = UNSET
    # GA
    output_modalities: list[Modality] | UnsetType | None = UNSET
    audio: ResponseAudio | UnsetType | None = UNSET
    max_output_tokens: int | Literal["inf"] | UnsetType | None = UNSET
    # beta
    modalities: list[Modality] | UnsetType | None = UNSET
    voice: str | UnsetType | None = UNSET
    output_audio_format: str | UnsetType | None = UNSET
    temperature: float | UnsetType | None = UNSET


class ResponseCreateParams(Model, frozen=True, kw_only=True):
    """GA ``response.create`` ``response`` parameters (out-of-band responses, overrides)."""

    output_modalities: OutputModalities | UnsetType | None = UNSET
    instructions: str | UnsetType | None = UNSET
    audio: ResponseAudio | UnsetType | None = UNSET
    tools: list[Tool] | UnsetType | None = UNSET
    tool_choice: ToolChoice | UnsetType | None = UNSET
    parallel_tool_calls: bool | UnsetType | None = UNSET
    reasoning: Reasoning | UnsetType | None = UNSET
    max_output_tokens: MaxOutputTokens | UnsetType | None = UNSET
    conversation: str | UnsetType | None = UNSET
    metadata: dict[str, str] | UnsetType | None = UNSET
    prompt: Prompt | UnsetType | None = UNSET
    input: list[Item] | UnsetType | None = UNSET


class BetaResponseCreateParams(Model, frozen=True, kw_only=True):
    """Beta ``response.create`` ``response`` parameters."""

    modalities: list[Modality] | UnsetType | None = UNSET
    instructions: str | UnsetType | None = UNSET
    voice: str | UnsetType | None = UNSET
    output_audio_format: BetaAudioFormat | UnsetType | None = UNSET
    tools: list[FunctionTool] | UnsetType | None = UNSET
    tool_choice: str | UnsetType | None = UNSET
    # Beta reference: "Sampling temperature for the model, limited to [0.6, 1.2]."
    temperature: Annotated[float, Meta(ge=0.6, le=1.2)] | UnsetType | None = UNSET
    max_response_output_tokens: MaxOutputTokens | UnsetType | None = UNSET
    conversation: str | UnsetType | None = UNSET
    metadata: dict[str, str] | UnsetType | None = UNSET
    input: list[Item] | UnsetType | None = UNSET


# --- small server-side objects -----------------------------------------------------------------------------


class ErrorDetail(Model, frozen=True, kw_only=True):
    """``error`` of an ``error`` event or of a failed transcription."""

    type: str | UnsetType | None = UNSET
    code: str | UnsetType | None = UNSET
    message: str | UnsetType | None = UNSET
    param: str | UnsetType | None = UNSET
    event_id: str | UnsetType | None = UNSET


class RateLimit(Model, frozen=True, kw_only=True):
    """One rate limit (``requests`` or ``tokens``)."""

    name: str | UnsetType | None = UNSET
    limit: int | UnsetType | None = UNSET
    remaining: int | UnsetType | None = UNSET
    reset_seconds: float | UnsetType | None = UNSET


class ConversationInfo(Model, frozen=True, kw_only=True):
    """The conversation of ``conversation.created``."""

    id: str | UnsetType | None = UNSET
    object: str | UnsetType | None = UNSET


class LogProb(Model, frozen=True, kw_only=True):
    """Log probability of one transcribed token."""

    token: str | UnsetType | None = UNSET
    logprob: float | UnsetType | None = UNSET
    bytes: list[int] | UnsetType | None = UNSET


class TranscriptionUsageTokens(_Tagged, tag="tokens", frozen=True, kw_only=True):
    """Transcription usage billed by tokens."""

    input_tokens: int | UnsetType | None = UNSET
    output_tokens: int | UnsetType | None = UNSET
    total_tokens: int | UnsetType | None = UNSET
    input_token_details: InputTokenDetails | UnsetType | None = UNSET


class TranscriptionUsageDuration(_Tagged, tag="duration", frozen=True, kw_only=True):
    """Transcription usage billed by audio duration."""

    seconds: float | UnsetType | None = UNSET
