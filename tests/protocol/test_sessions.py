"""GA <-> beta mapping of sessions, response parameters and items (rtwidget.protocol.sessions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rtwidget.protocol import sessions

CORPUS = Path(__file__).parent.parent / "data" / "corpus"


def _recorded(kind: str) -> list[dict[str, Any]]:
    """Every recorded GA OpenAI server event of type `kind`."""
    found = []
    for path in sorted(CORPUS.glob("test_openai_ws__*.jsonl")):
        for line in path.read_text().splitlines():
            frame = json.loads(line)
            if frame.get("dir") == "server" and frame["event"].get("type") == kind:
                found.append(frame["event"])
    return found


def test_recorded_sessions_round_trip_through_beta():
    """Each recorded GA session, mapped to beta and back, keeps its audio, modality and token settings."""
    recorded = [e["session"] for e in _recorded("session.updated") + _recorded("session.created")]
    assert recorded
    for ga in recorded:
        beta = sessions.session_to_beta(ga)
        update = {k: v for k, v in beta.items() if k not in ("id", "object", "expires_at", "model")}
        back = sessions.session_to_ga(update, ga["type"])
        if ga["type"] == "realtime":
            assert back["output_modalities"] == ga["output_modalities"]
            assert back["max_output_tokens"] == ga["max_output_tokens"]
            assert back["audio"]["output"]["voice"] == ga["audio"]["output"]["voice"]
            assert back["audio"]["output"]["format"]["type"] == ga["audio"]["output"]["format"]["type"]
        assert back["audio"]["input"]["format"]["type"] == ga["audio"]["input"]["format"]["type"]
        assert back["audio"]["input"]["transcription"] == ga["audio"]["input"]["transcription"]


def test_beta_update_round_trips_through_ga():
    """A beta session.update mapped to GA and back is the same update (temperature kept in extra)."""
    beta = {
        "modalities": ["text", "audio"],
        "instructions": "Be brief.",
        "voice": "marin",
        "input_audio_format": "g711_ulaw",
        "output_audio_format": "pcm16",
        "input_audio_transcription": {"model": "gpt-transcribe"},
        "turn_detection": {"type": "server_vad", "threshold": 0.5},
        "max_response_output_tokens": 200,
        "speed": 1.1,
        "temperature": 0.7,
    }
    extra: dict[str, Any] = {}
    ga = sessions.session_to_ga(beta, "realtime", extra)
    assert ga["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert ga["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert extra == {"modalities": ["text", "audio"], "temperature": 0.7}
    back = sessions.ga_session_to_beta(ga)
    assert back == {k: v for k, v in beta.items() if k != "temperature"}


def test_form_audio_modality_becomes_text_and_audio():
    """A form's GA output_modalities ["audio"] asks beta for ["text", "audio"]; ["text"] stays."""
    assert sessions.ga_session_to_beta({"type": "realtime", "output_modalities": ["audio"]}) == {
        "modalities": ["text", "audio"]
    }
    assert sessions.ga_session_to_beta({"output_modalities": ["text"]}) == {"modalities": ["text"]}


def test_form_maps_only_the_keys_given():
    """A partial form maps only its own keys (a voice alone gives `voice` alone)."""
    assert sessions.ga_session_to_beta({"audio": {"output": {"voice": "cedar"}}}) == {"voice": "cedar"}


def test_items_round_trip():
    """An assistant item's output_text/output_audio parts are text/audio in beta and back."""
    item = {
        "id": "item_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": "Hi"}, {"type": "output_audio", "transcript": "Hi"}],
    }
    beta = sessions.item_to_beta(item)
    assert beta["object"] == "realtime.item"
    assert [p["type"] for p in beta["content"]] == ["text", "audio"]
    assert sessions.item_to_ga(beta) == item


def test_user_item_parts_unchanged():
    """User parts (input_text) are the same in both dialects."""
    item = {"id": "i", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}
    assert sessions.item_to_ga(sessions.item_to_beta(item)) == item


def test_response_params_to_ga():
    """Beta response.create parameters nest voice and format under audio.output; temperature is dropped."""
    ga = sessions.response_params_to_ga(
        {"modalities": ["text"], "voice": "ash", "output_audio_format": "g711_alaw", "temperature": 0.6}
    )
    assert ga == {
        "output_modalities": ["text"],
        "audio": {"output": {"voice": "ash", "format": {"type": "audio/pcma"}}},
    }


def test_recorded_responses_to_beta():
    """A recorded GA response maps to beta with modalities, voice and the format string."""
    (resp, *_) = [e["response"] for e in _recorded("response.done")]
    beta = sessions.response_to_beta(resp)
    assert beta["object"] == "realtime.response"
    assert beta["output_audio_format"] in ("pcm16", "g711_ulaw", "g711_alaw", None)
    assert set(beta["usage"]["input_token_details"]) == {"text_tokens", "audio_tokens", "cached_tokens"}


def test_output_audio_format_of_either_dialect():
    """The output format of a GA or beta session, pcm16 when it names none."""
    assert (
        sessions.output_audio_format({"audio": {"output": {"format": {"type": "audio/pcmu"}}}}) == "g711_ulaw"
    )
    assert sessions.output_audio_format({"output_audio_format": "g711_alaw"}) == "g711_alaw"
    assert sessions.output_audio_format({}) == "pcm16"
