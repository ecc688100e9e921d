"""Every notebook in notebooks/ runs top to bottom offline, and a widget never leaks its API key.

nbclient executes the notebooks headlessly (no JavaScript runs, so no audio is played): the embedded
simulator answers, and 02-openai skips its live part because the kernel gets no OPENAI_API_KEY and has no
stdin for getpass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 120
SECRET = "sk-test-rtwidget-0123456789abcdefSECRET"
WRONG_SECRET = "sk-test-rtwidget-wrong-key-9876543210WRONG"


def _kernel_env(home: Path) -> dict[str, str]:
    """The kernel's environment: no real key, and a throwaway HOME so ~/.ipython stays untouched."""
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["HOME"] = str(home)
    return env


def _execute(nb: Any, workdir: Path, extra_env: dict[str, str] | None = None) -> Any:
    """Run a notebook in workdir with nbclient; raise CellExecutionError with the traceback on failure."""
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        allow_errors=False,
    )
    client.execute(env={**_kernel_env(home), **(extra_env or {})}, cwd=str(workdir))
    return nb


def test_notebooks_exist() -> None:
    """The documented notebooks are in the repository."""
    names = [p.name for p in NOTEBOOKS]
    assert names == [
        "01-quickstart.ipynb",
        "02-openai.ipynb",
        "03-protocol-debugging.ipynb",
        "04-voice.ipynb",
        "05-debugging-tools.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_committed_without_outputs(path: Path) -> None:
    """A repository notebook carries no outputs, execution counts or saved widget state (they would go stale
    and churn on every run), and no per-cell metadata a front end adds (collapsed, scrolled, execution...)."""
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert dirty == [], f"{path.name}: cells with outputs {dirty}"
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state"
    assert set(nb.metadata) <= {"kernelspec", "language_info"}, sorted(nb.metadata)
    assert nb.metadata.get("language_info", {}) == {"name": "python"}  # no Python version of someone's kernel
    with_metadata = [i for i, c in enumerate(nb.cells) if c.metadata]
    assert with_metadata == [], f"{path.name}: cells with metadata {with_metadata}"


class _Runs(dict[str, Any]):
    """Repository notebooks by name, each executed (in a temporary copy) the first time it is asked for."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        super().__init__()
        self._tmp = tmp_path_factory

    def __missing__(self, name: str) -> Any:
        workdir = self._tmp.mktemp(Path(name).stem)
        shutil.copy(REPO / "notebooks" / name, workdir / name)  # never run in the repository: outputs
        self[name] = _execute(nbformat.read(workdir / name, as_version=4), workdir)
        return self[name]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> _Runs:
    """The notebooks run once for this module, shared by the tests that read their outputs."""
    return _Runs(tmp_path_factory)


def _cell_texts(nb: Any) -> list[list[str]]:
    """Per code cell, the text of each of its outputs (stream text or the text/plain of a result)."""
    return [
        [o.get("text") or o.get("data", {}).get("text/plain", "") for o in c.outputs]
        for c in nb.cells
        if c.cell_type == "code"
    ]


MAX_OUTPUT_LINES = 12
MAX_LINE_CHARS = 200  # a raw repr of an event or a session runs to 900+ characters on one line


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, executed: _Runs) -> None:
    """The notebook executes without an error, offline, against the embedded simulator."""
    nb = executed[path.name]
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in ran)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_prints_summaries_not_long_reprs(path: Path, executed: _Runs) -> None:
    """Every output of every cell is a few short lines: summaries, never a raw event or session repr."""
    for index, texts in enumerate(_cell_texts(executed[path.name])):
        for text in texts:
            lines = text.rstrip("\n").splitlines()
            assert len(lines) <= MAX_OUTPUT_LINES, f"code cell {index}: {len(lines)} lines\n{text[:500]}"
            longest = max((len(line) for line in lines), default=0)
            assert longest <= MAX_LINE_CHARS, f"code cell {index}: a {longest}-char line\n{text[:500]}"


def test_quickstart_stop_truncates_the_reply_mid_way(executed: _Runs) -> None:
    """01's Stop example cuts the spoken reply after some of its audio came: not at 0 ms, not at its end."""
    text = "".join("".join(t) for t in _cell_texts(executed["01-quickstart.ipynb"]))
    arrived = re.search(r"stopped mid-reply: (\d+) ms of audio had arrived", text)
    ends = re.search(r"the reply now ends at (\d+) ms: status incomplete, truncated_ms=(\d+)", text)
    kept = re.search(r"([\d.]+) s of its audio kept", text)
    assert arrived, text
    assert ends, text
    assert kept, text
    arrived_ms, end_ms = int(arrived[1]), int(ends[1])
    assert 0 < end_ms < arrived_ms, (end_ms, arrived_ms)  # mid-reply: some heard, some cut
    assert int(ends[2]) == end_ms
    assert abs(float(kept[1]) * 1000 - end_ms) <= 10  # the item's audio was cut there too


def test_voice_notebook_talks_both_ways(executed: _Runs) -> None:
    """04 sends a spoken turn that the server transcribes word for word, a hands-free turn the server ends
    itself, and lists the user's audio among the items."""
    text = "".join("".join(t) for t in _cell_texts(executed["04-voice.ipynb"]))
    assert "the server heard: 'hello there, what can you do'; reply completed" in text, text
    assert re.search(r"the server ended the turn itself: \S+ -> completed", text), text
    users = re.findall(r"^user\s+([\d.]+) s", text, flags=re.MULTILINE)
    assert len(users) == 2, text
    assert all(float(s) > 0.5 for s in users), users


def test_debugging_notebook_runs_each_tool(executed: _Runs) -> None:
    """05 calls a Python tool, replays its export, reruns it with the call id mapped and compares it equal,
    tells two prompts apart by their instructions, shows a refusal's field path, and prices each response."""
    text = "".join("".join(t) for t in _cell_texts(executed["05-debugging-tools.ipynb"]))
    assert "tool row: weather done" in text, text
    assert "same item texts: True" in text, text
    assert re.search(r"sent (\d+) of \1 client events", text), text
    assert "call ids mapped: 1" in text, text
    assert "same event types: True | differing fields: 0" in text, text
    assert re.search(r"differing fields: .*\$\.session\.instructions", text), text
    assert "refused at $.item.role - nothing sent" in text, text
    assert re.search(r"^3 responses, \d+ in / \d+ out, \$0\.\d+$", text, flags=re.MULTILINE), text


def test_openai_notebook_without_key_says_what_it_would_do(executed: _Runs) -> None:
    """Without a key, 02-openai says how to set one and what it would connect to, skips each live cell with
    what it would do, and shows no console (so opens no connection)."""
    nb = executed["02-openai.ipynb"]
    texts = _cell_texts(nb)
    text = "".join("".join(t) for t in texts)
    assert "No OPENAI_API_KEY" in text
    assert "export OPENAI_API_KEY=sk-..." in text
    assert "would connect to wss://api.openai.com/v1/realtime?model=gpt-realtime-2" in text
    skipped = [c for c in nb.cells if c.cell_type == "code" and "await w." in c.source]  # the live cells
    assert len(skipped) == 4
    for cell in skipped:
        out = "".join(o.get("text", "") for o in cell.outputs)
        assert out.startswith("skipped (no key): would "), (cell.source, out)
    view = "application/vnd.jupyter.widget-view+json"
    assert [o for c in nb.cells for o in c.get("outputs", []) if view in o.get("data", {})] == []


SECRET_CELLS = [
    # The simulator checks the key, so a connection that works proves the key was really used.
    """
import contextlib, json, os
from rtwidget import RealtimeWidget
from rtwidget.server import serve

KEY = os.environ["RTWIDGET_TEST_KEY"]  # from the environment, so the cell source holds no key
stack = contextlib.AsyncExitStack()
sim = await stack.enter_async_context(serve(port=0, speed=50.0, require_key=KEY))
w = RealtimeWidget(url=sim.url, api_key=KEY)
w
""",
    """
await w.connect()
await w.update_session(output_modalities=["text"])
await w.send_text("hello")
done = await w.wait_for("response.done", timeout=30)
print("status:", done.response.status)
""",
    """
w.export_log("export.jsonl")
print(repr(w))
print(str(w))
print(repr(w.events[:5]))
print(repr(w.conversation))
print(w.get_state())
""",
    """
bad = RealtimeWidget(url=sim.url, api_key=os.environ["RTWIDGET_TEST_WRONG_KEY"])
bad
""",
    """
try:
    await bad.connect()
    err = await bad.wait_for("error", timeout=10)
    print("refused:", err.error.code, err.error.message)
except Exception as exc:
    print("refused on connect:", type(exc).__name__, exc, repr(exc))
    import traceback; traceback.print_exc()
print(repr(bad), bad.close_code, bad.close_reason, bad.errors)
print(bad.get_state())
bad.export_log("export-refused.jsonl")
""",
    """
await w.disconnect()
await stack.aclose()
""",
]


def test_api_key_never_leaks(tmp_path: Path) -> None:
    """With api_key set, the saved notebook, the log export, reprs and error messages never contain it."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in SECRET_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    _execute(nb, tmp_path, {"RTWIDGET_TEST_KEY": SECRET, "RTWIDGET_TEST_WRONG_KEY": WRONG_SECRET})
    saved = tmp_path / "saved.ipynb"
    nbformat.write(nb, saved)  # with nbclient's widget state, as a user's saved notebook would be
    outputs = json.dumps([c.outputs for c in nb.cells])
    # Guard against a vacuous pass: the key worked, the wrong key was refused, all of it was recorded.
    assert "status: completed" in outputs
    assert "invalid_api_key" in outputs
    assert nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    export = (tmp_path / "export.jsonl").read_text() + (tmp_path / "export-refused.jsonl").read_text()
    assert "response.done" in export
    for secret in (SECRET, WRONG_SECRET):
        assert secret not in saved.read_text()
        assert secret not in export
        # A key cut in half is still a leak; the distinctive tail is what would be recognisable.
        assert secret[-16:] not in saved.read_text()
        assert secret[-16:] not in export


def test_binder_installs_this_checkout() -> None:
    """binder/ builds a Python the package supports and installs the package from the repository itself."""
    env = (REPO / "binder" / "environment.yml").read_text()
    post_build = REPO / "binder" / "postBuild"
    python = re.search(r"^\s*-\s*python=(\d+)\.(\d+)\s*$", env, re.MULTILINE)
    assert python is not None, "binder/environment.yml pins no python version"
    assert (int(python[1]), int(python[2])) >= (3, 11)
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    assert re.search(r"pip install [^\n]*\.\s*$", post_build.read_text(), re.MULTILINE)
    assert (REPO / "notebooks" / "01-quickstart.ipynb").exists()  # the page the Binder badge opens
