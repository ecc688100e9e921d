"""Model and voice facts (rtwidget.protocol.catalog)."""

from __future__ import annotations

import doctest

from rtwidget.protocol import catalog


def test_default_model_is_current():
    """The default model is gpt-realtime-2, a current model with no shutdown."""
    assert catalog.DEFAULT_MODEL == "gpt-realtime-2"
    assert catalog.DEFAULT_MODEL in catalog.REALTIME_MODELS
    assert catalog.shutdown_notice(catalog.DEFAULT_MODEL) is None


def test_no_current_model_is_on_the_shutdown_list():
    """No current realtime or transcription model has a shutdown date."""
    for model in catalog.REALTIME_MODELS + catalog.TRANSCRIPTION_MODELS:
        assert catalog.shutdown_date(model) is None, model


def test_realtime_shutdown_notice():
    """gpt-realtime's notice names 2027-01-20 and the current default."""
    assert (
        catalog.shutdown_notice("gpt-realtime")
        == "'gpt-realtime' shuts down on 2027-01-20; use 'gpt-realtime-2'."
    )


def test_transcription_shutdown_notice_names_a_transcription_model():
    """A dated gpt-4o-transcribe snapshot shuts down on 2027-02-26 and points at a transcription model."""
    notice = catalog.shutdown_notice("gpt-4o-transcribe-2025-03-20")
    assert notice == "'gpt-4o-transcribe-2025-03-20' shuts down on 2027-02-26; use 'gpt-transcribe'."
    assert catalog.DEFAULT_TRANSCRIPTION_MODEL in catalog.TRANSCRIPTION_MODELS


def test_voices_and_custom_voice_objects():
    """Built-in voice names and {"id": ...} objects are known; other names are not."""
    assert catalog.is_known_voice("marin")
    assert catalog.is_known_voice({"id": "voice_123"})
    assert not catalog.is_known_voice("nova")
    assert not catalog.is_known_voice({"name": "x"})


def test_docstring_example():
    """The module's doctest example holds."""
    assert doctest.testmod(catalog).failed == 0
