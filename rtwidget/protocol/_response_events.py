"""Response event classes (both dialects): lifecycle, output items, content parts, deltas, calls, MCP.

Defined here, re-exported by :mod:`rtwidget.protocol._events` (and from there by ``ga`` / ``beta``).
"""

from __future__ import annotations

import base64

import msgspec
from msgspec import UNSET, UnsetType

from rtwidget.protocol._base import ServerEvent
from rtwidget.protocol.models import ContentPart, Item, Response

__all__ = [
    "AudioDeltaShape",
    "AudioDoneShape",
    "McpListToolsCompletedEvent",
    "McpListToolsFailedEvent",
    "McpListToolsInProgressEvent",
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


class _DeltaOnly(msgspec.Struct):
    """Pulls just the wire ``delta`` string out of a raw audio frame."""

    delta: str


_DELTA_ONLY = msgspec.json.Decoder(_DeltaOnly)


class ResponseCreatedEvent(ServerEvent, tag="response.created", frozen=True, kw_only=True):
    """A response started (``status: "in_progress"``)."""

    event_id: str
    response: Response


class ResponseDoneEvent(ServerEvent, tag="response.done", frozen=True, kw_only=True):
    """A response ended: ``completed``, ``cancelled``, ``failed`` or ``incomplete``."""

    event_id: str
    response: Response


class _OutputItem(ServerEvent, frozen=True, kw_only=True):
    """Shape: an output item of a response."""

    event_id: str
    response_id: str
    output_index: int
    item: Item


class ResponseOutputItemAddedEvent(_OutputItem, tag="response.output_item.added", frozen=True, kw_only=True):
    """A response added an output item."""


class ResponseOutputItemDoneEvent(_OutputItem, tag="response.output_item.done", frozen=True, kw_only=True):
    """A response's output item is final."""


class _ContentPartEvent(ServerEvent, frozen=True, kw_only=True):
    """Shape: a content part of an output item."""

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    part: ContentPart


class ResponseContentPartAddedEvent(
    _ContentPartEvent, tag="response.content_part.added", frozen=True, kw_only=True
):
    """A content part started."""


class ResponseContentPartDoneEvent(
    _ContentPartEvent, tag="response.content_part.done", frozen=True, kw_only=True
):
    """A content part is final."""


class _ContentRef(ServerEvent, frozen=True, kw_only=True):
    """Shape: where in a response a piece of content belongs."""

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int


class TextDeltaShape(_ContentRef, frozen=True, kw_only=True):
    """Shape of text and transcript deltas (``response.output_text.delta``, ``response.text.delta``, ...)."""

    delta: str
    # "Every *.delta event carries an extra obfuscation string" (recorded GA traffic).
    obfuscation: str | UnsetType | None = UNSET


class TextDoneShape(_ContentRef, frozen=True, kw_only=True):
    """Shape of ``response.output_text.done`` / beta ``response.text.done``."""

    text: str


class TranscriptDoneShape(_ContentRef, frozen=True, kw_only=True):
    """Shape of ``response.output_audio_transcript.done`` / beta ``response.audio_transcript.done``."""

    transcript: str


class AudioDeltaShape(_ContentRef, frozen=True, kw_only=True):
    """Shape of ``response.output_audio.delta`` / beta ``response.audio.delta``.

    The wire field ``delta`` (base64) is decoded while parsing, straight into :attr:`audio` (bytes), so
    audio never exists as a Python ``str``; :attr:`delta` gives the wire string back on demand. To build
    one in Python pass ``audio=<bytes>``; it is base64-encoded on the wire.
    """

    audio: bytes = msgspec.field(name="delta")
    obfuscation: str | UnsetType | None = UNSET

    @property
    def delta(self) -> str:
        """The base64 audio exactly as on the wire."""
        cached: str | None = self.__dict__.get("_delta")
        if cached is None:
            raw = self.__dict__.get("_raw")
            if isinstance(raw, str | bytes):
                cached = _DELTA_ONLY.decode(raw).delta
            elif isinstance(raw, dict) and isinstance(raw.get("delta"), str):
                cached = raw["delta"]
            else:
                cached = base64.b64encode(self.audio).decode("ascii")
            self.__dict__["_delta"] = cached
        return cached


class AudioDoneShape(_ContentRef, frozen=True, kw_only=True):
    """Shape of ``response.output_audio.done`` / beta ``response.audio.done``."""


class ResponseFunctionCallArgumentsDeltaEvent(
    ServerEvent, tag="response.function_call_arguments.delta", frozen=True, kw_only=True
):
    """A piece of a function call's JSON arguments."""

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    delta: str
    obfuscation: str | UnsetType | None = UNSET


class ResponseFunctionCallArgumentsDoneEvent(
    ServerEvent, tag="response.function_call_arguments.done", frozen=True, kw_only=True
):
    """A function call's arguments are complete."""

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    arguments: str
    name: str | UnsetType = UNSET


class ResponseMcpCallArgumentsDeltaEvent(
    ServerEvent, tag="response.mcp_call_arguments.delta", frozen=True, kw_only=True
):
    """A piece of an MCP call's JSON arguments."""

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    delta: str
    obfuscation: str | UnsetType | None = UNSET


class ResponseMcpCallArgumentsDoneEvent(
    ServerEvent, tag="response.mcp_call_arguments.done", frozen=True, kw_only=True
):
    """An MCP call's arguments are complete."""

    event_id: str
    response_id: str
    item_id: str
    output_index: int
    arguments: str


class _McpCallState(ServerEvent, frozen=True, kw_only=True):
    """Shape: an MCP call changed state."""

    event_id: str
    item_id: str
    output_index: int


class ResponseMcpCallInProgressEvent(
    _McpCallState, tag="response.mcp_call.in_progress", frozen=True, kw_only=True
):
    """An MCP call started."""


class ResponseMcpCallCompletedEvent(
    _McpCallState, tag="response.mcp_call.completed", frozen=True, kw_only=True
):
    """An MCP call succeeded."""


class ResponseMcpCallFailedEvent(_McpCallState, tag="response.mcp_call.failed", frozen=True, kw_only=True):
    """An MCP call failed."""


class _McpListTools(ServerEvent, frozen=True, kw_only=True):
    """Shape: listing an MCP server's tools changed state."""

    event_id: str
    item_id: str


class McpListToolsInProgressEvent(_McpListTools, tag="mcp_list_tools.in_progress", frozen=True, kw_only=True):
    """Listing an MCP server's tools started."""


class McpListToolsCompletedEvent(_McpListTools, tag="mcp_list_tools.completed", frozen=True, kw_only=True):
    """Listing an MCP server's tools succeeded."""


class McpListToolsFailedEvent(_McpListTools, tag="mcp_list_tools.failed", frozen=True, kw_only=True):
    """Listing an MCP server's tools failed."""
