"""The transport's own reading of the socket (rtwidget.client.transport): each message is taken off
websockets' parser as it is read, so what websockets' ``recv`` did must still hold: fragmented messages
arrive whole, text is UTF-8 checked (a bad one closes with 1007), binary stays bytes, size limits apply,
and a burst read in one go reaches a waiting consumer in order. These tests fail loudly if the
websockets internals it relies on (``process_event``, ``send_data``) change."""

from __future__ import annotations

import asyncio

import pytest
from client_testing import event, serve_script
from websockets.asyncio.server import ServerConnection

from rtwidget.client import ClientConfig, PermanentError, connect


def config(url: str, **changes: object) -> ClientConfig:
    return ClientConfig(url=url).replace(**changes)


async def test_fragmented_messages_arrive_whole_text_and_binary() -> None:
    text = event("response.output_text.delta", 1, delta="é" * 3000)
    pieces = [text[i : i + 1000] for i in range(0, len(text), 1000)]

    async def fragmented(ws: ServerConnection) -> None:
        await ws.send(pieces)  # an iterable: one message in several frames
        await ws.send([b"\x00\x01", b"\x02"])
        await ws.send(event("response.done", 2, response={"id": "resp_1", "status": "completed"}))
        await ws.wait_closed()

    async with serve_script(fragmented) as served, connect(config(served.url)) as conn:
        first = await conn.recv()
        assert first.type == "response.output_text.delta"
        assert first.delta == "é" * 3000  # type: ignore[attr-defined]
        assert await conn.recv_raw() == b"\x00\x01\x02"
        assert (await conn.recv()).type == "response.done"


async def test_invalid_utf8_text_closes_1007_after_what_came_before() -> None:
    async def bad_text(ws: ServerConnection) -> None:
        await ws.send(event("input_audio_buffer.cleared", 1))
        await ws.send(b'{"type": "\xff\xfe"}', text=True)  # a text frame that is not UTF-8
        await ws.send(event("input_audio_buffer.cleared", 2))  # after the failure: discarded
        await ws.wait_closed()

    async with serve_script(bad_text) as served:
        conn = await connect(config(served.url))
        assert (await conn.recv()).event_id == "event_1"
        with pytest.raises(PermanentError) as caught:
            await asyncio.wait_for(conn.recv(), 5)
        await conn.close()
    assert caught.value.close_code == 1007
    assert served.closes == [(1007, "invalid start byte at position 10")]


async def test_a_burst_read_at_once_reaches_a_waiting_consumer_in_order() -> None:
    count = 500
    burst = [event("input_audio_buffer.cleared", n) for n in range(count)]

    async def send_burst(ws: ServerConnection) -> None:
        await ws.recv()  # the client waits in recv() before the burst is written
        for frame in burst:
            ws.protocol.send_text(frame.encode())
        ws.transport.write(b"".join(ws.protocol.data_to_send()))  # one write: many frames per read
        await ws.wait_closed()

    async with serve_script(send_burst) as served, connect(config(served.url)) as conn:
        waiting = asyncio.ensure_future(conn.recv())
        await asyncio.sleep(0)
        await conn.send({"type": "input_audio_buffer.clear"})
        got = [await waiting] + [await conn.recv() for _ in range(count - 1)]
    assert [e.event_id for e in got] == [f"event_{n}" for n in range(count)]


async def test_a_message_over_max_frame_bytes_closes_1009_and_keeps_what_came_before() -> None:
    async def too_big(ws: ServerConnection) -> None:
        await ws.send(event("input_audio_buffer.cleared", 1))
        await ws.send([event("response.output_text.delta", 2, delta="x" * 600), "", ""])
        await ws.wait_closed()

    async with serve_script(too_big) as served:
        conn = await connect(config(served.url, max_frame_bytes=500))
        assert (await conn.recv()).event_id == "event_1"
        with pytest.raises(PermanentError) as caught:
            await asyncio.wait_for(conn.recv(), 5)
        await conn.close()
    assert caught.value.close_code == 1009
