"""Models and voices in the simulator: current defaults, old names accepted, unknown voices refused."""

from __future__ import annotations

from typing import Any

from sim_testing import Driver

from rtwidget.protocol import catalog
from rtwidget.server import SimSession
from rtwidget.server.handshake import check_handshake


def _errors(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["error"] for e in events if e["type"] == "error"]


def _voice(voice: Any) -> dict[str, Any]:
    return {"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": voice}}}}


def test_default_model_is_current():
    """A session with no model named runs the catalog's current default, gpt-realtime-2."""
    d = Driver()
    assert d.log[0]["session"]["model"] == catalog.DEFAULT_MODEL == "gpt-realtime-2"


def test_old_model_still_accepted():
    """gpt-realtime (shutting down 2027-01-20) is still served."""
    d = Driver(session=SimSession(model="gpt-realtime"))
    assert d.log[0]["session"]["model"] == "gpt-realtime"


def test_transcription_handshake_defaults_to_current_model():
    """A transcription handshake without a model gets the current default model, not gpt-realtime."""
    result = check_handshake("/v1/realtime", {"intent": "transcription"}, {})
    assert result is not None
    assert result.model == catalog.DEFAULT_MODEL


def test_unknown_voice_refused_like_the_server():
    """An unknown voice name -> invalid_value on session.audio.output.voice listing the voices."""
    (err,) = _errors(Driver().send(_voice("nova")))
    assert err["code"] == "invalid_value"
    assert err["param"] == "session.audio.output.voice"
    assert err["message"].startswith("Invalid value: 'nova'. Supported values are: 'alloy', 'ash',")
    assert all(f"'{v}'" in err["message"] for v in catalog.VOICES)


def test_known_voice_accepted():
    """A catalog voice (marin) is taken and echoed in session.updated."""
    events = Driver().send(_voice("marin"))
    assert not _errors(events)
    (updated,) = [e for e in events if e["type"] == "session.updated"]
    assert updated["session"]["audio"]["output"]["voice"] == "marin"


def test_custom_voice_object_accepted():
    """A custom voice object {"id": ...} is accepted and echoed as sent."""
    events = Driver().send(_voice({"id": "voice_abc"}))
    assert not _errors(events)
    (updated,) = [e for e in events if e["type"] == "session.updated"]
    assert updated["session"]["audio"]["output"]["voice"] == {"id": "voice_abc"}


def test_transcription_model_defaults_to_current():
    """Transcription asked for without a model uses the catalog's current transcription model."""
    events = Driver().send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"transcription": {"language": "en"}}}},
        }
    )
    (updated,) = [e for e in events if e["type"] == "session.updated"]
    assert (
        updated["session"]["audio"]["input"]["transcription"]["model"] == catalog.DEFAULT_TRANSCRIPTION_MODEL
    )


def test_documented_noise_reduction_strength_accepted():
    """`audio.input.noise_reduction.strength` (documented) passes the simulator too, not only the protocol."""
    nr = {"type": "near_field", "strength": 0.5}
    events = Driver().send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"noise_reduction": nr}}},
        }
    )
    (updated,) = [e for e in events if e["type"] == "session.updated"]
    assert updated["session"]["audio"]["input"]["noise_reduction"] == nr


def test_documented_transcription_fields_kept():
    """Transcription `keywords`, `languages` and `delay` are accepted and echoed."""
    tr = {"model": "gpt-transcribe", "keywords": ["rtwidget"], "languages": ["en"], "delay": "low"}
    events = Driver().send(
        {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"transcription": tr}}}}
    )
    (updated,) = [e for e in events if e["type"] == "session.updated"]
    got = updated["session"]["audio"]["input"]["transcription"]
    assert {k: got[k] for k in tr} == tr
