"""Failure paths over loopback: bad frames, close codes 3000/4000, refused upgrades, frame size limits."""

from __future__ import annotations

import base64
import json
import logging
from http import HTTPStatus
from typing import Any

import pytest
from client_testing import ServerRecord, event, serve_script, until_closed
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from rtwidget.client import (
    MAX_FRAME_BYTES,
    ClientConfig,
    Connection,
    FrameError,
    PermanentError,
    TemporaryError,
    connect,
)
from rtwidget.protocol import Event, UnknownEvent, ga

KEY = "sk-test-SECRET-key-0123456789"
CLEARED = event("input_audio_buffer.cleared", 9)
BAD_FRAMES: list[str | bytes] = [
    "not json {",
    b'{"type": "input_audio_buffer.cleared"}',
    '{"no": "type"}',
    "[1, 2]",
]
# What the live GA server sends for a bad key, then close 3000 (docs/protocol-notes.md).
INVALID_KEY_ERROR = event(
    "error",
    1,
    error={
        "type": "invalid_request_error",
        "code": "invalid_api_key",
        "message": "Incorrect API key provided.",
        "param": None,
        "event_id": None,
    },
)
# ... and for the beta header on a GA server, then close 4000 (docs/protocol-notes.md).
BETA_DISABLED_ERROR = event(
    "error",
    1,
    error={
        "type": "invalid_request_error",
        "code": "beta_api_shape_disabled",
        "message": "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.",
        "param": None,
        "event_id": None,
    },
)


async def send_bad_frames_then_good(ws: ServerConnection) -> None:
    for frame in BAD_FRAMES:
        await ws.send(frame)
    await ws.send(CLEARED)
    await until_closed(ws, ServerRecord())


async def test_bad_frames_raise_frame_error_and_next_frame_arrives() -> None:
    """Each unparseable frame raises a FrameError carrying it; the following good frame still arrives."""
    async with serve_script(send_bad_frames_then_good) as served, connect(served.url) as conn:
        raws = []
        for _ in BAD_FRAMES:
            with pytest.raises(FrameError) as caught:
                await conn.recv()
            raws.append(caught.value.raw)
            assert isinstance(caught.value, TemporaryError)
        good = await conn.recv()
        assert conn.state == "open"
    assert raws == BAD_FRAMES
    assert isinstance(good, ga.InputAudioBufferClearedEvent)


async def test_binary_frame_error_says_binary() -> None:
    """A binary frame is refused with a message saying so."""
    async with serve_script(send_bad_frames_then_good) as served, connect(served.url) as conn:
        with pytest.raises(FrameError):
            await conn.recv()
        with pytest.raises(FrameError, match="binary frame"):
            await conn.recv()


async def test_async_for_skips_bad_frames_and_observers_see_them() -> None:
    """async for yields only good events; frame observers get each bad frame with its error."""

    async def script(ws: ServerConnection) -> None:
        for frame in BAD_FRAMES:
            await ws.send(frame)
        await ws.send(CLEARED)
        await ws.close()

    errors: list[tuple[str | bytes, Exception | None]] = []
    async with serve_script(script) as served, connect(served.url) as conn:
        conn.on_frame(lambda d, raw, ev, err: errors.append((raw, err)) if err else None)
        events = [ev.type async for ev in conn]
    assert events == ["input_audio_buffer.cleared"]
    assert [raw for raw, _ in errors] == BAD_FRAMES
    assert all(isinstance(err, FrameError) for _, err in errors)


async def drain(conn: Connection) -> None:
    """Iterate with async for until it ends."""
    async for _ in conn:
        pass


@pytest.mark.parametrize(
    ("error_frame", "code", "reason", "dialect"),
    [
        (INVALID_KEY_ERROR, 3000, "invalid_request_error.invalid_api_key", "ga"),
        (BETA_DISABLED_ERROR, 4000, "invalid_request_error.beta_api_shape_disabled", "beta"),
    ],
)
async def test_fatal_close_gives_error_event_then_permanent_error(
    error_frame: str, code: int, reason: str, dialect: str
) -> None:
    """The server's error event arrives as an event, then PermanentError with the close code; no retry."""

    async def script(ws: ServerConnection) -> None:
        await ws.send(error_frame)
        await ws.close(code, reason)

    async with serve_script(script) as served:
        async with connect(served.url, dialect=dialect) as conn:  # type: ignore[arg-type]
            seen: list[Event] = []
            conn.on("*", seen.append)
            with pytest.raises(PermanentError) as caught:
                await drain(conn)
            assert (caught.value.close_code, caught.value.close_reason) == (code, reason)
            assert (conn.close_code, conn.close_reason, conn.state) == (code, reason, "closed")
            with pytest.raises(PermanentError):
                await conn.send({"type": "response.create"})
        assert served.connections == 1
    assert [type(ev) for ev in seen] == [ga.ErrorEvent]
    assert seen[0].to_dict() == json.loads(error_frame)


async def test_run_raises_on_fatal_close() -> None:
    """run() ends with PermanentError on close 4000 after feeding the error event to handlers."""

    async def script(ws: ServerConnection) -> None:
        await ws.send(BETA_DISABLED_ERROR)
        await ws.close(4000, "invalid_request_error.beta_api_shape_disabled")

    errors: list[ga.ErrorEvent] = []
    async with serve_script(script) as served, connect(served.url) as conn:
        conn.on("error", errors.append)
        with pytest.raises(PermanentError, match="4000"):
            await conn.run()
    assert [e.error.code for e in errors] == ["beta_api_shape_disabled"]


async def test_dropped_connection_is_permanent_1006() -> None:
    """A TCP drop without a close frame raises PermanentError with code 1006."""

    async def script(ws: ServerConnection) -> None:
        ws.transport.abort()

    async with serve_script(script) as served, connect(served.url) as conn:
        with pytest.raises(PermanentError) as caught:
            await drain(conn)
    assert caught.value.close_code == 1006


def refuse_with_echo(connection: ServerConnection, request: Request) -> Response:
    """Refuse the upgrade with 401 and echo the credentials back in the body (a careless server)."""
    echoed = f"bad credentials: {request.headers.get('Authorization')} / {request.headers.get('api-key')}"
    return connection.respond(HTTPStatus.UNAUTHORIZED, echoed)


async def test_refused_upgrade_is_permanent_and_hides_key() -> None:
    """HTTP 401 instead of 101 raises PermanentError with the status; the echoed key is masked."""

    async def script(ws: ServerConnection) -> None:
        raise AssertionError("no upgrade expected")

    async with serve_script(script, process_request=refuse_with_echo) as served:
        with pytest.raises(PermanentError) as caught:
            await connect(served.url, api_key=KEY)
    assert caught.value.status_code == 401
    assert "401" in str(caught.value)
    assert "bad credentials" in str(caught.value)
    assert KEY not in str(caught.value)
    assert served.connections == 0


async def test_connection_refused_is_permanent() -> None:
    """Nothing listening: PermanentError naming the URL."""
    async with serve_script(lambda ws: until_closed(ws, ServerRecord())) as served:
        url = served.url
    with pytest.raises(PermanentError, match="cannot connect"):
        await connect(url)


async def test_debug_logs_never_show_key(caplog: pytest.LogCaptureFixture) -> None:
    """With DEBUG logging on, the handshake headers are logged with the key masked."""
    async with serve_script(lambda ws: until_closed(ws, ServerRecord())) as served:
        with caplog.at_level(logging.DEBUG, logger="rtwidget"):
            async with connect(
                config=ClientConfig.azure(served.url.replace("/v1/realtime", ""), "d", api_key=KEY)
            ):
                pass
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("rtwidget"))
    assert "> api-key: ***" in ours
    assert KEY not in ours


def audio_delta_frame(total_bytes: int) -> str:
    """A response.output_audio.delta frame of exactly ``total_bytes`` (base64 payload padded to fit)."""
    head: dict[str, Any] = {
        "type": "response.output_audio.delta",
        "event_id": "event_big",
        "response_id": "resp_1",
    }
    head |= {"item_id": "item_1", "output_index": 0, "content_index": 0, "delta": ""}
    overhead = len(json.dumps(head))
    payload_chars = (total_bytes - overhead) // 4 * 4
    frame = json.dumps(head | {"delta": "A" * payload_chars})
    return frame + " " * (total_bytes - len(frame))


async def test_receives_15_mib_frame() -> None:
    """A server frame of exactly 15 MiB is received and parsed."""
    frame = audio_delta_frame(MAX_FRAME_BYTES)

    async def script(ws: ServerConnection) -> None:
        await ws.send(frame)
        await until_closed(ws, ServerRecord())

    async with serve_script(script) as served, connect(served.url) as conn:
        ev = await conn.recv()
    assert len(frame) == MAX_FRAME_BYTES
    assert isinstance(ev, ga.ResponseOutputAudioDeltaEvent)
    assert len(ev.delta) == len(json.loads(frame)["delta"])


async def test_frame_over_limit_closes_with_1009() -> None:
    """A server frame over max_frame_bytes closes the connection with 1009 (message too big)."""

    async def script(ws: ServerConnection) -> None:
        await ws.send(audio_delta_frame(MAX_FRAME_BYTES + 1))
        await until_closed(ws, ServerRecord())

    async with serve_script(script) as served, connect(served.url) as conn:
        with pytest.raises(PermanentError) as caught:
            await conn.recv()
    assert caught.value.close_code == 1009


async def test_sends_15_mib_append() -> None:
    """An input_audio_buffer.append of nearly 15 MiB goes out whole."""
    record = ServerRecord()
    audio = base64.b64encode(bytes(MAX_FRAME_BYTES // 4 * 3 - 300)).decode()

    async def script(ws: ServerConnection) -> None:
        record.received.append(await ws.recv())
        await ws.send(CLEARED)
        await until_closed(ws, ServerRecord())

    async with serve_script(script) as served, connect(served.url) as conn:
        await conn.send({"type": "input_audio_buffer.append", "audio": audio})
        await conn.recv()
    assert json.loads(record.received[0])["audio"] == audio


async def test_oversized_send_refused_before_sending() -> None:
    """A frame over max_frame_bytes raises ValueError and nothing is sent."""
    record = ServerRecord()
    audio = base64.b64encode(bytes(3 * 2**20)).decode()

    async def script(ws: ServerConnection) -> None:
        await until_closed(ws, record)

    async with serve_script(script) as served:
        async with connect(served.url, max_frame_bytes=2**20) as conn:
            with pytest.raises(ValueError, match="max_frame_bytes"):
                await conn.send({"type": "input_audio_buffer.append", "audio": audio})
            await conn.send_raw('{"type": "input_audio_buffer.clear"}')
        assert conn.state == "closed"
    assert record.received == ['{"type": "input_audio_buffer.clear"}']


async def test_known_type_with_bad_fields_arrives_typed_with_problems() -> None:
    """A known event type with a wrongly typed field arrives as its class, the field named in problems."""
    bad = '{"type": "response.output_text.delta", "event_id": "e", "delta": 5}'

    async def script(ws: ServerConnection) -> None:
        await ws.send(bad)
        await ws.send(CLEARED)
        await until_closed(ws, ServerRecord())

    async with serve_script(script) as served, connect(served.url) as conn:
        event = await conn.recv()
        good = await conn.recv()
    assert isinstance(event, ga.ResponseOutputTextDeltaEvent)
    assert "$.delta" in [p.path for p in event.problems]
    assert event.to_dict() == json.loads(bad)
    assert isinstance(good, ga.InputAudioBufferClearedEvent)


async def test_known_type_with_bad_fields_is_frame_error_when_strict() -> None:
    """strict=True: a known event type with a wrongly typed field raises FrameError naming the field."""
    bad = '{"type": "response.output_text.delta", "event_id": "e", "delta": 5}'

    async def script(ws: ServerConnection) -> None:
        await ws.send(bad)
        await ws.send(CLEARED)
        await until_closed(ws, ServerRecord())

    async with serve_script(script) as served, connect(served.url, strict=True) as conn:
        with pytest.raises(FrameError, match="delta") as caught:
            await conn.recv()
        good = await conn.recv()
    assert caught.value.raw == bad
    assert caught.value.event.to_dict() == json.loads(bad)
    assert isinstance(good, ga.InputAudioBufferClearedEvent)


async def test_unknown_type_arrives_as_unknown_event() -> None:
    """A type the dialect does not know is delivered as UnknownEvent to "*" handlers, JSON kept."""
    future = '{"type": "response.future_thing.delta", "event_id": "e", "x": [1, 2]}'

    async def script(ws: ServerConnection) -> None:
        await ws.send(future)
        await ws.close()

    seen: list[Event] = []
    async with serve_script(script) as served, connect(served.url) as conn:
        conn.on("*", seen.append)
        await conn.run()
    assert [type(ev) for ev in seen] == [UnknownEvent]
    assert seen[0].to_dict() == json.loads(future)
