"""Connection over real loopback sockets: handshake, send/recv, handlers, observers, ping, close."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

import pytest
from client_testing import ServerRecord, event, serve_script, until_closed
from websockets.asyncio.server import ServerConnection

from rtwidget.client import ClientConfig, Connection, PermanentError, Transport, connect
from rtwidget.protocol import Event, ValidationError, ga

KEY = "sk-test-SECRET-key-0123456789"
CLEARED = event("input_audio_buffer.cleared", 1)
DELTA = event(
    "response.output_text.delta",
    2,
    response_id="resp_1",
    item_id="item_1",
    output_index=0,
    content_index=0,
    delta="hi",
)


def acker(record: ServerRecord) -> Any:
    """A script that records each client frame and answers it with input_audio_buffer.cleared."""

    async def script(ws: ServerConnection) -> None:
        async for frame in ws:
            record.received.append(frame)
            await ws.send(event("input_audio_buffer.cleared", len(record.received)))

    return script


def handshake_case(port_url: str, case: str) -> ClientConfig:
    root = port_url.removesuffix("/v1/realtime")
    if case == "custom-ga":
        return ClientConfig(url=port_url, api_key=KEY)
    if case == "custom-beta":
        return ClientConfig(url=port_url, api_key=KEY, dialect="beta")
    if case == "openai-ga":
        return ClientConfig.openai(
            KEY, base_url=root.replace("ws:", "http:") + "/v1", organization="o", project="p"
        )
    if case == "azure-ga":
        return ClientConfig.azure(root.replace("ws:", "http:"), "my-deploy", api_key=KEY)
    return ClientConfig.azure(
        root, "my-deploy", api_key=KEY, azure_api_version="2025-04-01-preview", dialect="beta"
    )


@pytest.mark.parametrize(
    ("case", "path", "expected", "absent"),
    [
        (
            "custom-ga",
            "/v1/realtime?model=gpt-realtime-2",
            {"authorization": f"Bearer {KEY}"},
            ["openai-beta", "api-key"],
        ),
        (
            "custom-beta",
            "/v1/realtime?model=gpt-realtime-2",
            {"authorization": f"Bearer {KEY}", "openai-beta": "realtime=v1"},
            ["api-key"],
        ),
        (
            "openai-ga",
            "/v1/realtime?model=gpt-realtime-2",
            {"authorization": f"Bearer {KEY}", "openai-organization": "o", "openai-project": "p"},
            ["openai-beta"],
        ),
        (
            "azure-ga",
            "/openai/v1/realtime?model=my-deploy",
            {"api-key": KEY},
            ["authorization", "openai-beta"],
        ),
        (
            "azure-preview",
            "/openai/realtime?api-version=2025-04-01-preview&deployment=my-deploy",
            {"api-key": KEY, "openai-beta": "realtime=v1"},
            ["authorization"],
        ),
    ],
)
async def test_handshake_path_and_headers(
    case: str, path: str, expected: dict[str, str], absent: list[str]
) -> None:
    """The upgrade request carries the provider's path, auth header and (beta only) OpenAI-Beta."""

    async def script(ws: ServerConnection) -> None:
        await ws.close()

    async with serve_script(script) as record:
        async with connect(config=handshake_case(record.url, case)):
            pass
        request = record.requests[0]
    assert request.path == path
    for name, value in expected.items():
        assert request.headers[name] == value
    for name in absent:
        assert name not in request.headers


async def test_connect_is_awaitable_and_close_is_seen_by_server() -> None:
    """await connect(...) opens; close(code, reason) reaches the server and sets state and close_code."""
    async with serve_script(lambda ws: until_closed(ws, record)) as record:
        conn = await connect(record.url)
        assert (conn.state, conn.close_code) == ("open", None)
        await conn.close(4001, "done here")
        assert conn.state == "closed"
        assert conn.close_code == 4001
        assert conn.close_reason == "done here"
    assert record.closes == [(4001, "done here")]


async def test_context_manager_closes_normally() -> None:
    """Leaving async with closes the connection with 1000."""
    async with serve_script(lambda ws: until_closed(ws, record)) as record:
        async with connect(record.url) as conn:
            assert isinstance(conn, Connection)
        assert conn.state == "closed"
    assert record.closes == [(1000, "")]


async def test_send_validates_and_returns_typed_event() -> None:
    """send(dict) returns the typed event and the server receives exactly its JSON."""
    record = ServerRecord()
    async with serve_script(acker(record)) as served, connect(served.url) as conn:
        sent = await conn.send({"type": "input_audio_buffer.clear", "event_id": "evt_1"})
        await conn.recv()
    assert isinstance(sent, ga.InputAudioBufferClearEvent)
    assert json.loads(record.received[0]) == {"type": "input_audio_buffer.clear", "event_id": "evt_1"}


async def test_send_typed_event() -> None:
    """send() accepts a typed client event."""
    record = ServerRecord()
    async with serve_script(acker(record)) as served, connect(served.url) as conn:
        await conn.send(ga.ResponseCreateEvent())
        await conn.recv()
    assert json.loads(record.received[0])["type"] == "response.create"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"type": "session.update", "session": {"type": "realtime", "temperature": 0.8}}, "temperature"),
        ({"type": "response.create", "bogus": 1}, "bogus"),
        ({"type": "nope"}, "nope"),
    ],
)
async def test_invalid_event_refused_before_sending(bad: dict[str, Any], field: str) -> None:
    """An invalid client event raises ValidationError naming the problem, and nothing reaches the server."""
    record = ServerRecord()
    async with serve_script(acker(record)) as served, connect(served.url) as conn:
        with pytest.raises(ValidationError, match=field):
            await conn.send(bad)
        await conn.send({"type": "input_audio_buffer.clear"})
        await conn.recv()
    assert [json.loads(f)["type"] for f in record.received] == ["input_audio_buffer.clear"]


async def test_beta_dialect_validates_beta_shapes() -> None:
    """With dialect='beta' a beta session.update is accepted and a GA-only one is refused."""
    record = ServerRecord()
    async with serve_script(acker(record)) as served, connect(served.url, dialect="beta") as conn:
        assert conn.dialect == "beta"
        await conn.send({"type": "session.update", "session": {"modalities": ["text"], "temperature": 0.8}})
        await conn.recv()
        with pytest.raises(ValidationError):
            await conn.send(
                {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}
            )
    assert len(record.received) == 1


async def test_send_raw_is_not_validated() -> None:
    """send_raw passes any frame through unchanged."""
    record = ServerRecord()
    async with serve_script(acker(record)) as served, connect(served.url) as conn:
        await conn.send_raw('{"type": "nope"}')
        await conn.recv()
    assert record.received == ['{"type": "nope"}']


async def test_recv_and_async_for_yield_typed_events() -> None:
    """recv() and async for return typed events; iteration ends on the server's normal close."""

    async def script(ws: ServerConnection) -> None:
        await ws.send(CLEARED)
        await ws.send(DELTA)
        await ws.send(CLEARED)
        await ws.close()

    async with serve_script(script) as served, connect(served.url) as conn:
        first = await conn.recv()
        rest = [ev async for ev in conn]
    assert isinstance(first, ga.InputAudioBufferClearedEvent)
    assert [type(ev) for ev in rest] == [ga.ResponseOutputTextDeltaEvent, ga.InputAudioBufferClearedEvent]
    assert rest[0].to_dict() == json.loads(DELTA)


async def test_recv_after_normal_close_raises_permanent_error() -> None:
    """recv() on a connection the server closed normally raises PermanentError with code 1000."""

    async def script(ws: ServerConnection) -> None:
        await ws.close(1000, "bye")

    async with serve_script(script) as served, connect(served.url) as conn:
        with pytest.raises(PermanentError) as caught:
            await conn.recv()
        assert (caught.value.close_code, caught.value.close_reason) == (1000, "bye")
        assert conn.state == "closed"
        with pytest.raises(PermanentError):
            await conn.send({"type": "input_audio_buffer.clear"})


async def test_handlers_called_in_registration_order() -> None:
    """Sync and async handlers, typed and "*", run in registration order for each event."""

    async def script(ws: ServerConnection) -> None:
        await ws.send(CLEARED)
        await ws.send(DELTA)
        await ws.close()

    calls: list[tuple[str, str]] = []

    async def star(ev: Event) -> None:
        await asyncio.sleep(0)
        calls.append(("star", ev.type))

    async def late_cleared(ev: Event) -> None:
        calls.append(("late_cleared", ev.type))

    async with serve_script(script) as served, connect(served.url) as conn:
        conn.on("input_audio_buffer.cleared", lambda ev: calls.append(("cleared", ev.type)))
        conn.on("*", star)
        conn.on("response.output_text.delta", lambda ev: calls.append(("delta", ev.type)))
        conn.on("input_audio_buffer.cleared", late_cleared)
        await conn.run()
    assert calls == [
        ("cleared", "input_audio_buffer.cleared"),
        ("star", "input_audio_buffer.cleared"),
        ("late_cleared", "input_audio_buffer.cleared"),
        ("star", "response.output_text.delta"),
        ("delta", "response.output_text.delta"),
    ]


async def test_handlers_have_run_when_recv_returns() -> None:
    """recv() returns only after the event's handlers ran."""

    async def script(ws: ServerConnection) -> None:
        await ws.send(CLEARED)
        await until_closed(ws, ServerRecord())

    seen: list[str] = []
    async with serve_script(script) as served, connect(served.url) as conn:
        conn.on("*", lambda ev: seen.append(ev.type))
        await conn.recv()
        assert seen == ["input_audio_buffer.cleared"]


async def test_off_removes_handler() -> None:
    """off(type, handler) stops calls to that handler only."""

    async def script(ws: ServerConnection) -> None:
        await ws.send(CLEARED)
        await ws.send(CLEARED)
        await ws.close()

    calls: list[str] = []
    async with serve_script(script) as served, connect(served.url) as conn:
        first = conn.on("input_audio_buffer.cleared", lambda ev: calls.append("first"))
        conn.on("input_audio_buffer.cleared", lambda ev: calls.append("second"))
        await conn.recv()
        conn.off("input_audio_buffer.cleared", first)
        await conn.recv()
    assert calls == ["first", "second", "second"]


async def test_handler_exception_is_logged_and_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    """A raising handler is logged; later handlers and later events are still delivered."""

    async def script(ws: ServerConnection) -> None:
        await ws.send(CLEARED)
        await ws.send(DELTA)
        await ws.close()

    def broken(ev: Event) -> None:
        raise RuntimeError("handler bug")

    seen: list[str] = []
    async with serve_script(script) as served, connect(served.url) as conn:
        conn.on("*", broken)
        conn.on("*", lambda ev: seen.append(ev.type))
        with caplog.at_level(logging.ERROR, logger="rtwidget.client"):
            await conn.run()
    assert seen == ["input_audio_buffer.cleared", "response.output_text.delta"]
    assert [str(r.exc_info[1]) for r in caplog.records if r.exc_info] == ["handler bug", "handler bug"]


async def test_frame_observer_sees_both_directions() -> None:
    """on_frame reports sent and received frames, raw and parsed, in order."""
    record = ServerRecord()
    frames: list[tuple[str, str | bytes, str | None, Exception | None]] = []
    async with serve_script(acker(record)) as served, connect(served.url) as conn:
        conn.on_frame(lambda d, raw, ev, err: frames.append((d, raw, ev.type if ev else None, err)))
        await conn.send({"type": "input_audio_buffer.clear"})
        await conn.recv()
    assert frames == [
        ("client", record.received[0], "input_audio_buffer.clear", None),
        ("server", event("input_audio_buffer.cleared", 1), "input_audio_buffer.cleared", None),
    ]


async def test_concurrent_recv_is_refused() -> None:
    """A second task receiving at the same time gets a clear RuntimeError."""

    async def script(ws: ServerConnection) -> None:
        await until_closed(ws, ServerRecord())

    async with serve_script(script) as served, connect(served.url) as conn:
        pending = asyncio.create_task(conn.recv())
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="already receiving"):
            await conn.recv()
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending


async def test_cancelled_recv_loses_no_frame() -> None:
    """Cancelling a pending recv() does not drop the frame that arrives next."""
    record = ServerRecord()
    async with serve_script(acker(record)) as served, connect(served.url) as conn:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await conn.recv()
        await conn.send({"type": "input_audio_buffer.clear"})
        ev = await conn.recv()
    assert ev.to_dict() == json.loads(event("input_audio_buffer.cleared", 1))


async def test_ping_returns_latency() -> None:
    """ping() waits for the pong and returns a latency in seconds."""
    async with (
        serve_script(lambda ws: until_closed(ws, ServerRecord())) as served,
        connect(served.url) as conn,
    ):
        latency = await conn.ping()
    assert isinstance(latency, float)
    assert latency >= 0


async def test_server_ping_answered_while_idle() -> None:
    """A server ping is answered even while the client is not receiving."""
    pongs: list[float] = []

    async def script(ws: ServerConnection) -> None:
        pongs.append(await (await ws.ping()))
        await ws.send(CLEARED)
        await until_closed(ws, ServerRecord())

    async with serve_script(script) as served, connect(served.url) as conn:
        await conn.recv()
    assert len(pongs) == 1


class MemoryTransport:
    """An in-memory Transport: frames to the client come from ``incoming``; sent ones land in ``sent``."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[str | bytes] = asyncio.Queue()
        self.sent: list[str | bytes] = []
        self._code: int | None = None

    async def send(self, frame: str | bytes) -> None:
        self.sent.append(frame)

    async def recv(self) -> str | bytes:
        return await self.incoming.get()

    async def ping(self) -> float:
        return 0.0

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._code = code

    @property
    def close_code(self) -> int | None:
        return self._code

    @property
    def close_reason(self) -> str | None:
        return None if self._code is None else ""


async def test_injected_factory_gets_url_and_headers() -> None:
    """A factory passed to connect() receives the URL and headers and carries all traffic."""
    transport = MemoryTransport()
    opened: list[tuple[str, dict[str, str]]] = []

    async def factory(url: str, headers: Mapping[str, str]) -> Transport:
        opened.append((url, dict(headers)))
        return transport

    transport.incoming.put_nowait(CLEARED)
    async with connect("ws://nowhere.invalid/v1/realtime", api_key=KEY, factory=factory) as conn:
        await conn.send({"type": "response.create"})
        ev = await conn.recv()
    assert opened == [
        ("ws://nowhere.invalid/v1/realtime?model=gpt-realtime-2", {"Authorization": f"Bearer {KEY}"})
    ]
    assert [json.loads(f)["type"] for f in transport.sent] == ["response.create"]
    assert isinstance(ev, ga.InputAudioBufferClearedEvent)
    assert transport.close_code == 1000


async def test_repr_of_connection_hides_key() -> None:
    """A connection's repr names state and URL but not the key."""
    async with (
        serve_script(lambda ws: until_closed(ws, ServerRecord())) as served,
        connect(served.url, api_key=KEY) as conn,
    ):
        text = repr(conn)
    assert KEY not in text
    assert "open" in text


async def test_close_from_another_task_ends_iteration_quietly() -> None:
    """A receive loop in a task ends without error when close() is called elsewhere."""
    first_seen = asyncio.Event()

    async def script(ws: ServerConnection) -> None:
        await ws.send(CLEARED)
        await until_closed(ws, ServerRecord())

    async with serve_script(script) as served, connect(served.url) as conn:
        conn.on("*", lambda ev: first_seen.set())
        loop = asyncio.create_task(conn.run())
        await first_seen.wait()
        await conn.close()
        await loop
        assert conn.state == "closed"
        with pytest.raises(PermanentError, match="closed"):
            await conn.ping()


async def test_send_raw_refuses_non_frames() -> None:
    """send_raw(dict) is a TypeError pointing to send(); the connection stays open."""
    async with (
        serve_script(lambda ws: until_closed(ws, ServerRecord())) as served,
        connect(served.url) as conn,
    ):
        with pytest.raises(TypeError, match="send"):
            await conn.send_raw({"type": "response.create"})  # type: ignore[arg-type]
        assert conn.state == "open"


async def test_connect_arguments_override_config() -> None:
    """Arguments given to connect() replace the matching fields of config=."""
    async with serve_script(lambda ws: until_closed(ws, ServerRecord())) as served:
        base = ClientConfig(url=served.url, model="base-model", dialect="beta")
        async with connect(config=base, model="other-model") as conn:
            assert conn.dialect == "beta"
        request = served.requests[0]
    assert request.path == "/v1/realtime?model=other-model"
    assert request.headers["OpenAI-Beta"] == "realtime=v1"


async def test_send_raw_reports_parsed_event_to_observers() -> None:
    """A raw frame that is a valid client event reaches observers parsed; an invalid one as None."""
    seen: list[str | None] = []
    async with (
        serve_script(lambda ws: until_closed(ws, ServerRecord())) as served,
        connect(served.url) as conn,
    ):
        conn.on_frame(lambda d, raw, ev, err: seen.append(ev.type if ev is not None else None))
        await conn.send_raw('{"type": "response.create"}')
        await conn.send_raw('{"type": "nope"}')
    assert seen == ["response.create", None]


async def test_connect_accepts_config_positionally() -> None:
    """connect(ClientConfig(...)) is the same as connect(config=...)."""
    async with serve_script(lambda ws: until_closed(ws, ServerRecord())) as served:
        async with connect(ClientConfig(url=served.url, model="pos")):
            pass
        assert served.requests[0].path == "/v1/realtime?model=pos"
