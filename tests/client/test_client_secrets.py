"""Ephemeral client secrets against a tiny local HTTP server (127.0.0.1, port 0)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rtwidget.client import ClientConfig, ClientSecretError, create_client_secret

KEY = "sk-test-SECRET-key-0123456789"
GA_REPLY = {
    "value": "ek_68af296e8e408191a1120ab6383263c2",
    "expires_at": 1756310470,
    "session": {
        "type": "realtime",
        "object": "realtime.session",
        "id": "sess_C9CiUVUzUzYIssh3ELY1d",
        "model": "m",
    },
}
BETA_REPLY = {
    "id": "sess_001",
    "object": "realtime.session",
    "model": "gpt-4o-realtime-preview",
    "client_secret": {"value": "ek_beta_secret_value_0001", "expires_at": 1756310100},
}


@dataclass
class HttpRecord:
    """Requests the fake REST server saw and the reply it gives."""

    status: int = 200
    reply: Any = field(default_factory=lambda: GA_REPLY)
    requests: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    base: str = ""


@pytest.fixture
def http_server() -> Iterator[HttpRecord]:
    """A REST server on 127.0.0.1:0 answering every POST with ``record.reply``."""
    record = HttpRecord()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            record.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            data = json.dumps(record.reply).encode()
            self.send_response(record.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    record.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield record
    server.shutdown()
    server.server_close()
    thread.join()


async def test_ga_client_secret(http_server: HttpRecord) -> None:
    """GA: POST /v1/realtime/client_secrets with expires_after and session; returns value, expiry, session."""
    config = ClientConfig.openai(KEY, base_url=http_server.base + "/v1")
    session = {"type": "realtime", "model": "gpt-realtime", "output_modalities": ["text"]}
    secret = await create_client_secret(config, session=session, expires_after_s=120)
    path, headers, body = http_server.requests[0]
    assert path == "/v1/realtime/client_secrets"
    assert headers["authorization"] == f"Bearer {KEY}"
    assert "openai-beta" not in headers
    assert body == {"expires_after": {"anchor": "created_at", "seconds": 120}, "session": session}
    assert (secret.value, secret.expires_at, secret.session) == (
        GA_REPLY["value"],
        GA_REPLY["expires_at"],
        GA_REPLY["session"],
    )


async def test_ga_default_session_names_model(http_server: HttpRecord) -> None:
    """Without a session the request asks for a realtime session of the config's model."""
    await create_client_secret(ClientConfig.openai(KEY, base_url=http_server.base + "/v1", model="m2"))
    assert http_server.requests[0][2]["session"] == {"type": "realtime", "model": "m2"}


async def test_beta_session_secret(http_server: HttpRecord) -> None:
    """beta: POST /v1/realtime/sessions with the flat session; the secret comes from client_secret."""
    http_server.reply = BETA_REPLY
    config = ClientConfig.openai(
        KEY, base_url=http_server.base + "/v1", dialect="beta", model="gpt-4o-realtime-preview"
    )
    secret = await create_client_secret(
        config, session={"model": "gpt-4o-realtime-preview", "voice": "alloy"}
    )
    path, _, body = http_server.requests[0]
    assert path == "/v1/realtime/sessions"
    assert body == {"model": "gpt-4o-realtime-preview", "voice": "alloy"}
    assert (secret.value, secret.expires_at) == ("ek_beta_secret_value_0001", 1756310100)
    assert secret.session["id"] == "sess_001"
    assert "client_secret" not in secret.session


async def test_azure_ga_client_secret(http_server: HttpRecord) -> None:
    """Azure GA: POST /openai/v1/realtime/client_secrets with api-key, deployment as model."""
    config = ClientConfig.azure(http_server.base, "my-deploy", api_key=KEY)
    await create_client_secret(config)
    path, headers, body = http_server.requests[0]
    assert path == "/openai/v1/realtime/client_secrets"
    assert headers["api-key"] == KEY
    assert "authorization" not in headers
    assert body["session"] == {"type": "realtime", "model": "my-deploy"}


async def test_azure_preview_session_secret(http_server: HttpRecord) -> None:
    """Azure preview: POST /openai/realtimeapi/sessions?api-version=..."""
    http_server.reply = BETA_REPLY
    config = ClientConfig.azure(
        http_server.base, "dep", api_key=KEY, azure_api_version="2025-04-01-preview", dialect="beta"
    )
    await create_client_secret(config)
    path, headers, body = http_server.requests[0]
    assert path == "/openai/realtimeapi/sessions?api-version=2025-04-01-preview"
    assert headers["api-key"] == KEY
    assert body == {"model": "dep"}


async def test_http_error_is_clear_and_hides_key(http_server: HttpRecord) -> None:
    """An error reply raises ClientSecretError with status and the server's message, key masked."""
    http_server.status = 401
    http_server.reply = {
        "error": {"message": f"Incorrect API key provided: {KEY}", "type": "invalid_request_error"}
    }
    with pytest.raises(ClientSecretError) as caught:
        await create_client_secret(ClientConfig.openai(KEY, base_url=http_server.base + "/v1"))
    assert caught.value.status_code == 401
    assert "Incorrect API key provided" in str(caught.value)
    assert KEY not in str(caught.value)
    assert KEY not in caught.value.body


async def test_reply_without_secret_is_an_error(http_server: HttpRecord) -> None:
    """A 200 reply without value/expires_at raises ClientSecretError."""
    http_server.reply = {"unexpected": True}
    with pytest.raises(ClientSecretError, match="no client secret"):
        await create_client_secret(ClientConfig.openai(KEY, base_url=http_server.base + "/v1"))


async def test_expiry_out_of_range_refused() -> None:
    """expires_after_s outside 10..7200 is refused before any request."""
    with pytest.raises(ValueError, match=r"10\.\.7200"):
        await create_client_secret(
            ClientConfig.openai(KEY, base_url="http://127.0.0.1:9/v1"), expires_after_s=5
        )


async def test_secret_repr_hides_value(http_server: HttpRecord) -> None:
    """repr() of a ClientSecret masks the secret."""
    secret = await create_client_secret(ClientConfig.openai(KEY, base_url=http_server.base + "/v1"))
    assert secret.value == GA_REPLY["value"]
    assert secret.value not in repr(secret)
    assert secret.value not in str(secret)
    assert "expires_at=1756310470" in repr(secret)


async def test_unreachable_server_is_client_secret_error() -> None:
    """Nothing listening: ClientSecretError."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ClientSecretError, match="failed"):
        await create_client_secret(ClientConfig.openai(KEY, base_url=f"http://127.0.0.1:{port}/v1"))
