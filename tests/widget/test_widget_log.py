"""The kernel-side event log: delta runs, filter windows, row details, redaction (no connection needed)."""

from __future__ import annotations

import base64
import json

import pytest

from rtwidget.widget.log import EventLog, elide_audio, redact, summarize

AUDIO_B64 = base64.b64encode(bytes(4800)).decode()  # 100 ms of PCM16 at 24 kHz


def _audio_delta(log: EventLog, item: str, t: float) -> None:
    log.add(
        "server",
        "response.output_audio.delta",
        t,
        data={"type": "response.output_audio.delta", "item_id": item, "delta": AUDIO_B64},
        item_id=item,
        nbytes=4800,
        audio_ms=100.0,
    )


def _plain(log: EventLog, type_: str, t: float = 0.0, **data: object) -> None:
    log.add(
        "server", type_, t, data={"type": type_, **data}, summary=summarize(type_, {"type": type_, **data})
    )


def test_interleaved_deltas_aggregate_per_type_and_item() -> None:
    """Audio and transcript deltas that interleave fold into one row each, with counts, bytes and ms."""
    log = EventLog()
    _plain(log, "response.created")
    for i in range(57):
        _audio_delta(log, "item_1", i * 0.1)
        log.add(
            "server",
            "response.output_audio_transcript.delta",
            i * 0.1,
            data={},
            item_id="item_1",
            text=f"w{i} ",
        )
    _plain(log, "response.output_audio.done")
    rows = log.tail(10)["rows"]
    assert [r["y"] for r in rows] == [
        "response.created",
        "response.output_audio.delta",
        "response.output_audio_transcript.delta",
        "response.output_audio.done",
    ]
    audio = rows[1]
    assert (audio["n"], audio["b"], audio["ms"]) == (57, 57 * 4800, 5700)
    assert rows[2]["s"].startswith("w0 w1 w2")
    assert len(log.entries) == 59 + 57


def test_non_delta_event_closes_runs() -> None:
    """A delta after another event starts a new row instead of joining the earlier run."""
    log = EventLog()
    _audio_delta(log, "a", 0)
    _plain(log, "rate_limits.updated")
    _audio_delta(log, "a", 1)
    assert [r.type for r in log.rows] == [
        "response.output_audio.delta",
        "rate_limits.updated",
        "response.output_audio.delta",
    ]


def test_presets_and_search_filter_rows() -> None:
    """Presets hide audio deltas or keep only errors; search matches type and summary."""
    log = EventLog()
    _plain(log, "session.created", session={"id": "sess_1", "model": "gpt-realtime"})
    _audio_delta(log, "a", 0)
    _plain(log, "error", error={"code": "invalid_value", "message": "bad voice"})
    log.rows[-1].flags = "e"
    log.set_filter("no_audio", "")
    assert [r["y"] for r in log.tail(10)["rows"]] == ["session.created", "error"]
    log.set_filter("errors", "")
    assert [r["y"] for r in log.tail(10)["rows"]] == ["error"]
    log.set_filter("all", "BAD VOICE")
    assert [r["y"] for r in log.tail(10)["rows"]] == ["error"]


def test_unknown_preset_is_refused() -> None:
    """An unknown preset raises a ValueError naming the valid ones."""
    with pytest.raises(ValueError, match="no_audio"):
        EventLog().set_filter("loud", "")


def test_windows_page_through_a_large_log() -> None:
    """Tail, before, after and around return bounded windows with offsets, never the whole log."""
    log = EventLog()
    for i in range(100_000):
        _plain(log, "rate_limits.updated", float(i))
    tail = log.tail(300)
    assert (len(tail["rows"]), tail["offset"], tail["total"], tail["tail"]) == (300, 99_700, 100_000, True)
    older = log.before(tail["rows"][0]["i"], 150)
    assert (older["offset"], older["rows"][-1]["i"]) == (99_550, 99_699)
    newer = log.after(older["rows"][-1]["i"], 150)
    assert newer["rows"][0]["i"] == 99_700
    around = log.around(5_000, 100)
    assert around["rows"][0]["i"] <= 5_000 <= around["rows"][-1]["i"]
    assert len(around["rows"]) == 100


def test_changes_report_new_rows_and_grown_runs() -> None:
    """take_changes returns new rows once, and a run that grew after being sent as an update."""
    log = EventLog()
    _audio_delta(log, "a", 0)
    new, updated = log.take_changes()
    assert ([r["y"] for r in new], updated) == (["response.output_audio.delta"], [])
    _audio_delta(log, "a", 0.1)
    new, updated = log.take_changes()
    assert new == []
    assert [u["n"] for u in updated] == [2]


def test_clear_hides_rows_but_keeps_entries() -> None:
    """Clearing empties the view's rows while entries stay for the Python API."""
    log = EventLog()
    _plain(log, "session.created")
    log.clear()
    _plain(log, "session.updated")
    assert [r["y"] for r in log.tail(10)["rows"]] == ["session.updated"]
    assert len(log.entries) == 2


def test_detail_elides_audio_and_walks_members() -> None:
    """Row detail shows a run member's JSON with the audio payload replaced by its size and duration."""
    log = EventLog()
    _audio_delta(log, "a", 0)
    _audio_delta(log, "a", 0.1)
    detail = log.detail(0, 1)
    assert (detail["count"], detail["member"], detail["entry"]) == (2, 1, 1)
    payload = json.loads(detail["json"])
    assert payload["delta"] == "<4800 bytes · 100 ms of audio, elided>"
    assert AUDIO_B64 not in detail["json"]


def test_elide_audio_in_input_audio_items() -> None:
    """Audio inside a conversation.item.create content part is elided too."""
    data = {
        "type": "conversation.item.create",
        "item": {"type": "message", "content": [{"type": "input_audio", "audio": AUDIO_B64}]},
    }
    out = elide_audio(data["type"], data)
    assert out["item"]["content"][0]["audio"] == "<4800 bytes of audio, elided>"
    assert data["item"]["content"][0]["audio"] == AUDIO_B64


def test_redact_keys_and_known_secrets() -> None:
    """Secret-bearing keys, known secret strings and sk-/ek_-looking literals are all replaced."""
    obj = {
        "headers": {"Authorization": "Bearer abc"},
        "client_secret": {"value": "ek_abcdefghijkl", "expires_at": 1},
        "note": "key is my-private-token here",
        "echo": "sk-proj-0123456789abcdef",
    }
    out = redact(obj, ["my-private-token"])
    text = json.dumps(out)
    for secret in ("Bearer abc", "ek_abcdefghijkl", "my-private-token", "sk-proj-0123456789abcdef"):
        assert secret not in text
    assert out["client_secret"]["expires_at"] == 1


def test_error_summary_names_code_and_message() -> None:
    """An error row's summary carries the code and message (what the search box matches)."""
    s = summarize("error", {"error": {"code": "invalid_value", "message": "Invalid value: 'x'"}})
    assert s == "invalid_value: Invalid value: 'x'"
