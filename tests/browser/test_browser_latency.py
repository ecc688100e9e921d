"""Latency in a real browser: each response's timeline in the conversation panel, the session's chart, and
the pre-roll with the underrun count in the audio bar. The figures are the kernel's (w.metrics)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import TIMEOUT_MS, NotebookOpener, NotebookPage
from playwright.sync_api import expect
from test_browser_widget import WIDGET_CELL, connect_by_click, spoken_turn_played_out

pytestmark = pytest.mark.browser

TURNS = 2
TIMELINES_JS = """() => [...document.querySelectorAll('[data-testid="rt-item"]')].map((e) => {
  const t = e.querySelector('[data-testid="rt-timeline"]');
  return { id: e.dataset.itemId, role: e.dataset.role, hidden: !t || t.hidden, turn: t?.dataset.turn,
           marks: t ? [...t.querySelectorAll('[data-stage][data-ms]')]
                        .map((m) => [m.dataset.stage, +m.dataset.ms]) : [] };
})"""
CHART_JS = """() => { const c = document.querySelector('[data-testid="rt-latency-chart"]');
  return { n: +c.dataset.n, hidden: c.hidden, rows: Object.fromEntries([...c.querySelectorAll('[data-stage]')]
    .map((r) => [r.dataset.stage,
                 { n: +r.dataset.n, median: +r.dataset.medianMs, p90: +r.dataset.p90Ms }])) }; }"""
# w.metrics as plain rows (a DataFrame when pandas is installed)
ROWS_EXPR = (
    "(lambda t: t if isinstance(t, list) else t.astype(object).where(t.notna(), None).to_dict('records'))"
    "(w.metrics)"
)
AUDIO_STAGES = ("to_first_audio_ms", "to_first_played_ms", "to_last_played_ms")


@dataclass
class Session:
    """Two spoken replies to typed messages, each heard to the end."""

    nb: NotebookPage


@pytest.fixture(scope="module")
def session(open_module_notebook: NotebookOpener) -> Session:
    """Connect, have two spoken turns, each played out; wait until every reply's last sample is timed."""
    nb = open_module_notebook([WIDGET_CELL])
    nb.run_all()
    connect_by_click(nb)
    for n in range(1, TURNS + 1):
        spoken_turn_played_out(nb, "Hello! Who are you?", turn=n)
    # The last sample heard comes with the view's report at the end of the item's audio, after the frames.
    nb.page.wait_for_function(
        f"""() => document.querySelectorAll(
              '[data-testid="rt-timeline"] [data-stage="to_last_played_ms"][data-ms]').length === {TURNS}""",
        timeout=TIMEOUT_MS,
    )
    return Session(nb)


def timelines(nb: NotebookPage) -> list[dict[str, Any]]:
    """Per item of the panel, top to bottom: whether its timeline shows, its turn start, its marks."""
    shown: list[dict[str, Any]] = nb.page.evaluate(TIMELINES_JS)
    return shown


def test_each_response_has_a_timeline_with_every_stage_in_order(session: Session) -> None:
    """Every reply shows one timeline with the six stages of a spoken reply, drawn in time order, causally
    ordered (created before first text and first audio, audio at the kernel before the first sample heard,
    the first before the last), and the user's items none."""
    shown = timelines(session.nb)
    replies = [t for t in shown if t["role"] == "assistant"]
    assert len(replies) == TURNS
    assert all(t["hidden"] for t in shown if t["role"] == "user")
    for t in replies:
        assert not t["hidden"]
        assert t["turn"] == "response.create"
        stage = dict(t["marks"])
        assert set(stage) == {
            "to_created_ms", "to_first_text_ms", "to_done_ms", *AUDIO_STAGES,
        }  # fmt: skip
        ms = [m for _, m in t["marks"]]
        assert ms == sorted(ms)  # the axis runs from the turn start
        assert 0 <= stage["to_created_ms"] <= stage["to_first_text_ms"]
        assert stage["to_created_ms"] <= stage["to_first_audio_ms"] <= stage["to_first_played_ms"]
        assert stage["to_first_played_ms"] <= stage["to_last_played_ms"]


def test_the_timelines_show_the_kernels_figures(session: Session) -> None:
    """The marks' ms are w.metrics' stages for that response (the page computes none). A played report
    may still move the last sample's stage after the marks showed; the views get it with the next flush
    (within FLUSH_S), so the page is compared again until it has caught up, for a few seconds at most."""

    def shown_and_kernel() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rows = session.nb.kernel_json(ROWS_EXPR)
        replies = [t for t in timelines(session.nb) if t["role"] == "assistant"]
        assert len(rows) == len(replies) == TURNS
        kernel = [{k: v for k, v in row.items() if k.startswith("to_") and v is not None} for row in rows]
        return [dict(t["marks"]) for t in replies], kernel

    deadline = time.monotonic() + 5
    shown, kernel = shown_and_kernel()
    while shown != kernel and time.monotonic() < deadline:
        session.nb.page.wait_for_timeout(200)
        shown, kernel = shown_and_kernel()
    assert shown == kernel


def test_the_chart_shows_the_sessions_median_and_p90_per_stage(session: Session) -> None:
    """The chart counts both responses and shows w.latency_summary()'s median and p90 for each stage."""
    chart = session.nb.page.get_by_test_id("rt-latency-chart")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("data-n", str(TURNS))
    summary = session.nb.kernel_json("w.latency_summary()")
    shown = session.nb.page.evaluate(CHART_JS)
    assert set(shown["rows"]) == set(summary)
    for stage, figures in shown["rows"].items():
        assert figures == {
            "n": TURNS,
            "median": summary[stage]["median_ms"],
            "p90": summary[stage]["p90_ms"],
        }, stage
    expect(chart).to_contain_text(f"latency over {TURNS} responses")


def test_the_audio_bar_shows_the_pre_roll_and_the_underrun_count(session: Session) -> None:
    """Beside the pre-roll, the audio bar shows how many times playback ran dry (the engine's count)."""
    nb = session.nb
    label = nb.page.get_by_test_id("rt-underruns")
    expect(label).to_be_visible()
    underruns = nb.page.get_by_test_id("rt-audio").get_attribute("data-underruns")
    assert underruns is not None
    count = int(underruns)
    expect(label).to_have_attribute("data-count", str(count))
    expect(label).to_have_text(f"pre-roll 100 ms · {count} underrun{'' if count == 1 else 's'}")
    nb.kernel("w.preroll_ms = 250")
    expect(label).to_have_attribute("data-preroll-ms", "250")
    expect(label).to_contain_text("pre-roll 250 ms")


STAMPS = ("first_delta_at", "first_sent_at", "first_arrived_at", "first_rendered_at", "first_sample_at")
CLOCKS_MS = 2.0  # the kernel's and the page's wall clocks on one machine agree this closely


def test_each_reply_has_every_first_audio_stamp_in_order(session: Session) -> None:
    """Per reply, w.audio_stats holds the first audio's stage stamps on one wall clock, each present and in
    causal order: delta at the kernel <= sent to the views <= reached the page <= first sample rendered <=
    heard (rendered + the output's latency); the worklet's notice reaches the main thread after the render."""
    stats = session.nb.kernel_json("w.audio_stats")
    assert len(stats) == TURNS
    for item, s in stats.items():
        assert all(isinstance(s[k], float) for k in (*STAMPS, "first_noticed_at")), (item, s)
        at = [s[k] for k in STAMPS]
        assert at[0] <= at[1], s  # both on the kernel's clock
        assert at[1] <= at[2] + CLOCKS_MS / 1000, s
        assert at[2] <= at[3] + CLOCKS_MS / 1000, s
        assert at[3] <= at[4], s  # one page clock
        assert s["first_rendered_at"] <= s["first_noticed_at"] + CLOCKS_MS / 1000, s
