"""The simulator's time to first audio (`first_audio_ms`): on the session's clock, on a socket, on the CLI."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import pytest
from sim_testing import UNIT_S, cli_server
from websockets.asyncio.client import connect

from rtwidget.server import SimSession, serve

FIRST_DELTAS = (
    "response.output_audio.delta",
    "response.output_audio_transcript.delta",
    "response.output_text.delta",
    "response.function_call_arguments.delta",
)
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Look up the weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def _user(text: str) -> dict[str, Any]:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return {"type": "conversation.item.create", "item": item}


def _timed_turn(session: SimSession, *frames: dict[str, Any]) -> list[tuple[float, str]]:
    """Each event of one turn with its time on the session's fake clock, deadline by deadline."""
    now = 0.0
    out = [(now, e.type) for e in session.start(now)]
    for frame in frames:
        out += [(now, e.type) for e in session.receive(json.dumps(frame), now)]
    while (due := session.next_deadline()) is not None:
        now = max(now, due)
        out += [(now, e.type) for e in session.advance(now)]
    return out


def _first_gap_s(events: list[tuple[float, str]]) -> float:
    """Seconds from `response.created` to the response's first output delta."""
    created = next(t for t, kind in events if kind == "response.created")
    first = next(t for t, kind in events if kind in FIRST_DELTAS)
    return first - created


TURNS = {
    "audio": [_user("Hello there"), {"type": "response.create"}],
    "text": [_user("Hello there"), {"type": "response.create", "response": {"output_modalities": ["text"]}}],
    "tool": [
        {"type": "session.update", "session": {"type": "realtime", "tools": [WEATHER_TOOL]}},
        _user("What is the weather in Paris?"),
        {"type": "response.create"},
    ],
}


@pytest.mark.parametrize("kind", TURNS)
def test_first_delta_waits_first_audio_ms_scaled_by_speed(kind: str) -> None:
    """At speed 4, a first_audio_ms of 800 puts the first delta at least 200 ms after response.created."""
    events = _timed_turn(SimSession(speed=4.0, first_audio_ms=800.0), *TURNS[kind])
    assert _first_gap_s(events) >= 0.2
    assert "response.done" in [k for _, k in events]


@pytest.mark.parametrize("kind", TURNS)
def test_first_audio_ms_only_shifts_the_reply(kind: str) -> None:
    """The wait delays the reply's deltas by its length and changes nothing else: the same events in order."""
    plain = _timed_turn(SimSession(speed=4.0, seed=1), *TURNS[kind])
    waited = _timed_turn(SimSession(speed=4.0, seed=1, first_audio_ms=800.0), *TURNS[kind])
    assert [k for _, k in waited] == [k for _, k in plain]
    assert _first_gap_s(waited) == pytest.approx(_first_gap_s(plain) + 0.2)


def test_default_sends_the_first_audio_with_the_response() -> None:
    """first_audio_ms 0 (the default): the first audio delta leaves with response.created, as before."""
    events = _timed_turn(SimSession(speed=4.0), *TURNS["audio"])
    assert _first_gap_s(events) == 0.0


def test_output_item_is_announced_before_the_wait() -> None:
    """During the wait the reply's item already exists: output_item.added comes with response.created."""
    events = _timed_turn(SimSession(speed=4.0, first_audio_ms=800.0), *TURNS["audio"])
    created = next(t for t, kind in events if kind == "response.created")
    added = next(t for t, kind in events if kind == "response.output_item.added")
    assert added == created


def test_cancel_during_the_wait_ends_the_reply_cleanly() -> None:
    """A response.cancel before the first delta: the item closes incomplete, the response is cancelled."""
    session = SimSession(speed=1.0, first_audio_ms=1000.0)
    session.start(0.0)
    for frame in TURNS["audio"]:
        session.receive(json.dumps(frame), 0.0)
    out = [e.to_dict() for e in session.receive('{"type": "response.cancel"}', 0.5)]
    assert not any(e["type"] in FIRST_DELTAS for e in out)
    done = next(e for e in out if e["type"] == "response.done")
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["output"][0]["status"] == "incomplete"


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_negative_first_audio_ms_is_refused(bad: float) -> None:
    """A negative (or NaN) time to first audio is an error, not a silently earlier reply."""
    with pytest.raises(ValueError, match="first_audio_ms"):
        SimSession(first_audio_ms=bad)


async def _created_to_first_delta_s(url: str) -> float:
    """Over a socket: seconds between receiving response.created and the first output delta."""
    async with connect(url) as ws:
        for frame in TURNS["audio"]:
            await ws.send(json.dumps(frame))
        created_at = None
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), UNIT_S))
            if event["type"] == "response.created":
                created_at = time.monotonic()
            elif event["type"] in FIRST_DELTAS:
                assert created_at is not None
                return time.monotonic() - created_at


async def test_served_simulator_waits_before_the_first_delta() -> None:
    """serve(first_audio_ms=5000) at speed 10: the client sees about 500 ms between response.created and
    its first delta (a lower bound, with half of it as the margin for the loops' scheduling)."""
    async with serve(port=0, speed=10.0, first_audio_ms=5000.0) as sim:
        assert sim.first_audio_ms == 5000.0
        gap_s = await _created_to_first_delta_s(f"{sim.url}?model=gpt-realtime")
    assert gap_s >= 0.25


async def test_cli_first_audio_ms() -> None:
    """`--first-audio-ms` reaches the sessions the command line serves."""
    async with cli_server("--speed", "10", "--first-audio-ms", "5000") as (_, port):
        gap_s = await _created_to_first_delta_s(f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime")
    assert gap_s >= 0.25


async def test_cli_refuses_a_negative_first_audio_ms() -> None:
    """`--first-audio-ms -5` exits with status 2 and says why."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rtwidget.server",
        "--first-audio-ms",
        "-5",
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 6 * UNIT_S)
    assert proc.returncode == 2
    assert b"--first-audio-ms" in err
