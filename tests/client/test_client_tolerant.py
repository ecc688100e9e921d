"""Over a real socket, a turn of each deviating server completes: async for, run() and handlers see it all."""

from __future__ import annotations

import json

import pytest
from client_testing import ServerRecord, serve_script, until_closed
from deviation_turns import TURNS
from websockets.asyncio.server import ServerConnection

from rtwidget.client import connect
from rtwidget.protocol import Event


def _script(name: str):  # type: ignore[no-untyped-def]
    async def script(ws: ServerConnection) -> None:
        for frame in TURNS[name].frames:
            await ws.send(json.dumps(frame))
        await until_closed(ws, ServerRecord())

    return script


@pytest.mark.parametrize("name", sorted(TURNS))
async def test_async_for_reaches_response_done(name: str) -> None:
    """`async for` yields every frame of the turn, typed, and reaches response.done."""
    turn = TURNS[name]
    seen: list[Event] = []
    async with serve_script(_script(name)) as served, connect(served.url) as conn:
        async for event in conn:
            seen.append(event)
            if event.type == "response.done":
                break
    assert [event.type for event in seen] == [frame["type"] for frame in turn.frames]
    problems = {index for index, event in enumerate(seen) if event.problems}
    assert problems == set(turn.problems)


@pytest.mark.parametrize("name", sorted(TURNS))
async def test_handlers_see_every_frame(name: str) -> None:
    """`on("*")` handlers are called for every frame, deviating ones included."""
    turn = TURNS[name]
    seen: list[str] = []
    async with serve_script(_script(name)) as served, connect(served.url) as conn:
        conn.on("*", lambda event: seen.append(event.type))
        async for event in conn:
            if event.type == "response.done":
                break
    assert seen == [frame["type"] for frame in turn.frames]


async def test_strict_connection_refuses_deviating_frames() -> None:
    """connect(strict=True): deviating frames of a known type raise FrameError; async for skips them."""
    turn = TURNS["xai"]
    seen: list[str] = []
    async with serve_script(_script("xai")) as served, connect(served.url, strict=True) as conn:
        async for event in conn:
            seen.append(event.type)
            if event.type == "response.done":
                break
    # The typeless session is refused; unknown types (ping, ...updated) still arrive as UnknownEvent.
    assert seen == [frame["type"] for frame in turn.frames[1:]]
