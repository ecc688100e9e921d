"""The repository's notebooks open in JupyterLab unmodified: no outputs, counts, ids or metadata appear
before the user runs a cell, apart from the kernel's ``language_info`` (JupyterLab writes what the running
kernel reports, its Python version included, into every notebook it opens with a kernel)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, NotebookOpener

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
MODEL_JS = """(path) => [...window.jupyterapp.shell.widgets('main')]
  .find((w) => w.context?.path === path).context.model.toJSON()"""


def _normalized(nb: dict[str, Any]) -> dict[str, Any]:
    """A notebook's content without representation choices (source as lines or one string, null attachments)
    and without the transient ``trusted`` flag (the server strips it on save)."""
    cells = []
    for cell in nb["cells"]:
        c = {k: v for k, v in cell.items() if not (k == "attachments" and v is None)}
        c["source"] = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        c["metadata"] = {k: v for k, v in c["metadata"].items() if k != "trusted"}
        cells.append(c)
    return {**nb, "cells": cells}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_opens_unmodified(path: Path, open_notebook: NotebookOpener) -> None:
    """Opened with its kernel idle, the document equals the file but for the kernel's language_info."""
    nb = open_notebook.open_copy(path)
    nb.page.wait_for_timeout(500)  # settle: the kernel's info reaches the document just after it is idle
    opened = _normalized(nb.page.evaluate(MODEL_JS, nb.path))
    on_disk = _normalized(json.loads(path.read_text()))
    language = opened["metadata"].pop("language_info")
    assert language["name"] == on_disk["metadata"].pop("language_info")["name"] == "python"
    assert opened == on_disk
