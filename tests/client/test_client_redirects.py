"""Redirects never carry the key to another origin: the WebSocket upgrade and the REST client secret call.

Two loopback servers on different ports (a different port is a different origin, as is ``localhost``
for ``127.0.0.1``); the first answers 301/302/307 pointing at the second, echoing the request's query
(a hostile server would), and the second records what reached it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from client_testing import ServerRecord, serve_script, until_closed
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from rtwidget.client import ClientConfig, ClientSecretError, connect, create_client_secret

KEY = "sk-test-REDIRECT-key-0123456789"
REDIRECTS = [HTTPStatus.MOVED_PERMANENTLY, HTTPStatus.FOUND, HTTPStatus.TEMPORARY_REDIRECT]


def credential_configs(url: str) -> dict[str, ClientConfig]:
    """The ways a key travels on the upgrade: Bearer, Azure's api-key header, query, subprotocol."""
    return {
        "bearer": ClientConfig(url=url, api_key=KEY),
        "api-key header": ClientConfig(url=url, api_key=KEY, provider="azure"),
        "api-key query": ClientConfig(url=f"{url}?api-key={KEY}", provider="custom"),
        "subprotocol": ClientConfig(
            url=url, headers={"Sec-WebSocket-Protocol": f"realtime, openai-insecure-api-key.{KEY}"}
        ),
    }


def redirect_to(target: Callable[[], str], status: HTTPStatus) -> Any:
    """process_request answering ``status`` towards ``target()``, the original query appended."""

    def process_request(connection: ServerConnection, request: Request) -> Response:
        query = urlsplit(request.path).query
        response = connection.respond(status, "moved\n")
        response.headers["Location"] = target() + (f"?{query}" if query else "")
        return response

    return process_request


def assert_no_credentials(request: Request) -> None:
    headers = {name.lower(): value for name, value in request.headers.raw_items()}
    assert "authorization" not in headers
    assert "api-key" not in headers
    assert "api-key" not in urlsplit(request.path).query
    assert KEY not in request.path
    assert all(KEY not in value for value in headers.values())


@pytest.mark.parametrize("status", REDIRECTS, ids=lambda s: str(int(s)))
@pytest.mark.parametrize("how", ["bearer", "api-key header", "api-key query", "subprotocol"])
async def test_upgrade_redirect_to_another_port_drops_every_credential(status: HTTPStatus, how: str) -> None:
    """Redirected to another port, the upgrade reaches it without the key in any header or the query."""
    async with serve_script(lambda ws: until_closed(ws, ServerRecord())) as second:
        first_script = lambda ws: until_closed(ws, ServerRecord())  # noqa: E731
        async with serve_script(
            first_script, process_request=redirect_to(lambda: second.url, status)
        ) as first:
            config = credential_configs(first.url)[how]
            async with connect(config) as conn:
                assert conn.state == "open"
    assert first.connections == 0
    assert second.connections == 1
    assert_no_credentials(second.requests[0])


async def test_upgrade_redirect_from_127_0_0_1_to_localhost_drops_the_key() -> None:
    """127.0.0.1 and localhost are two origins, even on one port."""

    def only_from_ip(connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Host", "").startswith("127.0.0.1"):
            port = connection.local_address[1]
            return redirect_to(lambda: f"ws://localhost:{port}/v1/realtime", HTTPStatus.FOUND)(
                connection, request
            )
        return None

    async with (
        serve_script(lambda ws: until_closed(ws, ServerRecord()), process_request=only_from_ip) as served,
        connect(ClientConfig(url=f"{served.url}?api-key={KEY}", api_key=KEY, provider="azure")),
    ):
        pass
    assert served.connections == 1
    assert served.requests[0].headers["Host"].startswith("localhost")
    assert_no_credentials(served.requests[0])


async def test_upgrade_redirect_on_the_same_origin_keeps_the_key() -> None:
    """Same scheme, host and port: the key goes along (the server that got it is the one asked again)."""

    def moved_path(connection: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith("/v1/"):
            response = connection.respond(HTTPStatus.TEMPORARY_REDIRECT, "")
            response.headers["Location"] = "/v2/realtime"
            return response
        return None

    async with (
        serve_script(lambda ws: until_closed(ws, ServerRecord()), process_request=moved_path) as served,
        connect(ClientConfig(url=served.url, api_key=KEY)),
    ):
        pass
    assert served.requests[0].path == "/v2/realtime"
    assert served.requests[0].headers["Authorization"] == f"Bearer {KEY}"


@contextmanager
def http_server(handler: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[tuple[str, list[Any]]]:
    """A REST server on 127.0.0.1:0 calling ``handler`` for each request; yields its base URL and a log."""
    seen: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            handler(self)

        def do_GET(self) -> None:
            self.do_POST()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("status", REDIRECTS, ids=lambda s: str(int(s)))
@pytest.mark.parametrize("provider", ["openai", "azure"])
async def test_client_secret_redirect_is_not_followed(status: HTTPStatus, provider: str) -> None:
    """A redirected client-secret POST is refused, naming where it pointed; the other host gets nothing."""

    def mint(h: BaseHTTPRequestHandler) -> None:
        data = json.dumps({"value": "ek_should_never_be_minted", "expires_at": 1}).encode()
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    with http_server(mint) as (second, second_seen):

        def move(h: BaseHTTPRequestHandler) -> None:
            h.send_response(status)
            h.send_header("Location", f"{second}{h.path}")
            h.send_header("Content-Length", "0")
            h.end_headers()

        with http_server(move) as (first, first_seen):
            if provider == "azure":
                config = ClientConfig.azure(first, "d", api_key=KEY)
            else:
                config = ClientConfig.openai(KEY, base_url=first + "/v1")
            with pytest.raises(ClientSecretError) as caught:
                await create_client_secret(config)
    assert len(first_seen) == 1
    assert second_seen == []
    assert caught.value.status_code == status
    assert "redirect" in str(caught.value)
    assert second in str(caught.value)
    assert KEY not in str(caught.value)
