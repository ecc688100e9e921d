"""The simulator's streaming machinery: chunk-by-chunk speech rendering and deferred synthesis."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rtwidget.server import SimSession
from rtwidget.server.voice import prepare, synthesize

SENTENCE = "Hello, my name is Ada; I would like to hear about the weather in Zürich?"


def _user(text: str) -> str:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return json.dumps({"type": "conversation.item.create", "item": item})


@pytest.mark.parametrize(("rate_hz", "chunk"), [(24_000, 2400), (24_000, 777), (8_000, 800)])
def test_speech_rendered_in_chunks_matches_whole(rate_hz: int, chunk: int) -> None:
    """Rendering a sentence chunk by chunk gives exactly the bytes of synthesizing it at once."""
    stream = prepare(SENTENCE, "echo", rate_hz=rate_hz)
    whole = synthesize(SENTENCE, "echo", rate_hz=rate_hz)
    parts = b"".join(stream.pcm(lo, lo + chunk) for lo in range(0, stream.n_samples, chunk))
    assert parts == whole.pcm
    assert list(stream.words) == whole.words


def _transcript(session: SimSession, *, deferred: bool) -> list[dict[str, Any]]:
    now = 0.0
    out = list(session.start(now))
    for text in ("Hi, my name is Ada.", "What can you do as a local simulator?"):
        out += session.receive(_user(text), now)
        out += session.receive('{"type": "response.create"}', now)
        while True:
            if deferred and session.work_deadline() is not None:
                session.work()
                out += session.advance(now)
                continue
            due = session.next_deadline()
            if due is None:
                break
            now = due
            out += session.advance(now)
    return [e.to_dict() for e in out]


def test_deferred_synthesis_gives_the_same_events() -> None:
    """With synthesis left to `work()`, a session sends exactly the events it sends without."""
    inline = _transcript(SimSession(speed=50.0, seed=3), deferred=False)
    deferred = _transcript(SimSession(speed=50.0, seed=3, defer_synthesis=True), deferred=True)
    assert deferred == inline
    assert sum(e["type"] == "response.output_audio.delta" for e in inline) > 10


def test_deferred_reply_waits_for_its_synthesis() -> None:
    """A deferred reply schedules no audio until `work()` has synthesized its first sentence."""
    session = SimSession(speed=50.0, defer_synthesis=True)
    session.receive(_user("Hi, my name is Ada."), 0.0)
    started = session.receive('{"type": "response.create"}', 0.0)
    assert not any(e.type == "response.output_audio.delta" for e in started)
    assert session.next_deadline() is None
    assert session.work_deadline() == 0.0
    session.work()
    assert any(e.type == "response.output_audio.delta" for e in session.advance(0.0))
