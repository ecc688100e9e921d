"""Session helpers of the console: asked-vs-got differences, beta mapping, output audio format."""

from __future__ import annotations

from rtwidget.protocol.sessions import ga_session_to_beta
from rtwidget.protocol.sessions import output_audio_format as audio_format_of
from rtwidget.widget.session import session_diff

GA_SESSION = {
    "type": "realtime",
    "output_modalities": ["audio"],
    "instructions": "be brief",
    "max_output_tokens": 200,
    "audio": {
        "input": {"turn_detection": None, "transcription": {"model": "whisper-1"}},
        "output": {"voice": "marin", "format": {"type": "audio/pcmu"}},
    },
}


def test_diff_reports_changed_and_missing_leaves() -> None:
    """A leaf the server changed or left out is reported with what was asked and what came back."""
    got = {
        "type": "realtime",
        "output_modalities": ["audio"],
        "instructions": "be brief",
        "audio": {
            "input": {"turn_detection": None, "transcription": {"model": "whisper-1"}},
            "output": {"voice": "alloy"},
        },
    }
    diff = session_diff(GA_SESSION, got)
    assert {d["path"] for d in diff} == {
        "max_output_tokens",
        "audio.output.voice",
        "audio.output.format.type",
    }
    voice = next(d for d in diff if d["path"] == "audio.output.voice")
    assert (voice["asked"], voice["got"]) == ("marin", "alloy")


def test_diff_is_empty_when_server_echoes_the_request() -> None:
    """An effective session holding every asked value (plus extras) shows no difference."""
    got = {**GA_SESSION, "id": "sess_1", "object": "realtime.session", "max_output_tokens": 200.0}
    assert session_diff(GA_SESSION, got) == []


def test_beta_mapping_moves_fields() -> None:
    """The form's GA fields map to their beta names (the protocol's one mapping)."""
    beta = ga_session_to_beta(GA_SESSION)
    assert beta == {
        "modalities": ["text", "audio"],
        "instructions": "be brief",
        "max_response_output_tokens": 200,
        "turn_detection": None,
        "input_audio_transcription": {"model": "whisper-1"},
        "voice": "marin",
        "output_audio_format": "g711_ulaw",
    }


def test_audio_format_of_both_dialects() -> None:
    """The output encoding is read from the GA format object or the beta string."""
    assert audio_format_of(GA_SESSION) == "g711_ulaw"
    assert audio_format_of({"output_audio_format": "g711_alaw"}) == "g711_alaw"
    assert audio_format_of({"audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}}}}) == "pcm16"
