"""The console in a real notebook: keys stay in it, its connection ends with its cell or its kernel, a
reconnect starts clean, and failures and refusals show where they happen (JupyterLab + headless Chromium)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import NotebookOpener, NotebookPage
from playwright.sync_api import expect
from test_browser_widget import SPEED, WIDGET_CELL, connect_by_click, send_by_enter

pytestmark = pytest.mark.browser

# The notebook's cells as JupyterLab holds them: how many, and each code cell's execution count.
CELLS_JS = """(path) => {
  const panel = [...window.jupyterapp.shell.widgets('main')].find((w) => w.context?.path === path);
  const cells = panel.content.model.cells;
  const out = [];
  for (let i = 0; i < cells.length; i++) out.push(cells.get(i).executionCount ?? null);
  return out;
}"""
RUN_CELL_JS = """async ([path, index]) => {
  const panel = [...window.jupyterapp.shell.widgets('main')].find((w) => w.context?.path === path);
  window.jupyterapp.shell.activateById(panel.id);
  panel.content.activeCellIndex = index;
  await window.jupyterapp.commands.execute('notebook:run-cell');
}"""
RESTART_JS = """async (path) => {
  const panel = [...window.jupyterapp.shell.widgets('main')].find((w) => w.context?.path === path);
  await panel.sessionContext.session.kernel.restart();
}"""
# Text fields of the console (inside the session form unless noted) and whether Enter inserts a newline.
FIELDS = [
    ("rt-prompt", True),
    ("rt-instructions", True),
    ("rt-tools", True),
    ("rt-voice", False),
    ("rt-max-tokens", False),
    ("rt-tool-choice", False),
    ("rt-transcription-model", False),
    ("rt-threshold", False),
    ("rt-search", False),
]


def cells(nb: NotebookPage) -> list[Any]:
    """Execution counts of the notebook's cells (their number is the number of cells)."""
    result: list[Any] = nb.page.evaluate(CELLS_JS, nb.path)
    return result


def test_keys_typed_in_the_console_stay_in_it(open_notebook: NotebookOpener) -> None:
    """Shift+Enter, Ctrl+Enter, Enter, Escape and the command-mode letters typed in any field of the console
    reach the field, never the notebook: no cell re-runs, none is added or deleted, and multi-line fields take
    their newlines."""
    nb = open_notebook([WIDGET_CELL, "x = 1"])
    nb.run_all()
    page = nb.page
    before = cells(nb)
    page.get_by_test_id("rt-form").locator("summary").click()
    page.get_by_test_id("rt-transcription").check()  # the transcription model field is enabled with it
    rt_id = nb.kernel_json("w._rt_id")
    for testid, multiline in FIELDS:
        field = page.get_by_test_id(testid)
        field.click()
        field.fill("")
        if testid == "rt-threshold":
            field.press_sequentially("0.5")
        else:
            field.press_sequentially("ab")
            field.press("Enter")
            field.press_sequentially("dd")
        field.press("Shift+Enter")
        field.press("Control+Enter")
        field.press("Escape")
        assert cells(nb) == before, f"{testid}: a key reached the notebook ({cells(nb)} vs {before})"
        if multiline and testid != "rt-prompt":
            assert field.input_value() == "ab\ndd\n", testid
        if testid == "rt-prompt":  # Enter sends (not connected: nothing to send, the text stays)
            assert field.input_value().startswith("ab"), field.input_value()
    # The same console, not a fresh one from a re-run cell.
    assert nb.kernel_json("w._rt_id") == rt_id
    expect(page.locator(".rt-root")).to_have_count(1)
    # Shift+Enter in the prompt is a newline.
    prompt = page.get_by_test_id("rt-prompt")
    prompt.fill("")
    prompt.press_sequentially("one")
    prompt.press("Shift+Enter")
    prompt.press_sequentially("two")
    assert prompt.input_value() == "one\ntwo"
    assert cells(nb) == before


SIM_CELL = f"""
from rtwidget.server import serve
from rtwidget.widget import lifecycle
lifecycle.VIEWLESS_CLOSE_S = 0.5
sim_cm = serve(port=0, speed={SPEED})
sim = await sim_cm.__aenter__()
"""
CONSOLE_CELL = """
from rtwidget import RealtimeWidget
w = RealtimeWidget(url=sim.url)
await w.connect()
w
"""


WAIT_ONE_ACTIVE = """
import asyncio
for _ in range(200):
    if sim.sessions_active == 1 and sim.sessions_opened == 2:
        break
    await asyncio.sleep(0.05)
"""


def test_rerunning_the_cell_closes_the_old_connection(open_notebook: NotebookOpener) -> None:
    """Re-running the cell that made a console replaces it; the simulator sees the old connection close."""
    nb = open_notebook([SIM_CELL, CONSOLE_CELL])
    nb.run_all()
    expect(nb.page.get_by_test_id("rt-status")).to_have_text("open")
    assert nb.kernel_json("[sim.sessions_opened, sim.sessions_active]") == [1, 1]
    nb.kernel("first = w")
    nb.page.evaluate(RUN_CELL_JS, [nb.path, 1])
    nb.page.wait_for_function(
        "(p) => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
        arg=nb.path,
    )
    expect(nb.page.locator(".rt-root")).to_have_count(1)
    expect(nb.page.get_by_test_id("rt-status")).to_have_text("open")
    # The grace period (0.5 s here), then the old connection's close reaches the simulator.
    nb.kernel(WAIT_ONE_ACTIVE)
    assert nb.kernel_json("[sim.sessions_opened, sim.sessions_active]") == [2, 1]
    assert nb.kernel_json("first.status") == "closed"
    assert nb.kernel_json("w.status") == "open"
    assert "local.no_view" in nb.kernel_json("[e.type for e in first.events]")


def test_a_kernel_restart_is_said_and_the_controls_are_disabled(open_notebook: NotebookOpener) -> None:
    """After a kernel restart the console says so plainly; its controls are disabled, clicks throw nothing."""
    nb = open_notebook([WIDGET_CELL])
    nb.run_all()
    page = nb.page
    connect_by_click(nb)
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    page.evaluate(RESTART_JS, nb.path)
    gone = page.get_by_test_id("rt-gone")
    expect(gone).to_be_visible()
    expect(gone).to_contain_text("kernel restarted")
    expect(page.get_by_test_id("rt-status")).to_have_text("no kernel")
    for testid in ("rt-connect", "rt-send", "rt-stop", "rt-apply", "rt-prompt", "rt-clear"):
        expect(page.get_by_test_id(testid)).to_be_disabled()
    page.get_by_test_id("rt-connect").click(force=True)
    page.get_by_test_id("rt-log").click()
    page.wait_for_timeout(1500)  # past BUSY_AFTER_MS: a dead view must not claim the kernel is busy
    expect(page.get_by_test_id("rt-busy")).to_be_hidden()
    assert not page_errors, page_errors


def test_a_reconnect_starts_clean(open_notebook: NotebookOpener) -> None:
    """Disconnect then Connect: a separator row, the form follows the new session, the old reply is gone."""
    nb = open_notebook([WIDGET_CELL])
    nb.run_all()
    page = nb.page
    connect_by_click(nb)
    page.get_by_test_id("rt-form").locator("summary").click()
    page.get_by_test_id("rt-modality").select_option("text")
    page.get_by_test_id("rt-voice").fill("ash")
    page.get_by_test_id("rt-apply").click()
    expect(page.get_by_test_id("rt-form-notice")).to_have_text("✓ applied")
    send_by_enter(nb, "Hello there")
    expect(page.locator('[data-testid="rt-log-row"][data-type="response.done"]')).to_have_count(1)
    expect(page.get_by_test_id("rt-reply")).not_to_have_text("")
    page.get_by_test_id("rt-connect").click()
    expect(page.get_by_test_id("rt-status")).to_have_attribute("data-state", "closed")
    connect_by_click(nb)
    expect(page.locator('[data-testid="rt-log-row"][data-type="session.created"]')).to_have_count(2)
    expect(page.locator(".rt-log-row.rt-row-sep")).to_have_count(2)
    expect(page.get_by_test_id("rt-reply")).to_have_text("")
    expect(page.get_by_test_id("rt-voice")).to_have_value("alloy")
    expect(page.get_by_test_id("rt-modality")).to_have_value("audio")
    assert nb.kernel_json("len(w.items)") == 0
    times = page.locator('[data-testid="rt-log-row"] .rt-time').all_inner_texts()
    assert all(re.fullmatch(r"\d+:\d\d\.\d{3}", t) for t in times), times  # one format for the log
    assert times == sorted(times, key=lambda t: (len(t), t)), times


def test_a_failed_connect_is_red_with_the_reason_and_what_to_do(open_notebook: NotebookOpener) -> None:
    """Nothing listens at the URL: status "failed" in red, the reason, and a hint, not a grey "closed"."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    nb = open_notebook(
        [f"from rtwidget import RealtimeWidget\nw = RealtimeWidget(url='ws://127.0.0.1:{port}/v1')\nw"]
    )
    nb.run_all()
    page = nb.page
    page.get_by_test_id("rt-connect").click()
    status = page.get_by_test_id("rt-status")
    expect(status).to_have_attribute("data-state", "failed")
    expect(status).to_contain_text("failed")
    expect(page.get_by_test_id("rt-close-hint")).to_contain_text("nothing answers")
    color = status.evaluate("(el) => getComputedStyle(el).color")
    r, g, b = (int(c) for c in color[color.index("(") + 1 : color.index(")")].split(",")[:3])
    assert (r > 150, g < 120, b < 120) == (True, True, True), color


def test_a_refused_apply_is_shown_under_the_form(open_notebook: NotebookOpener) -> None:
    """Changing the voice after the model has spoken: the server's refusal appears under Apply."""
    nb = open_notebook([WIDGET_CELL])
    nb.run_all()
    page = nb.page
    connect_by_click(nb)
    send_by_enter(nb, "Say something")
    expect(page.locator('[data-testid="rt-log-row"][data-type="response.done"]')).to_have_count(1)
    page.get_by_test_id("rt-form").locator("summary").click()
    page.get_by_test_id("rt-voice").fill("ash")
    page.get_by_test_id("rt-apply").click()
    expect(page.get_by_test_id("rt-form-error")).to_contain_text("the server refused it")
    expect(page.get_by_test_id("rt-form-error")).to_contain_text("voice")
    expect(page.get_by_test_id("rt-form-notice")).to_have_text("")


def test_a_narrow_console_gets_one_column_and_a_readable_log(open_notebook: NotebookOpener) -> None:
    """At 600 px of widget width the form stacks above the log, which gets the whole width."""
    nb = open_notebook([WIDGET_CELL])
    nb.run_all()
    page = nb.page
    root = page.locator(".rt-root")
    root.evaluate("(el) => { el.style.width = '600px'; }")
    log_box = page.get_by_test_id("rt-log").bounding_box()
    root_box = root.bounding_box()
    assert log_box is not None
    assert root_box is not None
    assert log_box["width"] > 0.9 * (root_box["width"] - 20), (log_box, root_box)
    form_box = page.get_by_test_id("rt-form").bounding_box()
    assert form_box is not None
    assert log_box["y"] > form_box["y"]  # stacked: the log below the form
    # As wide as the output area lets it (max-width 100%): two columns, the log beside the form.
    root.evaluate("(el) => { el.style.width = '1400px'; }")
    page.wait_for_timeout(100)
    wide, form_wide = (
        page.get_by_test_id("rt-log").bounding_box(),
        page.get_by_test_id("rt-form").bounding_box(),
    )
    assert wide is not None
    assert form_wide is not None
    assert wide["x"] >= form_wide["x"] + form_wide["width"], (wide, form_wide)
    assert wide["width"] >= 420, wide


def test_the_collapsed_form_summarises_the_session(open_notebook: NotebookOpener) -> None:
    """Closed, the session form is one line saying what the session is; it follows an Apply."""
    nb = open_notebook([WIDGET_CELL])
    nb.run_all()
    page = nb.page
    connect_by_click(nb)
    summary = page.get_by_test_id("rt-form-summary")
    expect(summary).to_have_text(" · audio · alloy · server_vad")
    page.get_by_test_id("rt-form").locator("summary").click()
    page.get_by_test_id("rt-voice").fill("ash")
    page.get_by_test_id("rt-turn").select_option("none")
    page.get_by_test_id("rt-apply").click()
    expect(summary).to_have_text(" · audio · ash · push to talk")
