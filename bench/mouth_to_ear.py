"""The way back, for ``bench/widget.py`` part (b): push-to-talk release -> the reply's first sample heard.

Chromium's fake microphone plays a WAV of the simulator's own synthesized speech (looping, so every hold
captures speech). Per turn the bench chooses push-to-talk, holds the ``rt-ptt`` button down with the mouse for
``HOLD_MS`` and releases it, then waits until the reply has played out. The stamps, all wall-clock seconds on
one machine (the page's ``performance.timeOrigin + performance.now()``, the kernel's ``time.time()``):

- release: the page's ``pointerup`` on ``rt-ptt`` (a capture-phase listener the bench adds);
- commit: the kernel's log row of the client ``input_audio_buffer.commit`` (after the last microphone chunk);
- created: the kernel's log row of the server ``response.created`` that follows it;
- first delta, page arrival, first sample: ``w.audio_stats`` of the reply's item (the first audio delta at the
  kernel, its first audio message reaching the page, the worklet's first rendered frame mapped through
  ``getOutputTimestamp``: when it is heard).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["HOLD_MS", "STAGES", "barge_ins", "chrome_arg", "ptt_turns", "speech_wav"]

HOLD_MS = 2000
SPOKEN = "please tell me about the lighthouse keeper"
# A transcription model, so the user's turn shows what the simulator made of the captured audio.
TRANSCRIBE_CODE = """
await w.update_session({"audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}}})
await w.wait_for("session.updated", timeout=10)
"""
RELEASES_JS = """() => {
  window.__rtReleases = [];
  document.addEventListener("pointerup", (e) => {
    if (e.target instanceof Element && e.target.closest('[data-testid="rt-ptt"]'))
      window.__rtReleases.push(performance.timeOrigin + performance.now());
  }, true);
}"""
# Per commit the kernel sent: its time, the next response.created, the reply's item and its audio stamps,
# and the user's transcript (all wall-clock seconds).
TURNS_CODE = """
import json, time
_wall0 = time.time() - w._now()
_turns = []
for _e in w.events:
    _key = (_e.direction, _e.type)
    if _key == ("client", "input_audio_buffer.commit"):
        _turns.append({"commit": _wall0 + _e.time})
    elif not _turns:
        continue
    elif _key == ("server", "response.created") and "created" not in _turns[-1]:
        _turns[-1]["created"] = _wall0 + _e.time
    elif _key == ("server", "response.output_audio.delta") and "item" not in _turns[-1]:
        _turns[-1]["item"] = _e.data["item_id"]
    elif _key == ("server", "conversation.item.input_audio_transcription.completed"):
        _turns[-1]["transcript"] = _e.data["transcript"]
_stats = w.audio_stats
for _t in _turns:
    _s = _stats.get(_t.get("item"), {})
    _t["delta"], _t["arrived"] = _s.get("first_delta_at"), _s.get("first_arrived_at")
    _t["sample"] = _s.get("first_sample_at")
print(json.dumps(_turns))
"""
# (from, to) stamp names per stage.
STAGES = {
    "release -> commit sent by the kernel": ("release", "commit"),
    "commit -> response.created at the kernel": ("commit", "created"),
    "response.created -> first audio delta at the kernel": ("created", "delta"),
    "first delta at the kernel -> page": ("delta", "arrived"),
    "page -> worklet -> first sample heard": ("arrived", "sample"),
    "= release -> first sample heard": ("release", "sample"),
}


def speech_wav(path: Path) -> Path:
    """A WAV of the simulator's speech saying ``SPOKEN`` with a short pause, for the fake microphone."""
    from rtwidget.audio import silence, write_wav
    from rtwidget.protocol.formats import PCM_RATE_HZ
    from rtwidget.server.voice import synthesize

    write_wav(path, silence(300) + synthesize(SPOKEN).pcm + silence(300), PCM_RATE_HZ)
    return path


def chrome_arg(wav: Path) -> str:
    """The Chromium flag that makes ``wav`` the fake microphone (looping)."""
    return f"--use-file-for-fake-audio-capture={wav}"


def ptt_turns(
    page: Any, kernel: Any, reply_state: Any, turns: int
) -> tuple[dict[str, list[float]], list[str]]:
    """Run push-to-talk turns on an open console; return the stage figures (ms) and the user transcripts.

    ``kernel(page, code)`` runs code on the notebook's kernel and returns its stdout; ``reply_state(page)``
    is ``(item, status, received_ms, played_ms)`` of the console's reply.
    """
    page.get_by_test_id("rt-mode").select_option("ptt")
    ptt = page.get_by_test_id("rt-ptt")
    ptt.wait_for(state="visible")
    page.wait_for_function(
        """() => document.querySelector('[data-testid="rt-mic"]')?.getAttribute("aria-pressed") === "true" """
    )
    kernel(page, TRANSCRIBE_CODE)
    page.evaluate(RELEASES_JS)
    for turn in range(turns):
        previous = reply_state(page)[0]
        box = ptt.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.wait_for_timeout(HOLD_MS)  # the hold itself; the stamps are the page's and the kernel's
        page.mouse.up()
        t_start = time.monotonic()
        while True:
            item, status, received_ms, played_ms = reply_state(page)
            if item and item != previous and status == "done" and played_ms >= received_ms - 1 > 0:
                break
            if time.monotonic() - t_start > 60:
                raise TimeoutError(f"push-to-talk turn {turn}: {status} {item} {played_ms}/{received_ms} ms")
            page.wait_for_timeout(250)
        print(f"    push-to-talk turn {turn + 1}/{turns} played out", file=sys.stderr, flush=True)
    releases = [ms / 1000 for ms in page.evaluate("() => window.__rtReleases")]
    rows = json.loads(kernel(page, TURNS_CODE).strip().splitlines()[-1])
    if len(rows) != len(releases):
        raise RuntimeError(f"{len(releases)} releases but {len(rows)} commits: {rows}")
    stages: dict[str, list[float]] = {}
    for release, row in zip(releases, rows, strict=True):
        row["release"] = release
        missing = [k for pair in STAGES.values() for k in pair if row.get(k) is None]
        if missing:
            raise RuntimeError(f"push-to-talk turn without {sorted(set(missing))}: {row}")
        for name, (a, b) in STAGES.items():
            stages.setdefault(name, []).append(1000 * (row[b] - row[a]))
    return stages, [str(row.get("transcript")) for row in rows]


LONG_PROMPT = "Please tell me a long story about a lighthouse keeper and the sea."
BARGE_CODE = """
import json
print(json.dumps({k: [v["interrupted_at"], v["flushed_at"]] for k, v in w.audio_stats.items()
                  if v["interrupted_at"] is not None}))
"""


def barge_ins(page: Any, kernel: Any, reply_state: Any, turns: int) -> list[float]:
    """Speak over long replies: per turn a typed prompt in text mode, then, once its audio plays, hands-free
    mode (the microphone's looping speech starts a turn: speech_started, barge-in); return per barge-in the
    ms from ``speech_started`` handled by the kernel to the page's playback going quiet (the worklet's
    clock; ``w.audio_stats``' ``interrupted_at`` and ``flushed_at``)."""
    prompt = page.get_by_test_id("rt-prompt")
    mode = page.get_by_test_id("rt-mode")
    for turn in range(turns):
        mode.select_option("text")
        page.wait_for_timeout(1500)  # the hands-free turn the last barge-in started ends, its reply plays out
        previous = reply_state(page)[0]
        prompt.fill(f"{LONG_PROMPT} ({turn})")
        prompt.press("Enter")
        t_start = time.monotonic()
        while True:  # the new reply is being heard
            item, _, _, played_ms = reply_state(page)
            if item and item != previous and played_ms > 300:
                break
            if time.monotonic() - t_start > 60:
                raise TimeoutError(f"barge-in turn {turn}: no reply playing")
            page.wait_for_timeout(50)
        mode.select_option("server_vad")  # the microphone opens; its speech interrupts
        t_start = time.monotonic()
        while reply_state(page)[1] != "truncated":
            if time.monotonic() - t_start > 30:
                raise TimeoutError(f"barge-in turn {turn}: the reply was not interrupted")
            page.wait_for_timeout(100)
        print(f"    barge-in {turn + 1}/{turns}", file=sys.stderr, flush=True)
    mode.select_option("text")
    page.wait_for_timeout(1000)
    stamps = json.loads(kernel(page, BARGE_CODE).strip().splitlines()[-1])
    return [1000 * (flushed - at) for at, flushed in stamps.values() if flushed is not None]
