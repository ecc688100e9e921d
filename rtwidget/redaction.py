"""The one redaction policy of the package: what counts as a secret and how it is masked.

Keys must never reach a log, an export, a repr, an exception message, widget state or a view. Everything
that shows text or data calls this module: the client (reprs, errors, debug logs), the widget (log rows,
details, exports, traits) and the simulator (its debug log). It imports nothing from rtwidget.

Masked: every occurrence of a known secret (the configured API key); secret-looking literals (``sk-...``,
``ek_...``, ``rk-...`` keys) even when never told; the values of credential fields in JSON objects
(``api_key``, ``authorization``, ``client_secret``...) and of credential query parameters in URLs
(``?api-key=...``, ``&token=...``), wherever a URL appears in text; ``Bearer <token>``, header lines such
as ``api-key: <key>`` and the browser subprotocol ``openai-insecure-api-key.<key>`` in text.

Where a credential may go: only to the origin (scheme, host, port) it was configured for. A redirect to
another origin is followed without any credential (:func:`forwardable_headers`,
:func:`url_without_credentials`); ``localhost`` and ``127.0.0.1`` are two origins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "SECRET_FIELDS",
    "SECRET_HEADERS",
    "SECRET_QUERY_KEYS",
    "forwardable_headers",
    "is_secret_header",
    "mask_known",
    "redact",
    "redact_text",
    "redact_url",
    "same_origin",
    "url_without_credentials",
]

T = TypeVar("T")

REDACTED = "***"
"""What a secret is replaced by (URL-safe, so a masked URL stays a URL)."""

SECRET_HEADERS = frozenset(
    {"authorization", "api-key", "x-api-key", "ocp-apim-subscription-key", "cookie", "proxy-authorization"}
)
"""HTTP headers that carry credentials (lower case)."""
SECRET_QUERY_KEYS = frozenset({"api-key", "api_key", "key", "token", "access_token", "client_secret"})
"""URL query parameters that carry credentials (lower case; Azure accepts ``api-key=`` there)."""
SECRET_FIELDS = frozenset(
    {"api_key", "api-key", "authorization", "openai_api_key", "x-api-key", "client_secret"}
)
"""JSON object keys whose values are credentials (lower case)."""

# Shorter strings are not treated as secrets: masking "a" would garble every message.
_MIN_SECRET_CHARS = 4
# Secret-looking literals, masked even when never told the key (an echoed key, an ephemeral secret).
_SECRET_RE = re.compile(r"\b(?:sk|ek|rk)[-_][A-Za-z0-9_\-]{8,}")
# Credentials written in text: "Bearer <token>", a header line "api-key: <key>" (websockets' DEBUG log), the
# browser subprotocol "openai-insecure-api-key.<key>".
_INLINE_RES = (
    re.compile(r"(?i)(\bbearer\s+)[^\s,'\"]+"),
    re.compile(r"(?im)^([<>]?\s*(?:api-key|x-api-key|authorization|ocp-apim-subscription-key)\s*:\s*).+"),
    re.compile(r"(openai-insecure-api-key\.)[^,\s'\"]+"),
)
_QUERY_RE = re.compile(
    r"(?<=[?&])(" + "|".join(re.escape(k) for k in sorted(SECRET_QUERY_KEYS)) + r")=([^&\s\"'#<>]+)",
    re.IGNORECASE,
)


def is_secret_header(name: str) -> bool:
    """Whether an HTTP header of this name carries a credential."""
    return name.lower() in SECRET_HEADERS


def mask_known(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with each occurrence of each known secret masked, and nothing else changed.

    For text kept as data (a logged frame): the key's value goes, the rest stays byte for byte.
    """
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_CHARS and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_text(text: str, *secrets: str | None) -> str:
    """``text`` with each secret, each secret-looking literal and each credential in a URL query masked."""
    text = mask_known(text, secrets)
    if "sk" in text or "ek" in text or "rk" in text:
        text = _SECRET_RE.sub(REDACTED, text)
    if "=" in text:
        text = _QUERY_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    if ":" in text or " " in text or "." in text:
        for pattern in _INLINE_RES:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def redact_url(url: str) -> str:
    """``url`` with credential query values (``api-key=...``) and any user:password masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = [
            (k, REDACTED if k.lower() in SECRET_QUERY_KEYS else v)
            for k, v in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs, safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


_DEFAULT_PORTS = {"ws": 80, "http": 80, "wss": 443, "https": 443}


def same_origin(url: str, other: str) -> bool:
    """Whether two URLs share scheme, host and port (default ports filled in): a credential may go to both."""

    def origin(parts: Any) -> tuple[str, str, int | None]:
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)

    return bool(origin(urlsplit(url)) == origin(urlsplit(other)))


def _carries(value: str, secrets: tuple[str, ...]) -> bool:
    return any(len(s) >= _MIN_SECRET_CHARS and s in value for s in secrets) or bool(_SECRET_RE.search(value))


def forwardable_headers(
    headers: Iterable[tuple[str, str]], secrets: Iterable[str | None] = ()
) -> list[tuple[str, str]]:
    """The headers that may go to another origin: none of :data:`SECRET_HEADERS`, none carrying a secret.

    The second rule drops a key wherever else it rides, e.g. ``Sec-WebSocket-Protocol:
    openai-insecure-api-key.<key>`` or a custom header.
    """
    known = tuple(s for s in secrets if s)
    return [(k, v) for k, v in headers if not is_secret_header(k) and not _carries(v, known)]


def url_without_credentials(url: str, secrets: Iterable[str | None] = ()) -> str:
    """``url`` without user:password, credential query parameters and parameters carrying a secret."""
    known = tuple(s for s in secrets if s)
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    pairs = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in SECRET_QUERY_KEYS and not _carries(v, known)
    ]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(pairs)))


def redact(value: T, secrets: Iterable[str | None] = ()) -> T:
    """A copy of JSON-like ``value`` (str, dict, list...) with every secret masked; the input is not changed.

    Strings are masked as :func:`redact_text`; the values of credential fields (:data:`SECRET_FIELDS`) are
    replaced whole (an object there keeps its shape, its ``value`` masked: an ephemeral ``client_secret``).
    """
    known = tuple(s for s in secrets if s)
    out: Any = _redact(value, known)
    return out  # type: ignore[no-any-return]


def _redact(obj: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(obj, str):
        return redact_text(obj, *secrets)
    if isinstance(obj, dict):
        out: dict[Any, Any] = {}
        for k, v in obj.items():
            if isinstance(k, str) and k.lower() in SECRET_FIELDS and v is not None:
                if isinstance(v, dict):
                    out[k] = {
                        kk: (REDACTED if kk == "value" else _redact(vv, secrets)) for kk, vv in v.items()
                    }
                else:
                    out[k] = REDACTED
            else:
                out[k] = _redact(v, secrets)
        return out
    if isinstance(obj, list | tuple):
        return [_redact(v, secrets) for v in obj]
    return obj
