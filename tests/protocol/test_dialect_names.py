"""`dialect_names`: one source for the names an event goes by in GA and beta."""

from __future__ import annotations

from rtwidget.protocol import dialect_names


def test_renamed_events_have_both_names() -> None:
    """A GA event renamed from beta matches under both wire names."""
    assert dialect_names("response.output_audio.delta") == {
        "response.output_audio.delta",
        "response.audio.delta",
    }
    assert "response.text.delta" in dialect_names("response.output_text.delta", "error")


def test_shared_events_have_one_name() -> None:
    """An event both dialects name alike has a single name."""
    assert dialect_names("response.function_call_arguments.delta") == {
        "response.function_call_arguments.delta"
    }
