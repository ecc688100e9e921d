"""The SDK demo (``python -m rtwidget.demo``) runs a text and an audio turn against the simulator."""

from __future__ import annotations

import pytest

from rtwidget import demo


def test_demo_runs_text_and_audio_turn_against_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    """With no URL and no key the demo starts the simulator and completes both turns."""
    assert demo.main(["--text", "hello there"]) == 0
    out = capsys.readouterr().out
    assert "started the local simulator at ws://127.0.0.1:" in out
    assert out.count("< response.done (completed") == 2
    assert "s of audio)" in out
