"""Errors raised by the client: permanent (connection unusable) versus temporary (one bad frame)."""

from __future__ import annotations

from typing import Any

from rtwidget.redaction import redact_text

__all__ = [
    "ClientSecretError",
    "FrameError",
    "PermanentError",
    "RealtimeError",
    "TemporaryError",
    "redact",
]

redact = redact_text  # the package's one policy (rtwidget.redaction), under the name this module used


class RealtimeError(Exception):
    """Base class of every error raised by :mod:`rtwidget.client`."""


class PermanentError(RealtimeError):
    """The connection is closed or broken; nothing more can be sent or received on it.

    Raised by ``send``/``recv`` once the connection is gone, and by ``connect`` when the WebSocket
    cannot be opened. Retrying on a new connection is the caller's decision; never retry close code
    3000 (``invalid_request_error.invalid_api_key``) or 4000 (bad model, beta shape on a GA server):
    the live server closes with these codes for requests that cannot succeed (docs/protocol-notes.md).

    Attributes:
        close_code: WebSocket close code (1006 when the connection dropped without a close frame),
            or None when no connection was opened.
        close_reason: Close reason sent by the peer, e.g. ``"invalid_request_error.invalid_api_key"``.
        status_code: HTTP status when the server refused the WebSocket upgrade, else None.
    """

    def __init__(
        self,
        message: str,
        *,
        close_code: int | None = None,
        close_reason: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.close_code = close_code
        self.close_reason = close_reason
        self.status_code = status_code


class TemporaryError(RealtimeError):
    """A recoverable error: the connection stays open and the next frame can be received."""


class FrameError(TemporaryError):
    """One received frame is unusable: not JSON, binary, not an object, no ``type``, or a known type
    whose fields do not match its schema.

    Attributes:
        raw: The frame exactly as received (``str`` for a text frame, ``bytes`` for a binary one).
        event: For a known type with bad fields, the lenient parse (an ``UnknownEvent`` whose ``error``
            says which field); else None.
    """

    def __init__(self, message: str, raw: str | bytes, event: Any = None) -> None:
        super().__init__(message)
        self.raw = raw
        self.event = event


class ClientSecretError(RealtimeError):
    """Creating an ephemeral client secret failed (HTTP error, unreachable server, bad reply).

    Attributes:
        status_code: HTTP status of the reply, or None when no reply arrived.
        body: The reply body (decoded text) when there was one, else "".
    """

    def __init__(self, message: str, *, status_code: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
