"""Long sessions: kernel memory and throughput of RealtimeWidget over an hour of audio and 100k events.

The widget runs headless, as in ``bench/widget.py --skip-browser``: its comm's ``send`` is wrapped to count
what the kernel would send to the browser (trait syncs and custom messages, as JSON, plus binary buffers),
and a ``ready`` view is announced so it streams log rows, the reply, errors and audio as to a browser.
Nothing in the library is changed for the measurement.

(a) Audio: ``RealtimeWidget(simulator_speed=50)`` against its embedded simulator, other settings at their
    defaults, spoken turns until ``--minutes`` of audio arrived. Kernel memory: peak RSS of this process
    (widget and embedded simulator, as in a notebook's kernel) over its RSS before connecting, and
    tracemalloc's traced peak; then what the widget still holds once the session ended and the simulator
    stopped (traced, after a collection), per second of received audio, as a ratio to that audio's PCM16
    size, and split into the PCM the conversation holds (capped by ``keep_audio_s``) and the rest.
(b) Events: one reply of ``--events`` text deltas, pushed by an in-process transport as fast as the widget
    reads them (a real socket's frames arrive in batches: the transport lets the loop run every
    ``BATCH`` frames). Events/s over the first and the last tenth of the run and their ratio (~1 when the
    work per delta does not grow with the run), against a baseline of ``json.loads`` on the same frames.
(c) Errors: ``--errors`` unparsable frames, the same way: bytes sent to the browser per error.

Every run prints bytes sent to the browser per event, with the biggest senders by message kind.

Usage: ``python bench/long_session.py [--minutes 60] [--events 100000] [--errors 20000] [--speed 50]
[--skip-audio] [--skip-events] [--skip-errors] [--no-trace]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from rtwidget.protocol.formats import bytes_per_ms

__all__ = ["main"]

PCM16_BYTES_PER_S = bytes_per_ms("pcm16") * 1000
SIM_SPEED = 50.0
GOAL_PEAK_MB = 150.0
GOAL_HELD_TO_PCM = 1.1
BATCH = 32  # frames the scripted transport hands over before letting the loop run (a socket read's worth)
# A spoken reply of ~13 s from the simulator ("say X" says X); the turn number makes every reply new, so no
# synthesis is cached and no two frames are alike.
PROMPT = (
    "Say turn {n}: the lighthouse keeper walked along the shore every morning and counted the waves"
    " that broke on the rocks below the tower while the gulls cried over the grey water."
)


def _rss_kb(field: str = "VmRSS") -> int:
    """This process's resident memory in KB (``VmRSS`` now, ``VmHWM`` its peak), from /proc."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs), so the peak is this run's."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        pass


class Browser:
    """What the kernel sends to the views: bytes by message kind (JSON content and binary buffers)."""

    def __init__(self) -> None:
        self.json_bytes: Counter[str] = Counter()
        self.buffer_bytes = 0
        self.messages = 0

    def send(self, data: Any = None, buffers: Any = None, **_: Any) -> None:
        """Stands in for the widget comm's ``send``."""
        data = data or {}
        self.messages += 1
        if data.get("method") == "custom":
            kind = "msg " + str((data.get("content") or {}).get("type"))
        else:
            kind = "trait " + ",".join(sorted((data.get("state") or {}).keys()))
        # ipykernel's packer: json.dumps with ensure_ascii=False (the header and HMAC come on top).
        self.json_bytes[kind] += len(json.dumps(data, ensure_ascii=False, default=str).encode())
        self.buffer_bytes += sum(memoryview(b).nbytes for b in buffers or ())

    @property
    def total(self) -> int:
        """All bytes: JSON and buffers."""
        return sum(self.json_bytes.values()) + self.buffer_bytes

    def top(self, n: int = 4) -> str:
        """The biggest senders, ``kind: bytes``."""
        return ", ".join(f"{kind}: {_size(b)}" for kind, b in self.json_bytes.most_common(n))


def _size(nbytes: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(nbytes) >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes:.0f} B"


def _widget(browser: Browser, **kwargs: Any) -> Any:
    from rtwidget import RealtimeWidget

    w = RealtimeWidget(**kwargs)
    w.comm.send = browser.send
    # The browser's handshake (docs/testing.md pitfall 8): without a ready view the widget sends nothing.
    w._handle_custom_msg({"type": "ready", "view": "bench", "limit": 300}, [])
    return w


# --------------------------------------------------------------------------------------------------------
# (a) an hour of audio against the embedded simulator


def _held_pcm(w: Any) -> int:
    return sum(len(p.audio_buffer or b"") for it in w.conversation.items for p in it.content)


def _clear_synthesis_caches() -> None:
    """Empty the simulator's module-level synthesis caches (bounded, but not the widget's memory)."""
    from rtwidget.server import voice

    for value in vars(voice).values():
        clear = getattr(value, "cache_clear", None)
        if callable(clear):
            clear()


async def _warm_up(speed: float) -> None:
    """One turn on a throwaway widget: lazy imports and first-use caches are not counted as held."""
    w = _widget(Browser(), simulator_speed=speed)
    await w.connect()
    await w.update_session(output_modalities=["audio"])
    await w.wait_for("session.updated", timeout=10)
    await w.send_text(PROMPT.format(n="zero"))
    await w.wait_for("response.done", timeout=120)
    await w.disconnect()
    w.close()
    _clear_synthesis_caches()


async def audio_session(minutes: float, speed: float, trace: bool) -> dict[str, float]:
    """Spoken turns until ``minutes`` of audio arrived; memory and traffic figures."""
    await _warm_up(speed)
    browser = Browser()
    w = _widget(browser, simulator_speed=speed)
    gc.collect()
    if trace:
        tracemalloc.start()
    rss0, traced0 = _rss_kb(), tracemalloc.get_traced_memory()[0]
    _reset_peak_rss()
    t0 = time.monotonic()
    await w.connect()
    await w.update_session(output_modalities=["audio"])
    await w.wait_for("session.updated", timeout=10)
    goal_bytes = minutes * 60 * PCM16_BYTES_PER_S
    turns = 0
    while browser.buffer_bytes < goal_bytes:
        await w.send_text(PROMPT.format(n=turns))
        await w.wait_for("response.done", timeout=120)
        turns += 1
        if turns % 25 == 0:
            print(
                f"    {browser.buffer_bytes / PCM16_BYTES_PER_S / 60:.1f} min of audio,"
                f" RSS {_rss_kb() / 1024:.0f} MB",
                file=sys.stderr,
                flush=True,
            )
    wall = time.monotonic() - t0
    peak_rss = _rss_kb("VmHWM")
    traced_peak = tracemalloc.get_traced_memory()[1]
    events = len(w.events)
    await w.disconnect()  # the embedded simulator stops with the connection: what stays is the widget's
    _clear_synthesis_caches()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - traced0
    if trace:
        tracemalloc.stop()
    audio_s = browser.buffer_bytes / PCM16_BYTES_PER_S
    pcm_held = _held_pcm(w)
    out = {
        "turns": turns,
        "wall_s": wall,
        "audio_s": audio_s,
        "events": events,
        "rss_before_mb": rss0 / 1024,
        "rss_peak_growth_mb": (peak_rss - rss0) / 1024,
        "traced_peak_mb": (traced_peak - traced0) / 1e6,
        "held_mb": held / 1e6,
        "pcm_held_mb": pcm_held / 1e6,
        "held_to_pcm": held / (audio_s * PCM16_BYTES_PER_S),
        "other_per_audio_s": (held - pcm_held) / audio_s,
        "browser_json_per_event": sum(browser.json_bytes.values()) / events,
        "browser_audio_to_pcm": browser.buffer_bytes / (audio_s * PCM16_BYTES_PER_S),
    }
    print(
        f"(a) {audio_s / 60:.1f} min of audio in {turns} turns, {events} events, {wall:.0f} s at speed"
        f" {speed:g}; embedded simulator, default caps (keep_audio_s={w._console.keep_audio_s:g})"
    )
    _table(
        [
            ("RSS before connect", f"{out['rss_before_mb']:.0f} MB", ""),
            ("peak RSS growth", f"{out['rss_peak_growth_mb']:.1f} MB", f"goal < {GOAL_PEAK_MB:g} MB"),
            ("~traced peak", f"{out['traced_peak_mb']:.1f} MB", ""),
            ("~held after the session", f"{out['held_mb']:.1f} MB", f"PCM held {out['pcm_held_mb']:.1f} MB"),
            (
                "~held per audio s",
                f"{held / audio_s / 1000:.1f} KB = {out['held_to_pcm']:.2f}x PCM",
                f"goal <= {GOAL_HELD_TO_PCM}x below the cap",
            ),
            ("~held beyond the PCM, per audio s", f"{out['other_per_audio_s'] / 1000:.2f} KB", ""),
            ("to the browser: JSON per event", f"{out['browser_json_per_event']:.0f} B", browser.top()),
            ("to the browser: audio buffers", f"{out['browser_audio_to_pcm']:.2f}x PCM", ""),
            ("PCM held after the session", f"{out['pcm_held_mb']:.1f} MB", "")
            if not trace
            else ("~", "", ""),
        ],
        trace,
    )
    w.close()
    return out


# --------------------------------------------------------------------------------------------------------
# (b) and (c): frames pushed by an in-process transport


class ScriptedTransport:
    """A transport that hands over the frames of an iterator as fast as they are read, then waits to close."""

    def __init__(self, frames: Iterator[str], on_frame: Any = None) -> None:
        self._frames = frames
        self._on_frame = on_frame
        self._n = 0
        self._closed = asyncio.Event()
        self.drained = asyncio.Event()
        """Set once every frame was read (and, the widget reading one frame at a time, handled)."""
        self._code: int | None = None

    async def send(self, frame: str | bytes) -> None:
        """Client frames are dropped."""

    async def recv(self) -> str:
        """The next frame; the loop runs every BATCH frames, as between a socket's reads."""
        self._n += 1
        if self._n % BATCH == 0:
            await asyncio.sleep(0)
        frame = next(self._frames, None)
        if frame is None:
            self.drained.set()
            await self._closed.wait()
            from rtwidget.client import PermanentError

            raise PermanentError("closed", close_code=self._code, close_reason="")
        if self._on_frame is not None:
            self._on_frame(self._n)
        return frame

    async def ping(self) -> float:
        """Always answered."""
        return 0.0

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close at once."""
        self._code = code
        self._closed.set()

    @property
    def close_code(self) -> int | None:
        """The close code once closed."""
        return self._code

    @property
    def close_reason(self) -> str | None:
        """No reason is given."""
        return "" if self._code is not None else None


def _session_created() -> str:
    session = {
        "type": "realtime",
        "id": "sess_bench",
        "model": "gpt-realtime-2",
        "output_modalities": ["text"],
    }
    return json.dumps({"type": "session.created", "event_id": "ev_0", "session": session})


def text_reply_frames(n: int) -> Iterator[str]:
    """``session.created``, one response with ``n`` text deltas of one item, its ``done`` events."""
    yield _session_created()
    resp, item = "resp_bench", "item_bench"
    yield json.dumps(
        {"type": "response.created", "event_id": "ev_1", "response": {"id": resp, "status": "in_progress"}}
    )
    msg = {"id": item, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    yield json.dumps(
        {
            "type": "response.output_item.added",
            "event_id": "ev_2",
            "response_id": resp,
            "output_index": 0,
            "item": msg,
        }
    )
    part = {"type": "output_text", "text": ""}
    added = {"type": "response.content_part.added", "event_id": "ev_3", "response_id": resp, "item_id": item}
    yield json.dumps({**added, "output_index": 0, "content_index": 0, "part": part})
    words = ("the ", "keeper ", "counted ", "waves, ", "and ", "gulls ", "cried. ")
    for i in range(n):
        yield json.dumps(
            {
                "type": "response.output_text.delta",
                "event_id": f"ev_d{i}",
                "response_id": resp,
                "item_id": item,
                "output_index": 0,
                "content_index": 0,
                "delta": words[i % len(words)],
            }
        )
    done = {"id": resp, "status": "completed", "output": [{**msg, "status": "completed"}]}
    yield json.dumps({"type": "response.done", "event_id": "ev_9", "response": done})


def bad_frames(n: int) -> Iterator[str]:
    """``session.created``, then ``n`` frames that are not JSON."""
    yield _session_created()
    for i in range(n):
        yield f'{{"type": "response.output_text.delta", "delta": "cut {i}'


async def _run_scripted(frames: Iterator[str], count: int) -> tuple[Any, Browser, list[float], float]:
    """Drive a widget with these frames; (widget, browser, monotonic time at each tenth, wall s)."""
    browser = Browser()
    marks: list[float] = []
    step = max(1, count // 10)

    def on_frame(n: int) -> None:
        if n % step == 1 or step == 1:
            marks.append(time.perf_counter())

    transport = ScriptedTransport(frames, on_frame)

    async def factory(url: str, headers: Mapping[str, str]) -> ScriptedTransport:
        return transport

    w = _widget(browser, url="ws://bench.invalid/v1/realtime", factory=factory)
    t0 = time.perf_counter()
    await w.connect()
    await transport.drained.wait()
    await asyncio.sleep(0.2)  # the last flush of log rows and reply
    wall = time.perf_counter() - t0
    await w.disconnect()
    return w, browser, marks, wall


def baseline_rate(frames: list[str]) -> float:
    """Frames per second of ``json.loads`` alone on the same frames."""
    t0 = time.perf_counter()
    for frame in frames:
        json.loads(frame)
    return len(frames) / (time.perf_counter() - t0)


async def events_session(n: int, trace: bool) -> dict[str, float]:
    """One reply of ``n`` text deltas: events/s at the start and the end, memory, bytes to the browser.

    Two runs: the rates untraced (tracemalloc slows every allocation several times over), then memory.
    """
    base = baseline_rate(list(text_reply_frames(n)))
    warm, *_ = await _run_scripted(text_reply_frames(2000), 2000)  # lazy imports and first-use caches
    warm.close()
    w, browser, marks, wall = await _run_scripted(text_reply_frames(n), n)
    w.close()
    step = max(1, n // 10)
    rates = [step / (b - a) for a, b in itertools.pairwise(marks)]
    start, end = rates[0], rates[-1]
    del w
    gc.collect()
    if trace:
        tracemalloc.start()
    rss0, traced0 = _rss_kb(), tracemalloc.get_traced_memory()[0]
    _reset_peak_rss()
    w, _, _, _ = await _run_scripted(text_reply_frames(n), n)
    gc.collect()
    traced_peak = tracemalloc.get_traced_memory()[1] - traced0
    held = tracemalloc.get_traced_memory()[0] - traced0
    if trace:
        tracemalloc.stop()
    out = {
        "events_per_s_start": start,
        "events_per_s_end": end,
        "end_to_start": end / start,
        "baseline_events_per_s": base,
        "held_mb": held / 1e6,
        "held_per_event": held / n,
        "rss_peak_growth_mb": (_rss_kb("VmHWM") - rss0) / 1024,
        "traced_peak_mb": traced_peak / 1e6,
        "browser_per_event": browser.total / n,
    }
    print(f"(b) one reply of {n} text deltas, in-process transport, {wall:.1f} s (untraced run)")
    _table(
        [
            ("events/s, first tenth", f"{start:.0f}", f"json.loads alone: {base:.0f}/s"),
            ("events/s, last tenth", f"{end:.0f}", f"end / start = {out['end_to_start']:.2f} (goal ~1)"),
            (
                "peak RSS growth",
                f"{out['rss_peak_growth_mb']:.1f} MB",
                "second run" + (", traced" if trace else ""),
            ),
            ("~traced peak", f"{out['traced_peak_mb']:.1f} MB", ""),
            ("~held after the reply", f"{out['held_mb']:.1f} MB", f"{out['held_per_event']:.0f} B per event"),
            ("to the browser per event", f"{out['browser_per_event']:.0f} B", browser.top()),
        ],
        trace,
    )
    w.close()
    return out


async def errors_session(n: int) -> dict[str, float]:
    """``n`` bad frames: bytes sent to the browser per error."""
    w, browser, _, wall = await _run_scripted(bad_frames(n), n)
    out = {"errors": w.error_count, "browser_per_event": browser.total / n}
    print(f"(c) {n} unparsable frames, {w.error_count} errors counted, {wall:.1f} s")
    _table([("to the browser per error", f"{out['browser_per_event']:.0f} B", browser.top())])
    w.close()
    return out


def _table(rows: list[tuple[str, str, str]], trace: bool = True) -> None:
    """Print rows of (name, figure, note); names starting with ``~`` are traced figures, left out untraced."""
    rows = [(name.lstrip("~"), f, n) for name, f, n in rows if trace or not name.startswith("~")]
    rows = [r for r in rows if r[0]]
    width = max(len(r[0]) for r in rows)
    value = max(len(r[1]) for r in rows)
    for name, figure, note in rows:
        print(f"    {name:<{width}}  {figure:>{value}}  {note}".rstrip())


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: run the sessions, print their tables."""
    parser = argparse.ArgumentParser(prog="python bench/long_session.py", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="minutes of audio for (a) (default 60)")
    parser.add_argument(
        "--speed", type=float, default=SIM_SPEED, help=f"simulator speed (default {SIM_SPEED:g})"
    )
    parser.add_argument("--events", type=int, default=100_000, help="text deltas for (b) (default 100000)")
    parser.add_argument("--errors", type=int, default=20_000, help="bad frames for (c) (default 20000)")
    parser.add_argument("--skip-audio", action="store_true")
    parser.add_argument("--skip-events", action="store_true")
    parser.add_argument("--skip-errors", action="store_true")
    parser.add_argument(
        "--no-trace", action="store_true", help="no tracemalloc (RSS only: tracing costs CPU and memory)"
    )
    args = parser.parse_args(argv)
    trace = not args.no_trace
    ok = True
    if not args.skip_audio:
        a = asyncio.run(audio_session(args.minutes, args.speed, trace))
        ok &= a["rss_peak_growth_mb"] < GOAL_PEAK_MB
    if not args.skip_events:
        b = asyncio.run(events_session(args.events, trace))
        ok &= b["end_to_start"] >= 0.5
    if not args.skip_errors:
        asyncio.run(errors_session(args.errors))
    print("goals met" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
