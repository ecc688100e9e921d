"""Per-connection facts over real loopback sockets: distinct ids, browser subprotocols."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from rtwidget.server import serve

BROWSER = [Subprotocol("realtime"), Subprotocol("openai-insecure-api-key.sk-browser")]
BETA = Subprotocol("openai-beta.realtime-v1")
ITEM = {
    "type": "conversation.item.create",
    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
}


def _url(base: str) -> str:
    return f"{base}?model=gpt-realtime-2"


async def _recv_json(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await ws.recv())


async def _ids(url: str) -> tuple[str, str]:
    """The session id and the first created item's id of one connection."""
    async with connect(url) as ws:
        session_id = (await _recv_json(ws))["session"]["id"]
        await ws.send(json.dumps(ITEM))
        added = await _recv_json(ws)
        assert added["type"] == "conversation.item.added"
        return session_id, added["item"]["id"]


async def test_connections_get_distinct_ids():
    """Two connections to one server get different session and item ids."""
    async with serve(port=0) as sim:
        first = await _ids(_url(sim.url))
        second = await _ids(_url(sim.url))
    assert first[0] != second[0]
    assert first[1] != second[1]


async def test_servers_get_distinct_ids():
    """The first connection of two servers started without a seed get different ids."""
    async with serve(port=0) as a, serve(port=0) as b:
        assert await _ids(_url(a.url)) != await _ids(_url(b.url))


async def test_seeded_servers_repeat_ids():
    """With the same seed, the first connection of two servers gets the same ids."""
    async with serve(port=0, seed=5) as a, serve(port=0, seed=5) as b:
        assert await _ids(_url(a.url)) == await _ids(_url(b.url))


async def test_browser_subprotocols_select_realtime():
    """A client offering realtime + the key subprotocol connects; the server selects `realtime`."""
    async with serve(port=0) as sim, connect(_url(sim.url), subprotocols=BROWSER) as ws:
        assert ws.subprotocol == "realtime"
        assert (await _recv_json(ws))["type"] == "session.created"


async def test_key_subprotocol_is_the_api_key():
    """With require_key, the key in `openai-insecure-api-key.<key>` is accepted."""
    async with (
        serve(port=0, require_key="sk-browser") as sim,
        connect(_url(sim.url), subprotocols=BROWSER) as ws,
    ):
        assert (await _recv_json(ws))["type"] == "session.created"


async def test_wrong_key_subprotocol_refused():
    """A wrong key in the subprotocol gets invalid_api_key, and the key is not echoed."""
    async with (
        serve(port=0, require_key="sk-other") as sim,
        connect(_url(sim.url), subprotocols=BROWSER) as ws,
    ):
        assert ws.subprotocol == "realtime"
        event = await _recv_json(ws)
        assert event["error"]["code"] == "invalid_api_key"


async def test_beta_subprotocol_selects_beta():
    """Offering `openai-beta.realtime-v1` gets the beta dialect (conversation.created follows)."""
    async with serve(port=0) as sim, connect(_url(sim.url), subprotocols=[*BROWSER, BETA]) as ws:
        assert ws.subprotocol == "realtime"
        assert (await _recv_json(ws))["type"] == "session.created"
        assert (await _recv_json(ws))["type"] == "conversation.created"


async def test_key_subprotocol_alone_is_not_echoed():
    """A client offering only the key subprotocol connects with no subprotocol selected."""
    async with serve(port=0) as sim, connect(_url(sim.url), subprotocols=BROWSER[1:]) as ws:
        assert ws.subprotocol is None
        assert (await _recv_json(ws))["type"] == "session.created"


async def test_cli_server_accepts_subprotocols():
    """`python -m rtwidget.server` accepts a browser-style client and selects beta by subprotocol."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rtwidget.server",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = (await proc.stdout.readline()).decode().strip()
        async with connect(_url(url), subprotocols=[*BROWSER, BETA]) as ws:
            assert ws.subprotocol == "realtime"
            assert (await _recv_json(ws))["type"] == "session.created"
            assert (await _recv_json(ws))["type"] == "conversation.created"
    finally:
        proc.kill()
        await proc.communicate()
