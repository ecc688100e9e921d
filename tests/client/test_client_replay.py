"""Recorded GA sessions replayed frame by frame by a server; the client parses each event to its class."""

from __future__ import annotations

import json
from typing import Any

import pytest
from client_testing import CORPUS_DIR, read_corpus, serve_script
from websockets.asyncio.server import ServerConnection

from rtwidget.client import connect
from rtwidget.protocol import UnknownEvent, ga

CORPUS_FILES = sorted(p.name for p in CORPUS_DIR.glob("*.jsonl"))
MISMATCH_CLOSE_CODE = 4999


def replay_script(records: list[dict[str, Any]]) -> Any:
    """Server side of a recording: await each client event (same type), then send the next server events."""

    async def script(ws: ServerConnection) -> None:
        for number, record in enumerate(records):
            if record["dir"] == "server":
                await ws.send(json.dumps(record["event"]))
                continue
            got = json.loads(await ws.recv())["type"]
            if got != record["event"]["type"]:
                await ws.close(
                    MISMATCH_CLOSE_CODE, f"line {number + 1}: expected {record['event']['type']}, got {got}"
                )
                return
        await ws.close()

    return script


def test_corpus_is_present() -> None:
    """The corpus copy under tests/data is there (15 recorded sessions)."""
    assert len(CORPUS_FILES) == 15


@pytest.mark.parametrize("name", CORPUS_FILES)
async def test_replayed_session_parses_to_known_classes(name: str) -> None:
    """Every recorded server event arrives as its own GA class, losslessly; every client event validates."""
    records = read_corpus(name)
    received: list[Any] = []
    frames = {"client": 0, "server": 0}
    async with serve_script(replay_script(records)) as served, connect(served.url) as conn:
        conn.on_frame(lambda direction, raw, ev, err: frames.__setitem__(direction, frames[direction] + 1))
        for record in records:
            if record["dir"] == "client":
                sent = await conn.send(record["event"])
                assert sent.to_dict() == record["event"]
            else:
                received.append(await conn.recv())
        leftover = [ev async for ev in conn]
        assert conn.close_code == 1000
    expected = [r["event"] for r in records if r["dir"] == "server"]
    assert leftover == []
    assert [ev.to_dict() for ev in received] == expected
    assert not [ev.type for ev in received if isinstance(ev, UnknownEvent)]
    assert all(type(ev) is ga.SERVER_EVENTS[ev.type] for ev in received)
    assert frames == {"client": len(records) - len(expected), "server": len(expected)}
