"""The widget over a real socket to deviating servers: every frame logged, turns complete, flags shown."""

from __future__ import annotations

import pytest
from deviation_turns import TURNS, serve_turn

from rtwidget.widget import RealtimeWidget


@pytest.mark.parametrize("name", sorted(TURNS))
async def test_wait_for_response_done_completes(name: str) -> None:
    """wait_for("response.done") returns for each family; every frame is in the log, in order."""
    turn = TURNS[name]
    async with serve_turn(name) as url:
        w = RealtimeWidget(url=url)
        await w.connect()
        done = await w.wait_for("response.done", timeout=10, since=0)
        received = [e.type for e in w.events if e.direction == "server"]
        items = [(item.id, item.text) for item in w.items]
        await w.disconnect()
    assert done.type == "response.done"
    assert received == [frame["type"] for frame in turn.frames]
    assert items == turn.items


@pytest.mark.parametrize("name", sorted(TURNS))
async def test_tolerated_frames_are_counted_and_flagged(name: str) -> None:
    """Each deviating frame counts in tolerated_count; known-type ones carry the warning flag and reason."""
    turn = TURNS[name]
    async with serve_turn(name) as url:
        w = RealtimeWidget(url=url)
        await w.connect()
        await w.wait_for("response.done", timeout=10, since=0)
        rows = [w._log.rows[e.row] for e in w.events if e.direction == "server"]
        await w.disconnect()
    assert w.tolerated_count == len(turn.problems)
    for index, paths in turn.problems.items():
        row = rows[index]
        if "$.type" in paths and "u" in row.flags:
            continue  # a type neither dialect knows: flagged unknown
        assert "w" in row.flags, (index, row.type)
        assert any(path in row.summary for path in paths), row.summary
    assert w.error_count == 0
