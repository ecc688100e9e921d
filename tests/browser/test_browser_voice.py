"""Talking to the model in a real browser: push-to-talk with Chromium's fake microphone, capture contexts at
44.1 and 48 kHz delivering 24 kHz PCM of the right duration, and a clear refusal where the microphone cannot
work (JupyterLab + headless Chromium)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import CHROME_ARGS, TIMEOUT_MS, Lab, NotebookOpener, NotebookPage
from playwright.sync_api import expect

from rtwidget.audio import silence, write_wav
from rtwidget.server.voice import synthesize

if TYPE_CHECKING:
    from playwright.sync_api import Browser
from test_browser_widget import EVENTS_EXPR, WIDGET_CELL, connect_by_click

pytestmark = pytest.mark.browser

# Every AudioContext of the page at one rate (a capture context at 44.1 or 48 kHz, as devices run).
FORCE_RATE_JS = """(() => {{
  const A = window.AudioContext;
  window.AudioContext = class extends A {{
    constructor(o) {{ super({{ ...(o || {{}}), sampleRate: {rate} }}); }}
  }};
}})();"""
# A page where the microphone cannot work: no getUserMedia, no AudioWorklet, not a secure context.
INSECURE_JS = """(() => {
  Object.defineProperty(window, "isSecureContext", { value: false });
  Object.defineProperty(Navigator.prototype, "mediaDevices", { get: () => undefined });
  window.AudioWorkletNode = undefined;
})();"""


def appended_ms(events: list[list[Any]]) -> float:
    """Milliseconds of 24 kHz PCM16 the kernel sent in input_audio_buffer.append frames."""
    n = sum(
        len(base64.b64decode(d["audio"]))
        for direction, t, d in events
        if direction == "client" and t == "input_audio_buffer.append"
    )
    return n / 48


def hold_to_talk(nb: NotebookPage, hold_ms: int) -> None:
    """Choose push-to-talk, then hold the button down for hold_ms with the mouse, as a person would."""
    page = nb.page
    page.get_by_test_id("rt-mode").select_option("ptt")
    ptt = page.get_by_test_id("rt-ptt")
    expect(ptt).to_be_visible()
    expect(page.get_by_test_id("rt-mic")).to_have_attribute("aria-pressed", "true")
    # Turn detection off in the effective session before the press (the mode is the session's).
    nb.page.wait_for_function(
        """() => document.querySelector('[data-testid="rt-mode"]').value === 'ptt'""", timeout=TIMEOUT_MS
    )
    box = ptt.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    expect(ptt).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(hold_ms)
    page.mouse.up()
    expect(ptt).to_have_attribute("aria-pressed", "false")


@pytest.mark.parametrize("rate", [None, 44100, 48000])
def test_push_to_talk_sends_what_was_held(open_notebook: NotebookOpener, rate: int | None) -> None:
    """Hold 2 s, release: appends carrying ~2 s of 24 kHz audio (the capture's own count within 2 %), one
    commit after them, and a reply; at 44.1 and 48 kHz capture contexts alike."""
    nb = open_notebook([WIDGET_CELL])
    if rate is not None:
        nb.page.add_init_script(FORCE_RATE_JS.format(rate=rate))
        nb.page.reload()
        nb.wait_kernel_idle()
    nb.run_all()
    connect_by_click(nb)
    hold_to_talk(nb, 2000)
    page = nb.page
    expect(page.locator('[data-testid="rt-log-row"][data-type="response.done"]')).to_have_count(
        1, timeout=TIMEOUT_MS
    )
    events = nb.kernel_json(EVENTS_EXPR)
    sent = appended_ms(events)
    mic = page.get_by_test_id("rt-mic")
    captured = float(mic.get_attribute("data-captured-ms") or 0)
    if rate is not None:
        assert mic.get_attribute("data-context-rate") == str(rate)
    assert 1800 <= sent <= 2200, sent
    assert sent == pytest.approx(captured, rel=0.02), (sent, captured)
    types = [t for direction, t, _ in events if direction == "client"]
    assert types.count("input_audio_buffer.commit") == 1
    last_append = max(i for i, t in enumerate(types) if t == "input_audio_buffer.append")
    assert types[last_append + 1 : last_append + 3] == ["input_audio_buffer.commit", "response.create"]
    assert float(page.get_by_test_id("rt-mic-level").get_attribute("data-rms") or 0) >= 0


def test_the_space_bar_talks_too(open_notebook: NotebookOpener) -> None:
    """With the console (not a field) focused, holding the space bar is holding the button."""
    nb = open_notebook([WIDGET_CELL])
    nb.run_all()
    page = nb.page
    connect_by_click(nb)
    page.get_by_test_id("rt-mode").select_option("ptt")
    expect(page.get_by_test_id("rt-ptt")).to_be_visible()
    page.get_by_test_id("rt-log").focus()
    page.keyboard.down(" ")
    expect(page.get_by_test_id("rt-ptt")).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(1000)
    page.keyboard.up(" ")
    expect(page.locator('[data-testid="rt-log-row"][data-type="input_audio_buffer.commit"]')).to_have_count(1)
    assert 800 <= appended_ms(nb.kernel_json(EVENTS_EXPR)) <= 1300


def test_an_insecure_page_gets_a_clear_microphone_refusal(open_notebook: NotebookOpener) -> None:
    """No getUserMedia, no AudioWorklet, not a secure context: choosing a voice mode says why and how to fix
    it; nothing is sent and the console stays in text mode."""
    nb = open_notebook([WIDGET_CELL])
    nb.page.add_init_script(INSECURE_JS)
    nb.page.reload()
    nb.wait_kernel_idle()
    nb.run_all()
    page = nb.page
    connect_by_click(nb)
    page.get_by_test_id("rt-mode").select_option("server_vad")
    error = page.get_by_test_id("rt-mic-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("secure page")
    expect(error).to_contain_text("localhost")
    expect(page.get_by_test_id("rt-mode")).to_have_value("text")
    expect(page.get_by_test_id("rt-mic")).to_have_attribute("aria-pressed", "false")
    assert appended_ms(nb.kernel_json(EVENTS_EXPR)) == 0


def said_in_order(heard: list[str], said: list[str], lost: int = 1) -> bool:
    """Whether ``heard`` is ``said`` with at most ``lost`` words missing: each heard word was said, in the
    order said, nothing added. One word may go: a loaded machine's capture drops audio now and then (seen
    once in ten CI runs, at the first word after the microphone opened), and the server can only transcribe
    what it got."""
    it = iter(said)
    return all(word in it for word in heard) and len(said) - len(heard) <= lost


TRANSCRIBE = """
await w.update_session({"audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}}})
await w.wait_for("session.updated", timeout=10)
"""


def speech_wav(path: Path, parts: list[str | float]) -> Path:
    """A WAV of the simulator's own synthesized speech: each str is said, each float is that many seconds of
    silence (Chromium plays it as the fake microphone)."""
    pcm = b""
    for part in parts:
        pcm += silence(part * 1000) if isinstance(part, float) else synthesize(part).pcm
    write_wav(path, pcm, 24000)
    return path


@contextmanager
def file_microphone(
    browser: Browser, chromium_path: str, lab: Lab, wav: Path, name: str
) -> Iterator[NotebookOpener]:
    """A second Chromium whose fake microphone plays ``wav`` once (from when capture starts), and an opener
    for notebooks in it."""
    other = browser.browser_type.launch(
        executable_path=chromium_path,
        headless=True,
        args=[*CHROME_ARGS, f"--use-file-for-fake-audio-capture={wav}%noloop"],
    )
    opener = NotebookOpener(lab, other, name)
    try:
        yield opener
    finally:
        opener.close()
        other.close()


def test_hands_free_two_utterances_make_two_turns(
    browser: Browser, chromium_path: str, lab: Lab, tmp_path: Path
) -> None:
    """Server VAD on a microphone that says two things with a pause between: two user turns, two responses,
    and each turn's transcript is what was said in it."""
    said = ["hello there my friend", "how are you today"]
    wav = speech_wav(tmp_path / "two.wav", [0.5, said[0], 1.6, said[1], 2.5])
    with file_microphone(browser, chromium_path, lab, wav, "hands_free") as open_nb:
        nb = open_nb([WIDGET_CELL])
        nb.run_all()
        page = nb.page
        connect_by_click(nb)
        nb.kernel(TRANSCRIBE)
        page.get_by_test_id("rt-mode").select_option("server_vad")
        expect(page.get_by_test_id("rt-mic")).to_have_attribute("aria-pressed", "true")
        committed = page.locator('[data-testid="rt-log-row"][data-type="input_audio_buffer.committed"]')
        expect(committed).to_have_count(2, timeout=TIMEOUT_MS)
        done = page.locator('[data-testid="rt-log-row"][data-type="response.done"]')
        expect(done).to_have_count(2, timeout=TIMEOUT_MS)
        events = nb.kernel_json(EVENTS_EXPR)
        starts = [t for d, t, _ in events if d == "server" and t == "input_audio_buffer.speech_started"]
        assert len(starts) == 2
        assert "input_audio_buffer.commit" not in [t for d, t, _ in events if d == "client"]
        transcripts = [
            d["transcript"]
            for direction, t, d in events
            if direction == "server" and t == "conversation.item.input_audio_transcription.completed"
        ]
        assert len(transcripts) == 2, transcripts
        for heard, words in zip(transcripts, said, strict=True):
            assert said_in_order(heard.split(), words.split()), (heard, words)
        # The conversation view shows what the server transcribed (checked against the words said above).
        user = page.locator('[data-testid="rt-item"][data-role="user"]')
        expect(user.get_by_test_id("rt-item-text")).to_have_text(transcripts)


def test_speaking_over_the_reply_interrupts_it(
    browser: Browser, chromium_path: str, lab: Lab, tmp_path: Path
) -> None:
    """Barge-in: the user starts speaking while a long reply plays; playback stops, the reply is truncated
    at no more than what was played, and shown as truncated."""
    wav = speech_wav(tmp_path / "later.wav", [3.0, "wait a moment please", 2.0])
    with file_microphone(browser, chromium_path, lab, wav, "barge_in") as open_nb:
        nb = open_nb(["from rtwidget import RealtimeWidget\nw = RealtimeWidget(simulator_speed=4)\nw"])
        nb.run_all()
        page = nb.page
        connect_by_click(nb)
        prompt = page.get_by_test_id("rt-prompt")
        prompt.fill("Please tell me a long story about the sea, with many details.")
        prompt.press("Enter")
        page.wait_for_function(
            """() => +document.querySelector('[data-testid="rt-audio"]').dataset.playedMs > 200""",
            timeout=TIMEOUT_MS,
        )
        page.get_by_test_id("rt-mode").select_option("server_vad")  # the microphone opens; speech in 3 s
        truncate = page.locator('[data-testid="rt-log-row"][data-type="conversation.item.truncate"]')
        expect(truncate).to_have_count(1, timeout=TIMEOUT_MS)
        expect(page.get_by_test_id("rt-reply")).to_have_attribute("data-status", "truncated")
        events = nb.kernel_json(EVENTS_EXPR)
        cut = next(
            d for direction, t, d in events if direction == "client" and t == "conversation.item.truncate"
        )
        played = nb.kernel_json(f"w._console.played_ms({cut['item_id']!r})")
        assert 0 < cut["audio_end_ms"] <= played + 1, (cut, played)
        types = [t for _, t, _ in events]
        assert types.index("input_audio_buffer.speech_started") < types.index("conversation.item.truncate")
        assert "local.barge_in" in types
        # The barge-in's stamps (one wall clock): speech_started handled by the kernel, then the page quiet
        # (how long that takes is bench/mouth_to_ear.py's to measure, not a test's).
        stats = nb.kernel_json(f"w.audio_stats[{cut['item_id']!r}]")
        for _ in range(50):  # the page's report of the flush comes at once, maybe after the truncate row
            if stats["flushed_at"] is not None:
                break
            page.wait_for_timeout(100)
            stats = nb.kernel_json(f"w.audio_stats[{cut['item_id']!r}]")
        assert isinstance(stats["interrupted_at"], float), stats
        assert isinstance(stats["flushed_at"], float), stats
        assert stats["interrupted_at"] <= stats["flushed_at"] + 0.002, stats


def test_push_to_talk_shows_the_users_transcript(
    browser: Browser, chromium_path: str, lab: Lab, tmp_path: Path
) -> None:
    """Push-to-talk on a microphone saying known words, with input transcription on: hold 2 s, release ->
    1.8-2.2 s of appended audio, one commit, a response, and the user's turn in the conversation panel shows
    the words that were said while the button was held (the simulator reads its own speech through
    Chromium's capture: resampled, processed, float -> PCM16)."""
    words = "hello there my friend"
    wav = speech_wav(tmp_path / "words.wav", [0.2, *[words, 0.3] * 8])
    with file_microphone(browser, chromium_path, lab, wav, "ptt_transcript") as open_nb:
        nb = open_nb([WIDGET_CELL])
        nb.run_all()
        page = nb.page
        connect_by_click(nb)
        nb.kernel(TRANSCRIBE)
        hold_to_talk(nb, 2000)
        expect(page.locator('[data-testid="rt-log-row"][data-type="response.done"]')).to_have_count(
            1, timeout=TIMEOUT_MS
        )
        events = nb.kernel_json(EVENTS_EXPR)
        assert 1800 <= appended_ms(events) <= 2200
        assert [t for d, t, _ in events if d == "client"].count("input_audio_buffer.commit") == 1
        (done,) = [
            d
            for direction, t, d in events
            if direction == "server" and t == "conversation.item.input_audio_transcription.completed"
        ]
        user = page.locator('[data-testid="rt-item"][data-role="user"]')
        expect(user).to_have_count(1)
        expect(user.get_by_test_id("rt-item-text")).to_have_text(done["transcript"])
        # The microphone repeats the words from when capture started, so the hold holds a stretch of that
        # stream: whole words of it, in order, and the server heard all of them.
        heard = done["transcript"].split()
        assert len(heard) >= 3, done["transcript"]
        stream = words.split() * 8
        windows = (stream[i : i + len(heard) + 1] for i in range(len(stream)) if stream[i] == heard[0])
        assert any(said_in_order(heard, window) for window in windows), done["transcript"]
