"""RealtimeWidget in a real browser: connect, talk, listen, stop, filter, refuse bad input, stay fast.

Each scenario opens a generated notebook in JupyterLab (headless Chromium), drives the console through its
stable data-testid hooks like a person would (clicks, typing, Enter) and checks what the kernel recorded.
The simulator streams faster than real time (SPEED) so tests are short, while playback in the AudioWorklet
stays real: data-played-ms counts samples the worklet actually rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import TEXT_RGB_JS, TIMEOUT_MS, NotebookOpener, NotebookPage, is_red
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SPEED = 4.0
WIDGET_CELL = f"from rtwidget import RealtimeWidget\nw = RealtimeWidget(simulator_speed={SPEED})\nw"
# Kernel-side helper: wait until the browser has reported at least `ms` played for an item.
HELPERS_CELL = """
import asyncio

async def _played_at_least(item_id, ms):
    while (w.audio_stats.get(item_id) or {}).get("played_ms", 0) < ms:
        await asyncio.sleep(0.02)
    return w.audio_stats[item_id]["played_ms"]
"""
# What the kernel logged, as plain data: [direction, type, data] per entry.
EVENTS_EXPR = "[[e.direction, e.type, e.data] for e in w.events]"
ROWS_JS = """() => [...document.querySelectorAll('[data-testid="rt-log-row"]')]
  .map((r) => ({ type: r.dataset.type, dir: r.dataset.dir, count: +r.dataset.count }))"""
AUDIO_JS = """() => { const a = document.querySelector('[data-testid="rt-audio"]');
  return { received: +a.dataset.receivedMs, played: +a.dataset.playedMs, item: a.dataset.itemId,
           state: a.dataset.state, mode: a.dataset.mode }; }"""
# The worklet renders in 128-sample blocks; played and received are rounded to whole ms on the page.
PLAYED_SLACK_MS = 1


def log_rows(page: Page) -> list[dict[str, Any]]:
    """The log rows currently in the DOM, top to bottom."""
    rows: list[dict[str, Any]] = page.evaluate(ROWS_JS)
    return rows


def audio_state(page: Page) -> dict[str, Any]:
    """The audio bar's counters for the current item."""
    state: dict[str, Any] = page.evaluate(AUDIO_JS)
    return state


def connect_by_click(nb: NotebookPage, index: int = 0) -> None:
    """Click Connect on the index-th console of the page and wait for its status to read "open"."""
    root = nb.page.locator(".rt-root").nth(index)
    root.get_by_test_id("rt-connect").click()
    expect(root.get_by_test_id("rt-status")).to_have_text("open")


def send_by_enter(nb: NotebookPage, text: str, index: int = 0) -> None:
    """Type into the index-th console's prompt and press Enter, as a person would."""
    prompt = nb.page.locator(".rt-root").nth(index).get_by_test_id("rt-prompt")
    prompt.fill(text)
    prompt.press("Enter")


def audio_ms_received(events: list[list[Any]], item_id: str) -> float:
    """Milliseconds of PCM16 24 kHz audio the kernel received for one item, from its logged deltas."""
    import base64

    n_bytes = sum(
        len(base64.b64decode(data["delta"]))
        for direction, type_, data in events
        if direction == "server" and type_ == "response.output_audio.delta" and data.get("item_id") == item_id
    )
    return n_bytes / 48  # 24 samples per ms, 2 bytes per sample


def reply_transcript(events: list[list[Any]]) -> tuple[str, str]:
    """(item id, transcript) of the assistant message in the last response.done."""
    done = [data for direction, type_, data in events if type_ == "response.done" and direction == "server"][
        -1
    ]
    item = next(o for o in done["response"]["output"] if o["type"] == "message")
    part = item["content"][0]
    return item["id"], part.get("transcript") or part.get("text") or ""


def spoken_turn_played_out(nb: NotebookPage, text: str = "Hello! Who are you?", turn: int = 1) -> None:
    """Send a message with Enter and wait until its reply (the session's ``turn``-th) is done and its audio
    has been played to the end."""
    send_by_enter(nb, text)
    expect(nb.page.locator('[data-testid="rt-log-row"][data-type="response.done"]')).to_have_count(turn)
    nb.page.wait_for_function(
        f"""() => {{ const a = document.querySelector('[data-testid="rt-audio"]');
          return +a.dataset.receivedMs > 0
            && +a.dataset.playedMs >= +a.dataset.receivedMs - {PLAYED_SLACK_MS}; }}""",
        timeout=TIMEOUT_MS,
    )


@dataclass
class Conversation:
    """One spoken turn, driven through the console and finished; read by several tests."""

    nb: NotebookPage
    events: list[list[Any]]


@pytest.fixture(scope="module")
def spoken_turn(open_module_notebook: NotebookOpener) -> Conversation:
    """Open the console, click Connect, send a message with Enter, wait until its audio has been played."""
    nb = open_module_notebook([WIDGET_CELL, HELPERS_CELL])
    nb.run_all()
    expect(nb.page.get_by_test_id("rt-status")).to_have_text("idle")
    connect_by_click(nb)
    spoken_turn_played_out(nb)
    return Conversation(nb, nb.kernel_json(EVENTS_EXPR))


def test_log_shows_session_created_to_response_done(spoken_turn: Conversation) -> None:
    """The log starts with session.created, shows what was sent, and ends the turn with response.done."""
    rows = log_rows(spoken_turn.nb.page)
    types = [r["type"] for r in rows]
    received = [r["type"] for r in rows if r["dir"] == "server"]
    assert received[0] == "session.created"
    assert received.count("response.done") == 1
    sent = [r["type"] for r in rows if r["dir"] == "client"]
    assert sent[-2:] == ["conversation.item.create", "response.create"]
    assert types.index("response.created") < types.index("response.done")
    assert "response.output_audio.delta" in types


def test_log_rows_match_kernel_events(spoken_turn: Conversation) -> None:
    """Every kernel log entry is in the DOM, audio deltas aggregated into runs that count their members."""
    rows = log_rows(spoken_turn.nb.page)
    assert sum(r["count"] for r in rows) == len(spoken_turn.events)
    audio_runs = [r for r in rows if r["type"] == "response.output_audio.delta"]
    n_deltas = sum(1 for _, t, _ in spoken_turn.events if t == "response.output_audio.delta")
    assert sum(r["count"] for r in audio_runs) == n_deltas
    assert len(audio_runs) < n_deltas  # runs are aggregated, not one row per delta


def test_reply_text_is_shown(spoken_turn: Conversation) -> None:
    """The reply area shows the transcript the server sent, and the reply is marked done."""
    item_id, transcript = reply_transcript(spoken_turn.events)
    reply = spoken_turn.nb.page.get_by_test_id("rt-reply")
    assert transcript
    expect(reply).to_have_attribute("data-status", "done")
    expect(reply).to_have_attribute("data-item-id", item_id)
    expect(reply).to_contain_text(transcript)


def test_audio_played_to_the_end(spoken_turn: Conversation) -> None:
    """The worklet rendered all of the reply's audio: played ms reaches what the kernel received."""
    item_id, _ = reply_transcript(spoken_turn.events)
    audio = audio_state(spoken_turn.nb.page)
    assert audio["item"] == item_id
    assert audio["mode"] == "worklet"
    assert audio["received"] == round(audio_ms_received(spoken_turn.events, item_id))
    assert audio["played"] >= audio["received"] - PLAYED_SLACK_MS


def test_played_ms_reported_to_kernel(spoken_turn: Conversation) -> None:
    """The kernel learns from the browser how much of the item was heard (what Stop truncates at)."""
    item_id, _ = reply_transcript(spoken_turn.events)
    received = audio_ms_received(spoken_turn.events, item_id)
    # The view throttles its reports (~100 ms) and there is no event for them: poll on the kernel loop.
    played = spoken_turn.nb.kernel_json(
        f"await asyncio.wait_for(_played_at_least({item_id!r}, {received - PLAYED_SLACK_MS}), 10)"
    )
    assert played >= received - PLAYED_SLACK_MS
    assert spoken_turn.nb.kernel_json(f"w.audio_stats[{item_id!r}]['received_ms']") == received


def test_filter_hides_deltas(spoken_turn: Conversation) -> None:
    """The "hide all deltas" preset removes every *.delta row; "all" brings them back."""
    page = spoken_turn.nb.page
    delta_rows = page.locator('[data-testid="rt-log-row"][data-type$=".delta"]')
    assert delta_rows.count() > 0
    page.get_by_test_id("rt-filter").select_option("no_deltas")
    expect(delta_rows).to_have_count(0)
    expect(page.locator('[data-testid="rt-log-row"][data-type="response.done"]')).to_have_count(1)
    page.get_by_test_id("rt-filter").select_option("all")
    expect(delta_rows.first).to_be_visible()


def test_filter_hides_audio_deltas_only(spoken_turn: Conversation) -> None:
    """The "hide audio deltas" preset removes audio delta rows but keeps transcript deltas."""
    page = spoken_turn.nb.page
    page.get_by_test_id("rt-filter").select_option("no_audio")
    expect(page.locator('[data-testid="rt-log-row"][data-type="response.output_audio.delta"]')).to_have_count(
        0
    )
    expect(
        page.locator('[data-testid="rt-log-row"][data-type="response.output_audio_transcript.delta"]').first
    ).to_be_attached()
    page.get_by_test_id("rt-filter").select_option("all")


def test_stop_truncates_reply_mid_way(open_notebook: NotebookOpener) -> None:
    """Stop during playback sends conversation.item.truncate at what was heard, at most what was received."""
    nb = open_notebook([WIDGET_CELL])
    nb.run_all()
    connect_by_click(nb)
    send_by_enter(nb, "Please tell me a long story about the sea, with many details.")
    page = nb.page
    # Stop once playback has begun but well before the end of the item.
    page.wait_for_function(
        """() => { const a = document.querySelector('[data-testid="rt-audio"]');
                   return +a.dataset.playedMs > 300; }"""
    )
    before = audio_state(page)
    page.get_by_test_id("rt-stop").click()
    expect(page.locator('[data-testid="rt-log-row"][data-type="conversation.item.truncate"]')).to_have_count(
        1
    )
    expect(page.get_by_test_id("rt-reply")).to_have_attribute("data-status", "truncated")
    events = nb.kernel_json(EVENTS_EXPR)
    truncate = next(
        d for direction, t, d in events if direction == "client" and t == "conversation.item.truncate"
    )
    received_ms = audio_ms_received(events, truncate["item_id"])
    assert before["played"] < before["received"] or before["received"] < received_ms  # it really was mid-way
    assert 300 <= truncate["audio_end_ms"] <= received_ms
    assert truncate["audio_end_ms"] < received_ms
    assert truncate["item_id"] == before["item"]
    assert any(t == "conversation.item.truncated" for direction, t, _ in events if direction == "server")


def test_invalid_form_value_is_refused(open_notebook: NotebookOpener) -> None:
    """An out-of-range max_output_tokens is refused in the form with the reason, and nothing is sent."""
    nb = open_notebook([WIDGET_CELL])
    nb.run_all()
    connect_by_click(nb)
    page = nb.page
    page.get_by_test_id("rt-form").locator("summary").click()
    page.get_by_test_id("rt-max-tokens").fill("99999")
    sent_before = nb.kernel_json("sum(1 for e in w.events if e.direction == 'client')")
    page.get_by_test_id("rt-apply").click()
    expect(page.get_by_test_id("rt-form-error")).to_contain_text("max_output_tokens")
    assert nb.kernel_json("sum(1 for e in w.events if e.direction == 'client')") == sent_before
    expect(page.locator('[data-testid="rt-log-row"][data-type="session.update"]')).to_have_count(0)
    # A valid value then goes through, and the refusal disappears.
    page.get_by_test_id("rt-max-tokens").fill("200")
    page.get_by_test_id("rt-apply").click()
    expect(page.locator('[data-testid="rt-log-row"][data-type="session.updated"]')).to_have_count(1)
    expect(page.get_by_test_id("rt-form-error")).to_have_text("")


def test_screenshot(spoken_turn: Conversation, screenshot_path: Path) -> None:
    """The console after a spoken turn renders at a readable size (SHOT=1 keeps it as docs/screenshot.png)."""
    widget = spoken_turn.nb.page.locator(".rt-root")
    widget.scroll_into_view_if_needed()
    widget.screenshot(path=str(screenshot_path))
    assert screenshot_path.stat().st_size > 10_000


N_ITEMS = 7000  # each conversation.item.create logs 3 entries (sent, item.added, item.done): > 20k rows
FLOOD_CODE = f"""
import asyncio
_last = asyncio.get_running_loop().create_future()

def _on_done(ev):  # the server answers in order: the last item done means every answer is logged
    if "note {N_ITEMS - 1}" in str(ev.to_dict()) and not _last.done():
        _last.set_result(None)

w.on("conversation.item.done", _on_done)
for i in range({N_ITEMS}):
    await w.send_event({{"type": "conversation.item.create",
                        "item": {{"type": "message", "role": "user",
                                 "content": [{{"type": "input_text", "text": f"note {{i}}"}}]}}}})
await asyncio.wait_for(_last, 120)
print(len(w.events))
"""
MAX_DOM_ROWS = 400  # the console's bound on rendered rows (widget.js MAX_DOM_ROWS)


def test_log_stays_responsive_after_20k_events(open_notebook: NotebookOpener) -> None:
    """After 20k+ events the DOM holds a bounded window, and clicks, search and paging still answer."""
    nb = open_notebook([WIDGET_CELL])
    nb.run_all()
    connect_by_click(nb)
    page = nb.page
    n_events = int(nb.kernel(FLOOD_CODE).strip().splitlines()[-1])
    assert n_events > 20_000
    rows = page.get_by_test_id("rt-log-row")
    last = rows.last
    expect(last).to_have_attribute("data-type", "conversation.item.done")
    expect(page.get_by_test_id("rt-log-count")).to_have_text(f"{n_events} rows")
    assert 0 < rows.count() <= MAX_DOM_ROWS
    # click -> kernel -> detail rendered: the JSON of the very last event
    last.click()
    expect(page.get_by_test_id("rt-log-detail")).to_contain_text(f"note {N_ITEMS - 1}")
    # search over the whole kernel-side log, rendered as a small window
    page.get_by_test_id("rt-search").fill(f"note {N_ITEMS // 2}")
    expect(page.get_by_test_id("rt-log-count")).not_to_have_text(f"{n_events} rows")
    assert 0 < rows.count() <= 10
    page.get_by_test_id("rt-search").fill("")
    expect(page.get_by_test_id("rt-log-count")).to_have_text(f"{n_events} rows")
    # scrolling to the top pages older rows in, and the DOM stays bounded
    first_before = rows.first.get_attribute("data-row")
    page.get_by_test_id("rt-log").evaluate(
        "(el) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }"
    )
    expect(rows.first).not_to_have_attribute("data-row", first_before or "")
    assert rows.count() <= MAX_DOM_ROWS
    expect(page.get_by_test_id("rt-busy")).to_be_hidden()


SECRET = "sk-test-rtwidget-browser-0123456789SECRET"
WRONG = "sk-test-rtwidget-browser-wrong-987654WRONG"
SECRET_CELL = f"""
import contextlib
from rtwidget import RealtimeWidget
from rtwidget.server import serve

stack = contextlib.AsyncExitStack()
sim = await stack.enter_async_context(serve(port=0, speed={SPEED}, require_key=KEY))
w = RealtimeWidget(url=sim.url, api_key=KEY)
w
"""
WRONG_CELL = "bad = RealtimeWidget(url=sim.url, api_key=WRONG_KEY)\nbad"


def test_api_key_never_reaches_the_page_or_the_saved_notebook(
    open_notebook: NotebookOpener, tmp_path: Path
) -> None:
    """With a key (checked by the simulator), the DOM, row details, saved widget state and export omit it."""
    nb = open_notebook([SECRET_CELL, WRONG_CELL])
    # The keys reach the kernel outside the cells, as from the environment: cell sources are in the DOM.
    nb.kernel(f"KEY, WRONG_KEY = {SECRET!r}, {WRONG!r}")
    nb.run_all()
    page = nb.page
    connect_by_click(nb)  # the simulator requires the key: "open" proves it was sent
    send_by_enter(nb, "hello")
    good = page.locator(".rt-root").first
    expect(good.locator('[data-testid="rt-log-row"][data-type="response.done"]')).to_have_count(1)
    good.locator('[data-testid="rt-log-row"][data-type="session.created"]').click()
    expect(good.get_by_test_id("rt-log-detail")).to_contain_text("session")
    # the wrong key is refused, and the refusal shown in the page does not repeat it
    bad = page.locator(".rt-root").nth(1)
    bad.get_by_test_id("rt-connect").click()
    expect(bad.get_by_test_id("rt-status")).to_contain_text("failed")
    expect(bad.get_by_test_id("rt-errors")).not_to_have_attribute("data-count", "0")
    bad.get_by_test_id("rt-errors").click()
    expect(bad.get_by_test_id("rt-error-item").first).to_be_visible()
    nb.save()
    export = tmp_path / "export.jsonl"
    nb.kernel(f"w.export_log({str(export)!r}); bad.export_log({str(export)!r} + '.bad')")
    saved = (nb.path_on_disk).read_text()
    assert "application/vnd.jupyter.widget-state+json" in saved
    texts = {
        "page": page.content(),
        "saved notebook": saved,
        "export": export.read_text(),
        "export of the refused widget": Path(f"{export}.bad").read_text(),
        "reprs": nb.kernel("print(repr(w), repr(bad), w.events[:3], bad.events)"),
    }
    for where, text in texts.items():
        for secret in (SECRET, WRONG):
            assert secret not in text, f"key found in the {where}"
            assert secret[-16:] not in text, f"part of a key found in the {where}"


DEVIATING_CELL = """
import json
import websockets
from rtwidget import RealtimeWidget

async def _deviate(ws):  # a session without its `type`, an event type no dialect knows, then close 4000
    session = {"id": "s1", "object": "realtime.session", "model": "gpt-realtime"}
    await ws.send(json.dumps({"type": "session.created", "event_id": "e1", "session": session}))
    await ws.send(json.dumps({"type": "ping", "event_id": "e2"}))
    await ws.close(4000, "bad model")

_server = await websockets.serve(_deviate, "127.0.0.1", 0)
w = RealtimeWidget(url=f"ws://127.0.0.1:{_server.sockets[0].getsockname()[1]}", model="gpt-realtime")
w
"""


def test_deviating_server_shows_tolerated_frames_and_failed_close(open_notebook: NotebookOpener) -> None:
    """Tolerated frames are counted and flagged; a 4000 close reads "failed", in red, with a hint; a model
    on the shutdown list is marked on its badge."""
    nb = open_notebook([DEVIATING_CELL])
    nb.run_all()
    page = nb.page
    expect(page.get_by_test_id("rt-tolerated")).to_be_hidden()
    page.get_by_test_id("rt-connect").click()
    status = page.get_by_test_id("rt-status")
    expect(status).to_have_attribute("data-state", "failed")
    expect(status).to_contain_text("failed 4000 bad model")
    tolerated = page.get_by_test_id("rt-tolerated")
    expect(tolerated).to_have_attribute("data-count", "2")
    expect(tolerated).to_contain_text("2")
    expect(tolerated).to_have_attribute(
        "title", "frames that deviated from the schema (flagged ⚠ in the log) or had an unknown type"
    )
    expect(page.get_by_test_id("rt-close-hint")).to_contain_text("check the model name")
    badge = page.get_by_test_id("rt-model")
    expect(badge).to_have_class(re.compile(r"\brt-retiring\b"))
    expect(badge).to_have_attribute("title", re.compile("2027-01-20"))
    created = page.locator('[data-testid="rt-log-row"][data-type="session.created"]')
    expect(created).to_have_class(re.compile(r"\brt-row-warn\b"))
    # Red, distinct from the grey of a normal close (the theme's error colour, mixed for contrast).
    assert is_red(status.evaluate(TEXT_RGB_JS))
