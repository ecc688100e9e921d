"""Sans-I/O checks of a connection request: origin, path, key, model, dialect (docs/protocol-notes.md).

docs/protocol-notes.md: "The WebSocket upgrade returns 101 even for a bad key, bad model or a beta header; the
first frame is then an `error` event and the server closes at once: close 3000
`invalid_request_error.invalid_api_key` (also for a missing auth header); close 4000 for `invalid_model`,
`missing_model`, `beta_api_shape_disabled`."
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from rtwidget.protocol import catalog
from rtwidget.protocol.closes import CLOSE_INVALID_KEY, CLOSE_INVALID_REQUEST
from rtwidget.server.core import Close

__all__ = [
    "ANY_ORIGIN",
    "KNOWN_MODEL_PREFIXES",
    "REALTIME_PATHS",
    "Handshake",
    "allowed_origins",
    "check_handshake",
    "offered_subprotocols",
    "origin_refusal",
    "request_key",
    "select_subprotocol",
]

JSON = dict[str, Any]

# `/v1/realtime` (OpenAI), `/openai/v1/realtime` (Azure GA), `/openai/realtime` (Azure preview), and
# `/realtime` for a `websocket_base_url` without the `/v1` suffix.
REALTIME_PATHS = ("/v1/realtime", "/openai/v1/realtime", "/openai/realtime", "/realtime")
KNOWN_MODEL_PREFIXES = ("gpt-realtime", "gpt-4o-realtime", "gpt-4o-mini-realtime", "gpt-audio")
BETA_HEADER_VALUE = "realtime=v1"
_KEY_SUBPROTOCOL = "openai-insecure-api-key."
REALTIME_SUBPROTOCOL = "realtime"
BETA_SUBPROTOCOL = "openai-beta.realtime-v1"
# An allow-list entry that lets every browser origin connect.
ANY_ORIGIN = "*"
# What a browser sends for a page with an opaque origin (a file:// page, a sandboxed iframe).
_OPAQUE_ORIGIN = "null"
# A refusal quotes the client's Origin up to this many characters.
_MAX_QUOTED_ORIGIN_CHARS = 200


@dataclass(frozen=True)
class Handshake:
    """Outcome of the connection checks: the session to run, or an error event and a close."""

    dialect: Literal["ga", "beta"]
    model: str
    intent: str | None
    error: JSON | None = None
    close: Close | None = None


def _get(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, val in headers.items():
            if key.lower() == lowered:
                return val
    return value


def request_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The API key the client presented (Bearer, `api-key` header or query, or browser subprotocol)."""
    auth = _get(headers, "Authorization")
    if auth and auth.lower().startswith("bearer "):
        return auth[7:].strip()
    key = _get(headers, "api-key") or query.get("api-key")
    if key:
        return key
    for proto in offered_subprotocols(headers):
        if proto.startswith(_KEY_SUBPROTOCOL):
            return proto[len(_KEY_SUBPROTOCOL) :]
    return None


def offered_subprotocols(headers: Mapping[str, str]) -> list[str]:
    """The subprotocols a client offers (`Sec-WebSocket-Protocol`, comma-separated), in its order."""
    offered = (_get(headers, "Sec-WebSocket-Protocol") or "").split(",")
    return [proto.strip() for proto in offered if proto.strip()]


def select_subprotocol(offered: Sequence[str]) -> str | None:
    """The subprotocol the server answers with: `realtime` when offered, else none.

    Browser clients (openai-node `src/realtime/websocket.ts`) offer `realtime`,
    `openai-insecure-api-key.<key>` and, for beta, `openai-beta.realtime-v1`; a browser fails the connection
    unless the server selects one it offered. The key subprotocol is never echoed (it would put the key in
    the response headers).
    """
    return REALTIME_SUBPROTOCOL if REALTIME_SUBPROTOCOL in offered else None


def allowed_origins(entries: Iterable[str]) -> frozenset[str]:
    """The allow list in the form `origin_refusal` compares: lowercased, no trailing slash.

    Raises:
        ValueError: an entry that is not `*`, `null` or `scheme://host[:port]` (it could never match).
    """
    out = set()
    for entry in entries:
        origin = entry.strip().lower().rstrip("/")
        parts = urlsplit(origin)
        if origin not in (ANY_ORIGIN, _OPAQUE_ORIGIN) and not (
            parts.scheme and parts.netloc and not parts.path and not parts.query and not parts.fragment
        ):
            raise ValueError(
                f"not an origin: {entry!r}; an origin is scheme://host[:port] as a browser sends it "
                f"(e.g. 'http://localhost:5173'), 'null' or '*' for any"
            )
        out.add(origin)
    return frozenset(out)


def origin_refusal(origins: Sequence[str], allowed: frozenset[str]) -> str | None:
    """Why a connection with these `Origin` header values is refused (HTTP 403); None: accepted.

    Only browsers send `Origin`, and a page cannot stop its browser sending its own. Without this check
    any web page the user opens could hold a session with a simulator on their machine (WebSockets are
    not bound by the same-origin policy). Clients that send no Origin (Python, Node, the kernel) are not
    pages and are accepted. `allowed` comes from :func:`allowed_origins`.
    """
    if not origins or ANY_ORIGIN in allowed:
        return None
    if len(origins) > 1:
        return "Refused: more than one Origin header.\n"
    origin = origins[0].strip()
    if origin.lower().rstrip("/") in allowed:
        return None
    # Printable ASCII only: websockets keeps a header's non-ASCII bytes as surrogates, not UTF-8 encodable.
    quoted = ascii(origin[:_MAX_QUOTED_ORIGIN_CHARS])[1:-1]
    return (
        f"Refused: pages from origin {quoted} may not connect to this simulator. To allow them, start it "
        f"with --allow-origin {quoted} (from Python: serve(allow_origins=[...]); '*' allows every origin).\n"
    )


def _fail(code: str, message: str, close_code: int, *, param: str | None = None) -> Handshake:
    error = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "code": code,
            "message": message,
            "param": param,
            "event_id": None,
        },
    }
    return Handshake("ga", "", None, error, Close(close_code, f"invalid_request_error.{code}"))


def check_handshake(
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    *,
    require_key: str | None = None,
    reject_beta: bool = False,
) -> Handshake | None:
    """Check a connection request. None: the path is not a realtime endpoint (answer HTTP 404)."""
    if path.rstrip("/") not in REALTIME_PATHS:
        return None
    if require_key is not None:
        key = request_key(headers, query)
        if key is None:
            return _fail(
                "invalid_api_key",
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                CLOSE_INVALID_KEY,
            )
        # The message never repeats the presented key (it must not leak into logs).
        if not hmac.compare_digest(key.encode(), require_key.encode()):
            return _fail("invalid_api_key", "Incorrect API key provided.", CLOSE_INVALID_KEY)
    beta = (_get(headers, "OpenAI-Beta") or "").replace(" ", "") == BETA_HEADER_VALUE
    # A browser cannot set headers: it asks for beta with the `openai-beta.realtime-v1` subprotocol.
    beta = beta or BETA_SUBPROTOCOL in offered_subprotocols(headers)
    if beta and reject_beta:
        # docs/protocol-notes.md: the live server's exact answer since May 2026.
        return _fail(
            "beta_api_shape_disabled",
            "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.",
            CLOSE_INVALID_REQUEST,
        )
    intent = query.get("intent")
    model = query.get("model") or query.get("deployment") or ""
    azure = path.startswith("/openai/")
    if intent == "transcription" or query.get("call_id"):
        model = model or catalog.DEFAULT_MODEL
    elif not model:
        return _fail(
            "missing_model", "Missing required parameter: 'model'.", CLOSE_INVALID_REQUEST, param="model"
        )
    elif not azure and not model.startswith(KNOWN_MODEL_PREFIXES):
        # Azure names deployments freely; OpenAI only serves its realtime model families here.
        return _fail(
            "invalid_model",
            f"Model '{model}' is not supported in realtime mode.",
            CLOSE_INVALID_REQUEST,
            param="model",
        )
    return Handshake("beta" if beta else "ga", model, intent)
