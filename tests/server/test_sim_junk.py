"""Junk connections (no WebSocket handshake) cost the simulator's stderr one line each, no traceback."""

from __future__ import annotations

import asyncio
import signal

import pytest
from sim_testing import UNIT_S, cli_server
from websockets.asyncio.client import connect

from rtwidget.server import serve

JUNK = {
    "plain HTTP GET": b"GET /v1/realtime?model=gpt-realtime HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "garbage": b"\x16\x03\x01\x00\xa5garbage\x1b[31m red\r\n\r\n",
    "closed mid-handshake": b"GET /v1/realtime HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n",
    "closed at once": b"",
}


async def _junk(port: int, data: bytes) -> None:
    """Connect, send `data`, half-close, and read whatever comes back until the server hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    writer.write_eof()
    await asyncio.wait_for(reader.read(), UNIT_S)
    writer.close()
    await writer.wait_closed()


async def test_junk_connections_log_one_line_each():
    """Each junk connection prints one line naming the peer and the reason; a real session still works."""
    async with cli_server() as (proc, port):
        assert proc.stderr is not None
        lines = []
        for data in JUNK.values():
            await _junk(port, data)
            lines.append((await asyncio.wait_for(proc.stderr.readline(), UNIT_S)).decode())
        async with connect(f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime") as ws:
            assert '"session.created"' in str(await ws.recv())
        proc.send_signal(signal.SIGINT)
        rest = (await asyncio.wait_for(proc.stderr.read(), 2 * UNIT_S)).decode()
    assert rest == ""
    for line in lines:
        assert line.startswith("refused a connection from 127.0.0.1:"), line
        assert "Traceback" not in line
        assert "\x1b" not in line
    assert "invalid HTTP request line" in lines[1]


@pytest.mark.parametrize("name", ["garbage", "closed mid-handshake"])
async def test_refused_handshake_record_has_no_traceback(caplog: pytest.LogCaptureFixture, name: str):
    """The record websockets logs for a failed handshake reaches handlers as one WARNING line, no exc_info."""
    async with serve(port=0) as sim:
        await _junk(sim.port, JUNK[name])
        async with connect(f"{sim.url}?model=gpt-realtime") as ws:
            await ws.recv()  # the junk connection was handled before this one's session started
    records = [r for r in caplog.records if r.name == "rtwidget.server.websockets" and r.levelno >= 30]
    assert [(r.levelname, r.exc_info) for r in records] == [("WARNING", None)]
    assert "\n" not in records[0].getMessage()
