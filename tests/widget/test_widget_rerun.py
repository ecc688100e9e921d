"""Rerun and compare: a simulator session recorded, sent again to a fresh simulator, and the two compared;
servers that refuse, close or go silent end a rerun with a report instead of a hang."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from rtwidget.protocol import ValidationError
from rtwidget.server import serve
from rtwidget.server.voice import synthesize
from rtwidget.widget import RealtimeWidget, compare

FAST = 50.0
WAIT_S = 20.0  # a guard against a hang, never a measured time
TOOL_TURN = "What is the weather in Paris?"
HEARD = {"transcription": {"model": "gpt-4o-mini-transcribe"}}


def weather(city: str) -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        city: The city.
    """
    return {"city": city, "temperature_c": 21}


async def responses_done(w: RealtimeWidget, n: int) -> None:
    async with asyncio.timeout(WAIT_S):
        while sum(e.type == "response.done" for e in w.events) < n:
            await w.wait_for("response.done", timeout=WAIT_S, since=len(w.events))


async def record(w: RealtimeWidget) -> None:
    """Text turns, a tool round (call, output, follow-up) and a spoken push-to-talk turn."""
    w.tool(weather)
    await w.connect()
    await w.wait_for("session.updated", timeout=WAIT_S, since=0)
    await w.update_session(output_modalities=["text"], audio={"input": {"turn_detection": None, **HEARD}})
    await w.wait_for("session.updated", timeout=WAIT_S)
    await w.send_text("hello")
    await responses_done(w, 1)
    await w.send_text(TOOL_TURN)
    await responses_done(w, 3)  # the call, then the answer after its output
    await w.send_audio(synthesize("hello there how are you").pcm, rate=24000, realtime=False)
    await responses_done(w, 4)
    await w.disconnect()


@pytest.fixture
async def recorded(tmp_path: Path) -> AsyncIterator[tuple[RealtimeWidget, Path]]:
    """A session held with the embedded simulator, and its export."""
    w = RealtimeWidget(simulator_speed=FAST)
    try:
        await record(w)
        path = tmp_path / "session.jsonl"
        w.export_log(path)
        yield w, path
    finally:
        await w.disconnect()
        w.close()


def client_events(w: RealtimeWidget) -> list[dict[str, Any]]:
    return [e.data for e in w.events if e.direction == "client"]


def assistant_texts(w: RealtimeWidget) -> list[str]:
    return [item.text for item in w.items if item.role == "assistant"]


async def test_rerun_repeats_each_response_and_maps_the_call_id(
    recorded: tuple[RealtimeWidget, Path],
) -> None:
    """A rerun against a fresh simulator sends every client event; each response has the same event types,
    the new run's texts are there, and the recorded tool output goes back under the new run's call_id."""
    old, path = recorded
    new = await RealtimeWidget.rerun(path, simulator_speed=FAST)
    try:
        report = new.rerun_report
        assert report is not None
        assert report.complete, report
        assert report.sent == len(client_events(old))
        assert [d["type"] for d in client_events(new)] == [d["type"] for d in client_events(old)]
        result = new.compare(old)
        assert len(result.turns) == 4
        assert all(turn["same_events"] for turn in result.turns), result.turns
        assert result.same_events
        assert assistant_texts(new) == assistant_texts(old)
        assert any("weather tool says" in text for text in assistant_texts(new))
        [old_output] = [d["item"] for d in client_events(old) if d.get("item", {}).get("call_id")]
        [new_output] = [d["item"] for d in client_events(new) if d.get("item", {}).get("call_id")]
        [new_call] = [i for i in new.conversation.items if i.type == "function_call"]
        assert new_output["call_id"] == new_call.call_id != old_output["call_id"]
        assert report.call_ids == {old_output["call_id"]: new_call.call_id}
        assert new_output["output"] == old_output["output"]
        assert new.status == "closed"
    finally:
        new.close()


async def test_rerun_of_a_live_widget_at_recorded_pace(recorded: tuple[RealtimeWidget, Path]) -> None:
    """A widget is a source too; at recorded pace the audio goes out and the server hears the same words."""
    old, _ = recorded
    new = await RealtimeWidget.rerun(old, pace="recorded", simulator_speed=FAST)
    try:
        assert new.rerun_report is not None
        assert new.rerun_report.complete, new.rerun_report
        heard = [e.data["transcript"] for e in new.events if e.type.endswith("transcription.completed")]
        assert heard == ["hello there how are you"]
    finally:
        new.close()


async def test_compare_of_two_instructions_names_the_differing_fields(tmp_path: Path) -> None:
    """Two runs under different instructions: same event types, and the instructions and reply texts are
    listed as differing fields, ids and timestamps not; timing per turn is there with its delta."""
    runs = []
    for instructions in ("Be brief.", "Be very friendly and talk at length."):
        w = RealtimeWidget(simulator_speed=FAST)
        await w.connect()
        await w.update_session(output_modalities=["text"], instructions=instructions)
        await w.wait_for("session.updated", timeout=WAIT_S)
        await w.send_text("hello")
        await w.wait_for("response.done", timeout=WAIT_S)
        await w.disconnect()
        runs.append(w)
    path = tmp_path / "b.jsonl"
    runs[1].export_log(path)
    result = runs[0].compare(path)  # a path is replayed
    assert result.same_events
    paths = {f["path"] for step in result.events for f in step["fields"]}
    assert "$.session.instructions" in paths
    assert "$.response.output[0].content[0].text" in paths
    assert not {p for p in paths if p.rsplit(".", 1)[-1] in compare.IGNORED_KEYS}
    [turn] = result.turns
    assert turn["a_text"] != turn["b_text"]
    assert turn["delta_to_done_ms"] == pytest.approx(turn["b_to_done_ms"] - turn["a_to_done_ms"], abs=0.11)
    assert "differing fields" in repr(result)
    page = result._repr_html_()
    assert "session.instructions" in page
    assert "Be brief." in page
    for w in runs:
        w.close()


def test_compare_refuses_what_is_no_session() -> None:
    """compare names what it takes when given something else."""
    w = RealtimeWidget()
    with pytest.raises(TypeError, match="RealtimeWidget or a recording's path"):
        w.compare(42)
    w.close()


def with_line(path: Path, after_type: str, event: dict[str, Any]) -> None:
    """Add a client event to a recording after the first client event of ``after_type``."""
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if json.loads(line).get("type") == after_type)
    entry = {**json.loads(lines[at]), "type": event["type"], "event": event}
    lines.insert(at + 1, json.dumps(entry))
    path.write_text("\n".join(lines) + "\n")


async def test_rerun_stops_at_a_refused_event_and_says_why(recorded: tuple[RealtimeWidget, Path]) -> None:
    """An event the server refuses (an error the recording did not have) ends the rerun there, reported."""
    _, path = recorded
    with_line(path, "response.create", {"type": "conversation.item.delete", "item_id": "item_nobody_made"})
    new = await RealtimeWidget.rerun(path, simulator_speed=FAST)
    try:
        report = new.rerun_report
        assert report is not None
        assert not report.complete
        [problem] = report.problems
        assert "the server refused it" in problem
        assert "item_nobody_made" in problem  # the server's message names the item
        assert report.sent < report.total
        assert [e.data["code"] for e in new.events if e.type == "local.error"] == ["rerun"]
    finally:
        new.close()


async def test_rerun_against_a_silent_server_times_out_with_a_message(
    recorded: tuple[RealtimeWidget, Path],
) -> None:
    """A server that starts a session and then never answers: the rerun gives up after timeout_s."""
    _, path = recorded

    async def silent(ws: Any) -> None:
        await ws.send(json.dumps({"type": "session.created", "event_id": "e1", "session": {"id": "s1"}}))
        async for _ in ws:
            pass

    async with websockets.serve(silent, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with asyncio.timeout(WAIT_S):
            new = await RealtimeWidget.rerun(path, url=f"ws://127.0.0.1:{port}/v1/realtime", timeout_s=0.5)
    try:
        report = new.rerun_report
        assert report is not None
        assert report.sent == 1  # the session.update; the next event waits for its session.updated
        assert "no answer within 0.5 s: waited for 1 more session.updated" in report.problems[0]
    finally:
        new.close()


async def test_rerun_reports_a_server_that_closes(recorded: tuple[RealtimeWidget, Path]) -> None:
    """A server that closes mid-rerun: the report says the connection ended, with its close code."""
    _, path = recorded
    async with serve(port=0, speed=FAST) as sim:
        new = await RealtimeWidget.rerun(path, url=f"{sim.url}?fault_close_after=4", timeout_s=WAIT_S)
    try:
        report = new.rerun_report
        assert report is not None
        assert "the connection ended" in report.problems[0]
        assert "1011" in report.problems[0]
    finally:
        new.close()


async def test_rerun_refuses_a_recording_without_its_input_audio(
    recorded: tuple[RealtimeWidget, Path], tmp_path: Path
) -> None:
    """Input audio left out of an export cannot be sent again: said before anything connects."""
    old, _ = recorded
    path = tmp_path / "no-audio.jsonl"
    old.export_log(path, audio=False)
    with pytest.raises(ValueError, match="without their audio"):
        await RealtimeWidget.rerun(path)


async def test_send_event_refusal_keeps_the_field_path() -> None:
    """What send_event raises for an invalid event names the field, as the composer's check does."""
    w = RealtimeWidget()
    bad = {"type": "conversation.item.create", "item": {"type": "message", "role": "robot", "content": []}}
    with pytest.raises(ValidationError) as caught:
        await w.send_event(bad)
    assert (caught.value.path, caught.value.code) == ("$.item.role", "invalid_value")
    w.close()
