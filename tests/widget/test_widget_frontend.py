"""Static promises of the front-end files: the documented test hooks exist, and nothing loads from a CDN."""

from __future__ import annotations

import re
from pathlib import Path

import rtwidget.widget.widget as widget_module

HERE = Path(widget_module.__file__).parent
WIDGET_JS = (HERE / "widget.js").read_text(encoding="utf-8")
# The ES module anywidget loads: its ESM_FILES joined by the widget (no build step), widget.js last.
JS = "\n".join((HERE / name).read_text(encoding="utf-8") for name in widget_module.ESM_FILES)
CONTRACT_HOOKS = {
    "rt-status",
    "rt-connect",
    "rt-log",
    "rt-log-row",
    "rt-prompt",
    "rt-send",
    "rt-stop",
    "rt-audio",
}


def _used_hooks() -> set[str]:
    return set(re.findall(r'testid: "(rt-[a-z-]+)"', JS))


def _documented_hooks() -> set[str]:
    header = WIDGET_JS.split("*/", 1)[0]
    return set(re.findall(r"\brt-[a-z]+(?:-[a-z]+)*\b", header))


def test_contract_hooks_are_rendered() -> None:
    """Every documented data-testid (docs/front-end.md, the design contract) is set somewhere in widget.js."""
    assert _used_hooks() >= CONTRACT_HOOKS


def test_every_hook_is_documented() -> None:
    """Every data-testid the module sets is listed in the comment at its top."""
    assert _used_hooks() - _documented_hooks() == set()


def test_no_network_imports() -> None:
    """The ES module imports nothing (no CDN, no build step): its files make one self-contained module."""
    assert re.search(r"^\s*import\s", JS, flags=re.MULTILINE) is None
    assert "https://" not in JS


def test_widget_ships_its_files_in_state() -> None:
    """The widget state carries the module (its ESM_FILES joined) and widget.css as on disk."""
    from rtwidget.widget import RealtimeWidget

    state = RealtimeWidget().get_state()
    assert state["_esm"] == JS
    assert state["_css"] == (Path(widget_module.__file__).parent / "widget.css").read_text(encoding="utf-8")


def test_the_module_has_one_export() -> None:
    """Joined, the files are one module with one default export (the files before widget.js only define)."""
    assert widget_module.ESM_FILES[-1] == "widget.js"
    for name in widget_module.ESM_FILES[:-1]:
        assert "export " not in (HERE / name).read_text(encoding="utf-8")
    assert JS.count("export default") == 1


def test_the_view_protocol_doc_is_the_modules_own() -> None:
    """docs/view-protocol.md shows view.py's description of the protocol as it is (one owner: the module)."""
    from rtwidget.widget import view

    doc = (HERE.parents[1] / "docs" / "view-protocol.md").read_text(encoding="utf-8")
    assert view.__doc__ is not None
    block = view.__doc__[view.__doc__.index("View protocol (anywidget") :].rstrip()
    shown = doc[
        doc.index("```text\n") + len("```text\n") : doc.index("```", doc.index("```text\n") + 8)
    ].rstrip()
    assert shown == block, "docs/view-protocol.md is out of step with rtwidget/widget/view.py's docstring"
