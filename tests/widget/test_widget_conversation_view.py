"""The conversation panel's messages: what a view receives for text, audio and tool turns, a truncation and a
delete, applied the way widget.js applies them; increments whose bytes grow with the reply, not its square."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from test_widget_increments import ScriptedTransport

from rtwidget.server.voice import synthesize
from rtwidget.widget import RealtimeWidget
from rtwidget.widget.increments import split_batch

SPEED = 50
WAIT_S = 20
URL = "ws://scripted.invalid/v1/realtime"
KEY = "sk-test-conversation-0123456789"
PTT = {"audio": {"input": {"turn_detection": None, "transcription": {"model": "gpt-4o-mini-transcribe"}}}}


class View:
    """One view of a widget: what the kernel sends it, and the conversation as widget.js builds it."""

    def __init__(self, w: RealtimeWidget, view: str = "v1") -> None:
        self.view = view
        self.sent: list[tuple[dict[str, Any], list[bytes]]] = []
        w.comm.send = self._send
        w._handle_custom_msg({"type": "ready", "view": view, "limit": 50}, [])

    def _send(self, data: dict[str, Any] | None = None, buffers: Any = None, **_: Any) -> None:
        data = data or {}
        if data.get("method") != "custom":
            self.sent.append((data, buffers or []))
            return
        for content, own in split_batch(data["content"], buffers):  # a batch: each message it carries
            self.sent.append(({**data, "content": content}, own))

    def custom(self, *types: str) -> list[dict[str, Any]]:
        out = [d["content"] for d, _ in self.sent if d.get("method") == "custom"]
        return [c for c in out if c["type"] in types and c.get("view") in (None, "*", self.view)]

    def conv_bytes(self) -> int:
        return sum(len(json.dumps(m)) for m in self.custom("conv.window", "conv.items"))

    def items(self) -> list[dict[str, Any]]:
        """The items the view shows, in order, after applying conv.window and conv.items as widget.js does."""
        shown: list[dict[str, Any]] = []
        for msg in self.custom("conv.window", "conv.items"):
            if msg["type"] == "conv.window":
                shown = [dict(it) for it in msg["items"]]
                continue
            for up in msg["items"]:
                old = next((it for it in shown if it["id"] == up["id"]), None)
                if old is None:
                    ids = [it["id"] for it in shown]
                    at = ids.index(up["after"]) + 1 if up.get("after") in ids else len(shown)
                    shown.insert(0 if up.get("after", "") is None else at, old := {"text": ""})
                text = old["text"]
                old.update(up)
                if "at" in up:
                    old["text"] = text[: up["at"]] + up["text"]
                else:
                    old["text"] = text
            shown = [it for it in shown if it["id"] not in msg["removed"]]
        return shown


@pytest.fixture
async def w() -> AsyncIterator[RealtimeWidget]:
    widget = RealtimeWidget(simulator_speed=SPEED)
    await widget.connect()
    await widget.wait_for("session.created", timeout=WAIT_S, since=0)
    yield widget
    await widget.disconnect()
    widget.close()


async def items_added(w: RealtimeWidget, n: int) -> None:
    """Wait until the conversation holds ``n`` items."""
    enough = asyncio.Event()

    def check(_event: Any) -> None:
        if len(w.items) >= n:
            enough.set()

    w.on("conversation.item.added", check)
    check(None)
    async with asyncio.timeout(WAIT_S):
        await enough.wait()
    w.off("conversation.item.added", check)


async def settled(w: RealtimeWidget, view: View) -> list[dict[str, Any]]:
    """Flush now (no timer involved) and return what the view shows."""
    w._views.flush()
    return view.items()


async def test_a_text_turn_shows_the_user_then_the_streamed_reply(w: RealtimeWidget) -> None:
    """The user's message and the model's reply arrive as two items in order, with roles, status and text."""
    view = View(w)
    await w.update_session(output_modalities=["text"])
    await w.wait_for("session.updated", timeout=WAIT_S)
    await w.send_text("Hello! Who are you?")
    done = await w.wait_for("response.done", timeout=WAIT_S)
    shown = await settled(w, view)
    assert [(it["role"], it["type"], it["status"]) for it in shown] == [
        ("user", "message", "completed"),
        ("assistant", "message", "completed"),
    ]
    assert shown[0]["text"] == "Hello! Who are you?"
    reply = next(o for o in done.wire()["response"]["output"] if o["type"] == "message")
    assert shown[1]["id"] == reply["id"]
    assert shown[1]["text"] == reply["content"][0]["text"]
    assert [it.id for it in w.items] == [it["id"] for it in shown]


async def test_a_spoken_turn_shows_the_transcript_and_both_audios(w: RealtimeWidget) -> None:
    """A spoken user turn carries its transcript and its audio; the spoken reply its transcript and audio."""
    view = View(w)
    await w.update_session(PTT)
    await w.wait_for("session.updated", timeout=WAIT_S)
    speech = synthesize("hello there how are you")
    await w.send_audio(speech.pcm, rate=24000, realtime=False)
    await w.wait_for("response.done", timeout=WAIT_S)
    await w.wait_for("conversation.item.input_audio_transcription.completed", timeout=WAIT_S, since=0)
    user, reply = await settled(w, view)
    assert (user["role"], user["transcription"], user["text"]) == (
        "user",
        "completed",
        "hello there how are you",
    )
    assert user["audio"]["received_ms"] == round(len(speech.pcm) / 48)
    assert user["audio"]["held"] is True
    assert (reply["role"], reply["status"]) == ("assistant", "completed")
    assert reply["text"] == w.conversation.item(reply["id"]).transcript
    assert reply["audio"]["received_ms"] == reply["audio"]["heard_ms"] > 0
    assert reply["audio"]["end_ms"] is None


async def test_a_tool_call_shows_its_arguments_and_its_output(w: RealtimeWidget) -> None:
    """A call of a registered tool is an assistant function_call item, its output a tool item after it."""

    def weather(city: str) -> dict[str, Any]:
        """Get the current weather for a city.

        Args:
            city: The city.
        """
        return {"city": city, "sky": "clear"}

    view = View(w)
    w.tool(weather)
    await w.update_session(output_modalities=["text"])
    await w.wait_for("session.updated", timeout=WAIT_S)
    await w.send_text("What is the weather in Paris?")
    await w.wait_for("response.done", timeout=WAIT_S)
    since = next(e.index for e in w.events if e.direction == "server" and e.type == "response.done") + 1
    await w.wait_for("response.done", timeout=WAIT_S, since=since)  # the reply after the tool's output
    shown = await settled(w, view)
    kinds = [(it["type"], it["role"]) for it in shown]
    assert kinds == [
        ("message", "user"),
        ("function_call", "assistant"),
        ("function_call_output", "tool"),
        ("message", "assistant"),
    ]
    call, output = shown[1], shown[2]
    assert call["name"] == "weather"
    assert json.loads(call["text"]) == {"city": "Paris"}
    assert output["call_id"] == call["call_id"]
    assert json.loads(output["text"]) == {"city": "Paris", "sky": "clear"}


async def test_stop_mid_reply_marks_the_item_interrupted_at_what_was_heard(w: RealtimeWidget) -> None:
    """A truncation makes the item interrupted, with the cut, what was received, and heard = the cut."""
    view = View(w)
    await w.send_text("Please tell me a long story about the sea, with many details.")
    delta = await w.wait_for("response.output_audio.delta", timeout=WAIT_S)
    await w.wait_for("response.output_audio.delta", timeout=WAIT_S)
    await w.stop(audio_end_ms=20)
    await w.wait_for("conversation.item.truncated", timeout=WAIT_S)
    shown = await settled(w, view)
    reply = next(it for it in shown if it["id"] == delta.item_id)
    assert reply["status"] == "interrupted"
    assert reply["audio"]["end_ms"] == reply["audio"]["heard_ms"] == 20
    assert reply["audio"]["received_ms"] > 20
    w._handle_custom_msg({"type": "conv.audio", "view": "v1", "req": 1, "item": delta.item_id}, [])
    ((msg, buffers),) = [
        (d["content"], b) for d, b in view.sent if d.get("content", {}).get("type") == "conv.audio"
    ]
    assert (msg["item"], msg["ms"], len(buffers[0])) == (delta.item_id, 20, 20 * 48)


async def test_delete_sends_the_event_and_the_item_leaves_on_deleted(w: RealtimeWidget) -> None:
    """The view's delete sends conversation.item.delete; the server's deleted removes it from the view."""
    view = View(w)
    await w.send_text("Hello", respond=False)
    added = await w.wait_for("conversation.item.added", timeout=WAIT_S)
    [item] = await settled(w, view)
    w._handle_custom_msg({"type": "conv.delete", "view": "v1", "seq": 1, "item": item["id"]}, [])
    await w.wait_for("conversation.item.deleted", timeout=WAIT_S)
    sent = [e.data for e in w.events if e.direction == "client" and e.type == "conversation.item.delete"]
    assert [d["item_id"] for d in sent] == [added.item.id]
    assert await settled(w, view) == []
    assert view.custom("conv.items")[-1]["removed"] == [added.item.id]


async def test_a_new_view_gets_a_window_and_a_new_session_empties_every_view(w: RealtimeWidget) -> None:
    """A view that joins later gets the items whole; after a reconnect every view gets an empty window."""
    View(w)
    await w.send_text("one", respond=False)
    await w.send_text("two", respond=False)
    await items_added(w, 2)
    w._views.flush()
    later = View(w, "v2")
    (window,) = later.custom("conv.window")
    assert [it["text"] for it in window["items"]] == ["one", "two"]
    assert (window["offset"], window["total"]) == (0, 2)
    await w.disconnect()
    await w.connect()
    await w.wait_for("session.created", timeout=WAIT_S)
    w._views.flush()
    assert later.custom("conv.window")[-1]["items"] == []
    assert later.custom("conv.window")[-1]["view"] == "*"  # every view, the first one too


async def _scripted(api_key: str | None = None) -> tuple[RealtimeWidget, ScriptedTransport, View]:
    transport = ScriptedTransport()

    async def factory(url: str, headers: Mapping[str, str]) -> ScriptedTransport:
        return transport

    w = RealtimeWidget(url=URL, api_key=api_key, factory=factory)
    view = View(w)
    await w.connect()
    transport.push({"type": "session.created", "event_id": "ev_0", "session": {"type": "realtime"}})
    await w.wait_for("session.created", since=0)
    transport.push({"type": "response.created", "event_id": "ev_r", "response": {"id": "resp_1"}})
    item = {"id": "item_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    transport.push(
        {"type": "conversation.item.added", "event_id": "ev_a", "previous_item_id": None, "item": item}
    )
    return w, transport, view


async def _stream(w: RealtimeWidget, transport: ScriptedTransport, n_flushes: int, pieces: list[str]) -> None:
    for flush in range(n_flushes):
        for i, piece in enumerate(pieces):
            transport.push({"type": "response.output_text.delta", "event_id": f"ev_{flush}_{i}",
                            "response_id": "resp_1", "item_id": "item_1", "output_index": 0,
                            "content_index": 0, "delta": piece})  # fmt: skip
        mark = len(w.events)
        transport.push({"type": "rate_limits.updated", "event_id": f"ev_m{flush}", "rate_limits": []})
        await w.wait_for("rate_limits.updated", since=mark)
        w._views.flush()


async def test_a_long_reply_costs_bytes_in_proportion_to_its_length() -> None:
    """Four times the flushes of a streaming reply send about four times the bytes (not sixteen), each
    character once, and the view's text is the reply's."""
    w, transport, view = await _scripted()
    try:
        words = ["the ", "keeper ", "counted ", "waves. "]
        await _stream(w, transport, 50, words)
        short = view.conv_bytes()
        await _stream(w, transport, 150, words)
        long = view.conv_bytes()
        assert long < 4.5 * short
        [item] = view.items()
        assert item["text"] == "".join(words) * 200 == w.conversation.item("item_1").text
        messages = view.custom("conv.window", "conv.items")
        assert sum(len(up.get("text", "")) for m in messages for up in m["items"]) == len(item["text"])
    finally:
        await w.disconnect()
        w.close()


async def test_a_key_in_the_text_never_reaches_the_view() -> None:
    """The API key streamed in pieces is masked in what the view shows, as the reply box masks it."""
    w, transport, view = await _scripted(api_key=KEY)
    try:
        await _stream(w, transport, 1, ["your key is ", KEY[:10]])
        await _stream(w, transport, 1, [KEY[10:], " ok"])
        [item] = view.items()
        assert item["text"] == "your key is *** ok"
        assert KEY[10:] not in json.dumps(view.custom("conv.window", "conv.items"))
    finally:
        await w.disconnect()
        w.close()


def test_conv_audio_of_an_unknown_item_says_so() -> None:
    """``conv.audio`` of an unknown item says there is none, with no buffer."""
    w = RealtimeWidget(url=URL)
    view = View(w)
    w._handle_custom_msg({"type": "conv.audio", "view": "v1", "req": 1, "item": "nope"}, [])
    ((msg, buffers),) = [
        (d["content"], b) for d, b in view.sent if d.get("content", {}).get("type") == "conv.audio"
    ]
    assert (msg["reason"], buffers) == ("no audio", [])
    w.close()


async def test_a_scrolled_up_view_pages_older_items_in(w: RealtimeWidget) -> None:
    """A window holds the newest items; conv.page returns the ones before a given item, oldest first."""
    for i in range(6):
        await w.send_text(f"message {i}", respond=False)
    await items_added(w, 6)
    view = View(w, "v2")
    ids = [it.id for it in w.items]
    w._handle_custom_msg({"type": "conv.window", "view": "v2", "req": 1, "limit": 2}, [])
    window = view.custom("conv.window")[-1]
    assert ([it["id"] for it in window["items"]], window["offset"]) == (ids[4:], 4)
    w._handle_custom_msg({"type": "conv.page", "view": "v2", "req": 2, "before": ids[4], "limit": 3}, [])
    (page,) = view.custom("conv.page")
    assert [it["text"] for it in page["items"]] == ["message 1", "message 2", "message 3"]
    assert (page["offset"], page["total"]) == (1, 6)


async def _received(view: View, predicate: Any) -> dict[str, Any]:
    """The first conv.items message for which ``predicate(message)`` holds, waiting for the flush timer."""
    async with asyncio.timeout(WAIT_S):
        while True:
            found = [m for m in view.custom("conv.items") if predicate(m)]
            if found:
                return found[0]
            await asyncio.sleep(0.01)


async def test_a_reply_carries_its_latency_stages_and_the_session_summary(w: RealtimeWidget) -> None:
    """The reply item gets its response's stages as w.metrics has them, the messages the session's summary;
    a playback report after the turn's last frame reaches the views on its own (the last sample heard)."""
    from rtwidget.widget.metrics import STAGES

    view = View(w)
    await w.send_text("Hello! Who are you?")
    delta = await w.wait_for("response.output_audio.delta", timeout=WAIT_S)
    w._handle_custom_msg({"type": "audio.started", "item": delta.item_id, "at_ms": time.time() * 1000.0}, [])
    await w.wait_for("response.done", timeout=WAIT_S)
    user, reply = await settled(w, view)
    (row,) = w._metrics.rows()
    assert "timeline" not in user
    assert reply["timeline"] == {"turn": "response.create", **{s: row[s] for s in STAGES}}
    assert reply["timeline"]["to_first_played_ms"] is not None
    assert reply["timeline"]["to_last_played_ms"] is None  # nothing reported as played yet
    latest = [m for m in view.custom("conv.window", "conv.items") if "latency" in m][-1]
    assert latest["latency"] == w.latency_summary()

    received = w.audio_stats[delta.item_id]["received_ms"]
    w._handle_custom_msg({"type": "played", "items": {delta.item_id: received}}, [])
    late = await _received(
        view, lambda m: any((it.get("timeline") or {}).get("to_last_played_ms") for it in m["items"])
    )
    (timed,) = [it for it in late["items"] if "timeline" in it]
    assert timed["id"] == reply["id"]
    assert timed["timeline"]["to_last_played_ms"] == w._metrics.rows()[0]["to_last_played_ms"]
    assert late["latency"]["to_last_played_ms"]["n"] == 1


async def test_a_new_view_gets_the_stages_in_its_window(w: RealtimeWidget) -> None:
    """A view displayed after the turn draws the timeline and the chart from its window alone."""
    await w.update_session(output_modalities=["text"])
    await w.wait_for("session.updated", timeout=WAIT_S)
    await w.send_text("hello")
    await w.wait_for("response.done", timeout=WAIT_S)
    view = View(w, "v2")
    (window,) = view.custom("conv.window")
    user, reply = window["items"]
    assert "timeline" not in user
    timeline = reply["timeline"]
    assert timeline["turn"] == "response.create"
    assert 0 <= timeline["to_created_ms"] <= timeline["to_first_text_ms"] <= timeline["to_done_ms"]
    assert timeline["to_first_audio_ms"] is None
    assert window["latency"]["to_created_ms"]["n"] == 1
