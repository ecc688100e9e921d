"""websockets internals the adapter's batched write relies on (fails loudly when websockets changes them)."""

from __future__ import annotations

import asyncio
import json

import websockets
from websockets.asyncio.client import connect
from websockets.protocol import State
from websockets.server import ServerProtocol

from rtwidget.server import serve


async def test_server_connection_internals_present():
    """ServerConnection keeps .protocol (send_text, data_to_send, state), .transport and .paused."""
    async with serve(port=0) as sim, connect(f"{sim.url}?model=gpt-realtime-2") as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        assert sim.server is not None
        (conn,) = sim.server.connections
        where = f"websockets {websockets.__version__}: rtwidget.server.adapter._Connection.write needs"
        assert isinstance(getattr(conn, "protocol", None), ServerProtocol), (
            f"{where} ServerConnection.protocol"
        )
        assert callable(getattr(conn.protocol, "send_text", None)), f"{where} ServerProtocol.send_text"
        assert callable(getattr(conn.protocol, "data_to_send", None)), f"{where} ServerProtocol.data_to_send"
        assert conn.protocol.state is State.OPEN, f"{where} ServerProtocol.state"
        assert isinstance(getattr(conn, "transport", None), asyncio.WriteTransport), (
            f"{where} ServerConnection.transport"
        )
        assert isinstance(getattr(conn, "paused", None), bool), f"{where} ServerConnection.paused"
