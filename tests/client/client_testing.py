"""Helpers for the client tests: a small scripted WebSocket server on 127.0.0.1 port 0, corpus access."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request

CORPUS_DIR = Path(__file__).resolve().parent.parent / "data" / "corpus"

Script = Callable[[ServerConnection], Awaitable[None]]


@dataclass
class ServerRecord:
    """What the scripted server saw: one entry per connection in ``requests``, frames in ``received``."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    received: list[str | bytes] = field(default_factory=list)
    closes: list[tuple[int | None, str | None]] = field(default_factory=list)

    @property
    def connections(self) -> int:
        """Number of WebSocket connections accepted."""
        return len(self.requests)


@asynccontextmanager
async def serve_script(
    script: Script, path: str = "/v1/realtime", **kwargs: Any
) -> AsyncIterator[ServerRecord]:
    """Serve ``script(ws)`` for each connection; yield the record (its ``url`` ends with ``path``)."""
    record = ServerRecord()

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        record.requests.append(ws.request)
        try:
            await script(ws)
        finally:
            await ws.wait_closed()
            record.closes.append((ws.close_code, ws.close_reason))

    # max_size=None: the server side must accept the 15 MiB frames the client may send.
    async with serve(handler, "127.0.0.1", 0, max_size=None, **kwargs) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        record.url = f"ws://127.0.0.1:{port}{path}"
        yield record


def event(event_type: str, n: int = 0, **fields: Any) -> str:
    """A small server event frame of ``event_type`` with a unique event_id."""
    return json.dumps({"type": event_type, "event_id": f"event_{n}", **fields})


async def until_closed(ws: ServerConnection, record: ServerRecord) -> None:
    """Record every client frame until the client closes."""
    async for frame in ws:
        record.received.append(frame)


def read_corpus(name: str) -> list[dict[str, Any]]:
    """The records ``{"dir": ..., "event": ...}`` of one corpus file."""
    lines = (CORPUS_DIR / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line]
