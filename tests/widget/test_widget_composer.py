"""The event composer's kernel side: templates, checks, send and resend, and the log's full-JSON search."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rtwidget.protocol import Dialect, validate_client_event
from rtwidget.widget import RealtimeWidget
from rtwidget.widget.composer import check, client_types, template
from rtwidget.widget.increments import split_batch
from rtwidget.widget.log import EventLog

FAST = 50.0


def view_msg(w: RealtimeWidget, content: dict[str, Any]) -> None:
    """Deliver a custom message from a view the way ipywidgets does."""
    w._handle_custom_msg(content, [])


def sent_to_view(w: RealtimeWidget) -> list[dict[str, Any]]:
    """Start recording what the kernel sends to the views (custom message contents)."""
    out: list[dict[str, Any]] = []

    def send(data: dict[str, Any] | None = None, buffers: Any = None, **_: Any) -> None:
        if data and data.get("method") == "custom":
            out.extend(content for content, _ in split_batch(data["content"], buffers))

    w.comm.send = send
    return out


@pytest.fixture
async def widget() -> AsyncIterator[RealtimeWidget]:
    w = RealtimeWidget(simulator_speed=FAST)
    yield w
    await w.disconnect()
    w.close()


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_every_template_validates_as_is(dialect: Dialect) -> None:
    """The template of each client type of a dialect passes validate_client_event unchanged."""
    for kind in client_types(dialect):
        event, _ = template(kind, dialect)
        assert event["type"] == kind
        validate_client_event(event, dialect=dialect)


def test_templates_cover_the_dialects_client_types() -> None:
    """The composer offers exactly the protocol core's client event types per dialect."""
    from rtwidget.protocol import beta, ga

    assert client_types("ga") == sorted(ga.CLIENT_EVENTS)
    assert client_types("beta") == sorted(beta.CLIENT_EVENTS)
    assert "transcription_session.update" in client_types("beta")


def test_optional_fields_list_paths_and_types_but_not_server_fields() -> None:
    """session.update lists nested optional paths with their types, and not the server-set session.id."""
    _, optional = template("session.update", "ga")
    fields = dict(optional)
    assert fields["session.audio.output.speed"].startswith("number ≥ 0.25 ≤ 1.5")
    assert fields["session.max_output_tokens"] == 'integer ≥ 1 ≤ 4096 | "inf" | null'
    assert "session.id" not in fields
    assert "session.object" not in fields


def test_an_invalid_edit_names_the_field_path_and_the_rule() -> None:
    """A wrong content type inside the item is refused with its path, the core's code and the rule."""
    event, _ = template("conversation.item.create", "ga")
    event["item"]["content"][0]["type"] = "output_text"  # a user message cannot carry model output
    data, verdict = check(json.dumps(event), "ga")
    assert data is None
    assert verdict["path"] == "$.item.content[0].type"
    assert verdict["code"] == "invalid_value"
    assert "input_text" in verdict["rule"]


def test_text_that_is_not_json_is_refused_with_its_position() -> None:
    """A missing comma is refused as invalid_json with the line and column."""
    _, verdict = check('{"type": "response.create"\n "x": 1}', "ga")
    assert (verdict["ok"], verdict["code"]) == (False, "invalid_json")
    assert "line 2 column 2" in verdict["rule"]


async def test_check_message_answers_the_view_with_the_path(widget: RealtimeWidget) -> None:
    """composer.check gets a composer.check reply for that view, echoing its n, naming the field."""
    sent = sent_to_view(widget)
    view_msg(widget, {"type": "ready", "view": "v1", "limit": 10})
    bad = {"type": "conversation.item.truncate", "item_id": "i", "content_index": 0, "audio_end_ms": "5"}
    view_msg(widget, {"type": "composer.check", "view": "v1", "req": 2, "n": 7, "json": json.dumps(bad)})
    (reply,) = [m for m in sent if m["type"] == "composer.check"]
    assert (reply["view"], reply["n"], reply["ok"], reply["path"]) == ("v1", 7, False, "$.audio_end_ms")
    assert reply["code"] == "invalid_type"


async def test_composer_send_refuses_an_invalid_event_and_sends_a_valid_one(widget: RealtimeWidget) -> None:
    """composer.send validates again in the kernel: invalid -> nothing sent; valid -> sent and answered."""
    sent = sent_to_view(widget)
    view_msg(widget, {"type": "ready", "view": "v1", "limit": 10})
    await widget.connect()
    before = len(widget.events)
    bad = {"type": "response.create", "response": {"max_output_tokens": 0}}
    view_msg(widget, {"type": "composer.send", "seq": 1, "view": "v1", "json": json.dumps(bad)})
    assert [m["path"] for m in sent if m["type"] == "composer.check"] == ["$.response.max_output_tokens"]
    assert not any(e.direction == "client" for e in widget.events[before:])
    event, _ = template("conversation.item.create", "ga")
    view_msg(widget, {"type": "composer.send", "seq": 2, "view": "v1", "json": json.dumps(event)})
    await widget.wait_for("conversation.item.done", since=before)
    (answer,) = [m for m in sent if m["type"] == "composer.sent"]
    assert answer["ok"] is True
    (logged,) = [e for e in widget.events[before:] if e.direction == "client"]
    assert logged.data == {**event, "event_id": answer["event_id"]}


async def test_resend_sends_the_logged_event_again_with_a_new_event_id(widget: RealtimeWidget) -> None:
    """resend of a client row sends the same event, only its event_id new."""
    view_msg(widget, {"type": "ready", "view": "v1", "limit": 10})
    await widget.connect()
    part = {"type": "input_text", "text": "once more"}
    await widget.send_event(
        {"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [part]}}
    )
    first = next(e for e in widget.events if e.type == "conversation.item.create")
    await widget.wait_for("conversation.item.done")
    count = len(widget.events)
    view_msg(widget, {"type": "resend", "seq": 3, "view": "v1", "row": first.row, "member": 0})
    await widget.wait_for("conversation.item.done", since=count)
    again = [e for e in widget.events[count:] if e.direction == "client"]
    assert [e.type for e in again] == ["conversation.item.create"]
    original, resent = dict(first.data), dict(again[0].data)
    assert resent.pop("event_id") != original.pop("event_id")
    assert resent == original


async def test_edit_and_resend_loads_the_logged_event_without_its_event_id(widget: RealtimeWidget) -> None:
    """composer.template with a row answers with that client event as JSON, minus its event_id."""
    sent = sent_to_view(widget)
    view_msg(widget, {"type": "ready", "view": "v1", "limit": 10})
    await widget.connect()
    await widget.send_event({"type": "response.create", "response": {"instructions": "short"}})
    entry = next(e for e in widget.events if e.type == "response.create")
    view_msg(widget, {"type": "composer.template", "view": "v1", "req": 4, "row": entry.row})
    (answer,) = [m for m in sent if m["type"] == "composer.template"]
    assert json.loads(answer["json"]) == {"type": "response.create", "response": {"instructions": "short"}}
    assert answer["event"] == "response.create"
    assert "response.instructions" in dict(answer["optional"])


def _frame(**data: Any) -> str:
    return json.dumps(data)


def test_search_finds_a_word_in_an_items_text_that_is_not_in_the_summary() -> None:
    """Full-JSON search matches text deep in a frame beyond the summary's reach."""
    log = EventLog()
    long_text = "filler " * 40 + "the hidden PLATYPUS is here"
    item = {"id": "item_1", "type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": long_text}]}  # fmt: skip
    log.add("server", "conversation.item.done", 0.0, raw=_frame(type="conversation.item.done", item=item),
            summary="assistant message · filler filler…")  # fmt: skip
    log.add("server", "rate_limits.updated", 0.1, raw=_frame(type="rate_limits.updated", rate_limits=[]))
    assert "platypus" not in log.rows[0].searchable()
    log.set_filter("all", "platypus")
    assert [r["y"] for r in log.tail(10)["rows"]] == ["conversation.item.done"]


def test_search_does_not_match_inside_audio_base64() -> None:
    """A word that occurs in an audio payload's base64 does not make its row match; other fields do."""
    pcm = base64.b64decode("AAAA" + "QUJD" * 400)  # base64 of this PCM contains "QUJD" (and "ujd")
    b64 = base64.b64encode(pcm).decode()
    assert "qujd" in b64.lower()
    log = EventLog()
    delta = _frame(type="response.output_audio.delta", item_id="item_9", delta=b64)
    log.add("server", "response.output_audio.delta", 0.0, raw=delta, item_id="item_9")
    log.add("client", "input_audio_buffer.append", 0.1,
            data={"type": "input_audio_buffer.append", "event_id": "evt_1", "audio": b64})  # fmt: skip
    audio_part = {"type": "input_audio", "audio": b64}
    log.add("client", "conversation.item.create", 0.2, data={"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [audio_part]}})  # fmt: skip
    log.set_filter("all", "qujd")
    assert log.tail(10)["rows"] == []
    log.set_filter("all", "item_9")
    assert [r["y"] for r in log.tail(10)["rows"]] == ["response.output_audio.delta"]


def test_search_finds_a_run_that_grows_into_a_match() -> None:
    """With a search set, a delta run whose later member matches joins the matching rows live."""
    log = EventLog()
    log.set_filter("all", "wombat")
    for i, piece in enumerate(["The ", "wom", "bat sleeps"]):
        frame = _frame(type="response.output_text.delta", item_id="item_1", delta=piece)
        log.add("server", "response.output_text.delta", i * 0.1, raw=frame, item_id="item_1", text=piece)
    new, _ = log.take_changes()
    assert [(r["y"], r["n"]) for r in new] == [("response.output_text.delta", 3)]
