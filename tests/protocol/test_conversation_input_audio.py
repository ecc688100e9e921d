"""A user's audio item holds the audio this side appended before its commit (the server never echoes it)."""

from __future__ import annotations

import base64

import pytest

from rtwidget.protocol.conversation import Conversation

PCM = bytes(range(256)) * 10


def append(data: bytes) -> dict[str, str]:
    return {"type": "input_audio_buffer.append", "audio": base64.b64encode(data).decode()}


def committed(item_id: str) -> dict[str, object]:
    return {
        "type": "input_audio_buffer.committed",
        "event_id": "e",
        "item_id": item_id,
        "previous_item_id": None,
    }


def added(item_id: str) -> dict[str, object]:
    item = {"id": item_id, "type": "message", "role": "user", "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}]}  # fmt: skip
    return {"type": "conversation.item.added", "event_id": "e2", "item": item, "previous_item_id": None}


@pytest.mark.parametrize("item_first", [False, True])
def test_appended_audio_goes_to_the_committed_item(item_first: bool) -> None:
    conv = Conversation(keep_audio=True)
    conv.sent(append(PCM[:1000]))
    conv.sent(append(PCM[1000:]))
    for event in [added("u1"), committed("u1")] if item_first else [committed("u1"), added("u1")]:
        conv.apply(event)
    part = conv.item("u1").content[0]
    assert part.audio == PCM
    assert part.audio_ms == pytest.approx(len(PCM) / 48)


def test_a_clear_drops_what_was_appended_and_the_next_turn_starts_empty() -> None:
    conv = Conversation(keep_audio=True)
    conv.sent(append(PCM))
    conv.sent({"type": "input_audio_buffer.clear"})
    conv.sent(append(PCM[:96]))
    conv.apply(committed("u1"))
    conv.apply(added("u1"))
    conv.sent(append(PCM[:48]))
    conv.apply({"type": "input_audio_buffer.cleared", "event_id": "e3"})
    conv.apply(committed("u2"))
    conv.apply(added("u2"))
    assert conv.item("u1").content[0].audio == PCM[:96]
    assert conv.item("u2").content[0].audio is None


def test_without_keep_audio_nothing_is_held() -> None:
    conv = Conversation()
    conv.sent(append(PCM))
    conv.apply(committed("u1"))
    conv.apply(added("u1"))
    assert conv.item("u1").content[0].audio is None
