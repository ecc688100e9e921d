"""Ephemeral client secrets (``ek_...``): short-lived keys a browser or device may hold instead of a key."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from rtwidget.client.config import BETA_HEADER, ClientConfig
from rtwidget.client.errors import ClientSecretError, redact
from rtwidget.redaction import REDACTED

__all__ = ["ClientSecret", "client_secret_request", "create_client_secret"]

_BODY_PREVIEW_CHARS = 500
# GA expires_after.seconds "must be between 10 and 7200", default 600 (openai client_secret_create_params.py).
_MIN_EXPIRY_S = 10
_MAX_EXPIRY_S = 7200


@dataclass(frozen=True, repr=False)
class ClientSecret:
    """An ephemeral key with its expiry and the session it was minted for.

    Attributes:
        value: The secret (``ek_...``); pass it as ``api_key``. Never shown by ``repr``/``str``.
        expires_at: Expiry, Unix time in seconds.
        session: The session configuration the server returned.
        raw: The whole decoded reply.
    """

    value: str
    expires_at: int
    session: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        session_id = self.session.get("id")
        return f"ClientSecret(value={REDACTED!r}, expires_at={self.expires_at}, session_id={session_id!r})"

    __str__ = __repr__


def client_secret_request(
    config: ClientConfig, session: dict[str, Any] | None = None, expires_after_s: int = 600
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Work out the URL, headers and JSON body of the request minting a client secret.

    - GA: ``POST <base>/realtime/client_secrets`` with ``{"expires_after": {"anchor": "created_at",
      "seconds": N}, "session": {...}}`` (Azure GA: ``<endpoint>/openai/v1/realtime/client_secrets``).
    - beta: ``POST <base>/realtime/sessions`` with the flat session as body (Azure preview:
      ``<endpoint>/openai/realtimeapi/sessions?api-version=...``); the server fixes the expiry.

    Args:
        config: Where and with which key; its model (deployment on Azure) fills an empty session.
        session: Session configuration in the config's dialect; default: just the model.
        expires_after_s: GA lifetime in seconds, 10..7200; ignored by beta servers.

    Raises:
        ValueError: ``expires_after_s`` out of range, or no key.
    """
    if not _MIN_EXPIRY_S <= expires_after_s <= _MAX_EXPIRY_S:
        raise ValueError(f"expires_after_s must be {_MIN_EXPIRY_S}..{_MAX_EXPIRY_S}, not {expires_after_s}")
    headers = dict(config.ws_headers())
    headers.pop(BETA_HEADER[0], None)
    headers["Content-Type"] = "application/json"
    headers["Accept"] = "application/json"
    model = (config.azure_deployment or config.model) if config.provider == "azure" else config.model
    body: dict[str, Any]
    if config.dialect == "ga":
        url = config.rest_base_url() + "/realtime/client_secrets"
        body = {
            "expires_after": {"anchor": "created_at", "seconds": expires_after_s},
            "session": session if session is not None else {"type": "realtime", "model": model},
        }
    else:
        if config.provider == "azure" and config.azure_api_version:
            root = urlsplit(config.rest_base_url())
            url = urlunsplit(
                root._replace(
                    path="/openai/realtimeapi/sessions",
                    query=urlencode({"api-version": config.azure_api_version}),
                )
            )
        else:
            url = config.rest_base_url() + "/realtime/sessions"
            # openai-python beta sessions.create sends this header (resources/beta/realtime/sessions.py).
            headers[BETA_HEADER[0]] = "assistants=v2"
        body = session if session is not None else {"model": model}
    return url, headers, body


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuses every redirect: urllib would replay the POST as a GET, key and all, wherever Location says."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx then comes back as an HTTPError, reported by create_client_secret


_OPENER = urllib.request.build_opener(_NoRedirects)


def _post_json(
    url: str, headers: dict[str, str], body: dict[str, Any], timeout_s: float
) -> tuple[int, str, str | None]:
    """POST ``body``; return the status, the reply text and the Location header (None when absent)."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout_s) as reply:
            return reply.status, reply.read().decode("utf-8", "replace"), None
    except urllib.error.HTTPError as exc:
        with exc:
            location = exc.headers.get("Location") if exc.headers is not None else None
            return exc.code, exc.read().decode("utf-8", "replace"), location


def _error_message(text: str) -> str:
    try:
        data = json.loads(text)
        message = data["error"]["message"]
    except (ValueError, TypeError, KeyError):
        return text[:_BODY_PREVIEW_CHARS]
    return str(message)


async def create_client_secret(
    config: ClientConfig,
    session: dict[str, Any] | None = None,
    expires_after_s: int = 600,
    *,
    timeout_s: float = 30.0,
) -> ClientSecret:
    """Mint an ephemeral key for ``config``'s server (GA ``client_secrets``, beta ``sessions``).

    The HTTP request runs in a worker thread (stdlib ``urllib``), so the event loop keeps running.
    Redirects are not followed (a :class:`ClientSecretError` names where one pointed): the key is sent
    to the configured address only.

    Raises:
        ValueError: Bad arguments or no key (see :func:`client_secret_request`).
        ClientSecretError: HTTP error status, a redirect, unreachable server, or a reply without a secret.
    """
    url, headers, body = client_secret_request(config, session, expires_after_s)
    secrets = config.secrets()
    try:
        status, text, location = await asyncio.to_thread(_post_json, url, headers, body, timeout_s)
    except (OSError, urllib.error.URLError) as exc:
        raise ClientSecretError(redact(f"POST {url} failed: {exc}", *secrets)) from None
    if location is not None and 300 <= status < 400:
        # Never followed, even to the same origin: a redirected POST would be replayed as a GET.
        raise ClientSecretError(
            redact(
                f"POST {url} was redirected (HTTP {status}) to {urljoin(url, location)}; not followed, so "
                "the key went nowhere else: if that address is the right one, configure it instead",
                *secrets,
            ),
            status_code=status,
            body=redact(text, *secrets),
        )
    if not 200 <= status < 300:
        detail = redact(_error_message(text), *secrets)
        raise ClientSecretError(
            f"POST {redact(url, *secrets)} returned HTTP {status}: {detail}",
            status_code=status,
            body=redact(text, *secrets),
        )
    try:
        data = json.loads(text)
        # GA: {value, expires_at, session}; beta: the session itself with client_secret: {value, expires_at}.
        secret = data if "value" in data else data["client_secret"]
        value, expires_at = str(secret["value"]), int(secret["expires_at"])
    except (ValueError, TypeError, KeyError):
        raise ClientSecretError(
            f"POST {redact(url, *secrets)} returned no client secret: "
            f"{redact(text[:_BODY_PREVIEW_CHARS], *secrets)}",
            status_code=status,
            body=redact(text, *secrets),
        ) from None
    session_out = (
        data.get("session", {})
        if "value" in data
        else {k: v for k, v in data.items() if k != "client_secret"}
    )
    return ClientSecret(value=value, expires_at=expires_at, session=session_out, raw=data)
