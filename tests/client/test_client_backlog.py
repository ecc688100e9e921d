"""A consumer that falls behind a flooding server, and a server that stops answering pings (loopback).

The client's keepalive is set to a few hundredths of a second (``UNIT``) so that a stall of ``STALL_S``
spans many ping rounds: without a receive buffer of its own the client would stop reading the socket,
miss its pongs and close itself with 1011 "keepalive ping timeout" long before the stall ends.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from client_testing import serve_script
from websockets.asyncio.server import ServerConnection

from rtwidget.client import ClientConfig, Connection, PermanentError, connect

UNIT = 0.05  # keepalive period and timeout, seconds
# The passage of time is what is tested here (the keepalive must fire several times while the consumer
# stalls), so the test sleeps instead of awaiting an event.
STALL_S = 12 * UNIT
FLOOD_FRAMES = 2_000


def numbered(n: int) -> str:
    return json.dumps({"type": "input_audio_buffer.cleared", "event_id": f"event_{n}"})


async def flood(ws: ServerConnection) -> None:
    """Send FLOOD_FRAMES frames as fast as the socket takes them, then keep the connection open."""
    for n in range(FLOOD_FRAMES):
        await ws.send(numbered(n))


async def receive_numbers(conn: Connection, limit: int, numbers: list[int]) -> None:
    """Append event numbers to ``numbers`` until ``limit`` arrived (the connection may end first)."""
    while len(numbers) < limit:
        event = await conn.recv()
        numbers.append(int(str(event.event_id).removeprefix("event_")))


def keepalive(**changes: object) -> ClientConfig:
    return ClientConfig(
        url="ws://127.0.0.1:1/v1/realtime", ping_interval_s=UNIT, ping_timeout_s=UNIT
    ).replace(**changes)


async def test_stalled_consumer_within_the_buffer_loses_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """A consumer stalled through many keepalive rounds still gets every frame, in order, with no warning."""
    numbers: list[int] = []
    with caplog.at_level(logging.WARNING, logger="rtwidget.client"):
        async with serve_script(flood) as served, connect(keepalive(url=served.url)) as conn:
            await asyncio.sleep(STALL_S)
            assert conn.state == "open"
            await receive_numbers(conn, FLOOD_FRAMES, numbers)
    assert numbers == list(range(FLOOD_FRAMES))
    assert not [r for r in caplog.records if r.name.startswith("rtwidget")]


CAP_FRAMES = 50


@pytest.mark.parametrize(
    "cap",
    [{"receive_buffer_frames": CAP_FRAMES}, {"receive_buffer_bytes": CAP_FRAMES * len(numbered(0))}],
    ids=["frames", "bytes"],
)
async def test_past_the_buffer_the_socket_pauses_and_the_close_says_client_fell_behind(
    cap: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    """Past its cap the buffer stops reading (logged); what was read arrives, then "client fell behind"."""
    numbers: list[int] = []
    with caplog.at_level(logging.WARNING, logger="rtwidget.client"):
        async with serve_script(flood) as served:
            conn = await connect(keepalive(url=served.url, **cap))
            await asyncio.sleep(STALL_S)
            with pytest.raises(PermanentError) as caught:
                await receive_numbers(conn, FLOOD_FRAMES + 1, numbers)
            await conn.close()
    # A prefix: nothing read is dropped. It may be the whole flood when websockets had read it all in one
    # go before the socket paused; the keepalive still timed out (the pong came later) and says why.
    assert CAP_FRAMES <= len(numbers) <= FLOOD_FRAMES
    assert numbers == list(range(len(numbers)))
    assert "client fell behind" in str(caught.value)
    assert "client fell behind" in (conn.close_reason or "")
    assert caught.value.close_code == 1011
    warnings = [r.getMessage() for r in caplog.records if r.name == "rtwidget.client"]
    [(name, value)] = cap.items()
    assert len(warnings) == 1
    assert "receive buffer full" in warnings[0]
    assert f"{name}={value}" in warnings[0]


async def test_unanswered_pings_say_the_server_is_unresponsive() -> None:
    """A server that stops reading (no pongs) ends the connection with 1011, blamed on the server."""

    async def deaf(ws: ServerConnection) -> None:
        ws.transport.pause_reading()
        await ws.send(numbered(0))
        # After failing the connection a client waits for the server to drop TCP (RFC 6455 §7.1.7);
        # a deaf server never would, so this one drops it once the keepalive has long timed out.
        await asyncio.sleep(STALL_S)
        ws.transport.abort()

    async with serve_script(deaf) as served:
        conn = await connect(keepalive(url=served.url))
        with pytest.raises(PermanentError) as caught:
            await receive_numbers(conn, 2, [])
        await conn.close()
    assert caught.value.close_code == 1011
    assert "keepalive ping timeout" in str(caught.value)
    assert "server or network unresponsive" in str(caught.value)
    assert "client fell behind" not in str(caught.value)
