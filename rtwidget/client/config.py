"""Where and how to connect: endpoint URL, headers and key for OpenAI, Azure or any compatible server."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from rtwidget.protocol import catalog
from rtwidget.redaction import REDACTED, SECRET_QUERY_KEYS, is_secret_header, redact_url

__all__ = [
    "AZURE_API_KEY_ENV",
    "AZURE_ENDPOINT_ENV",
    "BETA_HEADER",
    "DEFAULT_MODEL",
    "MAX_FRAME_BYTES",
    "OPENAI_API_KEY_ENV",
    "PING_INTERVAL_S",
    "PING_TIMEOUT_S",
    "RECEIVE_BUFFER_BYTES",
    "RECEIVE_BUFFER_FRAMES",
    "ClientConfig",
    "Dialect",
    "Provider",
    "RedactedHeaders",
]

Dialect = Literal["ga", "beta"]
Provider = Literal["openai", "azure", "custom"]
Intent = Literal["transcription"]

DEFAULT_MODEL = catalog.DEFAULT_MODEL
OPENAI_BASE_URL = "https://api.openai.com/v1"
OPENAI_API_KEY_ENV = "OPENAI_API_KEY"
AZURE_API_KEY_ENV = "AZURE_OPENAI_API_KEY"
AZURE_ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"
# "The client may choose how much audio to place in each event up to a maximum of 15 MiB"
# (Realtime reference, input_audio_buffer.append); the same bound holds for frames we receive.
MAX_FRAME_BYTES = 15 * 2**20
# websockets' own defaults; the live server pings "about every 20 s when idle" (docs/protocol-notes.md).
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 20.0
# Frames read from the socket but not yet taken by the consumer (see docs/architecture.md, "Receiving").
# 200k small deltas are ~40 MB of str; 64 MiB is ~15 minutes of 24 kHz PCM16 audio as base64 deltas.
RECEIVE_BUFFER_FRAMES = 200_000
RECEIVE_BUFFER_BYTES = 64 * 2**20
# Beta needs it; a GA server answers with error beta_api_shape_disabled, close 4000 (docs/protocol-notes.md).
BETA_HEADER = ("OpenAI-Beta", "realtime=v1")

_AZURE_HOST_SUFFIXES = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
_WS_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
_HTTP_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


class RedactedHeaders(dict[str, str]):
    """A plain ``dict`` of HTTP headers whose ``repr``/``str`` mask credentials.

    The values themselves are intact (they are what goes on the wire); only printing is masked, so a
    header dict that ends up in a log, a traceback or a notebook output shows ``***`` instead of a key.
    """

    def __init__(self, headers: Mapping[str, str] | None = None, *, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(headers or {})
        self._secrets = tuple(s for s in secrets if s)

    def _masked(self, name: str, value: str) -> str:
        if is_secret_header(name) or any(s in value for s in self._secrets):
            return REDACTED
        return value

    def __repr__(self) -> str:
        return repr({name: self._masked(name, value) for name, value in self.items()})

    __str__ = __repr__


_redact_url = redact_url


def _with_scheme(url: str, schemes: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    scheme = schemes.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError(
            f"unsupported URL scheme {parts.scheme!r} in {_redact_url(url)!r}: use ws(s):// or http(s)://"
        )
    return urlunsplit(parts._replace(scheme=scheme))


def _infer_provider(url: str | None, azure_endpoint: str | None) -> Provider:
    if azure_endpoint is not None:
        return "azure"
    if url is None:
        return "openai"
    host = (urlsplit(url).hostname or "").lower()
    if host == "api.openai.com":
        return "openai"
    if host.endswith(_AZURE_HOST_SUFFIXES):
        return "azure"
    return "custom"


@dataclass(frozen=True, repr=False)
class ClientConfig:
    """Endpoint, credentials and dialect of one Realtime connection.

    Three kinds of server, chosen by ``provider`` (inferred when not given: ``azure`` when
    ``azure_endpoint`` is set or the URL host is an Azure OpenAI host, ``openai`` for no URL or
    ``api.openai.com``, else ``custom``):

    - ``openai``: ``wss://api.openai.com/v1/realtime?model=...`` (or ``base_url`` + ``/realtime``),
      ``Authorization: Bearer <key>``, key from ``OPENAI_API_KEY`` when not given, optional
      ``OpenAI-Organization`` / ``OpenAI-Project`` headers.
    - ``azure``: GA ``<endpoint>/openai/v1/realtime?model=<deployment>``; with ``azure_api_version`` the
      preview URL ``<endpoint>/openai/realtime?api-version=...&deployment=...``; ``api-key: <key>``
      header (key from ``AZURE_OPENAI_API_KEY``) or ``Authorization: Bearer <azure_ad_token>``.
    - ``custom``: any compatible server at ``url``; ``Authorization: Bearer <key>`` only when a key is
      passed explicitly, because a key from the environment must not leak to a third-party server.

    ``dialect="beta"`` adds ``OpenAI-Beta: realtime=v1``; GA never sends it. The query carries
    ``model``, except that ``call_id`` (join a WebRTC/SIP call) and ``intent="transcription"`` replace
    it on OpenAI and custom servers ("To join an existing call, set `call_id` instead. Transcription
    sessions use `intent=transcription`", openai-python ``realtime.connect``). ``repr``/``str`` never
    show a key.

    Attributes:
        url: Full WebSocket URL of the endpoint (``http(s)`` is mapped to ``ws(s)``); overrides
            ``base_url`` / ``azure_endpoint``.
        api_key: API key or ephemeral client secret (``ek_...``).
        model: Model (OpenAI, custom) or deployment name (Azure, unless ``azure_deployment``).
        dialect: ``"ga"`` (default) or ``"beta"``.
        provider: ``"openai"``, ``"azure"`` or ``"custom"``; inferred when None.
        organization: Sent as ``OpenAI-Organization``.
        project: Sent as ``OpenAI-Project``.
        base_url: OpenAI API base such as ``https://api.openai.com/v1``.
        azure_endpoint: ``https://<resource>.openai.azure.com`` (default ``AZURE_OPENAI_ENDPOINT``).
        azure_deployment: Deployment name; defaults to ``model``.
        azure_api_version: Selects the Azure preview URL; GA must not send it (HTTP 401).
        azure_ad_token: Entra ID token, sent as ``Authorization: Bearer`` instead of ``api-key``.
        call_id: Attach to an existing WebRTC/SIP call.
        intent: ``"transcription"`` for a transcription session.
        headers: Extra headers, sent last (they win over computed ones).
        query: Extra query parameters.
        max_frame_bytes: Largest frame accepted from the server.
        open_timeout_s: Time allowed for the TCP + TLS + WebSocket handshake.
        ping_interval_s: Seconds between keepalive pings (None: no keepalive).
        ping_timeout_s: Seconds to wait for a keepalive pong before closing with 1011 (None: wait for ever).
        receive_buffer_frames: Most frames read from the socket and not yet received by the consumer.
        receive_buffer_bytes: Most bytes (characters for text frames) held that way; may be exceeded by
            one frame. At either cap the socket is no longer read until the consumer takes a frame, which
            is logged; a close while so paused says "client fell behind" (docs/architecture.md).
        strict: Check every server frame against the official schema: a known type whose fields deviate
            raises :class:`FrameError` instead of arriving typed with ``event.problems``.
    """

    url: str | None = None
    api_key: str | None = None
    model: str = DEFAULT_MODEL
    dialect: Dialect = "ga"
    provider: Provider | None = None
    organization: str | None = None
    project: str | None = None
    base_url: str | None = None
    azure_endpoint: str | None = None
    azure_deployment: str | None = None
    azure_api_version: str | None = None
    azure_ad_token: str | None = None
    call_id: str | None = None
    intent: Intent | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    max_frame_bytes: int = MAX_FRAME_BYTES
    open_timeout_s: float = 10.0
    ping_interval_s: float | None = PING_INTERVAL_S
    ping_timeout_s: float | None = PING_TIMEOUT_S
    receive_buffer_frames: int = RECEIVE_BUFFER_FRAMES
    receive_buffer_bytes: int = RECEIVE_BUFFER_BYTES
    strict: bool = False

    def __post_init__(self) -> None:
        if self.dialect not in get_args(Dialect):
            raise ValueError(f"dialect must be 'ga' or 'beta', not {self.dialect!r}")
        if self.provider is not None and self.provider not in get_args(Provider):
            raise ValueError(f"provider must be 'openai', 'azure' or 'custom', not {self.provider!r}")
        if self.intent is not None and self.intent not in get_args(Intent):
            raise ValueError(f"intent must be 'transcription' or None, not {self.intent!r}")
        for name in ("max_frame_bytes", "receive_buffer_frames", "receive_buffer_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)}")
        for name in ("ping_interval_s", "ping_timeout_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:  # `not >` also refuses NaN
                raise ValueError(f"{name} must be positive or None, not {value}")
        azure_endpoint = self.azure_endpoint
        provider = self.provider or _infer_provider(self.url, azure_endpoint)
        if provider == "azure" and azure_endpoint is None and self.url is None:
            azure_endpoint = os.environ.get(AZURE_ENDPOINT_ENV)
            if azure_endpoint is None:
                raise ValueError(f"Azure needs azure_endpoint=, url= or the {AZURE_ENDPOINT_ENV} variable")
        if provider == "custom" and self.url is None:
            raise ValueError("provider 'custom' needs url=, e.g. 'ws://127.0.0.1:8765/v1/realtime'")
        if self.dialect == "ga" and any(k.lower() == BETA_HEADER[0].lower() for k in self.headers):
            raise ValueError(
                "headers carry OpenAI-Beta but dialect is 'ga': GA servers reject it "
                "(error beta_api_shape_disabled, close 4000); pass dialect='beta' instead"
            )
        # Frozen dataclass: normalised values are set once, here.
        object.__setattr__(self, "provider", provider)
        object.__setattr__(self, "azure_endpoint", azure_endpoint)
        object.__setattr__(self, "headers", dict(self.headers))
        object.__setattr__(self, "query", dict(self.query))
        if self.url is not None:
            self.ws_url()  # fail now on a bad scheme, not at connect time

    @classmethod
    def openai(cls, api_key: str | None = None, **kwargs: Any) -> ClientConfig:
        """OpenAI (``api.openai.com`` or ``base_url=``); key from ``OPENAI_API_KEY`` when not given."""
        return cls(api_key=api_key, provider="openai", **kwargs)

    @classmethod
    def azure(
        cls,
        azure_endpoint: str | None = None,
        azure_deployment: str | None = None,
        api_key: str | None = None,
        **kwargs: Any,
    ) -> ClientConfig:
        """Azure OpenAI; GA unless ``azure_api_version=`` selects the preview URL."""
        return cls(
            api_key=api_key,
            provider="azure",
            azure_endpoint=azure_endpoint,
            azure_deployment=azure_deployment,
            **kwargs,
        )

    @classmethod
    def custom(cls, url: str, api_key: str | None = None, **kwargs: Any) -> ClientConfig:
        """Any server speaking the protocol at ``url`` (simulator, proxy, other vendor)."""
        return cls(url=url, api_key=api_key, provider="custom", **kwargs)

    def replace(self, **changes: Any) -> ClientConfig:
        """Return a copy with ``changes`` applied (provider re-inferred unless given)."""
        if "provider" not in changes and ({"url", "azure_endpoint"} & changes.keys()):
            changes["provider"] = None
        return dataclasses.replace(self, **changes)

    @property
    def effective_api_key(self) -> str | None:
        """The key that will be sent: explicit, else the provider's environment variable (not for custom)."""
        if self.api_key is not None:
            return self.api_key
        if self.provider == "openai":
            return os.environ.get(OPENAI_API_KEY_ENV)
        if self.provider == "azure" and self.azure_ad_token is None:
            return os.environ.get(AZURE_API_KEY_ENV)
        return None

    def _endpoint(self) -> str:
        """The endpoint URL without query, scheme still as given."""
        if self.url is not None:
            return urlunsplit(urlsplit(self.url)._replace(query="", fragment=""))
        if self.provider == "azure":
            root = (self.azure_endpoint or "").rstrip("/")
            return f"{root}/openai/realtime" if self.azure_api_version else f"{root}/openai/v1/realtime"
        return (self.base_url or OPENAI_BASE_URL).rstrip("/") + "/realtime"

    def _query(self) -> list[tuple[str, str]]:
        given = parse_qsl(urlsplit(self.url).query, keep_blank_values=True) if self.url else []
        names = {k for k, _ in given}
        query: list[tuple[str, str]] = []
        if self.provider == "azure" and self.azure_api_version:
            query += [
                ("api-version", self.azure_api_version),
                ("deployment", self.azure_deployment or self.model),
            ]
        elif self.provider == "azure":
            query.append(("model", self.azure_deployment or self.model))
        elif self.call_id is None and self.intent is None:
            query.append(("model", self.model))
        if self.call_id is not None:
            query.append(("call_id", self.call_id))
        if self.intent is not None:
            query.append(("intent", self.intent))
        query += list(self.query.items())
        # Parameters already in the URL were chosen by the caller; keep theirs.
        return given + [(k, v) for k, v in query if k not in names]

    def ws_url(self) -> str:
        """The WebSocket URL to open, query included (carries no key unless the caller put one in ``url``)."""
        parts = urlsplit(_with_scheme(self._endpoint(), _WS_SCHEMES))
        return urlunsplit(parts._replace(query=urlencode(self._query())))

    def rest_base_url(self) -> str:
        """HTTP base of the REST API next to the WebSocket endpoint, e.g. ``https://api.openai.com/v1``."""
        endpoint = _with_scheme(self._endpoint(), _HTTP_SCHEMES)
        return endpoint.removesuffix("/").removesuffix("/realtime")

    def ws_headers(self) -> RedactedHeaders:
        """Headers of the WebSocket upgrade request, credentials included (masked when printed).

        Raises:
            ValueError: OpenAI or Azure without any key.
        """
        key = self.effective_api_key
        headers: dict[str, str] = {}
        if self.provider == "azure" and self.azure_ad_token is not None:
            headers["Authorization"] = f"Bearer {self.azure_ad_token}"
        elif self.provider == "azure" and key:
            headers["api-key"] = key
        elif self.provider == "azure":
            # Azure also takes the key as an api-key= query parameter instead of the header.
            if not any(k.lower() == "api-key" for k, _ in self._query()):
                raise ValueError(f"no Azure key: pass api_key= or set {AZURE_API_KEY_ENV}")
        elif key:
            headers["Authorization"] = f"Bearer {key}"
        elif self.provider == "openai":
            raise ValueError(f"no OpenAI key: pass api_key= or set {OPENAI_API_KEY_ENV}")
        if self.organization is not None:
            headers["OpenAI-Organization"] = self.organization
        if self.project is not None:
            headers["OpenAI-Project"] = self.project
        if self.dialect == "beta":
            headers[BETA_HEADER[0]] = BETA_HEADER[1]
        headers.update(self.headers)
        return RedactedHeaders(headers, secrets=self.secrets())

    def secrets(self) -> tuple[str, ...]:
        """Every credential this config may send, for redacting messages and logs.

        Includes credential-like query parameters (``api-key=``, Azure's alternative to the header), also
        in their %-encoded forms.
        """
        given = parse_qsl(urlsplit(self.url).query) if self.url else []
        in_query = [v for k, v in [*given, *self.query.items()] if k.lower() in SECRET_QUERY_KEYS]
        # Also as the URL carries them (ws_url() encodes with quote_plus), for a server that echoes its URL.
        encoded = [form for v in in_query for form in (quote_plus(v), quote(v, safe=""))]
        found = (self.api_key, self.azure_ad_token, self.effective_api_key, *in_query, *encoded)
        return tuple(dict.fromkeys(s for s in found if s))

    def __repr__(self) -> str:
        shown: list[str] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            if value == default and f.name != "provider":
                continue
            if f.name in {"api_key", "azure_ad_token"}:
                shown.append(f"{f.name}={REDACTED!r}")
            elif f.name == "url":
                shown.append(f"url={_redact_url(value)!r}")
            elif f.name == "headers":
                shown.append(f"headers={RedactedHeaders(value, secrets=self.secrets())!r}")
            elif f.name == "query":
                masked = {k: REDACTED if k.lower() in SECRET_QUERY_KEYS else v for k, v in value.items()}
                shown.append(f"query={masked!r}")
            else:
                shown.append(f"{f.name}={value!r}")
        return f"ClientConfig({', '.join(shown)})"

    __str__ = __repr__
