"""The demos: ``python -m rtwidget.demo`` runs a text and an audio turn against the simulator, and
``make demo`` says what it does, starts JupyterLab without its news question and takes extra flags."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rtwidget import demo


def test_demo_runs_text_and_audio_turn_against_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    """With no URL and no key the demo starts the simulator and completes both turns."""
    assert demo.main(["--text", "hello there"]) == 0
    out = capsys.readouterr().out
    assert "started the local simulator at ws://127.0.0.1:" in out
    assert out.count("< response.done (completed") == 2
    assert "s of audio)" in out


REPO = Path(__file__).resolve().parents[1]
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="no `make` on PATH")


def _make(*args: str) -> str:
    """Run make in the repository; return its stdout."""
    done = subprocess.run(["make", "-C", str(REPO), "--no-print-directory", *args],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout


@needs_make
def test_make_demo_says_what_it_does_before_each_install_step(tmp_path: Path) -> None:
    """A fresh `make demo` announces the 2-3 minute install and each step; pip is not silenced."""
    lines = _make("-n", "demo", f"VENV={tmp_path / 'venv'}").splitlines()
    install = next(i for i, line in enumerate(lines) if 'pip install -e ".[demo]"' in line)
    assert "-q" not in lines[install].split()  # pip lists what it fetches: no minutes of silence
    commands = [i for i, line in enumerate(lines) if not line.startswith(("echo", "mkdir", "touch"))]
    said = [i for i, line in enumerate(lines) if line.startswith("echo")]
    assert "2-3 minutes" in lines[said[0]]
    assert said[0] < commands[0]
    for step in ("-m venv", "pip install -q -U pip", 'pip install -e ".[demo]"', "jupyter lab"):
        at = next(i for i in commands if step in lines[i])
        assert lines[at - 1].startswith("echo") or step == "-m venv", (step, lines[at - 1])


@needs_make
def test_make_demo_starts_jupyterlab_without_the_news_question_and_with_demo_args(tmp_path: Path) -> None:
    """The demo's JupyterLab runs with news off, plus DEMO_ARGS (`--no-browser` on a remote machine)."""
    lines = _make(
        "-n", "demo", f"VENV={tmp_path / 'venv'}", "DEMO_ARGS=--no-browser --port 8899"
    ).splitlines()
    lab = next(line.split() for line in lines if "bin/jupyter lab" in line)
    assert "--LabApp.news_url=None" in lab
    assert lab[-4:] == ["--no-browser", "--port", "8899", "notebooks/01-quickstart.ipynb"]


@needs_make
def test_make_demo_writes_the_news_setting_where_jupyterlab_reads_it(tmp_path: Path) -> None:
    """overrides.json goes where the venv's JupyterLab reads settings, valid for the notification plugin."""
    import jsonschema
    from jupyterlab.commands import get_app_dir

    venv = tmp_path / "venv"
    settings_dir = Path("share/jupyter/lab/settings")
    # JupyterLab reads <sys.prefix>/share/jupyter/lab/settings (shown by the venv running this test).
    assert Path(get_app_dir()) / "settings" == Path(sys.prefix) / settings_dir
    _make(str(venv / settings_dir / "overrides.json"), f"VENV={venv}")
    overrides = json.loads((venv / settings_dir / "overrides.json").read_text())
    assert list(overrides) == ["@jupyterlab/apputils-extension:notification"]
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification["fetchNews"] == "false"  # "none" (the default) is what asks the question
    schema_path = Path(get_app_dir()) / "schemas/@jupyterlab/apputils-extension/notification.json"
    jsonschema.validate(notification, json.loads(schema_path.read_text()))
