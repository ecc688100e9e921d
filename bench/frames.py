"""Benchmark: the widget's own CPU per server frame, without a socket, split by stage.

``bench/widget.py`` (a) measures a spoken turn end to end (socket, websockets, the event loop and the
widget), so its figure moves with the machine's drift and the transport. This one isolates the widget:
the frames of ``--turns`` spoken replies are recorded once from the simulator (200x, child process), then
fed straight into a ``RealtimeWidget`` with a ready view and the recording comm of ``bench/widget.py``
(messages serialized and signed as ipykernel would): ``parse_server_event``, ``_on_frame`` (the log, the
metrics, the views' traits) and ``_handle_event`` (the console's state, playback, waiters), with a loop pass
every 4 frames so the sends they schedule run as between socket reads. Baseline, in the same process,
rounds interleaved, best of each: ``json.loads`` of each frame and the base64 decode of audio deltas (what
a bare client does with a frame).

The stage table comes from a separate, instrumented round (``time.perf_counter_ns`` around each stage; the
wrappers cost ~0.3 us per call): where the widget's time per frame goes.

``--instructions`` counts instead of timing, for an A/B that the machine's drift cannot blur: the same frames
are fed in child processes under valgrind's callgrind, with the garbage collector off and a clock that
advances 20 us per reading (the flush timers fire at the same frames in every run), and one feed's
instructions are the difference of a run with two feeds and a run with one (the baseline's likewise): the
widget's figure repeats within ~1.5%, the baseline's exactly. Each run records new frames (the simulator's
replies vary): for an A/B give both sides the same ``--frames FILE``, recorded by the first run and read by
the next. Needs ``valgrind`` (``apt-get install valgrind``); takes about two minutes.

Usage: ``python bench/frames.py [--turns 5] [--rounds 5] [--instructions] [--frames FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import widget as bench_widget  # bench/widget.py: the simulator, prompt and recording comm

__all__ = ["main"]

AUDIO_DELTA = '"response.output_audio.delta"'
LABELS = {"baseline": "baseline (json.loads + b64decode)", "widget": "widget (parse, log, state, sends)"}
SENDS = ("audio (ViewSync.send_audio)", "flush: log rows, text, conversation (ViewSync.flush)")


async def record(url: str, turns: int) -> list[str]:
    """The server frames of ``turns`` spoken replies to the bench's prompt, as text frames."""
    import websockets

    frames: list[str] = []
    async with websockets.connect(f"{url}?model=gpt-realtime-2", max_size=None) as ws:
        frames.append(str(await ws.recv()))
        update = {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["audio"]}}
        await ws.send(json.dumps(update))
        for _ in range(turns):
            await ws.send(json.dumps(bench_widget._user_text(bench_widget.PROMPT)))
            await ws.send(json.dumps({"type": "response.create"}))
            while True:
                frame = str(await ws.recv())
                frames.append(frame)
                if json.loads(frame)["type"] == "response.done":
                    break
    return frames


def floor(frames: list[str]) -> float:
    """CPU seconds of json.loads + the audio's base64 decode over the frames."""
    t0 = time.process_time()
    for frame in frames:
        event = json.loads(frame)
        if event["type"] == "response.output_audio.delta":
            base64.b64decode(event["delta"])
    return time.process_time() - t0


def _widget() -> Any:
    w = bench_widget.recording_widget("ws://127.0.0.1:9/v1/realtime")  # never connected: frames are fed in
    w._t0 = time.monotonic()
    return w


async def feed(frames: list[str]) -> float:
    """CPU seconds of the widget's handling of the frames (a fresh widget, sends included)."""
    from rtwidget.protocol import parse_server_event

    w = _widget()
    w._kernel.adopt()
    t0 = time.process_time()
    for n, frame in enumerate(frames):
        event = parse_server_event(frame)
        w._on_frame("server", frame, event, None)
        w._handle_event(event)
        if n % 4 == 3:
            await asyncio.sleep(0)
    for _ in range(3):
        await asyncio.sleep(0)
    w._views.flush()
    cpu = time.process_time() - t0
    w.close()
    return cpu


def stages(frames: list[str]) -> Counter[str]:
    """Nanoseconds per stage over one instrumented round."""
    from rtwidget.protocol import parse_server_event
    from rtwidget.widget.console import ConsoleState
    from rtwidget.widget.metrics import Metrics
    from rtwidget.widget.view import ViewSync

    spent: Counter[str] = Counter()
    patched: list[tuple[Any, str, Any]] = []

    def timed(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter_ns()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter_ns() - t0

        patched.append((owner, name, original))
        setattr(owner, name, wrapper)

    timed(ConsoleState, "frame", "log the frame (console.frame)")
    timed(Metrics, "frame", "metrics")
    timed(ConsoleState, "event", "state (console.event: conversation, playback)")
    timed(ViewSync, "send_audio", SENDS[0])
    timed(ViewSync, "flush", SENDS[1])

    async def run() -> None:
        w = _widget()
        w._kernel.adopt()
        for n, frame in enumerate(frames):
            t0 = time.perf_counter_ns()
            event = parse_server_event(frame)
            t1 = time.perf_counter_ns()
            w._on_frame("server", frame, event, None)
            t2 = time.perf_counter_ns()
            w._handle_event(event)
            t3 = time.perf_counter_ns()
            spent["parse_server_event"] += t1 - t0
            spent["_on_frame (all)"] += t2 - t1
            spent["_handle_event (all)"] += t3 - t2
            if n % 4 == 3:
                t4 = time.perf_counter_ns()
                await asyncio.sleep(0)
                spent["loop pass (scheduled sends)"] += time.perf_counter_ns() - t4
        w.close()

    try:
        asyncio.run(run())
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)
    return spent


def _count_child(path: str, feeds: int, floors: int) -> None:
    """Under callgrind (see ``--instructions``): ``feeds`` widget feeds, then ``floors`` baseline rounds."""
    import gc
    import itertools
    import pickle

    gc.disable()
    ticks = itertools.count()
    time.monotonic = lambda: next(ticks) * 20e-6  # the loop's clock too: timers fire at the same frames
    with open(path, "rb") as f:
        frames = pickle.load(f)
    for _ in range(feeds):
        asyncio.run(feed(frames))
    for _ in range(floors):
        floor(frames)


def instructions(frames: list[str]) -> dict[str, int]:
    """Instructions of one widget feed and of one baseline round over ``frames`` (see ``--instructions``)."""
    import concurrent.futures
    import os
    import pickle
    import re
    import shutil
    import subprocess
    import tempfile

    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "frames.pkl")
        with open(path, "wb") as f:
            pickle.dump(frames, f)

        def run(feeds: int, floors: int) -> int:
            cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                   __file__, "--_count", path, str(feeds), str(floors)]  # fmt: skip
            env = {**os.environ, "PYTHONHASHSEED": "0"}
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
            found = re.search(r"Collected : (\d+)", done.stderr)
            if found is None:
                raise SystemExit(f"callgrind printed no count:\n{done.stderr[-2000:]}")
            return int(found.group(1))

        # Each figure is a run with two rounds less one with one: the first warms up (lazy imports).
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            feed1, feed2, floor1, floor2 = pool.map(lambda a: run(*a), [(1, 0), (2, 0), (0, 1), (0, 2)])
    return {"widget": feed2 - feed1, "baseline": floor2 - floor1}


def best(fn: Callable[[], float], rounds: int) -> float:
    return min(fn() for _ in range(rounds))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5, help="spoken replies recorded (default 5)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds, best kept (default 5)")
    parser.add_argument("--instructions", action="store_true", help="count instructions (valgrind)")
    parser.add_argument(
        "--frames", help="a file: the frames are recorded into it once and read from it after (for an A/B)"
    )
    parser.add_argument("--_count", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._count:
        path, feeds, floors = args._count
        _count_child(path, int(feeds), int(floors))
        return 0
    saved = Path(args.frames) if args.frames else None
    if saved is not None and saved.exists():
        frames = json.loads(saved.read_text())
    else:
        with bench_widget.simulator(bench_widget.SIM_SPEED) as url:
            frames = asyncio.run(record(url, args.turns))
        if saved is not None:
            saved.write_text(json.dumps(frames))
    audio_bytes = sum(len(json.loads(f)["delta"]) * 3 // 4 for f in frames if AUDIO_DELTA in f)
    audio_s = audio_bytes / bench_widget.PCM16_BYTES_PER_MS / 1000
    if args.instructions:
        counts = instructions(frames)
        print(f"{len(frames)} server frames of {args.turns} spoken replies, {audio_s:.1f} s of audio;"
              " instructions (callgrind):")  # fmt: skip
        for key, label in LABELS.items():
            print(f"  {label:<34} {counts[key] / len(frames) / 1000:7.1f}k per frame"
                  f"  {counts[key] / audio_s / 1e6:6.2f}M per audio s")  # fmt: skip
        print(f"  ratio widget / baseline            {counts['widget'] / counts['baseline']:6.2f}x")
        return 0
    asyncio.run(feed(frames))  # warm-up: lazy imports
    base, ours = [], []
    for _ in range(args.rounds):
        base.append(floor(frames))
        ours.append(asyncio.run(feed(frames)))
    b, w = min(base), min(ours)
    n = len(frames)
    print(
        f"{n} server frames of {args.turns} spoken replies, {audio_s:.1f} s of audio; best of {args.rounds}"
    )
    for label, cpu in zip(LABELS.values(), (b, w), strict=True):
        print(f"  {label:<34} {1e6 * cpu / n:6.1f} us per frame  {1000 * cpu / audio_s:5.2f} ms/audio s")
    print(f"  ratio widget / baseline            {w / b:6.1f}x")
    spent = stages(frames)
    print("  where the widget's time goes (one instrumented round, us per frame; nested stages indented):")
    order = [
        ("parse_server_event", 0),
        ("_on_frame (all)", 0),
        ("log the frame (console.frame)", 1),
        ("metrics", 1),
        ("_handle_event (all)", 0),
        ("state (console.event: conversation, playback)", 1),
        ("loop pass (scheduled sends)", 0),
    ]
    for label, depth in order:
        print(f"    {'  ' * depth}{label:<{52 - 2 * depth}} {spent[label] / 1000 / n:6.1f}")
    print("    view sends, wherever they ran (a flush riding with audio counts in both):")
    for label in SENDS:
        print(f"      {label:<50} {spent[label] / 1000 / n:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
