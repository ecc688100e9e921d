"""The fault suite: hostile servers and hostile calls against the widget, over real sockets on 127.0.0.1.

Each case counts the frames the server sent and the frames the widget logged from it, and says how the
session ended; at the end of the module a table is printed (fault, frames sent, frames logged, outcome).
Where the connection stayed up, every frame the server sent is in the log. Refusals send nothing and are
logged as a local row with the reason. More faults live beside the code they test (the client's backlog,
redirects, the simulator's bad frames, junk connections and Origin check: tests/client, tests/server).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from rtwidget.protocol import ValidationError
from rtwidget.widget import RealtimeWidget, lifecycle

SESSION = json.dumps(
    {"type": "session.created", "event_id": "e0", "session": {"type": "realtime", "id": "s"}}
)
END = json.dumps({"type": "input_audio_buffer.cleared", "event_id": "e_end"})


@dataclass
class Row:
    fault: str
    sent: int
    logged: int
    outcome: str


ROWS: list[Row] = []


@pytest.fixture(scope="module", autouse=True)
def table(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the table of every fault of the module once they ran."""
    yield
    width = max((len(r.fault) for r in ROWS), default=10)
    lines = [f"{'fault':<{width}}  {'sent':>6}  {'logged':>6}  outcome"]
    lines += [f"{r.fault:<{width}}  {r.sent:>6}  {r.logged:>6}  {r.outcome}" for r in ROWS]
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


@dataclass
class Script:
    """What a hostile server sends each connection, and how it ends it."""

    frames: list[str | bytes]
    end: str = "stay"  # stay | close1011 | drop
    sent: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


@asynccontextmanager
async def hostile(script: Script) -> AsyncIterator[str]:
    async def handler(ws: ServerConnection) -> None:
        for frame in script.frames:
            await ws.send(frame)
            script.sent += 1
        script.done.set()
        if script.end == "close1011":
            await ws.close(1011, "server fell over")
        elif script.end == "drop":
            ws.transport.abort()  # no close frame: a dead network
        else:
            async for _ in ws:
                pass

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"


def server_logged(w: RealtimeWidget) -> int:
    return sum(1 for e in w.events if e.direction == "server")


async def run_script(fault: str, script: Script, check: Callable[[RealtimeWidget], str]) -> None:
    """Connect a widget to the script's server, let it send everything, and record the row."""
    async with hostile(script) as url:
        w = RealtimeWidget(url=url)
        await w.connect()
        await asyncio.wait_for(script.done.wait(), 30)
        async with asyncio.timeout(30):
            while server_logged(w) < script.sent and w.connected:  # noqa: ASYNC110 - the log has no event
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        outcome = check(w)
        stayed_up = w.connected
        await w.disconnect()
    ROWS.append(Row(fault, script.sent, server_logged(w), outcome))
    if stayed_up or script.end != "drop":
        assert server_logged(w) == script.sent, f"{fault}: {server_logged(w)} of {script.sent} logged"


def flags_of(w: RealtimeWidget, index: int) -> str:
    entries = [e for e in w.events if e.direction == "server"]
    return str(w._log.rows[entries[index].row].flags)


def deep(depth: int) -> str:
    return '{"type": "response.done", "event_id": "e1", "x": ' + "[" * depth + "]" * depth + "}"


def text_deltas(n: int) -> list[str | bytes]:
    """session.created, response.created, then n one-character text deltas of item i1."""
    response = {"id": "r1", "object": "realtime.response", "status": "in_progress", "output": []}
    created = {"type": "response.created", "event_id": "c", "response": response}
    delta = {"type": "response.output_text.delta", "response_id": "r1", "item_id": "i1", "output_index": 0,
             "content_index": 0, "delta": "x"}  # fmt: skip
    return [SESSION, json.dumps(created), *(json.dumps({**delta, "event_id": f"d{i}"}) for i in range(n))]


SERVER_FAULTS: dict[str, tuple[Callable[[], Script], Callable[[RealtimeWidget], str]]] = {
    "frame nested 2k deep": (
        lambda: Script([SESSION, deep(2_000), END]),
        lambda w: f"logged, flags {flags_of(w, 1)!r}; later frames arrive",
    ),
    "frame nested 100k deep": (
        lambda: Script([SESSION, deep(100_000), END]),
        lambda w: f"logged, flags {flags_of(w, 1)!r}; later frames arrive",
    ),
    "not JSON": (lambda: Script([SESSION, "{not json", END]), lambda w: f"logged, flags {flags_of(w, 1)!r}"),
    "binary frame": (
        lambda: Script([SESSION, b"\x00\x01\x02", END]),
        lambda w: f"logged, flags {flags_of(w, 1)!r}",
    ),
    "unknown type": (
        lambda: Script([SESSION, json.dumps({"type": "ping", "event_id": "p"}), END]),
        lambda w: f"logged, flags {flags_of(w, 1)!r}, tolerated {w.tolerated_count}",
    ),
    "known type, wrong field types": (
        lambda: Script(
            [SESSION, json.dumps({"type": "response.done", "event_id": "e", "response": "oops"}), END]
        ),
        lambda w: f"typed with problems, flags {flags_of(w, 1)!r}",
    ),
    "20k text deltas of one item": (
        lambda: Script([*text_deltas(20_000), END]),
        lambda w: f"all logged; conversation text {len(w.conversation.item('i1').text)} chars",
    ),
    "close 1011 mid-response": (
        lambda: Script(text_deltas(50), end="close1011"),
        lambda w: f"status {w.status}, reply {w.reply.get('status')}",
    ),
    "TCP drop mid-response": (
        lambda: Script(text_deltas(50), end="drop"),
        lambda w: f"status {w.status} {w.close_code}, reply {w.reply.get('status')}",
    ),
}


@pytest.mark.parametrize("fault", list(SERVER_FAULTS))
async def test_server_fault(fault: str) -> None:
    make, check = SERVER_FAULTS[fault]
    await run_script(fault, make(), check)


async def test_a_server_that_never_starts_a_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "SESSION_CREATED_TIMEOUT_S", 0.2)
    script = Script([])
    async with hostile(script) as url:
        w = RealtimeWidget(url=url)
        await w.connect()
        async with asyncio.timeout(10):
            while w.status == "open":  # noqa: ASYNC110 - status is a trait, not an awaitable
                await asyncio.sleep(0.02)
    assert w.status == "failed"
    ROWS.append(Row("no session.created", 0, server_logged(w), f"{w.status}: {w.close_hint[:50]}"))


Call = Callable[[RealtimeWidget], Awaitable[Any]]
APPEND = "input_audio_buffer.append"
REFUSALS: dict[str, Call] = {
    "NaN in a session field": lambda w: w.update_session(
        {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": float("nan")}}}}
    ),
    "Infinity in a session field": lambda w: w.update_session({"max_output_tokens": float("inf")}),
    "lone surrogate in a message": lambda w: w.send_text("bad \ud800 text"),
    "send_event(list)": lambda w: w.send_event(["response.create"]),  # type: ignore[arg-type]
    "send_text(None)": lambda w: w.send_text(None),  # type: ignore[arg-type]
    "append, not base64": lambda w: w.send_event({"type": APPEND, "audio": "@@@@"}),
    "append, odd PCM16 bytes": lambda w: w.send_event({"type": APPEND, "audio": "AA=="}),
    "truncate at -1 ms": lambda w: w.send_event(
        {"type": "conversation.item.truncate", "item_id": "i", "content_index": 0, "audio_end_ms": -1}
    ),
    "append over 15 MiB": lambda w: w.send_event({"type": APPEND, "audio": "AAAA" * (4 * 1024 * 1024)}),
}


@pytest.mark.parametrize("fault", list(REFUSALS))
async def test_refused_before_sending(fault: str) -> None:
    """Each is refused with a ValidationError naming the problem, logged as a local row; nothing goes out."""
    received: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send(SESSION)
        async for frame in ws:
            received.append(str(frame))  # noqa: PERF401 - each frame must be seen as it arrives

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        w = RealtimeWidget(url=f"ws://127.0.0.1:{port}/v1/realtime")
        await w.connect()
        await w.wait_for("session.created", timeout=10, since=0)
        with pytest.raises(ValidationError) as refused:
            await REFUSALS[fault](w)
        await w.send_event({"type": "input_audio_buffer.clear"})  # the session goes on
        async with asyncio.timeout(10):
            while not received:  # noqa: ASYNC110 - the server's list has no event
                await asyncio.sleep(0.01)
        await w.disconnect()
    assert [json.loads(f)["type"] for f in received] == ["input_audio_buffer.clear"]
    local = [e for e in w.events if e.direction == "local" and e.type == "local.error"]
    assert local, "the refusal is a local row"
    reason = str(refused.value)
    assert reason[:40] in str(local[-1].data)
    ROWS.append(Row(f"refused: {fault}", 0, 0, reason[:70]))


async def test_a_refused_session_update_leaves_what_was_asked() -> None:
    """update_session with a bad value is refused and session_requested still holds the last valid ask."""
    w = RealtimeWidget(simulator_speed=50)
    await w.connect()
    try:
        await w.update_session({"instructions": "be brief"})
        asked = dict(w.session_requested)
        with pytest.raises(ValidationError):
            await w.update_session({"max_output_tokens": 99_999})
        assert w.session_requested == asked
        ROWS.append(Row("refused: update_session keeps the last ask", 0, 0, "session_requested unchanged"))
    finally:
        await w.disconnect()
