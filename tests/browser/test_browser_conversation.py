"""The conversation panel in a real browser: items in order with their roles and status, an interrupted reply,
a tool's call and output, playing an item's audio fetched from the kernel, and delete through the server."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import TIMEOUT_MS, NotebookOpener, NotebookPage
from playwright.sync_api import Locator, expect
from test_browser_widget import (
    EVENTS_EXPR,
    PLAYED_SLACK_MS,
    WIDGET_CELL,
    audio_ms_received,
    connect_by_click,
    reply_transcript,
    send_by_enter,
    spoken_turn_played_out,
)

import rtwidget

pytestmark = pytest.mark.browser

ITEMS_JS = """() => [...document.querySelectorAll('[data-testid="rt-conversation"] [data-testid="rt-item"]')]
  .map((e) => ({ id: e.dataset.itemId, role: e.dataset.role, type: e.dataset.type, status: e.dataset.status,
                 text: e.querySelector('[data-testid="rt-item-text"]').textContent,
                 received: e.dataset.receivedMs, played: e.dataset.playedMs }))"""
TOOL_CELL = '''
@w.tool
def weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city.
    """
    return {"city": city, "sky": "clear"}
'''


def shown_items(nb: NotebookPage) -> list[dict[str, Any]]:
    """The panel's items, top to bottom."""
    items: list[dict[str, Any]] = nb.page.evaluate(ITEMS_JS)
    return items


def item(nb: NotebookPage, item_id: str) -> Locator:
    return nb.page.locator(f'[data-testid="rt-item"][data-item-id="{item_id}"]')


@dataclass
class Turn:
    """One spoken reply to a typed message, finished and heard to the end."""

    nb: NotebookPage
    events: list[list[Any]]


@pytest.fixture(scope="module")
def turn(open_module_notebook: NotebookOpener) -> Turn:
    """Connect, send a message with Enter, wait until the reply's audio has been played."""
    nb = open_module_notebook([WIDGET_CELL])
    nb.run_all()
    # The kernel runs the rtwidget under test (PYTHONPATH reaches it through the Jupyter server's env).
    assert nb.kernel_json("__import__('rtwidget').__file__") == rtwidget.__file__
    connect_by_click(nb)
    spoken_turn_played_out(nb)
    return Turn(nb, nb.kernel_json(EVENTS_EXPR))


def test_a_turn_shows_the_user_then_the_reply_in_order(turn: Turn) -> None:
    """The user's message then the assistant's reply, with roles, types, status, text and audio counters."""
    reply_id, transcript = reply_transcript(turn.events)
    expect(item(turn.nb, reply_id)).to_have_attribute("data-status", "completed")
    user, reply = shown_items(turn.nb)
    assert (user["role"], user["type"], user["status"]) == ("user", "message", "completed")
    assert user["text"] == "Hello! Who are you?"
    assert (reply["id"], reply["role"], reply["type"]) == (reply_id, "assistant", "message")
    assert reply["text"] == transcript
    assert [user["id"], reply["id"]] == turn.nb.kernel_json("[i.id for i in w.items]")
    received = round(audio_ms_received(turn.events, reply_id))
    assert int(reply["received"]) == received
    assert int(reply["played"]) >= received - PLAYED_SLACK_MS
    expect(turn.nb.page.get_by_test_id("rt-conversation-count")).to_have_text("2 items")


def test_play_fetches_the_items_audio_and_plays_it(turn: Turn) -> None:
    """Play on the finished reply fetches its audio from the kernel and plays it; a second click stops it."""
    reply_id, _ = reply_transcript(turn.events)
    play = item(turn.nb, reply_id).get_by_test_id("rt-item-play")
    play.click()
    expect(play).to_have_attribute("aria-pressed", "true")
    expect(play).to_have_attribute("data-fetched-ms", re.compile(r"\d+"))
    fetched = int(play.get_attribute("data-fetched-ms") or 0)
    assert abs(fetched - audio_ms_received(turn.events, reply_id)) <= 1
    # The position comes from the AudioContext's clock: it moves only while the context renders.
    turn.nb.page.wait_for_function(
        f"""() => +document.querySelector('[data-item-id="{reply_id}"] [data-testid="rt-item-play"]')
                  .dataset.positionMs > 300""",
        timeout=TIMEOUT_MS,
    )
    play.click()
    expect(play).to_have_attribute("aria-pressed", "false")
    assert int(play.get_attribute("data-position-ms") or 0) < fetched


def test_delete_removes_the_item_through_the_server(turn: Turn) -> None:
    """Delete sends conversation.item.delete; the item leaves the panel when the server says it is deleted."""
    user_id = shown_items(turn.nb)[0]["id"]
    item(turn.nb, user_id).get_by_test_id("rt-item-delete").click()
    expect(item(turn.nb, user_id)).to_have_count(0)
    expect(
        turn.nb.page.locator('[data-testid="rt-log-row"][data-type="conversation.item.deleted"]')
    ).to_have_count(1)
    events = turn.nb.kernel_json(EVENTS_EXPR)
    sent = [d for direction, t, d in events if direction == "client" and t == "conversation.item.delete"]
    assert [d["item_id"] for d in sent] == [user_id]
    assert [it["role"] for it in shown_items(turn.nb)] == ["assistant"]


def test_stop_mid_reply_marks_the_item_interrupted_at_what_was_heard(open_notebook: NotebookOpener) -> None:
    """Stop during playback: the reply's item says "interrupted at N ms of M", N the truncation point."""
    nb = open_notebook([WIDGET_CELL])
    nb.run_all()
    connect_by_click(nb)
    send_by_enter(nb, "Please tell me a long story about the sea, with many details.")
    nb.page.wait_for_function(
        """() => +document.querySelector('[data-testid="rt-audio"]').dataset.playedMs > 300"""
    )
    nb.page.get_by_test_id("rt-stop").click()
    interrupted = nb.page.locator('[data-testid="rt-item"][data-status="interrupted"]')
    expect(interrupted).to_have_count(1)
    events = nb.kernel_json(EVENTS_EXPR)
    truncate = next(
        d for direction, t, d in events if direction == "client" and t == "conversation.item.truncate"
    )
    expect(interrupted).to_have_attribute("data-item-id", truncate["item_id"])
    expect(interrupted).to_have_attribute("data-role", "assistant")
    status = interrupted.get_by_test_id("rt-item-status")
    expect(status).to_have_text(re.compile(r"interrupted at \d+ ms of \d+"))
    n_ms, m_ms = map(int, re.findall(r"\d+", status.inner_text()))
    assert n_ms == truncate["audio_end_ms"] >= 300
    assert m_ms == round(audio_ms_received(events, truncate["item_id"])) > n_ms


def test_a_tool_call_shows_its_call_and_output(open_notebook: NotebookOpener) -> None:
    """A tool registered with @w.tool: its call (arguments) and its output are items, then the reply."""
    nb = open_notebook([WIDGET_CELL, TOOL_CELL])
    nb.run_all()
    connect_by_click(nb)
    send_by_enter(nb, "What is the weather in Paris?")
    expect(nb.page.locator('[data-testid="rt-log-row"][data-type="response.done"]')).to_have_count(2)
    expect(nb.page.locator('[data-testid="rt-item"]')).to_have_count(4)
    expect(nb.page.locator('[data-testid="rt-item"]').last).to_have_attribute("data-status", "completed")
    items = shown_items(nb)
    assert [(it["type"], it["role"]) for it in items] == [
        ("message", "user"),
        ("function_call", "assistant"),
        ("function_call_output", "tool"),
        ("message", "assistant"),
    ]
    assert '"Paris"' in items[1]["text"]
    assert items[2]["text"] == '{"city": "Paris", "sky": "clear"}'
    call = nb.page.locator('[data-testid="rt-item"][data-type="function_call"]')
    expect(call).to_contain_text("call weather")
