"""The event composer and the row actions in a real notebook: a refused edit names its field, a fixed one is
sent and answered, a client row is resent, a row's JSON reaches the clipboard, a search inside the JSON is
marked (JupyterLab + headless Chromium, the local simulator)."""

from __future__ import annotations

import ast
import json

import pytest
from conftest import NotebookOpener
from playwright.sync_api import expect
from test_browser_widget import WIDGET_CELL, connect_by_click, send_by_enter

import rtwidget

pytestmark = pytest.mark.browser

CLIENT_ITEMS_EXPR = (
    "[e.data for e in w.events if e.direction == 'client' and e.type == 'conversation.item.create']"
)


def rows(page: object, type_: str, direction: str) -> object:
    """The log rows of one type and direction."""
    return page.locator(f'[data-testid="rt-log-row"][data-type="{type_}"][data-dir="{direction}"]')  # type: ignore[attr-defined]


def test_composer_refuses_an_invalid_edit_then_sends_the_fixed_event(open_notebook: NotebookOpener) -> None:
    """A wrong content type is refused with its path and Send disabled; fixed, it is sent, logged and
    answered, and the row's resend sends it once more with a new event_id."""
    nb = open_notebook([WIDGET_CELL])
    nb.run_all()
    page = nb.page
    # The kernel runs the rtwidget under test (PYTHONPATH reaches it through the server's environment).
    assert nb.kernel("import rtwidget; print(rtwidget.__file__)").strip() == rtwidget.__file__
    connect_by_click(nb)
    page.get_by_test_id("rt-composer").locator("summary").first.click()
    page.get_by_test_id("rt-composer-type").select_option("conversation.item.create")
    editor = page.get_by_test_id("rt-composer-json")
    send = page.get_by_test_id("rt-composer-send")
    expect(editor).to_have_value(
        json.dumps(json.loads(editor.input_value()), indent=2)
    )  # the template is shown
    expect(send).to_be_enabled()
    event = json.loads(editor.input_value())
    event["item"]["content"][0]["type"] = "output_text"  # model output in a user message
    editor.fill(json.dumps(event, indent=2))
    error = page.get_by_test_id("rt-composer-error")
    expect(error).to_have_attribute("data-path", "$.item.content[0].type")
    expect(error).to_contain_text("input_text")  # the rule: the content types a user message may carry
    expect(send).to_be_disabled()

    event["item"]["content"][0] = {"type": "input_text", "text": "composed by hand"}
    editor.fill(json.dumps(event, indent=2))
    expect(send).to_be_enabled()
    expect(error).to_have_text("")
    send.click()
    expect(page.get_by_test_id("rt-composer-notice")).to_contain_text("sent evt_")
    expect(rows(page, "conversation.item.create", "client")).to_have_count(1)
    expect(rows(page, "conversation.item.done", "server")).to_have_count(1)  # the server answered
    (sent,) = nb.kernel_json(CLIENT_ITEMS_EXPR)
    assert sent["item"] == event["item"]

    rows(page, "conversation.item.create", "client").first.click()
    page.get_by_test_id("rt-row-resend").click()
    expect(rows(page, "conversation.item.create", "client")).to_have_count(2)
    expect(rows(page, "conversation.item.done", "server")).to_have_count(2)
    first, again = nb.kernel_json(CLIENT_ITEMS_EXPR)
    assert again["event_id"] != first["event_id"]
    assert {**again, "event_id": None} == {**first, "event_id": None}


def test_row_copies_and_full_json_search(open_notebook: NotebookOpener) -> None:
    """copy JSON puts the shown event on the clipboard, copy as Python a send_event call for a client row,
    and a word found only inside an event's JSON filters the log and is marked in its detail."""
    nb = open_notebook([WIDGET_CELL])
    nb.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    nb.run_all()
    page = nb.page
    connect_by_click(nb)
    send_by_enter(nb, "Hello there")
    expect(rows(page, "response.done", "server")).to_have_count(1)

    rows(page, "response.done", "server").click()
    detail = page.get_by_test_id("rt-log-detail")
    expect(detail.locator("pre")).to_contain_text('"usage"')
    page.get_by_test_id("rt-row-copy-json").click()
    expect(page.get_by_test_id("rt-copy-notice")).to_have_text("copied")
    copied = json.loads(page.evaluate("navigator.clipboard.readText()"))
    assert copied == json.loads(detail.locator("pre").inner_text())
    assert copied["type"] == "response.done"
    expect(page.get_by_test_id("rt-row-resend")).to_have_count(0)  # server rows are not resent

    rows(page, "conversation.item.create", "client").click()
    page.get_by_test_id("rt-row-copy-python").click()
    expect(page.get_by_test_id("rt-copy-notice")).to_have_text("copied")
    python = page.evaluate("navigator.clipboard.readText()")
    assert python.startswith("await w.send_event({")
    (logged,) = nb.kernel_json(CLIENT_ITEMS_EXPR)
    call = ast.parse(python.removeprefix("await "), mode="eval").body
    assert isinstance(call, ast.Call)
    assert ast.literal_eval(call.args[0]) == {k: v for k, v in logged.items() if k != "event_id"}

    # "cached_tokens" is in response.done's usage only, in no row's type or summary.
    assert "cached_tokens" not in rows(page, "response.done", "server").inner_text()
    page.get_by_test_id("rt-search").fill("CACHED_TOKENS")
    expect(page.get_by_test_id("rt-log-row")).to_have_count(1)
    expect(rows(page, "response.done", "server")).to_have_count(1)
    rows(page, "response.done", "server").click()
    expect(detail.locator("mark.rt-mark").first).to_have_text("cached_tokens")
