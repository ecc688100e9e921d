"""Record, export, import and replay: a real simulator session written out and rebuilt with no server."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from rtwidget.server import serve
from rtwidget.widget import RealtimeWidget, recording
from rtwidget.widget.increments import split_batch

FAST = 50.0  # simulator pace: a spoken reply well under a second
KEY = "sk-test-recording-0123456789abcdef"  # a fake key: the simulator checks it, nothing else sees it


async def talk(w: RealtimeWidget) -> None:
    """A text turn, then a spoken one (text and audio in one session)."""
    await w.connect()
    await w.update_session(output_modalities=["text"])
    await w.wait_for("session.updated")
    await w.send_text("hello")
    await w.wait_for("response.done")
    await w.update_session(output_modalities=["audio"])
    await w.wait_for("session.updated")
    await w.send_text("tell me a story")
    await w.wait_for("response.done")
    await w.disconnect()


@pytest.fixture
async def live() -> AsyncIterator[RealtimeWidget]:
    """A widget that held a session with the embedded simulator (now closed)."""
    w = RealtimeWidget(simulator_speed=FAST)
    try:
        await talk(w)
        yield w
    finally:
        await w.disconnect()
        w.close()


def entries(w: RealtimeWidget) -> list[tuple[str, str, Any]]:
    return [(e.direction, e.type, e.data) for e in w.events]


def rows(w: RealtimeWidget) -> list[dict[str, Any]]:
    """Every log row as a view gets it (id, direction, time, type, count, bytes, ms, summary, flags)."""
    return [w._log._view(row) for row in w._log.rows]


def audio_of(w: RealtimeWidget) -> list[bytes | None]:
    return [item.audio for item in w.conversation.items]  # the bytes the conversation holds, as received


def texts(w: RealtimeWidget) -> list[tuple[str | None, str]]:
    return [(item.role, item.text) for item in w.items]


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_export_then_replay_rebuilds_rows_items_and_audio(live: RealtimeWidget, tmp_path: Path) -> None:
    """A replay of an export, with no server, has the same log rows, entries, item texts and audio bytes."""
    path = tmp_path / "session.jsonl"
    assert live.export_log(path) == len(live.events)
    assert any(pcm for pcm in audio_of(live))  # the session did have audio
    w = RealtimeWidget.replay(path)
    try:
        assert (w.status, w.backend) == ("replay", "replay: session.jsonl")
        assert rows(w) == rows(live)
        assert entries(w) == entries(live)
        assert texts(w) == texts(live)
        assert audio_of(w) == audio_of(live)
        with pytest.raises(RuntimeError, match="replay"):
            await w.connect()
        assert w.status == "replay"
        assert texts(w) == texts(live)  # the refused connect left the state alone
    finally:
        w.close()


async def test_export_has_a_header_and_the_exact_audio_bytes(live: RealtimeWidget, tmp_path: Path) -> None:
    """The header names the format and session; every audio delta carries the bytes the server sent."""
    path = tmp_path / "session.jsonl"
    live.export_log(path)
    head, *body = lines(path)
    assert head["format"] == "rtwidget.recording"
    assert head["version"] == 2
    assert (head["dialect"], head["model"], head["backend"]) == ("ga", live.model, "local simulator")
    assert head["entries"] == len(body) == len(live.events)
    deltas = [line for line in body if line["type"] == "response.output_audio.delta"]
    pcm = b"".join(base64.b64decode(line["event"]["delta"]) for line in deltas)
    spoken = next(p for p in audio_of(live) if p)
    assert pcm == spoken
    assert all(line["audio"]["bytes"] == len(base64.b64decode(line["event"]["delta"])) for line in deltas)


async def test_export_without_audio_replays_texts_and_marks_audio_absent(
    live: RealtimeWidget, tmp_path: Path
) -> None:
    """``audio=False`` drops payloads, keeps sizes; its replay has the same texts and says audio is absent."""
    path = tmp_path / "no-audio.jsonl"
    live.export_log(path, audio=False)
    body = lines(path)[1:]
    deltas = [line for line in body if line["type"] == "response.output_audio.delta"]
    assert deltas
    assert all(line["event"]["delta"] is None and line["audio"]["omitted"] for line in deltas)
    assert sum(line["audio"]["bytes"] for line in deltas) == len(next(p for p in audio_of(live) if p))
    w = RealtimeWidget.replay(path)
    try:
        assert texts(w) == texts(live)
        assert not any(audio_of(w))
        replayed = [e for e in w.events if e.type == "response.output_audio.delta"]
        assert all("left out of the recording" in e.data["delta"] for e in replayed)
        # the rows still show how much audio there was
        assert [(r["y"], r.get("b"), r.get("ms")) for r in rows(w)] == [
            (r["y"], r.get("b"), r.get("ms")) for r in rows(live)
        ]
        again = tmp_path / "again.jsonl"
        w.export_log(again)  # exported again, the absent audio stays absent, sizes kept
        assert [line.get("audio") for line in lines(again)[1:]] == [line.get("audio") for line in body]
    finally:
        w.close()


async def test_audio_dropped_by_keep_audio_s_is_said_so_in_the_export(tmp_path: Path) -> None:
    """Audio the cap dropped is marked dropped (with its size); audio still held is exported exactly."""
    w = RealtimeWidget(simulator_speed=FAST, keep_audio_s=0.5)
    try:
        await w.connect()
        for text in ("tell me a story", "and another one"):
            await w.send_text(text)
            await w.wait_for("response.done")
        await w.disconnect()
        path = tmp_path / "capped.jsonl"
        w.export_log(path)
        body = lines(path)[1:]
        deltas = [line for line in body if line["type"] == "response.output_audio.delta"]
        dropped = [line for line in deltas if line["audio"].get("dropped")]
        kept = [line for line in deltas if not line["audio"].get("dropped")]
        assert dropped
        assert kept
        assert all(line["event"]["delta"] is None for line in dropped)
        last = w.conversation.items[-1].audio
        assert last
        kept_pcm = b"".join(base64.b64decode(line["event"]["delta"]) for line in kept)
        assert kept_pcm.endswith(last)
        assert "dropped by keep_audio_s" in RealtimeWidget.replay(path).events[dropped[0]["i"]].data["delta"]
    finally:
        await w.disconnect()
        w.close()


async def test_the_key_is_never_in_an_export(tmp_path: Path) -> None:
    """A key sent to a key-checking server and echoed back in the session is redacted from the export."""
    async with serve(port=0, speed=FAST, require_key=KEY) as sim:
        w = RealtimeWidget(url=sim.url, api_key=KEY)
        try:
            await w.connect()
            await w.update_session(instructions=f"remember {KEY}")
            await w.wait_for("session.updated")
            await w.send_text(f"my key is {KEY}")
            await w.wait_for("response.done")
            await w.disconnect()
            for audio in (True, False):
                path = tmp_path / f"key-{audio}.jsonl"
                w.export_log(path, audio=audio)
                text = path.read_text()
                assert KEY not in text
                assert "my key is" in text  # the message is there, its key masked
        finally:
            await w.disconnect()
            w.close()


def har_of(w: RealtimeWidget) -> dict[str, Any]:
    """The session as Chrome DevTools saves it: the WebSocket's frames in ``_webSocketMessages``."""
    started = 1_700_000_000.0
    messages = [
        {
            "type": "send" if e.direction == "client" else "receive",
            "time": started + e.time,
            "opcode": 1,
            "data": json.dumps(e.data),
        }
        for e in w.events
        if e.direction != "local"
    ]
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "WebInspector", "version": "537.36"},
            "entries": [
                {"request": {"method": "GET", "url": "https://example.test/app.js", "headers": []}},
                {
                    "startedDateTime": "2023-11-14T22:13:20.000Z",
                    "request": {
                        "method": "GET",
                        "url": f"wss://api.openai.com/v1/realtime?model={w.model}",
                        "headers": [{"name": "Authorization", "value": "Bearer sk-not-a-real-key-000000"}],
                    },
                    "_resourceType": "websocket",
                    "_webSocketMessages": messages,
                },
            ],
        }
    }


def wire_view(w: RealtimeWidget) -> list[tuple[Any, ...]]:
    """Frame rows only (a HAR or a cassette has no local rows): direction, type, count, bytes, ms, summary."""
    return [
        (r["d"], r["y"], r.get("n"), r.get("b"), r.get("ms"), r.get("s"), r.get("f"))
        for r in rows(w)
        if r["d"] != "l"
    ]


async def test_a_har_file_imports_with_the_same_rows(live: RealtimeWidget, tmp_path: Path) -> None:
    """A HAR of the session imports: the same frame rows, item texts and audio; times from the HAR."""
    path = tmp_path / "session.har"
    path.write_text(json.dumps(har_of(live)))
    w = RealtimeWidget.replay(path)
    try:
        assert w.backend == "replay: session.har"
        assert w.model == live.model
        assert wire_view(w) == wire_view(live)
        assert texts(w) == texts(live)
        assert audio_of(w) == audio_of(live)
        first = next(e for e in live.events if e.direction != "local")
        assert w.events[-1].time == pytest.approx(live.events[-2].time - first.time, abs=1e-3)
    finally:
        w.close()


async def test_a_pydantic_ai_cassette_imports_with_the_same_rows(
    live: RealtimeWidget, tmp_path: Path
) -> None:
    """A pydantic-ai realtime cassette (YAML ``interactions``) of the session imports with the same rows."""
    yaml = pytest.importorskip("yaml")
    cassette = {
        "version": 1,
        "interactions": [
            {
                "kind": "message",
                "direction": "sent" if e.direction == "client" else "received",
                "data": e.data,
            }
            for e in live.events
            if e.direction != "local"
        ],
    }
    path = tmp_path / "test_turn.yaml"
    path.write_text(yaml.safe_dump(cassette, sort_keys=False, allow_unicode=True))
    w = RealtimeWidget.replay(path)
    try:
        assert wire_view(w) == wire_view(live)
        assert texts(w) == texts(live)
        assert audio_of(w) == audio_of(live)
    finally:
        w.close()


async def test_a_corrupt_line_is_reported_with_its_number_and_the_rest_imports(
    live: RealtimeWidget, tmp_path: Path
) -> None:
    """A line that is not JSON becomes a local.error row naming its line; every other line imports."""
    path = tmp_path / "session.jsonl"
    live.export_log(path)
    text = path.read_text().splitlines()
    broken = 5
    victim = json.loads(text[broken - 1])
    text[broken - 1] = text[broken - 1][:20]  # cut short, as a truncated copy would be
    path.write_text("\n".join(text) + "\n")
    w = RealtimeWidget.replay(path)
    try:
        problems = [e for e in w.events if e.type == "local.error"]
        assert len(problems) == 1
        assert problems[0].data["code"] == "import"
        assert f"line {broken}:" in problems[0].data["message"]
        assert w.error_count == 1
        expected = [x for x in entries(live) if x[2] != victim["event"] or x[1] != victim["type"]]
        assert entries(w)[1:] == expected
    finally:
        w.close()


async def test_seek_gives_the_state_at_a_time(live: RealtimeWidget, tmp_path: Path) -> None:
    """``seek(t)`` shows what had happened by ``t``: the first turn only; seeking past the end shows all."""
    path = tmp_path / "session.jsonl"
    live.export_log(path)
    first_done = next(e for e in live.events if e.type == "response.done")
    w = RealtimeWidget.replay(path)
    try:
        at = first_done.time  # the export keeps times exactly
        w.seek(at)
        assert [e.time for e in w.events] == [e.time for e in live.events if e.time <= at]
        assert w.events[-1].type == "response.done"
        assert texts(w) == texts(live)[:2]
        assert w.reply["status"] == "done"
        w.seek(0.0)
        assert w.items == []
        w.seek(float("inf"))
        assert rows(w) == rows(live)
        assert audio_of(w) == audio_of(live)
    finally:
        w.close()


async def test_play_replays_at_the_recorded_pace(live: RealtimeWidget, tmp_path: Path) -> None:
    """``play(speed)`` feeds frames on the recorded clock (scaled), publishes them, ends with the same log."""
    path = tmp_path / "session.jsonl"
    live.export_log(path)
    w = RealtimeWidget.replay(path)
    seen: list[str] = []
    w.on("response.done", lambda event: seen.append(event.response.id))
    try:
        speed = 4.0
        span = live.events[-1].time - live.events[0].time
        started = time.monotonic()
        await w.play(speed=speed)
        elapsed = time.monotonic() - started
        assert elapsed >= span / speed * 0.9
        assert len(seen) == 2
        assert rows(w) == rows(live)
        assert audio_of(w) == audio_of(live)
    finally:
        w.close()


class Comm:
    """Stands in for the widget's comm: the custom messages the kernel sends to views."""

    def __init__(self, w: RealtimeWidget) -> None:
        self.sent: list[tuple[dict[str, Any], list[Any]]] = []
        w.comm.send = self.send  # type: ignore[method-assign]

    def send(self, data: dict[str, Any] | None = None, buffers: list[Any] | None = None, **_: Any) -> None:
        if data and data.get("method") == "custom":
            self.sent.extend(split_batch(data["content"], buffers))

    def of(self, type_: str) -> list[tuple[dict[str, Any], list[Any]]]:
        return [(c, b) for c, b in self.sent if c.get("type") == type_]


async def test_the_views_export_and_import_buttons(
    live: RealtimeWidget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rt-export gets the JSONL as bytes; rt-import of those bytes turns a console into the replay; too big or
    while connected is refused with a message."""
    comm = Comm(live)
    live._handle_custom_msg({"type": "ready", "view": "v1", "limit": 10}, [])
    live._handle_custom_msg({"type": "export", "view": "v1", "seq": 1, "audio": True}, [])
    (message, buffers), *_ = comm.of("export.data")
    assert message["name"].endswith(".jsonl")
    data = bytes(buffers[0])
    assert json.loads(data.splitlines()[0])["format"] == "rtwidget.recording"

    other = RealtimeWidget(simulator_speed=FAST)
    inbox = Comm(other)
    other._handle_custom_msg({"type": "ready", "view": "v2", "limit": 10}, [])
    try:
        monkeypatch.setattr(recording, "MAX_IMPORT_BYTES", len(data) - 1)
        other._handle_custom_msg({"type": "import", "view": "v2", "seq": 1, "name": "big.jsonl"}, [data])
        refused = inbox.of("import.result")[-1][0]
        assert not refused["ok"]
        assert "at most" in refused["message"]
        assert other.status == "idle"
        monkeypatch.setattr(recording, "MAX_IMPORT_BYTES", 200 * 1024 * 1024)
        other._handle_custom_msg({"type": "import", "view": "v2", "seq": 2, "name": "s.jsonl"}, [data])
        assert inbox.of("import.result")[-1][0] == {
            "type": "import.result",
            "view": "v2",
            "ok": True,
            "message": "",
        }
        assert (other.status, other.backend) == ("replay", "replay: s.jsonl")
        assert rows(other) == rows(live)
        window = inbox.of("log.window")[-1][0]
        assert window["view"] == "*"
        assert window["total"] == len(rows(live))
    finally:
        other.close()

    busy = RealtimeWidget(simulator_speed=FAST)
    answers = Comm(busy)
    try:
        await busy.connect()
        busy._handle_custom_msg({"type": "import", "view": "v3", "seq": 1, "name": "s.jsonl"}, [data])
        assert "disconnect first" in answers.of("import.result")[-1][0]["message"]
        assert busy.status == "open"
        await asyncio.sleep(0)
    finally:
        await busy.disconnect()
        busy.close()
