"""Browser connections (an `Origin` header) are refused unless their origin is allowed; others are not."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from sim_testing import UNIT_S, cli_server
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from rtwidget.server import serve

PAGE = "http://localhost:5173"
OTHER_PAGE = "https://evil.example"


async def _session_created(url: str, origin: str | None) -> bool:
    """Whether a client sending `origin` gets `session.created` (False: HTTP 403, body checked)."""
    try:
        async with connect(
            f"{url}?model=gpt-realtime", origin=None if origin is None else Origin(origin)
        ) as ws:
            return bool(json.loads(await ws.recv())["type"] == "session.created")
    except InvalidStatus as exc:
        response = exc.response
    assert response.status_code == 403
    body = response.body.decode()
    assert str(origin) in body
    assert "--allow-origin" in body
    return False


async def test_no_origin_is_accepted():
    """A client that sends no Origin (the kernel, the openai SDK, node's ws) holds a session by default."""
    async with serve(port=0) as sim:
        assert await _session_created(sim.url, None)


@pytest.mark.parametrize("origin", [PAGE, "http://127.0.0.1:8888", OTHER_PAGE, "null"])
async def test_by_default_no_browser_origin_is_accepted(origin: str):
    """The default (the widget's embedded simulator) refuses every page, loopback ones included."""
    async with serve(port=0) as sim:
        assert not await _session_created(sim.url, origin)


async def test_allowed_origin_only():
    """allow_origins lets exactly the listed origins in (case and a trailing slash aside)."""
    async with serve(port=0, allow_origins=["HTTP://localhost:5173/"]) as sim:
        assert await _session_created(sim.url, PAGE)
        assert not await _session_created(sim.url, OTHER_PAGE)
        assert not await _session_created(sim.url, "http://localhost:5174")
        assert await _session_created(sim.url, None)


async def test_star_allows_every_origin():
    """`*` accepts any origin."""
    async with serve(port=0, allow_origins=["*"]) as sim:
        assert await _session_created(sim.url, OTHER_PAGE)
        assert await _session_created(sim.url, "null")


async def test_an_entry_that_is_no_origin_is_refused():
    """serve() refuses an allow-list entry with no scheme, or with a path (it would never match)."""
    for entry in ["localhost:5173", "http://localhost:5173/app", ""]:
        with pytest.raises(ValueError, match="origin"):
            async with serve(allow_origins=[entry]):
                pass


async def test_cli_allow_origin_is_repeatable():
    """`--allow-origin` twice lets both pages in and no other; the refusal is one line on stderr."""
    async with cli_server("--allow-origin", PAGE, "--allow-origin", "https://app.test") as (proc, port):
        url = f"ws://127.0.0.1:{port}/v1/realtime"
        assert await _session_created(url, PAGE)
        assert await _session_created(url, "https://app.test")
        assert not await _session_created(url, OTHER_PAGE)
        assert proc.stderr is not None
        line = (await asyncio.wait_for(proc.stderr.readline(), UNIT_S)).decode()
    assert line.startswith("refused a connection from 127.0.0.1:")
    assert OTHER_PAGE in line


def test_cli_refuses_a_bad_origin_argument():
    """`--allow-origin localhost` (no scheme) exits with status 2 and says why."""
    done = subprocess.run(
        [sys.executable, "-m", "rtwidget.server", "--port", "0", "--allow-origin", "localhost"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "--allow-origin" in done.stderr
    assert "'localhost'" in done.stderr


def _upgrade(*origin_lines: bytes) -> bytes:
    return (
        b"GET /v1/realtime?model=gpt-realtime HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + b"".join(origin_lines)
        + b"\r\n"
    )


@pytest.mark.parametrize(
    ("name", "request_bytes", "in_body"),
    [
        ("non-ASCII origin", _upgrade(b"Origin: http://\xff.example\r\n"), "http://\\udcff"),
        (
            "two origins",
            _upgrade(b"Origin: http://a.test\r\n", b"Origin: http://b.test\r\n"),
            "more than one",
        ),
    ],
)
async def test_hostile_origin_headers_get_403(name: str, request_bytes: bytes, in_body: str):
    """An Origin with bytes no browser sends, or two Origin headers, get a 403 whose body names them."""
    async with serve(port=0, allow_origins=["http://a.test"]) as sim:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(request_bytes)
        response = await asyncio.wait_for(reader.read(), UNIT_S)
        writer.close()
        await writer.wait_closed()
    assert response.startswith(b"HTTP/1.1 403 "), response
    assert in_body in response.decode("ascii")
