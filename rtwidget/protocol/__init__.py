"""Sans-I/O core of the OpenAI Realtime protocol, both dialects (GA by default, beta on request).

Typed events (one class per wire ``type`` in :mod:`~rtwidget.protocol.ga` and
:mod:`~rtwidget.protocol.beta`), lenient lossless parsing of server frames, strict validation of
client events, encoding. Imports no asyncio, websockets or numpy.

Example::

    from rtwidget.protocol import encode_event, ga, parse_server_event, validate_client_event

    event = parse_server_event(frame)                    # typed, immutable; deviations in event.problems
    if isinstance(event, ga.ResponseOutputAudioDeltaEvent):
        play(event.audio)                                # PCM bytes (event.delta: the wire base64)
    update = ga.SessionUpdateEvent(session=ga.RealtimeSession(instructions="Be brief."))
    text = encode_event(validate_client_event(update))  # ValidationError names a bad field's path
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from rtwidget.protocol import beta, formats, ga, models
from rtwidget.protocol._base import (
    UNSET,
    ClientEvent,
    Dialect,
    Event,
    ProtocolError,
    ProtocolErrorCode,
    ServerEvent,
    UnknownEvent,
    ValidationError,
    new_event_id,
)
from rtwidget.protocol._tolerant import Problem, ProblemKind
from rtwidget.protocol.codec import (
    dialect_names,
    encode_event,
    encode_event_bytes,
    ensure_event_id,
    event_from_wire,
    parse_client_event,
    parse_server_event,
    to_dialect_type,
    validate_client_event,
)

if TYPE_CHECKING:
    from rtwidget.protocol.conversation import Conversation  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "UNSET",
    "ClientEvent",
    "Dialect",
    "Event",
    "Problem",
    "ProblemKind",
    "ProtocolError",
    "ProtocolErrorCode",
    "ServerEvent",
    "UnknownEvent",
    "ValidationError",
    "beta",
    "dialect_names",
    "encode_event",
    "encode_event_bytes",
    "ensure_event_id",
    "event_from_wire",
    "formats",
    "ga",
    "models",
    "new_event_id",
    "parse_client_event",
    "parse_server_event",
    "to_dialect_type",
    "validate_client_event",
]

# Conversation lives in conversation.py (another owner); it is exported once that file exists and
# loaded on first use, so this package imports even while that module is being written.
if importlib.util.find_spec("rtwidget.protocol.conversation") is not None:
    __all__ += ["Conversation"]


def __getattr__(name: str) -> Any:
    if name == "Conversation":
        return importlib.import_module("rtwidget.protocol.conversation").Conversation
    raise AttributeError(f"module 'rtwidget.protocol' has no attribute {name!r}")
