"""Error events for refused client input: the live server's codes and wording, never msgspec's."""

from __future__ import annotations

from typing import Any

from sim_testing import Driver


def _error(event: dict[str, Any]) -> dict[str, Any]:
    (err,) = [e["error"] for e in Driver().send(event) if e["type"] == "error"]
    return err


def _update(**session: Any) -> dict[str, Any]:
    return {"type": "session.update", "session": {"type": "realtime", **session}}


def test_wrong_type_worded_like_the_server():
    """An int as `audio` -> invalid_type, worded "expected a string, but got an integer instead"."""
    err = _error({"type": "input_audio_buffer.append", "audio": 5})
    assert err["code"] == "invalid_type"
    assert err["param"] == "audio"
    assert err["message"] == "Invalid type for 'audio': expected a string, but got an integer instead."


def test_union_type_worded_like_the_server():
    """A type error against a union lists the alternatives ("one of an array or null")."""
    err = _error(_update(tools="x"))
    assert err["message"] == (
        "Invalid type for 'session.tools': expected one of an array or null, but got a string instead."
    )


def test_above_maximum_has_range_code():
    """A speed above 1.5 -> decimal_above_max_value with the bound and the value sent."""
    err = _error(_update(audio={"output": {"speed": 9.0}}))
    assert err["code"] == "decimal_above_max_value"
    assert err["param"] == "session.audio.output.speed"
    assert err["message"] == (
        "Invalid 'session.audio.output.speed': decimal above maximum value. Expected a value <= 1.5, "
        "but got 9.0 instead."
    )


def test_below_minimum_has_range_code():
    """max_output_tokens 0 -> integer_below_min_value."""
    err = _error(_update(max_output_tokens=0))
    assert err["code"] == "integer_below_min_value"
    assert "Expected a value >= 1, but got 0 instead." in err["message"]


def test_missing_field_worded_like_the_server():
    """A missing required field -> missing_required_parameter naming it."""
    err = _error({"type": "conversation.item.delete"})
    assert (err["code"], err["param"]) == ("missing_required_parameter", "item_id")
    assert err["message"] == "Missing required parameter: 'item_id'."


def test_no_msgspec_wording_in_messages():
    """No refused event's message carries msgspec's backticks or "Expected `"."""
    events = [
        _update(tools="x"),
        _update(max_output_tokens="x"),
        _update(output_modalities=["video"]),
        _update(audio={"input": {"format": {"type": "audio/mp3"}}}),
        {"type": "input_audio_buffer.append", "audio": 5},
    ]
    for event in events:
        assert "`" not in _error(event)["message"]
