"""The in-memory transport: a client talks to the simulator with no socket, frames as JSON text both ways."""

from __future__ import annotations

import pytest

from rtwidget.client import PermanentError, connect, memory_factory

URL = "ws://sim/v1/realtime"
TEXT_TURN = [
    {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}},
    {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]},
    },
    {"type": "response.create"},
]


async def test_text_turn_completes() -> None:
    """A text turn over the in-memory transport streams deltas and ends with response.done."""
    seen: list[str] = []
    async with connect(URL, factory=memory_factory(speed=50)) as conn:
        conn.on_frame(lambda direction, raw, *_: seen.append(direction) if isinstance(raw, str) else None)
        for event in TEXT_TURN:
            await conn.send(event)
        text = ""
        async for event in conn:
            if event.type == "response.output_text.delta":
                text += event.delta
            if event.type == "response.done":
                break
    assert text
    assert "client" in seen
    assert "server" in seen


async def test_audio_turn_streams_audio() -> None:
    """An audio turn delivers PCM audio deltas, paced by the session's clock."""
    async with connect(URL, factory=memory_factory(speed=100)) as conn:
        await conn.send(TEXT_TURN[1])
        await conn.send({"type": "response.create"})
        audio = 0
        async for event in conn:
            if event.type == "response.output_audio.delta":
                audio += len(event.audio)
            if event.type == "response.done":
                break
    assert audio > 0


async def test_refused_key_closes_with_3000() -> None:
    """A wrong key is refused as the live server does: an error event, then close 3000."""
    async with connect(URL, api_key="wrong-key", factory=memory_factory(require_key="right-key")) as conn:
        first = await conn.recv()
        assert first.type == "error"
        with pytest.raises(PermanentError) as caught:
            async for _ in conn:
                pass
    assert caught.value.close_code == 3000
