"""The transport's own reading of the socket (rtwidget.client.transport): each message is taken off
websockets' parser as it is read, so what websockets' ``recv`` did must still hold: fragmented messages
arrive whole, text is UTF-8 checked (a bad one closes with 1007), binary stays bytes, size limits apply,
and a burst read in one go reaches a waiting consumer in order. These tests fail loudly if the
websockets internal it relies on (``process_event``) changes. A raw loopback server (``raw_server``)
writes the 101 response and frames in one write, so they reach the client in the handshake's own socket
read, before websockets' ``connect`` returns."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from client_testing import event, serve_script
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection
from websockets.frames import Close, Frame, Opcode
from websockets.utils import accept_key

from rtwidget.client import ClientConfig, Connection, PermanentError, connect
from rtwidget.client.transport import WebSocketTransport, _connection_class, websocket_factory


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


After = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def frame(opcode: Opcode, data: bytes = b"", fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=False, extensions=[])


def close_frame(code: int, reason: str = "") -> bytes:
    return frame(Opcode.CLOSE, Close(code, reason).serialize())


async def _echo_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1 << 16)  # the client's close (or EOF)
    writer.close()


@asynccontextmanager
async def raw_server(payload: bytes, after: After = _echo_close) -> AsyncIterator[str]:
    """Serve one handshake whose 101 response and ``payload`` go out in a single write."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        [key] = [
            line.split(b":", 1)[1].strip().decode()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        ]
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n\r\n" + payload
        )
        try:
            await after(reader, writer)
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/realtime"
    finally:
        server.close()


async def drain(transport: WebSocketTransport) -> tuple[list[str | bytes], PermanentError]:
    got: list[str | bytes] = []
    while True:
        try:
            got.append(await asyncio.wait_for(transport.recv(), 5))
        except PermanentError as error:
            return got, error


BURST = b"".join(
    [
        *(frame(Opcode.TEXT, f"m{i}".encode()) for i in range(5)),
        frame(Opcode.TEXT, "é".encode()[:1], fin=False),  # a character split across fragments
        frame(Opcode.PING, b"p"),  # a control frame inside a fragmented message
        frame(Opcode.CONT, "é".encode()[1:] + b"!"),
        frame(Opcode.BINARY, b"\x00", fin=False),
        frame(Opcode.CONT, b"\x01"),
    ]
)
DELIVERED = ["m0", "m1", "m2", "m3", "m4", "é!", b"\x00\x01"]


async def test_frames_in_the_handshake_read_then_the_close_are_delivered_in_order() -> None:
    async with raw_server(BURST + close_frame(4000, "session over")) as url:
        transport = await websocket_factory(max_frame_bytes=1000)(url, {})
        assert isinstance(transport, WebSocketTransport)
        assert list(transport.ws.frames) == DELIVERED  # already held when connect returned
        started = time.monotonic()
        await transport.close()  # the peer closed first: returns at once, frames stay
        assert time.monotonic() - started < 1
        got, error = await drain(transport)
    assert got == DELIVERED
    assert (error.close_code, error.close_reason) == (4000, "session over")


async def test_close_while_paused_at_the_cap_is_prompt_and_keeps_every_frame() -> None:
    async with raw_server(BURST) as url:  # the server stays open until it reads our close
        transport = await websocket_factory(max_frame_bytes=1000, receive_buffer_frames=2)(url, {})
        assert isinstance(transport, WebSocketTransport)
        assert transport.ws.reading_paused
        started = time.monotonic()
        await transport.close()
        assert time.monotonic() - started < 1
        got, error = await drain(transport)
    assert got == DELIVERED
    assert "fell behind" not in str(error)


async def test_max_size_counts_across_fragments_1009_after_the_frames_before() -> None:
    three = [frame(Opcode.TEXT, b"x" * 300, fin=False), frame(Opcode.CONT, b"y" * 300)]
    async with raw_server(frame(Opcode.TEXT, b"first") + b"".join(three)) as url:
        transport = await websocket_factory(max_frame_bytes=500)(url, {})
        assert isinstance(transport, WebSocketTransport)
        got, error = await drain(transport)
    assert got == ["first"]
    assert error.close_code == 1009


async def test_a_cancelled_recv_loses_nothing_and_two_waiters_share_the_frames() -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for n in range(3):
            await asyncio.sleep(0.05)
            writer.write(frame(Opcode.TEXT, f"f{n}".encode()))
        writer.write(close_frame(1000))
        await _echo_close(reader, writer)

    async with raw_server(b"", trickle) as url:
        transport = await websocket_factory(max_frame_bytes=1000)(url, {})
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(transport.recv(), 0.01)
        pair = await asyncio.gather(transport.recv(), transport.recv())
        assert sorted(pair) == ["f0", "f1"]  # type: ignore[type-var]
        assert await transport.recv() == "f2"
        with pytest.raises(PermanentError) as caught:
            await transport.recv()
    assert caught.value.close_code == 1000


async def test_a_server_close_read_before_the_pause_is_not_reported_as_client_fell_behind() -> None:
    async with raw_server(BURST + close_frame(4000, "session over")) as url:
        transport = await websocket_factory(max_frame_bytes=1000, receive_buffer_frames=2)(url, {})
        assert isinstance(transport, WebSocketTransport)
        got, error = await drain(transport)
    assert got == DELIVERED
    assert (error.close_code, error.close_reason) == (4000, "session over")


async def test_a_1007_close_is_bounded_by_close_timeout_when_the_server_never_answers() -> None:
    async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3)  # neither echoes our close nor drops TCP, for 3 s

    async with raw_server(frame(Opcode.TEXT, b"ok") + frame(Opcode.TEXT, b"\xff"), deaf) as url:
        ws = await ws_connect(
            url, close_timeout=0.3, ping_interval=None, create_connection=_connection_class(10, 10**6)
        )
        transport = WebSocketTransport(ws)  # type: ignore[arg-type]
        assert await transport.recv() == "ok"
        started = time.monotonic()
        with pytest.raises(PermanentError) as caught:
            await transport.recv()
        waited = time.monotonic() - started
    assert caught.value.close_code == 1007
    assert waited < 1.5  # close_timeout 0.3 s, as websockets' own recv


UNIT = 0.05


async def drain_connection(conn: Connection) -> PermanentError:
    while True:
        try:
            await conn.recv()
        except PermanentError as error:
            return error


async def test_closing_after_the_keepalive_timed_out_while_paused_still_says_client_fell_behind() -> None:
    async def flood(ws: ServerConnection) -> None:
        for n in range(2000):
            await ws.send(f'{{"type": "input_audio_buffer.cleared", "event_id": "event_{n}"}}')

    async with serve_script(flood) as served:
        config = ClientConfig(
            url=served.url, ping_interval_s=UNIT, ping_timeout_s=UNIT, receive_buffer_frames=50
        )
        conn = await connect(config)
        await asyncio.sleep(12 * UNIT)  # the keepalive times out: the connection is closing, unread
        await conn.close()  # e.g. leaving `async with connect(...)` without draining
        caught = await drain_connection(conn)
    assert "client fell behind" in str(caught)


async def test_websockets_own_recv_is_refused_not_left_waiting() -> None:
    async with raw_server(BURST) as url:
        transport = await websocket_factory(max_frame_bytes=1000)(url, {})
        assert isinstance(transport, WebSocketTransport)
        with pytest.raises(RuntimeError, match=r"WebSocketTransport\.recv"):
            await transport.ws.recv()
        with pytest.raises(RuntimeError, match=r"WebSocketTransport\.recv"):
            aiter(transport.ws)
        assert await transport.recv() == "m0"
        await transport.close()


async def test_a_failure_while_taking_a_frame_closes_1011_and_keeps_the_frames_before(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Our own code fails inside websockets' socket callback: logged, 1011, nothing read before lost."""
    async with raw_server(BURST) as url:
        cls = _connection_class(3, 10**6)

        def boom() -> None:
            raise RuntimeError("boom in on_pause")

        original = cls.__init__

        def init(self: object, *args: object, **kwargs: object) -> None:
            original(self, *args, **kwargs)  # type: ignore[arg-type]
            self.on_pause = boom  # type: ignore[attr-defined]

        cls.__init__ = init  # type: ignore[method-assign]
        with caplog.at_level(logging.ERROR, logger="rtwidget.client"):
            ws = await ws_connect(url, close_timeout=0.3, ping_interval=None, create_connection=cls)
            transport = WebSocketTransport(ws)  # type: ignore[arg-type]
            got, error = await drain(transport)
    assert got == DELIVERED[:3]  # the frame whose pause failed is kept; the rest of the read is not read
    assert error.close_code == 1011
    assert any("closing with 1011" in r.getMessage() for r in caplog.records)
