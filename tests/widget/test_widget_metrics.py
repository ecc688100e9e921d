"""w.metrics, w.usage, w.prices, w.rate_limits and the latency stages: against the simulator at speed 50 and a
hostile server that answers with usage numbers the test chose."""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from rtwidget.protocol.prices import PRICES_USD_PER_1M_TOKENS
from rtwidget.server.voice import synthesize
from rtwidget.widget import RealtimeWidget
from rtwidget.widget.metrics import STAGES, browser_to_kernel

SPEED = 50
WAIT_S = 10.0  # the one unit every wait here is bounded by
MODEL = "gpt-realtime"
CUT = object()  # hostile(): close after response.created

# 1000 input tokens (300 text + 700 audio), of which 500 were cached (200 text + 300 audio); 400 output.
CACHED_USAGE = {
    "total_tokens": 1400,
    "input_tokens": 1000,
    "output_tokens": 400,
    "input_token_details": {
        "text_tokens": 300,
        "audio_tokens": 700,
        "image_tokens": 0,
        "cached_tokens": 500,
        "cached_tokens_details": {"text_tokens": 200, "audio_tokens": 300, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 100, "audio_tokens": 300},
}
PLAIN_USAGE = {
    "total_tokens": 60,
    "input_tokens": 40,
    "output_tokens": 20,
    "input_token_details": {"text_tokens": 40, "audio_tokens": 0, "cached_tokens": 0},
    "output_token_details": {"text_tokens": 20, "audio_tokens": 0},
}


def by_hand(usage: dict[str, Any], p: dict[str, float]) -> float:
    """The bill of one usage at one model's prices, written out: cached input is a part of the input."""
    inp, out = usage["input_token_details"], usage["output_token_details"]
    cached = inp.get("cached_tokens_details", {"text_tokens": 0, "audio_tokens": 0})
    return (
        (inp["text_tokens"] - cached["text_tokens"]) * p["text_input"]
        + cached["text_tokens"] * p["text_cached_input"]
        + (inp["audio_tokens"] - cached["audio_tokens"]) * p["audio_input"]
        + cached["audio_tokens"] * p["audio_cached_input"]
        + out["text_tokens"] * p["text_output"]
        + out["audio_tokens"] * p["audio_output"]
    ) / 1_000_000


def rows(w: RealtimeWidget) -> list[dict[str, Any]]:
    """``w.metrics`` as a list of dicts (it is one already unless pandas is installed)."""
    table = w.metrics
    if isinstance(table, list):
        return table
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in table.to_dict("records")
    ]


def done_usages(w: RealtimeWidget) -> list[dict[str, Any]]:
    """The ``usage`` of every ``response.done`` the widget received, as on the wire."""
    return [
        e.data["response"]["usage"] for e in w.events if e.direction == "server" and e.type == "response.done"
    ]


@asynccontextmanager
async def hostile(usages: list[Any]) -> AsyncIterator[str]:
    """A server that answers the n-th response.create with a response whose usage is ``usages[n]`` (the key is
    left out for ``...``), then a ``rate_limits.updated`` whose remaining tokens go down by 1000 each time.
    For ``CUT`` it closes the connection right after ``response.created``."""

    answered = itertools.count(1)  # across connections: a reconnect gets the next usage

    async def handler(ws: ServerConnection) -> None:
        session = {"type": "realtime", "id": "sess_h", "model": MODEL}
        await ws.send(json.dumps({"type": "session.created", "event_id": "e0", "session": session}))
        async for raw in ws:
            if json.loads(raw)["type"] != "response.create":
                continue
            asked = next(answered)
            rid, usage = f"resp_{asked}", usages[asked - 1]
            response: dict[str, Any] = {"id": rid, "object": "realtime.response", "status": "completed"}
            await ws.send(
                json.dumps({"type": "response.created", "response": {**response, "status": "in_progress"}})
            )
            if usage is CUT:
                await ws.close()
                return
            done = {**response, "output": []} if usage is ... else {**response, "output": [], "usage": usage}
            await ws.send(json.dumps({"type": "response.done", "response": done}))
            limits = [
                {"name": "tokens", "limit": 10_000, "remaining": 10_000 - 1000 * asked, "reset_seconds": 1.5},
                {"name": "requests", "limit": 100, "remaining": 100 - asked, "reset_seconds": 0.5},
            ]
            await ws.send(json.dumps({"type": "rate_limits.updated", "rate_limits": limits}))

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"


async def turns(w: RealtimeWidget, n: int) -> None:
    """Connect and ask for ``n`` responses, one after the other."""
    await w.connect()
    await w.wait_for("session.created", timeout=WAIT_S, since=0)
    for _ in range(n):
        await w.send_event({"type": "response.create"})
        await w.wait_for("rate_limits.updated", timeout=WAIT_S)


@pytest.fixture
def sim() -> Iterator[RealtimeWidget]:
    widget = RealtimeWidget(simulator_speed=SPEED)
    yield widget
    widget.close()


async def open_sim(w: RealtimeWidget, session: dict[str, Any] | None = None) -> None:
    await w.connect()
    await w.wait_for("session.created", timeout=WAIT_S, since=0)
    if session is not None:
        await w.update_session(session)
        await w.wait_for("session.updated", timeout=WAIT_S)


# --- usage and cost ---------------------------------------------------------------------------------


async def test_usage_totals_equal_the_sum_of_the_response_done_usages(sim: RealtimeWidget) -> None:
    """Per row and in total, the token counts are those of the response.done frames (simulator, 3 turns)."""
    await open_sim(sim)
    for text in ("hello there", "tell me a story", "and another one"):
        await sim.send_text(text)
        await sim.wait_for("response.done", timeout=WAIT_S)
    await sim.disconnect()
    wire = done_usages(sim)
    assert len(wire) == 3
    got = rows(sim)
    assert [r["input_tokens"] for r in got] == [u["input_tokens"] for u in wire]
    assert [r["output_audio_tokens"] for r in got] == [
        u["output_token_details"]["audio_tokens"] for u in wire
    ]
    total = sim.usage
    assert total["responses"] == 3
    assert total["input_tokens"] == sum(u["input_tokens"] for u in wire)
    assert total["output_tokens"] == sum(u["output_tokens"] for u in wire)
    assert total["total_tokens"] == sum(u["total_tokens"] for u in wire)
    assert total["cached_tokens"] == sum(u["input_token_details"]["cached_tokens"] for u in wire)
    for key in ("text_tokens", "audio_tokens"):
        assert total[f"input_{key}"] == sum(u["input_token_details"][key] for u in wire)
        assert total[f"output_{key}"] == sum(u["output_token_details"][key] for u in wire)
    assert total["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in got))
    assert total["cost_usd"] > 0


async def test_the_cost_matches_the_price_table() -> None:
    """A fixed usage with cached text and audio costs what the table's figures give by hand."""
    async with hostile([CACHED_USAGE, PLAIN_USAGE]) as url:
        w = RealtimeWidget(url=url)
        try:
            await turns(w, 2)
        finally:
            await w.disconnect()
            w.close()
    first, second = rows(w)
    prices = PRICES_USD_PER_1M_TOKENS[MODEL]
    assert first["model"] == MODEL
    assert first["status"] == "completed"
    assert first["cost_usd"] == pytest.approx(by_hand(CACHED_USAGE, prices), rel=1e-12)
    assert second["cost_usd"] == pytest.approx(by_hand(PLAIN_USAGE, prices), rel=1e-12)
    assert w.usage["cost_usd"] == pytest.approx(first["cost_usd"] + second["cost_usd"], rel=1e-12)


async def test_cached_tokens_are_not_counted_twice() -> None:
    """Cached tokens are a part of the input: 1000 input tokens with 500 cached are 1000, not 1500, and the
    500 are billed at the cached rate instead of (not on top of) the input rate."""
    async with hostile([CACHED_USAGE]) as url:
        w = RealtimeWidget(url=url)
        try:
            await turns(w, 1)
        finally:
            await w.disconnect()
            w.close()
    (row,) = rows(w)
    assert (row["input_tokens"], row["cached_tokens"]) == (1000, 500)
    assert (row["cached_text_tokens"], row["cached_audio_tokens"]) == (200, 300)
    assert w.usage["input_tokens"] == 1000
    p = PRICES_USD_PER_1M_TOKENS[MODEL]
    uncached_bill = (300 * p["text_input"] + 700 * p["audio_input"] + 100 * p["text_output"]) / 1e6 + 300 * p[
        "audio_output"
    ] / 1e6
    double_counted = uncached_bill + (200 * p["text_cached_input"] + 300 * p["audio_cached_input"]) / 1e6
    assert row["cost_usd"] < uncached_bill < double_counted
    assert row["cost_usd"] == pytest.approx(by_hand(CACHED_USAGE, p), rel=1e-12)


async def test_a_price_override_changes_the_cost_and_merges_per_model() -> None:
    """w.prices = {model: {field: usd}} replaces that field only; the cost follows at once."""
    async with hostile([CACHED_USAGE]) as url:
        w = RealtimeWidget(url=url)
        try:
            await turns(w, 1)
        finally:
            await w.disconnect()
            w.close()
    shipped = rows(w)[0]["cost_usd"]
    w.prices = {MODEL: {"audio_output": 100.0}}
    assert w.prices[MODEL]["audio_output"] == 100.0
    assert w.prices[MODEL]["text_input"] == PRICES_USD_PER_1M_TOKENS[MODEL]["text_input"]
    assert w.prices["gpt-realtime-2"] == PRICES_USD_PER_1M_TOKENS["gpt-realtime-2"]
    delta = 300 * (100.0 - PRICES_USD_PER_1M_TOKENS[MODEL]["audio_output"]) / 1e6
    assert rows(w)[0]["cost_usd"] == pytest.approx(shipped + delta, rel=1e-12)
    w.prices = {}
    assert rows(w)[0]["cost_usd"] == pytest.approx(shipped, rel=1e-12)
    with pytest.raises(ValueError, match="missing"):
        w.prices = {"my-model": {"text_input": 1.0}}
    with pytest.raises(ValueError, match="number >= 0"):
        w.prices = {MODEL: {"text_input": -1}}
    with pytest.raises(ValueError, match="unknown price field"):
        w.prices = {MODEL: {"text_inptu": 1.0}}
    assert rows(w)[0]["cost_usd"] == pytest.approx(shipped, rel=1e-12)  # a refused override changes nothing


async def test_a_response_without_usage_has_no_cost_and_no_error() -> None:
    """usage null, usage absent, and usage without the input split: tokens None where unknown, cost None."""
    no_split = {"total_tokens": 10, "input_tokens": 6, "output_tokens": 4}
    async with hostile([None, ..., no_split, PLAIN_USAGE]) as url:
        w = RealtimeWidget(url=url)
        try:
            await turns(w, 4)
        finally:
            await w.disconnect()
            w.close()
    got = rows(w)
    assert [r["cost_usd"] is None for r in got] == [True, True, True, False]
    assert got[0]["input_tokens"] is None
    assert got[2]["input_tokens"] == 6
    assert all(r["status"] == "completed" for r in got)
    total = w.usage
    assert (total["responses"], total["unpriced_responses"]) == (4, 3)
    assert total["input_tokens"] == 6 + 40
    assert total["cost_usd"] == pytest.approx(got[3]["cost_usd"])
    assert [e for e in w.errors if e["code"] in ("handler_failed", "conversation")] == []


async def test_rate_limits_are_the_latest_update() -> None:
    """w.rate_limits holds the last rate_limits.updated, by limit name."""
    async with hostile([PLAIN_USAGE, PLAIN_USAGE]) as url:
        w = RealtimeWidget(url=url)
        try:
            await turns(w, 2)
            limits = w.rate_limits
        finally:
            await w.disconnect()
            w.close()
    assert limits["tokens"] == {"name": "tokens", "limit": 10_000, "remaining": 8_000, "reset_seconds": 1.5}
    assert limits["requests"]["remaining"] == 98


async def test_usage_is_kept_across_a_reconnect(sim: RealtimeWidget) -> None:
    """A reconnect starts a new conversation; the earlier session's responses keep their usage."""
    await open_sim(sim, {"output_modalities": ["text"]})
    await sim.send_text("hello")
    await sim.wait_for("response.done", timeout=WAIT_S)
    await sim.disconnect()
    await open_sim(sim, {"output_modalities": ["text"]})
    await sim.send_text("hello again")
    await sim.wait_for("response.done", timeout=WAIT_S)
    await sim.disconnect()
    got = rows(sim)
    assert len(got) == 2
    assert got[0]["session_id"] != got[1]["session_id"]
    assert [r["input_tokens"] for r in got] == [u["input_tokens"] for u in done_usages(sim)]
    assert all(r["cost_usd"] is not None for r in got)


async def test_a_response_cut_by_the_connection_keeps_what_was_known_after_a_reconnect() -> None:
    """The connection closes right after response.created; after a reconnect (a new conversation) its row
    still has the status the conversation knew, and the next response is counted apart."""
    async with hostile([CUT, PLAIN_USAGE]) as url:
        w = RealtimeWidget(url=url)
        try:
            await w.connect()
            await w.wait_for("session.created", timeout=WAIT_S, since=0)
            await w.send_event({"type": "response.create"})
            await w.wait_for("response.created", timeout=WAIT_S)
            await w._reader
            await turns(w, 1)
        finally:
            await w.disconnect()
            w.close()
    cut, second = rows(w)
    assert (cut["status"], cut["cost_usd"], cut["to_done_ms"]) == ("in_progress", None, None)
    assert cut["to_created_ms"] is not None
    assert second["cost_usd"] == pytest.approx(by_hand(PLAIN_USAGE, PRICES_USD_PER_1M_TOKENS[MODEL]))


# --- latency stages ---------------------------------------------------------------------------------


async def test_a_text_turn_has_its_stages_in_order(sim: RealtimeWidget) -> None:
    """A text reply: created <= first text <= done from its response.create; no audio stages."""
    await open_sim(sim, {"output_modalities": ["text"]})
    await sim.send_text("hello")
    await sim.wait_for("response.done", timeout=WAIT_S)
    await sim.disconnect()
    (row,) = rows(sim)
    assert row["turn"] == "response.create"
    assert 0 <= row["to_created_ms"] <= row["to_first_text_ms"] <= row["to_done_ms"]
    assert row["to_first_audio_ms"] is None
    assert row["to_first_played_ms"] is None
    assert row["to_last_played_ms"] is None


async def test_an_audio_turn_has_its_stages_in_order_with_a_view(sim: RealtimeWidget) -> None:
    """An audio reply a (fake) view plays: created <= first audio <= first played <= last played; the
    session summary counts the stage."""
    await open_sim(sim)
    await sim.send_text("hello there")
    delta = await sim.wait_for("response.output_audio.delta", timeout=WAIT_S)
    item = delta.item_id
    sim._handle_custom_msg({"type": "audio.started", "item": item, "at_ms": time.time() * 1000.0}, [])
    await sim.wait_for("response.done", timeout=WAIT_S)
    received = sim.audio_stats[item]["received_ms"]
    sim._handle_custom_msg({"type": "played", "items": {item: received / 2}}, [])
    sim._handle_custom_msg({"type": "played", "items": {item: received}}, [])
    await sim.disconnect()
    (row,) = rows(sim)
    assert row["turn"] == "response.create"
    assert 0 <= row["to_created_ms"] <= row["to_first_audio_ms"] <= row["to_first_played_ms"]
    assert row["to_first_played_ms"] <= row["to_last_played_ms"]
    assert row["to_first_text_ms"] is not None
    summary = sim.latency_summary()
    assert set(summary) == set(STAGES)
    assert summary["to_first_played_ms"]["n"] == 1
    assert summary["to_first_played_ms"]["median_ms"] == row["to_first_played_ms"]


async def test_an_audio_turn_without_a_view_has_no_played_stages(sim: RealtimeWidget) -> None:
    """No view reported playback: the browser stages are None, the kernel ones are there."""
    await open_sim(sim)
    await sim.send_text("hello there")
    await sim.wait_for("response.done", timeout=WAIT_S)
    await sim.disconnect()
    (row,) = rows(sim)
    assert row["to_first_audio_ms"] is not None
    assert (row["to_first_played_ms"], row["to_last_played_ms"]) == (None, None)
    assert sim.latency_summary()["to_first_played_ms"] == {"n": 0, "median_ms": None, "p90_ms": None}


async def test_a_push_to_talk_turn_starts_at_the_commit(sim: RealtimeWidget) -> None:
    """Without turn detection, send_audio commits then asks for a response: the turn starts at the commit."""
    await open_sim(sim, {"audio": {"input": {"turn_detection": None}}})
    await sim.send_audio(synthesize("hello there").pcm, rate=24000, realtime=False)
    await sim.wait_for("response.done", timeout=WAIT_S)
    await sim.disconnect()
    (row,) = rows(sim)
    assert row["turn"] == "commit"
    assert 0 <= row["to_created_ms"] <= row["to_first_audio_ms"]


async def test_a_spoken_turn_under_server_vad_starts_at_speech_stopped(sim: RealtimeWidget) -> None:
    """With server VAD the turn starts at the server's speech_stopped, which precedes response.created."""
    await open_sim(sim)
    await sim.send_audio(synthesize("what is the weather like").pcm, rate=24000, realtime=False)
    await sim.wait_for("response.done", timeout=2 * WAIT_S, since=0)
    await sim.disconnect()
    (row,) = rows(sim)
    assert row["turn"] == "speech_stopped"
    assert 0 <= row["to_created_ms"] <= row["to_first_audio_ms"]


async def test_the_simulators_time_to_first_audio_shows_between_created_and_first_audio() -> None:
    """simulator_first_audio_ms reaches the embedded simulator: the row's first audio comes at least that
    long (divided by the speed) after its response.created, give or take the kernel's scheduling (half of it
    as the margin); the log says what the simulator was started with."""
    w = RealtimeWidget(simulator_speed=SPEED, simulator_first_audio_ms=25_000)  # 500 ms at speed 50
    try:
        await open_sim(w)
        await w.send_text("hello there")
        await w.wait_for("response.done", timeout=WAIT_S)
        await w.disconnect()
        (row,) = rows(w)
        assert row["to_first_audio_ms"] - row["to_created_ms"] >= 25_000 / SPEED / 2
        started = next(e for e in w.events if e.type == "local.simulator")
        assert started.data["first_audio_ms"] == 25_000
    finally:
        w.close()


def test_a_browser_stamp_is_converted_by_its_age_at_arrival_and_kept_causal() -> None:
    """The stamp's age by the wall clocks is taken off the arrival time; a skewed clock is clamped between
    the item's first audio at the kernel and the notice's arrival."""
    assert browser_to_kernel(999_750.0, 10.0, 1000.0, None) == pytest.approx(9.75)
    assert browser_to_kernel(999_750.0, 10.0, 1000.0, 9.9) == pytest.approx(9.9)  # not before its audio came
    assert browser_to_kernel(1_000_500.0, 10.0, 1000.0, 9.0) == pytest.approx(10.0)  # not after the notice
