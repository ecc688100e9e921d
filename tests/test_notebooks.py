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
    """The three documented notebooks are in the repository."""
    names = [p.name for p in NOTEBOOKS]
    assert names == ["01-quickstart.ipynb", "02-openai.ipynb", "03-protocol-debugging.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_committed_without_outputs(path: Path) -> None:
    """A repository notebook carries no outputs or execution counts (they would go stale)."""
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert dirty == [], f"{path.name}: cells with outputs {dirty}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    """The notebook executes without an error, offline, against the embedded simulator."""
    shutil.copy(path, tmp_path / path.name)  # never execute in the repository: outputs would be written
    nb = _execute(nbformat.read(tmp_path / path.name, as_version=4), tmp_path)
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in ran)


def test_openai_notebook_skips_live_part_without_key(tmp_path: Path) -> None:
    """02-openai says its live part is skipped when there is no key, and never opens a connection."""
    nb = _execute(nbformat.read(REPO / "notebooks" / "02-openai.ipynb", as_version=4), tmp_path)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "live part: skipped (no key)" in text
    assert "skipped: no API key" in text


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
