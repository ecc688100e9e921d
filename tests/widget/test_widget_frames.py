"""The widget over a scripted transport: G.711 decoding, bad frames, unknown types, error links, close."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from rtwidget.audio import tone, ulaw_encode
from rtwidget.client import PermanentError
from rtwidget.widget import RealtimeWidget
from rtwidget.widget.increments import split_batch

URL = "ws://scripted.invalid/v1/realtime"


class ScriptedTransport:
    """A transport whose server frames are pushed by the test; what the client sends is kept."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self.sent: list[str | bytes] = []
        self._code: int | None = None
        self._reason: str | None = None

    async def send(self, frame: str | bytes) -> None:
        self.sent.append(frame)

    async def recv(self) -> str | bytes:
        frame = await self.inbox.get()
        if frame is None:
            raise PermanentError("closed", close_code=self._code, close_reason=self._reason)
        return frame

    async def ping(self) -> float:
        return 0.0

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._code, self._reason = code, reason
        self.inbox.put_nowait(None)

    @property
    def close_code(self) -> int | None:
        return self._code

    @property
    def close_reason(self) -> str | None:
        return self._reason

    def push(self, event: Mapping[str, Any] | str) -> None:
        self.inbox.put_nowait(event if isinstance(event, str) else json.dumps(event))


def _session(fmt: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "session.created",
        "event_id": "ev_1",
        "session": {
            "type": "realtime",
            "id": "sess_1",
            "audio": {"output": {"format": fmt, "voice": "alloy"}},
        },
    }


async def _open(transport: ScriptedTransport) -> tuple[RealtimeWidget, list[tuple[dict[str, Any], Any]]]:
    async def factory(url: str, headers: Mapping[str, str]) -> ScriptedTransport:
        return transport

    w = RealtimeWidget(url=URL, factory=factory)
    sent: list[tuple[dict[str, Any], Any]] = []
    w.comm.send = lambda data=None, buffers=None, **_: sent.append((data or {}, buffers))
    w._handle_custom_msg({"type": "ready", "view": "v1", "limit": 50}, [])
    await w.connect()
    return w, sent


def _audio_msgs(sent: list[tuple[dict[str, Any], Any]]) -> list[bytes]:
    return [
        bytes(own[0])
        for data, buffers in sent
        if data.get("method") == "custom"
        for content, own in split_batch(data["content"], buffers)
        if content["type"] == "audio"
    ]


async def test_g711_output_is_decoded_to_pcm16_at_24khz() -> None:
    """With audio/pcmu output, the view receives PCM16 at 24 kHz: three samples per G.711 byte."""
    transport = ScriptedTransport()
    w, sent = await _open(transport)
    try:
        transport.push(_session({"type": "audio/pcmu"}))
        ulaw = ulaw_encode(tone(440, 100, rate_hz=8000))  # 100 ms = 800 bytes at 8 kHz
        transport.push(
            {
                "type": "response.output_audio.delta",
                "event_id": "ev_2",
                "response_id": "resp_1",
                "item_id": "item_1",
                "output_index": 0,
                "content_index": 0,
                "delta": base64.b64encode(ulaw).decode(),
            }
        )
        transport.push(
            {"type": "response.done", "event_id": "ev_3", "response": {"id": "resp_1", "status": "completed"}}
        )
        await w.wait_for("response.done", since=0)
        (pcm,) = _audio_msgs(sent)
        assert len(pcm) == 2 * 3 * len(ulaw)
        samples = np.frombuffer(pcm, dtype="<i2")
        assert np.abs(samples).max() > 1000
        assert w.audio_stats["item_1"]["received_ms"] == 100.0
    finally:
        await w.disconnect()
        w.close()


async def test_bad_frame_and_unknown_type_are_flagged_not_fatal() -> None:
    """A non-JSON frame is logged as a bad frame (an error), an unknown type flagged; the session goes on."""
    transport = ScriptedTransport()
    w, _ = await _open(transport)
    try:
        transport.push(_session({"type": "audio/pcm", "rate": 24000}))
        transport.push("this is not json")
        transport.push({"type": "server.future_thing", "event_id": "ev_9"})
        transport.push(
            {"type": "response.done", "event_id": "ev_3", "response": {"id": "r", "status": "completed"}}
        )
        await w.wait_for("response.done", since=0)
        rows = w._log.rows
        flags = {r.type: r.flags for r in rows if r.direction == "server"}
        assert "x" in flags["(bad frame)"]
        assert "u" in flags["server.future_thing"]
        assert w.error_count == 1
        assert w.status == "open"
    finally:
        await w.disconnect()
        w.close()


async def test_server_error_links_to_the_client_event_that_caused_it() -> None:
    """An error whose event_id names a sent event is pinned with that event's row."""
    transport = ScriptedTransport()
    w, _ = await _open(transport)
    try:
        transport.push(_session({"type": "audio/pcm", "rate": 24000}))
        await w.wait_for("session.created", since=0)
        await w.send_event({"type": "response.cancel", "event_id": "evt_mine_1"})
        transport.push(
            {
                "type": "error",
                "event_id": "ev_4",
                "error": {"type": "invalid_request_error", "code": "response_cancel_not_active",
                          "message": "no active response", "event_id": "evt_mine_1"},
            }
        )  # fmt: skip
        await w.wait_for("error")
        (error,) = w.errors
        sent_row = next(e.row for e in w.events if e.direction == "client")
        assert (error["code"], error["cause_row"], error["cause_type"]) == (
            "response_cancel_not_active",
            sent_row,
            "response.cancel",
        )
    finally:
        await w.disconnect()
        w.close()


async def test_server_close_sets_status_with_code_and_reason() -> None:
    """When the server closes with an error code, status reads failed with the code, reason and a hint."""
    transport = ScriptedTransport()
    w, _ = await _open(transport)
    transport.push(_session({"type": "audio/pcm", "rate": 24000}))
    await w.wait_for("session.created", since=0)
    await transport.close(4000, "invalid_request_error.invalid_model")
    assert w._reader is not None
    await w._reader
    assert (w.status, w.close_code, w.close_reason) == ("failed", 4000, "invalid_request_error.invalid_model")
    assert "model" in w.close_hint
    assert w.events[-1].type == "local.closed"
    w.close()


def _delta(n: int, pcm: bytes) -> dict[str, Any]:
    return {
        "type": "response.output_audio.delta", "event_id": f"ev_d{n}", "response_id": "resp_1",
        "item_id": "item_1", "output_index": 0, "content_index": 0, "delta": base64.b64encode(pcm).decode(),
    }  # fmt: skip


async def test_audio_far_ahead_of_the_ear_waits_for_a_flush() -> None:
    """Each delta read in its own loop pass goes to the views at once while the views hold little of it;
    once the audio sent is more than AHEAD_MS ahead of what they reported heard, more of it rides along
    with the next flush (one message for many deltas); a played report that catches up makes it immediate
    again. Every byte arrives, in order."""
    from rtwidget.widget.view import AHEAD_MS, FLUSH_S

    transport = ScriptedTransport()
    w, sent = await _open(transport)
    try:
        transport.push(_session({"type": "audio/pcm", "rate": 24000}))
        await w.wait_for("session.created", since=0)
        chunks = [bytes([n]) * 4800 for n in range(40)]  # 40 x 100 ms
        ahead = int(AHEAD_MS // 100)
        for n, pcm in enumerate(chunks[:30]):
            transport.push(_delta(n, pcm))
            for _ in range(5):  # its own pass: read, handled, forwarded on the next iteration
                await asyncio.sleep(0)
        assert len(_audio_msgs(sent)) == ahead + 1  # one each until the views held more than AHEAD_MS
        await asyncio.sleep(FLUSH_S * 2)
        assert b"".join(_audio_msgs(sent)) == b"".join(chunks[:30])
        assert len(_audio_msgs(sent)) == ahead + 2  # the rest went in one flush
        w._handle_custom_msg({"type": "played", "items": {"item_1": 2900}}, [])
        before = len(_audio_msgs(sent))
        transport.push(_delta(30, chunks[30]))
        for _ in range(5):
            await asyncio.sleep(0)
        assert len(_audio_msgs(sent)) == before + 1
        for n in range(31, 40):
            transport.push(_delta(n, chunks[n]))
        await asyncio.sleep(FLUSH_S * 2)
        assert b"".join(_audio_msgs(sent)) == b"".join(chunks)
    finally:
        await w.disconnect()
        w.close()
