"""Helpers for the simulator tests: a fake clock driver, schema validation, corpus shapes, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

from rtwidget.server import SimSession

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"
CORPUS = DATA / "corpus"
SCHEMA = DATA / "realtime-events.schema.json"
# Tests stream ~50x faster than real time: quick, yet still paced by the timer.
FAST_SPEED = 50.0
# Seconds; the waits of the socket and CLI tests are multiples of it.
UNIT_S = 5.0


def as_dict(event: Any) -> dict[str, Any]:
    """Plain wire dict of a server event (typed protocol event or dict)."""
    return event if isinstance(event, dict) else event.to_dict()


class Driver:
    """Drives a `SimSession` with a fake clock: every call returns the emitted events as dicts."""

    def __init__(self, session: SimSession | None = None, **kwargs: Any) -> None:
        self.session = session or SimSession(**kwargs)
        self.now = 0.0
        self.log: list[dict[str, Any]] = [as_dict(e) for e in self.session.start(self.now)]

    def send(self, event: dict[str, Any] | str | bytes) -> list[dict[str, Any]]:
        frame = event if isinstance(event, str | bytes) else json.dumps(event)
        out = [as_dict(e) for e in self.session.receive(frame, self.now)]
        self.log += out
        return out

    def run(self, until: float | None = None) -> list[dict[str, Any]]:
        """Advance the fake clock deadline by deadline (until nothing is scheduled, or `until`)."""
        out: list[dict[str, Any]] = []
        while (due := self.session.next_deadline()) is not None and (until is None or due <= until):
            self.now = max(self.now, due)
            out += [as_dict(e) for e in self.session.advance(self.now)]
        if until is not None:
            self.now = max(self.now, until)
        self.log += out
        return out

    def types(self) -> list[str]:
        return [e["type"] for e in self.log]


def drop_nulls(o: Any) -> Any:
    """Recursively drop null-valued keys (the spec README's recipe: live servers send optional nulls)."""
    if isinstance(o, dict):
        return {k: drop_nulls(v) for k, v in o.items() if v is not None}
    if isinstance(o, list):
        return [drop_nulls(v) for v in o]
    return o


@cache
def _schema_doc() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    doc = _schema_doc()
    return Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": doc["$defs"]})


def schema_errors(event: dict[str, Any], index: str = "ga_server") -> list[str]:
    """Schema violations of one event (nulls dropped first), looked up by its `type`."""
    names = _schema_doc()["x-event-index"][index]
    if event["type"] not in names:
        return [f"type {event['type']!r} is not a {index} event"]
    return [
        f"{event['type']}: {e.message}"
        for e in _validator(names[event["type"]]).iter_errors(drop_nulls(event))
    ]


def load_corpus(name: str) -> list[dict[str, Any]]:
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def shape(types: Iterable[str]) -> list[Any]:
    """Event-type sequence with each run of delta events collapsed into the set of its delta types.

    `rate_limits.updated` is dropped: it arrives ~40 ms after `response.done` (docs/protocol-notes.md) and the
    recordings end before it in most files.
    """
    out: list[Any] = []
    for t in types:
        if t == "rate_limits.updated":
            continue
        if t.endswith(".delta"):
            if out and isinstance(out[-1], frozenset):
                out[-1] = out[-1] | {t}
            else:
                out.append(frozenset({t}))
            continue
        out.append(t)
    return out


def expected_speech(transcript: str, voice: str = "alloy", rate_hz: int = 24_000) -> bytes:
    """PCM the simulator streams for a spoken reply: each sentence synthesized in turn."""
    from rtwidget.server.core import split_sentences
    from rtwidget.server.voice import synthesize

    return b"".join(synthesize(s, voice, rate_hz=rate_hz).pcm for s in split_sentences(transcript))


@asynccontextmanager
async def cli_server(*args: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    """`python -m rtwidget.server --port 0 ARGS`: the process and its port, stopped with SIGINT on exit."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rtwidget.server",
        "--port",
        "0",
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = (await asyncio.wait_for(proc.stdout.readline(), 6 * UNIT_S)).decode().strip()
        yield proc, int(url.split(":")[2].split("/")[0])
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 2 * UNIT_S)
            except TimeoutError:
                proc.kill()
                await proc.wait()
