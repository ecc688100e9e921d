"""A key in the URL query (Azure's ``?api-key=``) echoed back by a hostile server never reaches the user.

The servers here repeat the request line they got, key included, wherever a careless server would: the
body of a refused upgrade, an error event, the close reason.
"""

from __future__ import annotations

import traceback
from http import HTTPStatus
from urllib.parse import quote_plus

import pytest
from client_testing import serve_script
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from rtwidget.client import ClientConfig, PermanentError, connect

KEYS = ["sk-test-QUERY-key-0123456789", "test/query+key=0123456789"]  # the second is %-encoded on the wire


def shown(exc: BaseException) -> str:
    """Everything a user may see of an exception: its text, repr and the whole chained traceback."""
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc)])


def assert_hidden(key: str, text: str) -> None:
    assert key not in text
    assert quote_plus(key) not in text


@pytest.mark.parametrize("key", KEYS)
async def test_refused_upgrade_echoing_the_url_hides_the_query_key(key: str) -> None:
    """A 401 whose body repeats the request URL: the PermanentError shows neither form of the key."""

    def refuse(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(HTTPStatus.UNAUTHORIZED, f"no access for GET {request.path}\n")

    async with serve_script(lambda ws: ws.close(), process_request=refuse) as served:
        with pytest.raises(PermanentError) as caught:
            await connect(ClientConfig(url=f"{served.url}?api-key={quote_plus(key)}", provider="azure"))
    assert "no access for GET" in str(caught.value)
    assert_hidden(key, shown(caught.value))


@pytest.mark.parametrize("key", KEYS)
async def test_close_reason_echoing_the_url_hides_the_query_key(key: str) -> None:
    """A close whose reason repeats the request URL: close_reason, the error and repr stay clean."""

    async def script(ws: ServerConnection) -> None:
        assert ws.request is not None
        await ws.close(4000, f"bad url {ws.request.path}"[:120])

    async with serve_script(script) as served:
        conn = await connect(ClientConfig(url=f"{served.url}?api-key={quote_plus(key)}", provider="azure"))
        with pytest.raises(PermanentError) as caught:
            await conn.recv()
    assert caught.value.close_code == 4000
    assert "bad url" in (conn.close_reason or "")
    for text in (shown(caught.value), conn.close_reason or "", caught.value.close_reason or "", repr(conn)):
        assert_hidden(key, text)


def test_config_repr_and_errors_hide_a_query_key() -> None:
    """repr() and a refused config's error hide a key given in the URL query or in ``query=``."""
    key = KEYS[1]
    for config in (
        ClientConfig(url=f"ws://h/v1/realtime?api-key={quote_plus(key)}"),
        ClientConfig(url="ws://h/v1/realtime", query={"api-key": key}),
    ):
        assert_hidden(key, repr(config) + str(config))
        assert key in config.secrets()
    with pytest.raises(ValueError, match="unsupported URL scheme") as caught:
        ClientConfig(url=f"ftp://h/v1/realtime?api-key={quote_plus(key)}")
    assert_hidden(key, shown(caught.value))
