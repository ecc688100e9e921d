"""`python -m rtwidget.server --workers N`: several simulator processes behind one port (SO_REUSEPORT)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import pytest
from sim_testing import UNIT_S, cli_server
from websockets.asyncio.client import connect

from rtwidget.server import __main__ as cli
from rtwidget.server.adapter import WORKER_HEADER

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads only on Linux"
)

# SO_REUSEPORT hashes each connection's address and source port to a worker: this many connections all
# land on one of two workers with probability 2**-63.
MAX_CONNECTIONS = 64


async def _text_turn(port: int, n: int) -> tuple[str, str]:
    """One session that completes a text turn: (its worker header, its session id)."""
    async with connect(f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime-2") as ws:
        assert ws.response is not None
        worker = ws.response.headers[WORKER_HEADER]
        created = json.loads(await ws.recv())
        assert created["type"] == "session.created"
        item = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": f"Hi, I am {n}."}],
        }
        await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        await ws.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
        while (event := json.loads(await asyncio.wait_for(ws.recv(), UNIT_S)))["type"] != "response.done":
            assert event["type"] != "error", event
        assert event["response"]["status"] == "completed"
        assert event["response"]["output"][0]["content"][0]["text"]
        return worker, created["session"]["id"]


def _pid(worker: str) -> int:
    """The pid in a worker header such as `2/2; pid=4242`."""
    return int(worker.split("pid=")[1])


@linux_only
async def test_sessions_spread_over_the_workers() -> None:
    """Sessions opened on the one port are served by both workers, each session completing a text turn."""
    async with cli_server("--workers", "2", "--speed", "50") as (_, port):
        workers: set[str] = set()
        sessions: set[str] = set()
        for n in range(MAX_CONNECTIONS):
            worker, session_id = await _text_turn(port, n)
            workers.add(worker.split(";")[0])
            sessions.add(session_id)
            if len(workers) == 2 and n >= 3:
                break
        assert workers == {"1/2", "2/2"}
        assert len(sessions) == n + 1  # every session its own id, whichever worker made it


@linux_only
async def test_the_port_keeps_working_when_a_worker_dies() -> None:
    """After one worker is killed, new sessions on the same port go to the other and complete their turns."""
    async with cli_server("--workers", "2", "--speed", "50") as (proc, port):
        first, _ = await _text_turn(port, 0)
        os.kill(_pid(first), signal.SIGKILL)
        assert proc.stderr is not None
        line = await asyncio.wait_for(proc.stderr.readline(), 2 * UNIT_S)
        assert f"worker pid {_pid(first)} exited" in line.decode()
        survivors = {(await _text_turn(port, n))[0] for n in range(1, 9)}
        assert len(survivors) == 1
        assert survivors != {first}
        assert proc.returncode is None


@linux_only
async def test_stopping_the_supervisor_stops_its_workers() -> None:
    """SIGINT to the `--workers` process ends it with status 0, and its workers with it."""
    async with cli_server("--workers", "2", "--speed", "50") as (proc, port):
        pids = set()
        for n in range(MAX_CONNECTIONS):
            pids.add(_pid((await _text_turn(port, n))[0]))
            if len(pids) == 2:
                break
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 4 * UNIT_S) == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_workers_refused_where_reuse_port_does_not_spread(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a platform without Linux's SO_REUSEPORT, `--workers 2` exits with status 2 and says why."""
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cli.main(["--port", "0", "--workers", "2"]) == 2
    assert "--workers needs Linux's SO_REUSEPORT" in capsys.readouterr().err


def test_workers_below_one_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """`--workers 0` exits with status 2 and names the option."""
    assert cli.main(["--port", "0", "--workers", "0"]) == 2
    assert "--workers must be >= 1" in capsys.readouterr().err
