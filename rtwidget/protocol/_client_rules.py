"""The client-event rules beyond the schema's types, checked before anything is sent.

What JSON cannot carry faithfully (NaN, infinities, lone surrogates), item shapes of the other dialect,
session fields only a server sets, audio that is not strict base64, and fields the typed event does not
know. :func:`rtwidget.protocol.codec.validate_client_event` runs them in that order.
"""

from __future__ import annotations

import binascii
import math
from typing import Any

from msgspec import UNSET

from rtwidget.protocol._base import ClientEvent, Dialect, ValidationError
from rtwidget.protocol._events import ConversationItemCreateEvent, InputAudioBufferAppendEvent
from rtwidget.protocol.models import ItemReference, MessageItem

__all__ = ["check_audio", "check_items", "check_session", "check_values", "first_unknown_field"]


def check_values(obj: Any, dialect: Dialect, kind: str, path: str = "$") -> None:
    """Refuse what JSON cannot carry faithfully: NaN and infinities (sent as ``null``), lone surrogates.

    Raises:
        ValidationError: ``invalid_value`` naming the field.
    """
    if isinstance(obj, dict):
        for key, value in obj.items():
            check_values(value, dialect, kind, f"{path}.{key}")
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            check_values(value, dialect, kind, f"{path}[{index}]")
    elif isinstance(obj, float) and not math.isfinite(obj):
        detail = f"{obj} is not a JSON number"
        raise ValidationError(
            f"invalid {dialect} {kind} event: {detail} at `{path}`", path, "invalid_value", detail
        )
    elif isinstance(obj, str) and not obj.isascii():
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError as exc:
            detail = f"lone surrogate {obj[exc.start]!r} at character {exc.start} cannot be sent as UTF-8"
            raise ValidationError(
                f"invalid {dialect} {kind} event: {detail} at `{path}`", path, "invalid_value", detail
            ) from None


# GA content part types by message role (RealtimeConversationItemMessage{System,User,Assistant});
# beta: openai-python's ConversationItemContent (roles not distinguished there).
_GA_CONTENT_TYPES = {
    "system": frozenset({"input_text"}),
    "user": frozenset({"input_text", "input_audio", "input_image"}),
    "assistant": frozenset({"output_text", "output_audio"}),
}
_BETA_CONTENT_TYPES = frozenset({"input_text", "input_audio", "item_reference", "text", "audio"})


def check_items(event: ClientEvent, dialect: Dialect) -> None:
    """Reject item shapes the other dialect uses (content part types, beta ``item_reference``)."""
    items: list[tuple[str, Any]] = []
    if isinstance(event, ConversationItemCreateEvent):
        items.append(("$.item", event.item))
    response = getattr(event, "response", None)
    inputs = getattr(response, "input", None)
    if isinstance(inputs, list):
        items.extend((f"$.response.input[{index}]", item) for index, item in enumerate(inputs))
    for path, item in items:
        if dialect == "ga" and isinstance(item, ItemReference):
            raise ValidationError(
                f"invalid ga item at `{path}.type`: 'item_reference' is beta only",
                f"{path}.type",
                "invalid_value",
                "'item_reference' is beta only",
            )
        if not isinstance(item, MessageItem):
            continue
        allowed = _GA_CONTENT_TYPES[item.role] if dialect == "ga" else _BETA_CONTENT_TYPES
        for index, part in enumerate(item.content):
            if isinstance(part.type, str) and part.type not in allowed:
                where = f"{path}.content[{index}].type"
                raise ValidationError(
                    f"invalid {dialect} {item.role} content type {part.type!r} at `{where}`; "
                    f"expected one of {sorted(allowed)}",
                    where,
                    "invalid_value",
                    f"{item.role} content type {part.type!r} is not one of {sorted(allowed)}",
                )


# Beta reference: "Sampling temperature for the model, limited to [0.6, 1.2]." Checked here and not
# in BetaSession itself because servers echo that class back in session.created / session.updated.
_BETA_TEMPERATURE_RANGE = (0.6, 1.2)
# Fields the server reports in session.created/updated but a client may not send (not in the request
# schemas RealtimeSessionCreateRequestGA / RealtimeTranscriptionSessionCreateRequestGA / beta Session).
_READ_ONLY_SESSION_FIELDS = ("id", "object", "expires_at")


def check_session(event: ClientEvent, dialect: Dialect) -> None:
    session = getattr(event, "session", None)
    if session is None:
        return
    kind = event.type
    for name in _READ_ONLY_SESSION_FIELDS:
        if getattr(session, name, UNSET) is not UNSET:
            raise ValidationError(
                f"invalid {dialect} {kind} event: `$.session.{name}` is set by the server and cannot be sent",
                f"$.session.{name}",
                "unknown_parameter",
                "set by the server; cannot be sent",
            )
    temperature = getattr(session, "temperature", None)
    low, high = _BETA_TEMPERATURE_RANGE
    if isinstance(temperature, float) and not low <= temperature <= high:
        raise ValidationError(
            f"invalid {dialect} {kind} event: temperature {temperature} outside [{low}, {high}] "
            "at `$.session.temperature`",
            "$.session.temperature",
            "invalid_value",
            f"{temperature} outside [{low}, {high}]",
        )


def first_unknown_field(given: Any, known: Any, path: str) -> str | None:
    if isinstance(given, dict) and isinstance(known, dict):
        for key, value in given.items():
            if key not in known:
                return f"{path}.{key}"
            found = first_unknown_field(value, known[key], f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(given, list) and isinstance(known, list):
        for index, (value, known_value) in enumerate(zip(given, known, strict=False)):
            found = first_unknown_field(value, known_value, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def check_audio(event: ClientEvent, dialect: Dialect) -> None:
    """Refuse an append whose audio is not strict base64 (the server answers ``invalid_value``; a lenient
    decoder would silently drop characters or padding)."""
    if not isinstance(event, InputAudioBufferAppendEvent):
        return
    try:
        binascii.a2b_base64(event.audio, strict_mode=True)
    except binascii.Error as exc:
        detail = f"not valid base64 ({exc})"
        raise ValidationError(
            f"invalid {dialect} input_audio_buffer.append event: `audio` is {detail} at `$.audio`",
            "$.audio",
            "invalid_value",
            detail,
        ) from None
