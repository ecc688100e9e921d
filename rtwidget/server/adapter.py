"""WebSocket adapter: runs `SimSession`s behind a `websockets.asyncio.server`.

The adapter only moves data: frames in -> `SimSession.receive`, timer -> `SimSession.advance`, events out
in order through one writer task per connection. `serve()` works on an already running loop (the widget
starts it on the kernel loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol

from rtwidget.protocol import dialect_names, encode_event_bytes
from rtwidget.protocol.closes import CLOSE_INVALID_REQUEST
from rtwidget.server.core import AUDIO_CHUNK_MS, SimSession
from rtwidget.server.dialect import to_event
from rtwidget.server.faults import MALFORMED_FRAME, UNKNOWN_EVENT_TYPE, Faults
from rtwidget.server.handshake import allowed_origins, check_handshake, origin_refusal, select_subprotocol
from rtwidget.server.ids import IdFactory
from rtwidget.server.pacing import SynthesisQueue, Timers
from rtwidget.server.wslog import refusal, ws_logger

__all__ = ["MAX_FRAME_BYTES", "PING_INTERVAL_S", "WORKER_HEADER", "Simulator", "serve"]

# docs/protocol-notes.md: appends carry up to 15 MiB of audio per event; leave room for the JSON around it.
MAX_FRAME_BYTES = 16 * 2**20
# docs/protocol-notes.md: "The server sends a WebSocket PING about every 20 s when idle."
PING_INTERVAL_S = 20.0
# Names the process that took a connection when several share the port (`serve(worker=...)`, `--workers`).
WORKER_HEADER = "X-Simulator-Worker"
_STOP = object()
_AUDIO_DELTA_TYPES = dialect_names("response.output_audio.delta")


# The event's JSON as UTF-8 bytes; a built delta goes straight to bytes, no str round trip of the base64.
_encode = encode_event_bytes


@dataclass
class Simulator:
    """A running simulator: where to connect and what it has seen."""

    host: str
    port: int
    speed: float
    #: Each response's time to first output, in ms at speed 1 (see `SimSession`'s `first_audio_ms`).
    first_audio_ms: float = 0.0
    sessions_opened: int = 0
    sessions_active: int = 0
    #: Per audio delta, how late it was written to the socket vs its schedule (seconds); with record_lateness.
    audio_lateness_s: list[float] = field(default_factory=list)
    server: Server | None = None

    @property
    def url(self) -> str:
        """WebSocket URL of the realtime endpoint, e.g. `ws://127.0.0.1:8765/v1/realtime`."""
        return f"ws://{self.host}:{self.port}/v1/realtime"

    @property
    def base_url(self) -> str:
        """`websocket_base_url` for the official `openai` client (it appends `/realtime`)."""
        return f"ws://{self.host}:{self.port}/v1"


class _StampedConnection(ServerConnection):
    """A `ServerConnection` that notes when bytes last arrived.

    A client event's schedule (its first audio delta is due at once, the next when that chunk has played)
    starts when the event reached the server. With many sessions busy at once, the task that handles a
    frame can run well after the frame arrived; timing the reply from then would shift every later delta.
    """

    received_at_s: float | None = None

    def data_received(self, data: bytes) -> None:
        """Stamp the arrival (loop clock), then let websockets parse the frames."""
        self.received_at_s = self.loop.time()
        super().data_received(data)


class _Connection:
    """One WebSocket connection driving one `SimSession`."""

    def __init__(
        self,
        ws: ServerConnection,
        session: SimSession,
        *,
        faults: Faults,
        sim: Simulator,
        synthesis: SynthesisQueue,
        timers: Timers,
    ) -> None:
        self.ws = ws
        self.synthesis = synthesis
        self.timers = timers
        self.session = session
        self.faults = faults
        # `Faults.active` compares with a fresh `Faults()`: computed once, not per event.
        self.faults_active = faults.active
        self.sim = sim
        self.loop = asyncio.get_running_loop()
        self.queue: deque[Any] = deque()
        self.wake = asyncio.Event()
        # The session's next deadline as `timers` holds it (only `Timers` writes it).
        self.timer_due: float | None = None
        # The last time handed to the session: its clock never goes back.
        self.clock_s = 0.0
        self.sent = 0
        self.closed = False

    def enqueue(self, outputs: list[Any]) -> None:
        """Send `outputs` now when nothing is ahead of them and the socket takes data, else via the writer.

        Writing from the timer callback saves waking the writer task for every audio delta; the writer
        still handles back-pressure (a paused transport), faults and closing.
        """
        if not outputs:
            return
        ws = self.ws
        if not self.queue and not self.faults_active and not ws.paused and ws.protocol.state is State.OPEN:
            self.write(outputs)
            return
        self.queue.extend(outputs)
        self.wake.set()

    def write(self, batch: list[Any]) -> None:
        """Frame the events and hand them to the transport in one write (one syscall, not one per frame).

        Uses websockets internals (hence `websockets<18` in pyproject.toml): `ServerConnection.protocol`
        (the sans-I/O `ServerProtocol`, whose `send_text` / `data_to_send` are public), `.transport` and
        `.paused`. The public `await ws.send(...)` writes each frame to the transport on its own (a syscall
        each) and needs a task to await it; several due audio deltas of one session, or of fifty sessions
        on one timer tick, then cost one syscall and one task switch each. websockets has no public call
        that writes several messages at once (`send` of an iterable sends fragments of ONE message).
        tests/server/test_sim_adapter_internals.py fails, naming the attribute, if websockets changes these.
        """
        ws = self.ws
        for event in batch:
            ws.protocol.send_text(_encode(event))
        ws.transport.write(b"".join(ws.protocol.data_to_send()))
        self.sent += len(batch)
        due = self.session.audio_due
        if due:
            now = self.loop.time()
            for event in batch:
                if event.type in _AUDIO_DELTA_TYPES:
                    self.sim.audio_lateness_s.append(now - due.popleft())

    def reschedule(self) -> None:
        self.synthesis.want(self)
        self.timers.set(self, self.session.next_deadline())

    def advance(self) -> None:
        """Emit what is due now, re-arm the timer and queue any synthesis the session needs."""
        if self.closed:
            return
        self.clock_s = max(self.clock_s, self.loop.time())
        self.enqueue(self.session.advance(self.clock_s))
        self.reschedule()

    async def run(self) -> None:
        writer = asyncio.create_task(self.write_loop())
        try:
            self.enqueue(self.session.start(self.loop.time()))
            await self.fault_check()
            async for frame in self.ws:
                # When the frame arrived (bytes that arrived later only make this later, never earlier).
                arrived = getattr(self.ws, "received_at_s", None)
                self.clock_s = max(self.clock_s, self.loop.time() if arrived is None else arrived)
                self.enqueue(self.session.receive(frame, self.clock_s))
                self.reschedule()
        except ConnectionClosed:
            pass
        finally:
            self.closed = True  # `timers` and `synthesis` drop the connection when it comes up
            self.queue.append(_STOP)
            self.wake.set()
            with contextlib.suppress(ConnectionClosed):
                await writer

    async def write_loop(self) -> None:
        try:
            while True:
                while not self.queue:
                    self.wake.clear()
                    await self.wake.wait()
                if self.faults_active:
                    if not await self.write_one():
                        return
                    continue
                # Everything queued goes out in one socket write: a timer step emits an audio delta with its
                # transcript deltas, a response start a dozen events; one syscall per frame cost ~40 us each.
                batch = list(self.queue)
                self.queue.clear()
                stop = _STOP in batch
                if stop:
                    del batch[batch.index(_STOP) :]
                if batch:
                    await self.send_batch(batch)
                if stop:
                    return
        except ConnectionClosed:
            return

    async def send_batch(self, batch: list[Any]) -> None:
        """Send events as one write to the transport (same frames, same order as one `send` each)."""
        # `send_context` is what `ServerConnection.send` uses: it checks the state, and on exit drains
        # (flow control) and turns failures into ConnectionClosed.
        async with self.ws.send_context():
            self.write(batch)

    async def write_one(self) -> bool:
        """Send the next queued event alone, with the faults due after it; False when the writer is done."""
        item = self.queue.popleft()
        if item is _STOP:
            return False
        if self.faults.delay_ms:
            await asyncio.sleep(self.faults.delay_ms / 1000.0)
        await self.ws.send(_encode(item), text=True)
        self.sent += 1
        due = self.session.audio_due
        if due and item.type in _AUDIO_DELTA_TYPES:
            self.sim.audio_lateness_s.append(self.loop.time() - due.popleft())
        return not await self.fault_check()

    async def fault_check(self) -> bool:
        """Fire the faults due after `self.sent` events; True when the connection is gone."""
        f, n = self.faults, self.sent
        if not self.faults_active:
            return False
        if f.malformed_after == n:
            await self.ws.send(MALFORMED_FRAME)
        if f.binary_after == n:
            await self.ws.send(b"\x00\x01simulated binary frame")
        if f.unknown_after == n:
            await self.ws.send(json.dumps({"type": UNKNOWN_EVENT_TYPE, "event_id": "event_simulated_fault"}))
        if f.close_after == n:
            await self.ws.close(f.close_code, f.close_reason)
            return True
        if f.drop_after == n:
            # No close frame: the client sees an abnormal closure (1006).
            self.ws.transport.abort()
            return True
        return False


class _Handler:
    def __init__(
        self,
        sim: Simulator,
        *,
        require_key: str | None,
        reject_beta: bool,
        faults: Faults,
        audio_chunk_ms: int,
        record_lateness: bool,
        seed: int | str | None = None,
        allow_origins: frozenset[str] = frozenset(),
    ) -> None:
        self.sim = sim
        self.allow_origins = allow_origins
        # Connection n is seeded "<seed>:<n>": ids differ between connections and, with no seed given,
        # between servers and runs (a client reconnecting to a restarted simulator must not see old ids).
        self.seed = secrets.token_hex(8) if seed is None else seed
        self.require_key = require_key
        self.reject_beta = reject_beta
        self.faults = faults
        self.audio_chunk_ms = audio_chunk_ms
        self.record_lateness = record_lateness
        self.counter = itertools.count()
        self.ids = IdFactory("handshake")
        loop = asyncio.get_running_loop()
        self.synthesis = SynthesisQueue(loop)
        self.timers = Timers(loop)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        refused = origin_refusal(request.headers.get_all("Origin"), self.allow_origins)
        if refused is not None:
            ws_logger.warning(refusal(connection.remote_address, refused.strip()))
            return connection.respond(HTTPStatus.FORBIDDEN, refused)
        path = urlsplit(request.path).path
        if check_handshake(path, {"model": "gpt-realtime"}, {}) is None:
            return connection.respond(HTTPStatus.NOT_FOUND, f"Not a realtime endpoint: {path}\n")
        return None

    async def refuse(self, ws: ServerConnection, error: dict[str, Any], code: int, reason: str) -> None:
        """docs/protocol-notes.md: the upgrade succeeded; send one `error` event, then close with `code`."""
        event = {"type": "error", "event_id": self.ids.new("event"), "error": error}
        with contextlib.suppress(ConnectionClosed):
            await ws.send(_encode(to_event(event, "ga")), text=True)
            await ws.close(code, reason)

    async def __call__(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None
        parts = urlsplit(request.path)
        query = dict(parse_qsl(parts.query))
        headers = dict(request.headers.raw_items())
        hs = check_handshake(
            parts.path, query, headers, require_key=self.require_key, reject_beta=self.reject_beta
        )
        if hs is None:  # process_request answers 404 first; kept for safety
            await ws.close(CLOSE_INVALID_REQUEST, "invalid_request_error.not_found")
            return
        if hs.error is not None and hs.close is not None:
            await self.refuse(ws, hs.error["error"], hs.close.code, hs.close.reason)
            return
        try:
            faults = self.faults.with_query(query)
        except ValueError as exc:
            error = {
                "type": "invalid_request_error",
                "code": "invalid_value",
                "message": str(exc),
                "param": None,
            }
            await self.refuse(ws, error, CLOSE_INVALID_REQUEST, "invalid_request_error.invalid_value")
            return
        session = SimSession(
            dialect=hs.dialect,
            model=hs.model,
            intent=hs.intent,
            speed=self.sim.speed,
            seed=f"{self.seed}:{next(self.counter)}",
            created_at=time.time(),
            audio_chunk_ms=self.audio_chunk_ms,
            first_audio_ms=self.sim.first_audio_ms,
            record_lateness=self.record_lateness,
            defer_synthesis=True,
        )
        self.sim.sessions_opened += 1
        self.sim.sessions_active += 1
        try:
            await _Connection(
                ws, session, faults=faults, sim=self.sim, synthesis=self.synthesis, timers=self.timers
            ).run()
        finally:
            self.sim.sessions_active -= 1


def _warm_up() -> None:
    """Import the model parts and run them once, so the first response is not late by their start-up cost."""
    SimSession(speed=1000.0).receive('{"type": "response.create"}', 0.0)


def _select_subprotocol(connection: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """websockets' hook: answer `realtime` when a browser-style client offers it (never the key)."""
    chosen = select_subprotocol(offered)
    return Subprotocol(chosen) if chosen is not None else None


@contextlib.asynccontextmanager
async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    speed: float = 1.0,
    first_audio_ms: float = 0.0,
    require_key: str | None = None,
    reject_beta: bool = False,
    faults: Faults | None = None,
    audio_chunk_ms: int = AUDIO_CHUNK_MS,
    ping_interval_s: float | None = PING_INTERVAL_S,
    record_lateness: bool = False,
    seed: int | str | None = None,
    allow_origins: Iterable[str] = (),
    reuse_port: bool = False,
    worker: str | None = None,
) -> AsyncIterator[Simulator]:
    """Run the simulator on the running loop until the block exits.

    Args:
        host: interface to bind (loopback by default).
        port: TCP port; 0 picks a free one (see `Simulator.url`).
        speed: pacing of streamed output; 10 streams audio ten times faster than real time.
        first_audio_ms: a realistic time to first audio: each response's first delta comes this long
            (divided by `speed`) after its `response.created`; real models take 300-2000 ms. 0 (default):
            the first delta leaves with the response's first events.
        require_key: when set, connections must present this key (else `invalid_api_key`, close 3000).
        reject_beta: answer beta clients like OpenAI today (`beta_api_shape_disabled`, close 4000).
        faults: faults to inject on every connection (query parameters can override per connection).
        audio_chunk_ms: audio per `response.output_audio.delta`.
        ping_interval_s: keepalive ping period (None: no pings).
        record_lateness: collect `Simulator.audio_lateness_s` (for benchmarks).
        seed: makes the ids of every connection reproducible (connection n is seeded `"<seed>:<n>"`);
            None: a fresh random seed per server, so no two servers hand out the same session or item ids.
        allow_origins: web page origins (`"http://localhost:5173"`) whose browser connections are accepted;
            `"*"` accepts every page. A connection with any other `Origin` header gets HTTP 403: otherwise
            any page the user opens could hold a session through their browser. Clients that send no Origin
            (the kernel, the openai Python SDK, node's `ws`) are always accepted. The default accepts no page,
            loopback ones included (a notebook's output runs on the Jupyter server's origin): right for the
            widget's embedded simulator, reached only from the kernel.
        reuse_port: bind with SO_REUSEPORT, so several processes can listen on one port and the kernel
            spreads connections over them (what `python -m rtwidget.server --workers N` does; Linux).
        worker: when set, each upgrade response carries it as the `X-Simulator-Worker` header (which
            process took the connection).

    Raises:
        ValueError: a `speed` <= 0, a `first_audio_ms` < 0, or an `allow_origins` entry that is no origin
            (see `allowed_origins`).
    """
    if speed <= 0:
        raise ValueError(f"speed must be > 0, got {speed}")
    if not first_audio_ms >= 0:
        raise ValueError(f"first_audio_ms must be >= 0, got {first_audio_ms}")
    origins = allowed_origins(allow_origins)
    _warm_up()
    sim = Simulator(host=host, port=port, speed=speed, first_audio_ms=first_audio_ms)
    handler = _Handler(
        sim,
        require_key=require_key,
        reject_beta=reject_beta,
        faults=faults or Faults(),
        audio_chunk_ms=audio_chunk_ms,
        record_lateness=record_lateness,
        seed=seed,
        allow_origins=origins,
    )

    def name_worker(connection: ServerConnection, request: Request, response: Response) -> None:
        if worker is not None:
            response.headers[WORKER_HEADER] = worker

    async with ws_serve(
        handler,
        host,
        port,
        process_request=handler.process_request,
        process_response=name_worker if worker is not None else None,
        select_subprotocol=_select_subprotocol,
        logger=ws_logger,
        create_connection=_StampedConnection,
        max_size=MAX_FRAME_BYTES,
        ping_interval=ping_interval_s,
        ping_timeout=ping_interval_s,
        # Audio in base64 barely compresses; deflate would only cost CPU.
        compression=None,
        # Passed on to `loop.create_server`.
        reuse_port=reuse_port or None,
    ) as server:
        sock = next(iter(server.sockets))
        sim.port = sock.getsockname()[1]
        sim.server = server
        yield sim
