"""RealtimeWidget's Python side against the real simulator on loopback, with a recording comm (no browser)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rtwidget.protocol import ValidationError
from rtwidget.server import serve
from rtwidget.widget import RealtimeWidget
from rtwidget.widget.increments import split_batch

FAST = 50.0  # simulator pace: 50x real time keeps a spoken reply well under a second
KEY = "sk-test-widget-0123456789abcdef"


class Recorder:
    """Stands in for the widget's comm: keeps every message the kernel would send to the browser."""

    def __init__(self, widget: RealtimeWidget) -> None:
        self.msgs: list[tuple[dict[str, Any], list[Any] | None]] = []
        self._changed = asyncio.Event()
        widget.comm.send = self.send

    def send(self, data: dict[str, Any] | None = None, buffers: list[Any] | None = None, **_: Any) -> None:
        data = data or {}
        if data.get("method") == "custom":  # a batch: one entry per message it carries
            for content, own in split_batch(data["content"], buffers):
                self.msgs.append(({**data, "content": content}, own))
        else:
            self.msgs.append((data, buffers))
        self._changed.set()

    def custom(self, type_: str | None = None) -> list[tuple[dict[str, Any], list[Any] | None]]:
        out = []
        for data, buffers in self.msgs:
            if data.get("method") == "custom" and (type_ is None or data["content"]["type"] == type_):
                out.append((data["content"], buffers))
        return out

    def text(self) -> str:
        """Everything sent, JSON content and binary buffers, as one string (for secret checks)."""
        parts = []
        for data, buffers in self.msgs:
            parts.append(json.dumps(data, default=str))
            parts.extend(bytes(b).decode("latin-1") for b in buffers or [])
        return "\n".join(parts)

    async def until(self, predicate: Callable[[], bool], limit_s: float = 10.0) -> None:
        async with asyncio.timeout(limit_s):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


def view_msg(w: RealtimeWidget, content: dict[str, Any]) -> None:
    """Deliver a custom message from a view the way ipywidgets does."""
    w._handle_custom_msg(content, [])


@pytest.fixture
async def widget() -> AsyncIterator[RealtimeWidget]:
    w = RealtimeWidget(simulator_speed=FAST)
    yield w
    await w.disconnect()
    w.close()


@pytest.fixture
async def sim_with_key() -> AsyncIterator[Any]:
    async with serve(port=0, speed=FAST, require_key=KEY) as sim:
        yield sim


async def test_embedded_simulator_text_turn(widget: RealtimeWidget) -> None:
    """No key, no url: connect starts the simulator; a text turn logs session.created .. response.done."""
    await widget.connect()
    assert (widget.status, widget.backend) == ("open", "local simulator")
    await widget.update_session(output_modalities=["text"])
    await widget.wait_for("session.updated")
    await widget.send_text("Hello there!")
    done = await widget.wait_for("response.done")
    assert done.to_dict()["response"]["status"] == "completed"
    types = [e.type for e in widget.events if e.direction == "server"]
    assert types[0] == "session.created"
    assert types.index("response.created") < types.index("response.done")
    text = "".join(e.data["delta"] for e in widget.events if e.type == "response.output_text.delta")
    assert text
    assistant = [i for i in widget.items if i.role == "assistant"]
    assert assistant[-1].text == text


async def test_log_entries_carry_direction_time_and_data(widget: RealtimeWidget) -> None:
    """Sent events are 'client' entries with their event_id; times grow from the connect."""
    await widget.connect()
    await widget.send_text("hi", respond=False)
    await widget.wait_for("conversation.item.done")
    sent = [e for e in widget.events if e.direction == "client"]
    assert [e.type for e in sent] == ["conversation.item.create"]
    assert sent[0].data["event_id"].startswith("evt_rtw_")
    times = [e.time for e in widget.events]
    assert times == sorted(times)
    assert {e.direction for e in widget.events} >= {"client", "server", "local"}


async def test_reply_streams_the_transcript(widget: RealtimeWidget) -> None:
    """The view's reply text (reply.text messages) ends as the full transcript, the reply trait as done."""
    rec = Recorder(widget)
    view_msg(widget, {"type": "ready", "view": "v1", "limit": 100})
    await widget.connect()
    await widget.send_text("Tell me something.")
    await widget.wait_for("response.done")
    transcript = "".join(
        e.data["delta"] for e in widget.events if e.type == "response.output_audio_transcript.delta"
    )
    await rec.until(lambda: widget.reply.get("status") == "done")
    text = ""
    for msg, _ in rec.custom("reply.text"):
        text = text[: msg["at"]] + msg["text"]
    assert text == transcript != ""


async def test_audio_goes_to_the_view_as_binary_buffers(widget: RealtimeWidget) -> None:
    """The audio deltas reach the view as raw PCM16 bytes in buffers (bursts merged), never as base64."""
    rec = Recorder(widget)
    view_msg(widget, {"type": "ready", "view": "v1", "limit": 100})
    await widget.connect()
    await widget.send_text("Say something.")
    await widget.wait_for("response.done")
    deltas = [e.data["delta"] for e in widget.events if e.type == "response.output_audio.delta"]
    audio_msgs = rec.custom("audio")
    assert 0 < len(audio_msgs) <= len(deltas)
    sent = b"".join(bytes(bufs[0]) for _, bufs in audio_msgs if bufs)
    assert sent == b"".join(base64.b64decode(d) for d in deltas)
    everything = "\n".join(json.dumps(content) for content, _ in rec.custom())
    assert all(d not in everything for d in deltas)


async def test_nothing_is_sent_to_a_view_before_ready(widget: RealtimeWidget) -> None:
    """Until a view says ready, the kernel sends no custom message (it would be dropped)."""
    rec = Recorder(widget)
    await widget.connect()
    await widget.send_text("Hi.")
    await widget.wait_for("response.done")
    assert rec.custom() == []


async def test_log_rows_are_batched_and_delta_runs_aggregated(widget: RealtimeWidget) -> None:
    """log.append messages carry rows in order; audio deltas fold into runs with count, bytes and ms."""
    rec = Recorder(widget)
    view_msg(widget, {"type": "ready", "view": "v1", "limit": 100})
    await widget.connect()
    await widget.send_text("Tell me a story.")
    await widget.wait_for("response.done")

    def rows() -> list[dict[str, Any]]:
        return [r for content, _ in rec.custom("log.append") for r in content["rows"]]

    await rec.until(lambda: any(r["y"] == "response.done" for r in rows()))
    n_deltas = sum(1 for e in widget.events if e.type == "response.output_audio.delta")
    n_audio_rows = [r for r in rows() if r["y"] == "response.output_audio.delta"]
    updates = [u for content, _ in rec.custom("log.append") for u in content["updates"]]
    final = {r["i"]: r for r in [*n_audio_rows, *updates] if r["y"] == "response.output_audio.delta"}
    assert sum(r.get("n", 1) for r in final.values()) == n_deltas
    assert len(rec.custom("log.append")) < len(widget.events)
    assert [r["i"] for r in rows()] == sorted(r["i"] for r in rows())


async def test_late_view_rebuilds_from_a_window(widget: RealtimeWidget) -> None:
    """A view displayed later gets the tail of the log in one log.window answer to its ready."""
    await widget.connect()
    await widget.send_text("Hi.")
    await widget.wait_for("response.done")
    rec = Recorder(widget)
    view_msg(widget, {"type": "ready", "view": "late", "limit": 500})
    (window, _), *_ = rec.custom("log.window")
    assert window["view"] == "late"
    assert window["tail"] is True
    assert window["rows"][-1]["y"] in {"response.done", "rate_limits.updated"}
    assert window["total"] == len(window["rows"])


async def test_row_detail_elides_audio(widget: RealtimeWidget) -> None:
    """A detail request for an audio run returns JSON with the payload replaced by its size and duration."""
    rec = Recorder(widget)
    await widget.connect()
    await widget.send_text("Hi.")
    await widget.wait_for("response.done")
    audio_entry = next(e for e in widget.events if e.type == "response.output_audio.delta")
    view_msg(widget, {"type": "ready", "view": "v1", "limit": 10})
    view_msg(widget, {"type": "log.detail", "view": "v1", "req": 1, "row": audio_entry.row, "member": 0})
    (detail, _), *_ = rec.custom("log.detail")
    payload = json.loads(detail["json"])
    assert payload["delta"].endswith("ms of audio, elided>")
    assert audio_entry.data["delta"] not in detail["json"]


async def test_ui_send_is_acknowledged_and_runs_on_the_loop(widget: RealtimeWidget) -> None:
    """A Send click arrives as a message: it is acked at once and its turn runs as a task on the loop."""
    rec = Recorder(widget)
    view_msg(widget, {"type": "ready", "view": "v1", "limit": 10})
    await widget.connect()
    view_msg(widget, {"type": "send_text", "seq": 7, "view": "v1", "text": "Hello!", "respond": True})
    acks = rec.custom("ack")
    assert [a["seq"] for a, _ in acks] == [7]
    await widget.wait_for("response.done", since=0)
    assert any(e.type == "response.create" and e.direction == "client" for e in widget.events)


async def test_invalid_session_is_refused_and_nothing_sent(widget: RealtimeWidget) -> None:
    """update_session with an invalid value raises ValidationError naming the field; no frame leaves."""
    await widget.connect()
    before = len([e for e in widget.events if e.direction == "client"])
    with pytest.raises(ValidationError, match="output_modalities"):
        await widget.update_session(output_modalities=["video"])
    assert len([e for e in widget.events if e.direction == "client"]) == before


async def test_invalid_form_apply_sets_form_error_and_sends_nothing(widget: RealtimeWidget) -> None:
    """An Apply from the form with a bad value shows the reason in form_error and sends nothing."""
    rec = Recorder(widget)
    view_msg(widget, {"type": "ready", "view": "v1", "limit": 10})
    await widget.connect()
    view_msg(
        widget,
        {"type": "apply", "seq": 1, "view": "v1", "session": {"type": "realtime", "max_output_tokens": -5}},
    )
    assert "max_output_tokens" in widget.form_error
    assert not any(e.type == "session.update" for e in widget.events)
    assert rec.custom("ack")


async def test_form_apply_shows_effective_session(widget: RealtimeWidget) -> None:
    """A valid Apply sends session.update; session_effective mirrors session.updated, with no diff."""
    await widget.connect()
    session = {"type": "realtime", "output_modalities": ["text"], "instructions": "Be brief."}
    view_msg(widget, {"type": "apply", "seq": 1, "view": "v1", "session": session})
    assert widget.form_error == ""
    await widget.wait_for("session.updated", since=0)
    assert widget.session_effective["instructions"] == "Be brief."
    assert widget.session_diff == []


async def test_raw_send_is_validated(widget: RealtimeWidget) -> None:
    """send() refuses an unknown client event type before anything is sent."""
    await widget.connect()
    with pytest.raises(ValidationError):
        await widget.send_event({"type": "nope"})
    assert not any(e.direction == "client" for e in widget.events)


async def test_wait_for_sees_an_event_that_already_arrived(widget: RealtimeWidget) -> None:
    """wait_for in a later cell returns the reply that arrived since the last send (no race)."""
    await widget.connect()
    await widget.send_text("Hi.")
    first = await widget.wait_for("response.done")
    again = await widget.wait_for("response.done", timeout=0.01)
    assert again == first  # parsed again from the log (the log keeps frame text, not events)


async def test_handlers_sync_and_async_are_called(widget: RealtimeWidget) -> None:
    """on(type, handler) calls sync and async handlers with the typed event."""
    seen: list[str] = []
    done = asyncio.Event()

    async def on_done(ev: Any) -> None:
        seen.append("async " + ev.type)
        done.set()

    widget.on("response.created", lambda ev: seen.append("sync " + ev.type))
    widget.on("response.done", on_done)
    await widget.connect()
    await widget.send_text("Hi.")
    await asyncio.wait_for(done.wait(), 10)
    assert seen == ["sync response.created", "async response.done"]


async def test_items_expose_audio_as_float32(widget: RealtimeWidget) -> None:
    """The assistant item's audio is a float32 array at 24 kHz with an IPython Audio player."""
    await widget.connect()
    await widget.send_text("Say hello.")
    await widget.wait_for("response.done")
    item = next(i for i in widget.items if i.role == "assistant")
    assert item.audio is not None
    assert item.audio.dtype == np.float32
    received = sum(
        len(base64.b64decode(e.data["delta"]))
        for e in widget.events
        if e.type == "response.output_audio.delta"
    )
    assert len(item.audio) == received // 2
    assert item.player is not None


async def test_stop_truncates_at_what_was_played() -> None:
    """Stop mid-reply flushes the view, cancels the response and truncates at min(played, received)."""
    w = RealtimeWidget(simulator_speed=1.0)
    rec = Recorder(w)
    try:
        view_msg(w, {"type": "ready", "view": "v1", "limit": 10})
        await w.connect()
        await w.send_text("Please tell me a long story about the sea.")
        delta = await w.wait_for("response.output_audio.delta")
        view_msg(w, {"type": "played", "items": {delta.item_id: 10.0}})
        view_msg(
            w,
            {"type": "stop", "seq": 2, "view": "v1", "played": {delta.item_id: 10.0}, "item": delta.item_id},
        )
        truncated = await w.wait_for("conversation.item.truncated", since=0)
        sent = {e.type: e.data for e in w.events if e.direction == "client"}
        assert "response.cancel" in sent
        assert sent["conversation.item.truncate"]["item_id"] == delta.item_id
        assert sent["conversation.item.truncate"]["audio_end_ms"] == 10
        assert truncated.audio_end_ms == 10
        assert rec.custom("audio.flush")
        await rec.until(lambda: w.reply.get("status") == "truncated")
    finally:
        await w.disconnect()
        w.close()


async def test_export_redacts_the_key(sim_with_key: Any, tmp_path: Path) -> None:
    """With a real key-checking server, the JSONL export holds every entry and never the key."""
    w = RealtimeWidget(url=sim_with_key.url, api_key=KEY)
    try:
        await w.connect()
        await w.send_event(
            {"type": "session.update", "session": {"type": "realtime", "instructions": f"echo {KEY}"}}
        )
        await w.wait_for("session.updated")
        path = tmp_path / "log.jsonl"
        n = w.export_log(path)
        header, *lines = path.read_text().splitlines()
        assert n == len(lines) == len(w.events)
        assert KEY not in path.read_text()
        assert json.loads(header)["format"] == "rtwidget.recording"
        assert json.loads(lines[0])["dir"] == "local"
    finally:
        await w.disconnect()
        w.close()


async def test_key_never_in_state_repr_messages_or_errors(sim_with_key: Any) -> None:
    """The key stays out of widget state, repr, every comm message, the log and connect errors."""
    w = RealtimeWidget(url=sim_with_key.url, api_key=KEY)
    rec = Recorder(w)
    view_msg(w, {"type": "ready", "view": "v1", "limit": 10})
    try:
        await w.connect()
        await w.update_session(instructions=f"remember {KEY}")
        await w.wait_for("session.updated")
        await w.send_text(f"my key is {KEY}", respond=False)
        entry = await w.wait_for("conversation.item.done")
        view_msg(w, {"type": "log.detail", "view": "v1", "req": 1, "row": len(w._log.rows) - 1, "member": 0})
        await rec.until(lambda: bool(rec.custom("log.append")))
        assert entry is not None
        assert KEY not in json.dumps(w.get_state(), default=str)
        assert KEY not in repr(w)
        assert KEY not in rec.text()
    finally:
        await w.disconnect()
        w.close()
    wrong = RealtimeWidget(url=sim_with_key.url, api_key=KEY + "-wrong")
    try:
        message = ""
        try:
            await wrong.connect()
            await wrong.wait_for("error", timeout=10)
        except ConnectionError as exc:
            message = str(exc)
        assert KEY not in message
        assert wrong.error_count >= 1
    finally:
        await wrong.disconnect()
        wrong.close()
    assert KEY not in json.dumps(wrong.get_state(), default=str)
    assert all(KEY not in json.dumps(e.data) for e in wrong.events)


async def report_played(w: RealtimeWidget) -> None:
    """What a view playing in real time reports, about 3 times a second: the ms heard of each item."""
    while True:
        await asyncio.sleep(0.3)
        heard = {
            item: min(stats["received_ms"] or 0.0, 1000 * (time.time() - stats["first_sent_at"]))
            for item, stats in w.audio_stats.items()
            if stats["first_sent_at"] is not None
        }
        view_msg(w, {"type": "played", "items": heard})


@contextlib.asynccontextmanager
async def _audio_session_messages() -> AsyncIterator[tuple[RealtimeWidget, list[dict[str, Any]]]]:
    """A widget on the real-time simulator with a ready view and an audio session, and the comm messages
    it sends from then on (disconnected and closed after the block)."""
    w = RealtimeWidget(simulator_speed=1.0)
    raw: list[dict[str, Any]] = []
    w.comm.send = lambda data=None, buffers=None, **_: raw.append(data or {})
    view_msg(w, {"type": "ready", "view": "v1", "limit": 100})
    try:
        await w.connect()
        await w.update_session(output_modalities=["audio"])
        await w.wait_for("session.updated")
        raw.clear()
        yield w, raw
    finally:
        await w.disconnect()
        w.close()


async def test_at_real_time_pace_log_rows_ride_with_the_audio() -> None:
    """A reply streamed at real-time pace, its view reporting what it played: log rows, text and the
    conversation's changes go out in the audio's comm messages, hardly ever in one of their own (each
    comm message costs the kernel ~100 us and the page a dispatch)."""
    async with _audio_session_messages() as (w, raw):
        reports = asyncio.ensure_future(report_played(w))
        await w.send_text("Please tell me a story about a lighthouse keeper.")
        await w.wait_for("response.done", timeout=30)
        reports.cancel()

    def kinds(data: dict[str, Any]) -> set[str]:
        content = data.get("content") or {}
        parts = content.get("parts", [content]) if content.get("type") == "batch" else [content]
        return {part.get("type", "") for part in parts}

    messages = [kinds(data) for data in raw if data.get("method") == "custom"]
    with_audio = [k for k in messages if "audio" in k]
    # Between the first audio and the last, a message with rows and no audio is the exception.
    first = next(i for i, k in enumerate(messages) if "audio" in k)
    last = max(i for i, k in enumerate(messages) if "audio" in k)
    rows_alone = [k for k in messages[first:last] if "log.append" in k and "audio" not in k]
    assert len(with_audio) >= 5
    assert sum("log.append" in k for k in with_audio) >= len(with_audio) // 2
    assert len(rows_alone) <= len(with_audio) // 8, (len(rows_alone), len(with_audio))


async def test_a_turns_first_audio_goes_before_the_trait_updates_of_its_flush() -> None:
    """With the audio arriving with a turn's first events, the comm message carrying the item's first audio
    goes out before the reply trait's update (the page handles its kernel messages in order: an update sent
    first delays the audio). The flush that rides with the audio used to send its traits before the batch."""
    async with _audio_session_messages() as (w, raw):
        await w.send_text("Say something short.")
        await w.wait_for("response.output_audio.delta", timeout=10)
        await asyncio.sleep(0.3)  # a flush period and then some: the first flushes are out

    def parts(data: dict[str, Any]) -> list[dict[str, Any]]:
        content = data.get("content") or {}
        return list(content.get("parts", [content])) if content.get("type") == "batch" else [content]

    first_audio = next(
        i
        for i, d in enumerate(raw)
        if d.get("method") == "custom" and any(p["type"] == "audio" for p in parts(d))
    )
    streaming = next(
        i
        for i, d in enumerate(raw)
        if d.get("method") == "update" and (d["state"].get("reply") or {}).get("item_id") is not None
    )
    assert first_audio < streaming, [
        (d.get("method"), [p.get("type") for p in parts(d)]) for d in raw[: streaming + 2]
    ]


def test_traits_changed_in_a_batch_go_after_it_as_one_update() -> None:
    """In ViewSync.batched, trait changes are held: the batch goes first, then one update with them all."""
    w = RealtimeWidget()
    raw: list[dict[str, Any]] = []
    w.comm.send = lambda data=None, buffers=None, **_: raw.append(data or {})
    try:
        with w._views.batched():
            w._views.post({"type": "audio", "item": "item_1"}, [b"\0\0"])
            w.reply = {"status": "streaming", "item_id": "item_1"}
            w._views.post({"type": "reply.text", "item": "item_1", "at": 0, "text": "Hi"})
            w.talk_notice = "waiting"
        assert [d.get("method") for d in raw] == ["custom", "update"]
        assert [p["type"] for p in raw[0]["content"]["parts"]] == ["audio", "reply.text"]
        assert raw[1]["state"] == {
            "reply": {"status": "streaming", "item_id": "item_1"},
            "talk_notice": "waiting",
        }
    finally:
        w.close()
