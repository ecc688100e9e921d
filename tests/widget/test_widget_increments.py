"""What the views receive grows with what happened, not its square: errors and reply text as increments."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from rtwidget.client import PermanentError
from rtwidget.widget import RealtimeWidget
from rtwidget.widget.console import MAX_ERRORS_SHOWN
from rtwidget.widget.increments import ReplyStream, split_batch

URL = "ws://scripted.invalid/v1/realtime"
SESSION = {"type": "session.created", "event_id": "ev_0", "session": {"type": "realtime", "id": "sess_1"}}
MARK = {"type": "rate_limits.updated", "event_id": "ev_mark", "rate_limits": []}


class ScriptedTransport:
    """A transport whose server frames are pushed by the test."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._code: int | None = None

    async def send(self, frame: str | bytes) -> None:
        """Client frames are not needed here."""

    async def recv(self) -> str:
        frame = await self.inbox.get()
        if frame is None:
            raise PermanentError("closed", close_code=self._code, close_reason="")
        return frame

    async def ping(self) -> float:
        return 0.0

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._code = code
        self.inbox.put_nowait(None)

    @property
    def close_code(self) -> int | None:
        return self._code

    @property
    def close_reason(self) -> str | None:
        return ""

    def push(self, event: Mapping[str, Any] | str) -> None:
        self.inbox.put_nowait(event if isinstance(event, str) else json.dumps(event))


class Views:
    """Every message the kernel sends to the views, as the comm would carry it."""

    def __init__(self, w: RealtimeWidget) -> None:
        self.sent: list[dict[str, Any]] = []
        w.comm.send = self._send

    def _send(self, data: dict[str, Any] | None = None, buffers: Any = None, **_: Any) -> None:
        data = data or {}
        if data.get("method") != "custom":
            self.sent.append(data)
            return
        for content, _own in split_batch(data["content"], buffers):  # a batch: each message it carries
            self.sent.append({**data, "content": content})

    def custom(self, *types: str) -> list[dict[str, Any]]:
        return [
            d["content"] for d in self.sent if d.get("method") == "custom" and d["content"]["type"] in types
        ]

    def trait_updates(self, name: str) -> list[Any]:
        return [
            d["state"][name] for d in self.sent if d.get("method") == "update" and name in d.get("state", {})
        ]

    def reply_text(self) -> str:
        """The reply text a view ends with, applying reply.text messages as widget.js does."""
        text = ""
        for msg in self.custom("reply.text"):
            text = text[: msg["at"]] + msg["text"]
        return text


async def _open() -> tuple[RealtimeWidget, ScriptedTransport, Views]:
    transport = ScriptedTransport()

    async def factory(url: str, headers: Mapping[str, str]) -> ScriptedTransport:
        return transport

    w = RealtimeWidget(url=URL, factory=factory)
    views = Views(w)
    w._handle_custom_msg({"type": "ready", "view": "v1", "limit": 50}, [])
    await w.connect()
    transport.push(SESSION)
    await w.wait_for("session.created", since=0)
    return w, transport, views


async def _settle(w: RealtimeWidget, transport: ScriptedTransport) -> None:
    """Wait until the pushed frames are handled, then flush to the views (no timer involved)."""
    since = len(w.events)
    transport.push(MARK)
    await w.wait_for("rate_limits.updated", since=since)
    w._views.flush()


def _delta(i: int, text: str) -> dict[str, Any]:
    return {"type": "response.output_text.delta", "event_id": f"ev_{i}", "response_id": "resp_1",
            "item_id": "item_1", "output_index": 0, "content_index": 0, "delta": text}  # fmt: skip


async def test_each_error_reaches_the_views_once() -> None:
    """N bad frames over many flushes send each error once (O(N) bytes), never the whole list again."""
    w, transport, views = await _open()
    try:
        for batch in range(30):
            for i in range(10):
                transport.push(f'{{"type": "cut {batch}.{i}')
            await _settle(w, transport)
        appended = [e for msg in views.custom("errors.append") for e in msg["errors"]]
        assert len(appended) == w.error_count == 300
        assert len({e["row"] for e in appended}) == 300
        assert views.trait_updates("errors") == []
        assert len(w.errors) == MAX_ERRORS_SHOWN
    finally:
        await w.disconnect()
        w.close()


async def test_a_new_view_gets_the_pinned_errors_and_a_clear_empties_them() -> None:
    """A view that says ready later gets the last errors in one errors.window; Clear sends an empty one."""
    w, transport, views = await _open()
    try:
        for i in range(MAX_ERRORS_SHOWN + 5):
            transport.push(f"not json {i}")
        await _settle(w, transport)
        w._handle_custom_msg({"type": "ready", "view": "v2", "limit": 50}, [])
        (window,) = [m for m in views.custom("errors.window") if m["view"] == "v2"]
        assert [e["row"] for e in window["errors"]] == [e["row"] for e in w.errors]
        assert window["max"] == MAX_ERRORS_SHOWN
        w.clear_log()
        assert views.custom("errors.window")[-1] == {
            "type": "errors.window", "view": "*", "errors": [], "max": MAX_ERRORS_SHOWN,
        }  # fmt: skip
    finally:
        await w.disconnect()
        w.close()


async def test_reply_text_goes_to_the_views_as_appends() -> None:
    """A reply of many deltas over many flushes sends each character once; the view's text is the reply's."""
    w, transport, views = await _open()
    try:
        transport.push({"type": "response.created", "event_id": "ev_r", "response": {"id": "resp_1"}})
        words = ("the ", "keeper ", "counted ", "waves. ")
        n = 0
        for _ in range(40):
            for _ in range(25):
                transport.push(_delta(n, words[n % len(words)]))
                n += 1
            await _settle(w, transport)
        expected = "".join(words[i % len(words)] for i in range(n))
        messages = views.custom("reply.text")
        assert views.reply_text() == expected
        assert sum(len(m["text"]) for m in messages) == len(expected)
        assert all("text" not in reply for reply in views.trait_updates("reply"))
        assert w.reply["item_id"] == "item_1"
    finally:
        await w.disconnect()
        w.close()


async def test_a_new_view_gets_the_whole_reply_text_and_a_new_reply_replaces_it() -> None:
    """A view that says ready mid-reply gets the text so far; the next response's text starts afresh."""
    w, transport, views = await _open()
    try:
        transport.push({"type": "response.created", "event_id": "ev_r", "response": {"id": "resp_1"}})
        transport.push(_delta(1, "Hello "))
        transport.push(_delta(2, "there."))
        await _settle(w, transport)
        w._handle_custom_msg({"type": "ready", "view": "v2", "limit": 50}, [])
        (hello,) = [m for m in views.custom("reply.text") if m.get("view") == "v2"]
        assert (hello["item"], hello["at"], hello["text"]) == ("item_1", 0, "Hello there.")
        transport.push(
            {"type": "response.done", "event_id": "ev_d", "response": {"id": "resp_1", "status": "completed"}}
        )
        transport.push({"type": "response.created", "event_id": "ev_r2", "response": {"id": "resp_2"}})
        transport.push({**_delta(3, "Bye."), "response_id": "resp_2", "item_id": "item_2"})
        await _settle(w, transport)
        assert views.custom("reply.text")[-1] == {
            "type": "reply.text",
            "item": "item_2",
            "at": 0,
            "text": "Bye.",
        }
        assert views.reply_text() == "Bye."
    finally:
        await w.disconnect()
        w.close()


def _apply(text: str, change: tuple[int, str] | None) -> str:
    return text if change is None else text[: change[0]] + change[1]


def test_reply_increments_mask_a_key_split_across_them() -> None:
    """A key that arrives in two pieces is masked in what the view ends with; so is one inside a piece."""
    key = "sk-test-0123456789abcdefghij"
    stream = ReplyStream()
    raw, view = "Your key is ", ""
    view = _apply(view, stream.update("item_1", raw, [key]))
    for piece in (key[:9], key[9:], " and again ", key, "."):
        raw += piece
        view = _apply(view, stream.update("item_1", raw, [key]))
    assert view == "Your key is *** and again ***."
    assert stream.update("item_1", raw, [key]) is None


def test_reply_increments_are_the_new_text_only() -> None:
    """Appends carry only the new characters; a changed text or another item is sent whole."""
    stream = ReplyStream()
    assert stream.update("a", "Hello", []) == (0, "Hello")
    assert stream.update("a", "Hello there", []) == (5, " there")
    assert stream.update("a", "Hello", []) == (0, "Hello")  # shorter: not an append
    assert stream.update("b", "Bye", []) == (0, "Bye")
