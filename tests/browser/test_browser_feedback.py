"""Feedback where the action is: a message sent during a reply says what happens to it, Clear leaves no empty
error box, log cells show their whole text on hover and search marks its matches (JupyterLab + Chromium)."""

from __future__ import annotations

import pytest
from conftest import TIMEOUT_MS, NotebookOpener
from playwright.sync_api import expect
from test_browser_widget import WIDGET_CELL, connect_by_click, send_by_enter

pytestmark = pytest.mark.browser

SLOW_CELL = "from rtwidget import RealtimeWidget\nw = RealtimeWidget(simulator_speed=2)\nw"


def test_a_message_sent_during_a_reply_waits_and_says_so(open_notebook: NotebookOpener) -> None:
    """Enter while the model is still replying: a notice says the reply waits, then it comes; no error."""
    nb = open_notebook([SLOW_CELL])
    nb.run_all()
    page = nb.page
    connect_by_click(nb)
    send_by_enter(nb, "Please tell me a long story about the sea, with many details.")
    expect(page.locator('[data-testid="rt-log-row"][data-type="response.created"]')).to_have_count(1)
    send_by_enter(nb, "And then?")
    notice = page.get_by_test_id("rt-talk-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("starts when it ends")
    done = page.locator('[data-testid="rt-log-row"][data-type="response.done"]')
    expect(done).to_have_count(2, timeout=TIMEOUT_MS)  # two replies at speed 2 take a while
    expect(notice).to_be_hidden()
    expect(page.get_by_test_id("rt-errors")).to_have_attribute("data-count", "0")


def test_clear_leaves_no_empty_error_box(open_notebook: NotebookOpener) -> None:
    """The error list open with one error, then Clear: the list goes away, not an empty red box."""
    nb = open_notebook([WIDGET_CELL])
    nb.run_all()
    page = nb.page
    connect_by_click(nb)
    page.get_by_test_id("rt-form").locator("summary").click()
    page.get_by_test_id("rt-max-tokens").fill("99999")
    page.get_by_test_id("rt-apply").click()
    expect(page.get_by_test_id("rt-errors")).to_have_attribute("data-count", "1")
    page.get_by_test_id("rt-errors").click()
    expect(page.get_by_test_id("rt-error-list")).to_be_visible()
    expect(page.get_by_test_id("rt-error-item")).to_have_count(1)
    page.get_by_test_id("rt-clear").click()
    expect(page.get_by_test_id("rt-errors")).to_have_attribute("data-count", "0")
    expect(page.get_by_test_id("rt-error-list")).to_be_hidden()
    page.get_by_test_id("rt-errors").click()  # nothing to list: the box stays away
    expect(page.get_by_test_id("rt-error-list")).to_be_hidden()


def test_log_cells_have_tooltips_and_search_marks_matches(open_notebook: NotebookOpener) -> None:
    """Every summary carries its whole text as a tooltip; a search marks the matching text in each row."""
    nb = open_notebook([WIDGET_CELL])
    nb.run_all()
    page = nb.page
    connect_by_click(nb)
    send_by_enter(nb, "Hello!")
    expect(page.locator('[data-testid="rt-log-row"][data-type="response.done"]')).to_have_count(1)
    summaries = page.locator('[data-testid="rt-log-row"] .rt-summary')
    # Both read in one pass: rows still arrive after response.done (rate_limits.updated).
    pairs = summaries.evaluate_all("(els) => els.map((e) => [e.innerText, e.title])")
    assert pairs
    for text, title in pairs:
        assert title == text
    page.get_by_test_id("rt-search").fill("transcript")
    # The search reads each event's JSON too (session.created matches by its transcription field): the rows
    # whose type holds the word carry the marks.
    rows = page.locator('[data-testid="rt-log-row"][data-type*="transcript"]')
    marks = page.locator('[data-testid="rt-log-row"] mark.rt-mark')
    expect(marks.first).to_be_visible()  # the searched window is in (the unfiltered one had such rows too)
    expect(rows.first).to_have_attribute("data-type", "response.output_audio_transcript.delta")
    n_rows = rows.count()
    assert n_rows > 0
    assert marks.count() >= n_rows
    assert {m.lower() for m in marks.all_inner_texts()} == {"transcript"}


# Start code on the kernel without waiting for it (a cell that holds the kernel while audio plays).
RUN_DETACHED_JS = """([path, code]) => {
  const panel = [...window.jupyterapp.shell.widgets('main')].find((w) => w.context?.path === path);
  panel.sessionContext.session.kernel.requestExecute({ code, store_history: false });
}"""


def test_a_cell_that_holds_the_kernel_shows_busy_on_the_audio_bar(open_notebook: NotebookOpener) -> None:
    """Audio streams in real time; a cell sleeps on the kernel: playback starves and the audio bar says why,
    then the notice goes once the kernel is free."""
    nb = open_notebook(["from rtwidget import RealtimeWidget\nw = RealtimeWidget()\nw"])
    nb.run_all()
    page = nb.page
    connect_by_click(nb)
    send_by_enter(nb, "Please tell me a long story about the sea, with many details.")
    page.wait_for_function(
        """() => +document.querySelector('[data-testid="rt-audio"]').dataset.playedMs > 200""",
        timeout=TIMEOUT_MS,
    )
    busy = page.get_by_test_id("rt-audio-busy")
    expect(busy).to_be_hidden()
    page.evaluate(RUN_DETACHED_JS, [nb.path, "import time; time.sleep(4)"])
    expect(busy).to_be_visible(timeout=4000)
    expect(busy).to_be_hidden(timeout=TIMEOUT_MS)
