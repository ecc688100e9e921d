"""A key in the URL query, echoed back by a hostile server, never reaches the widget's user.

The server repeats its request URL (``?api-key=<key>`` included) in an error event, in its close reason,
or in the body of a 401; the key must show nowhere: errors, close reason, log rows and details, the
events, the export, traits, comm messages, repr and the exceptions raised.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from rtwidget.widget import RealtimeWidget

KEYS = ["sk-test-widget-QUERY-0123456789", "0123456789abcdef0123456789abcdef"]  # Azure keys are hex


@asynccontextmanager
async def echoing_server(refuse: bool) -> AsyncIterator[str]:
    """A server that repeats its request URL back: in a 401 body, or in an error event and close reason."""

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if refuse:
            return connection.respond(HTTPStatus.UNAUTHORIZED, f"no access for GET {request.path}\n")
        return None

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        path = ws.request.path
        error = {"type": "invalid_request_error", "code": "bad_url", "message": f"Bad URL {path}"}
        await ws.send(json.dumps({"type": "error", "event_id": "event_1", "error": error}))
        await ws.send(json.dumps({"type": "not.a.known.type", "event_id": "event_2", "url": path}))
        await ws.close(4000, f"bad url {path}"[:120])

    async with serve(handler, "127.0.0.1", 0, process_request=process_request) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"


def everything_shown(w: RealtimeWidget, sent: list[Any], export: Path, raised: BaseException) -> str:
    """All a user can see: state, repr, events, log rows and details, export, comm messages, the error."""
    log = w._log
    details = [log.detail(row.id, 0, w._secrets()) for row in log.rows]
    return "\n".join(
        [
            json.dumps(w.get_state(), default=str),
            repr(w),
            json.dumps([e.data for e in w.events], default=str),
            json.dumps(log.tail(1000), default=str),
            json.dumps(details, default=str),
            export.read_text(),
            json.dumps(sent, default=str),
            str(raised),
            repr(raised),
        ]
    )


async def connect_until_closed(w: RealtimeWidget) -> None:
    """Connect, then wait until the server ends the session (wait_for raises ConnectionError then)."""
    await w.connect()
    await w.wait_for("never.sent", timeout=10)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("refuse", [False, True], ids=["error-event-and-close", "401-body"])
async def test_query_key_echoed_by_the_server_shows_nowhere(key: str, refuse: bool, tmp_path: Path) -> None:
    """Whatever the server echoes, the query key's value is masked in every place the widget shows."""
    sent: list[Any] = []
    async with echoing_server(refuse) as url:
        w = RealtimeWidget(url=f"{url}?api-key={quote_plus(key)}")
        w.comm.send = lambda data=None, buffers=None, **_: sent.append(data)  # type: ignore[method-assign]
        w._handle_custom_msg({"type": "ready", "view": "v1", "limit": 100}, [])
        try:
            with pytest.raises(ConnectionError) as caught:
                await connect_until_closed(w)
            export = tmp_path / "log.jsonl"
            w.export_log(export)
            shown = everything_shown(w, sent, export, caught.value)
        finally:
            await w.disconnect()
            w.close()
    assert ("no access" if refuse else "Bad URL") in shown  # the echo itself is kept, masked
    assert w.error_count >= 1
    assert key not in shown
