"""The log of the simulator's WebSocket layer: websockets' own records, keys masked, refusals on one line."""

from __future__ import annotations

import logging

from rtwidget.redaction import redact_text

__all__ = ["refusal", "ws_logger"]

# A refusal line quotes the client's reason (e.g. its request line) up to this many characters.
MAX_DETAIL_CHARS = 200


def _printable(text: str) -> str:
    """`text` clipped, with control characters escaped: a client's bytes must not steer the terminal."""
    clipped = text[:MAX_DETAIL_CHARS] + ("..." if len(text) > MAX_DETAIL_CHARS else "")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in clipped)


def refusal(peer: object, reason: str) -> str:
    """The one line logged for a refused connection: who, and why."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        peer = f"{peer[0]}:{peer[1]}"
    return f"refused a connection from {peer}: {_printable(reason)}"


def _reasons(exc: BaseException) -> str:
    """An exception and its causes, as websockets words a failed handshake ("...; invalid request line")."""
    reasons = [str(exc) or type(exc).__name__]
    while exc.__cause__ is not None:
        exc = exc.__cause__
        reasons.append(str(exc) or type(exc).__name__)
    return "; ".join(reasons)


class _OneLineRefusals(logging.Filter):
    """Make websockets' "opening handshake failed" one WARNING line instead of an ERROR with a traceback.

    A plain HTTP GET, a port scanner or a client that hangs up mid-handshake is the client's doing, not a
    simulator failure; with a traceback each (~15 lines) many such connections bury the simulator's output.
    A failure of the session handler ("connection handler failed") keeps its traceback: that is our bug.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "opening handshake failed" and record.exc_info and record.exc_info[1] is not None:
            connection = getattr(record, "websocket", None)  # websockets' LoggerAdapter adds it
            peer = getattr(connection, "remote_address", None) or "an unknown peer"
            record.msg, record.args = refusal(peer, _reasons(record.exc_info[1])), ()
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


class _RedactKeys(logging.Filter):
    """Mask API keys in log records: websockets logs the request line and every header at DEBUG
    (Authorization, `api-key` header or query, the key subprotocol). The policy is rtwidget.redaction's."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


ws_logger = logging.getLogger("rtwidget.server.websockets")
"""The logger of the simulator's WebSocket layer (websockets' own records, keys redacted)."""
# In this order: a refusal line quotes the client's request line, which may carry a key.
ws_logger.addFilter(_OneLineRefusals())
ws_logger.addFilter(_RedactKeys())
