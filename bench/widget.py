"""Benchmarks of the widget: kernel CPU per second of streamed audio, and first-audio latency in Chromium.

(a) Kernel CPU. The simulator runs in a child process at high speed (its CPU is not ours). In this
    process a RealtimeWidget talks to it with a recording comm in place of the kernel's: every message the
    widget would send to the browser is serialized and HMAC-signed by jupyter_client's Session, as
    ipykernel does before the zmq send. A "ready" view is announced, so the widget streams log rows and
    binary audio exactly as to a browser. CPU is time.process_time() of this process over whole spoken
    turns, divided by the seconds of audio delivered to the comm. The view reports what it played as a real
    one does (~3 Hz, heard in real time from the item's first audio), so the widget knows how far ahead its
    audio is. Baseline: the same turns on a bare websockets connection whose frames are only json-parsed.
    Goal: <= 1 ms of CPU per second of audio (1000x real time). Memory: bytes the widget holds after the
    turns per second of audio received (tracemalloc, a separate run), against the audio's own PCM16 size;
    goal <= 1.1x.

(b) First-audio latency. JupyterLab + headless Chromium (docs/testing.md); pre-roll set to 0 so it is
    excluded. Connect is clicked and each turn is typed into the console's prompt (Enter), one after the
    other once the previous reply has been played out. Per reply, from ``w.audio_stats``: t0 = wall-clock
    time its first audio delta reached the kernel; the first sample rendered (the worklet's ``Date.now()``
    as it renders it) and heard (its frame mapped through ``getOutputTimestamp``: the output device's
    latency included), as the widget reports them (``audio.started``). Same machine, same clock. Goals
    (issue 12), for the rendered sample: median < 10 ms, p90 < 20 ms with a realistic time to first audio;
    median < 20 ms with the audio arriving with the turn's first events. The stage table splits it with the
    widget's own stamps: the kernel's send of the item's first audio message, its arrival in the page, the
    first sample rendered, heard, and when the worklet's notice reached the main thread.

    Each runs twice: with the audio leaving with the turn's first events (the simulator's default) and with
    a realistic time to first audio (``--first-audio-ms``, default 300: the simulator's own option). In both,
    ``--ptt-turns`` push-to-talk turns measure the way back (``bench/mouth_to_ear.py``): Chromium's fake
    microphone plays the simulator's speech, ``rt-ptt`` is held 2 s with the mouse and released, and the
    release -> commit -> response.created -> first delta -> page -> first sample heard stages are printed.
    Then as many barge-ins: a long reply to a typed prompt plays, hands-free mode opens the microphone, its
    speech interrupts; per barge-in, speech_started handled by the kernel -> the page's playback quiet (the
    worklet's clock), against issue 9's 150 ms.

(c) Kernel CPU per second of captured microphone audio sent (``bench/capture.py``): mic chunks handed
    to a widget with a ready view and a recording comm, as the view sends them, against a bare websockets
    sender of the same appends. Goal: <= 1 ms per audio second.

Usage: ``python bench/widget.py [--turns N] [--latency-turns N] [--first-audio-ms MS] [--ptt-turns N]
[--capture-seconds S] [--rounds N] [--realtime-rounds N] [--skip-browser] [--skip-cpu]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["main"]

PCM16_BYTES_PER_MS = 48  # 24 kHz mono, 2 bytes per sample
SIM_SPEED = 200.0  # the simulator streams 200x faster than real time, so the kernel side is the bottleneck
PROMPT = "Please tell me a long story about a lighthouse keeper and the sea."
GOAL_CPU_MS_PER_AUDIO_S = 1.0
GOAL_CPU_MS_PER_AUDIO_S_REALTIME = 3.0  # issue 12: at real-time pace the message count is set by pace
GOAL_HELD_TO_PCM = 1.1
# issue 12, for the first sample rendered, pre-roll excluded: (median, p90) in ms with a realistic time to
# first audio, and with the audio arriving with the turn's first events
GOAL_RENDERED_MS = (10.0, 20.0)
GOAL_RENDERED_FIRST_EVENTS_MS = (20.0, 40.0)
GOAL_BARGE_IN_MS = 150.0  # issue 9: playback flushed within this of speech_started reaching the kernel


# --------------------------------------------------------------------------------------------------------
# (a) kernel CPU per second of audio


@contextmanager
def simulator(speed: float) -> Iterator[str]:
    """Run ``python -m rtwidget.server`` in a child process; yield its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "rtwidget.server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--speed",
        str(speed),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()  # the server prints its URL on one line when ready
        if not line.startswith("ws://"):
            raise RuntimeError(
                f"simulator did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}"
            )
        yield line
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _user_text(text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
    }


async def baseline_turns(url: str, turns: int) -> tuple[float, float]:
    """The same turns on a bare websockets connection, frames only json-parsed: (cpu_s, audio_s)."""
    import base64

    import websockets

    async with websockets.connect(f"{url}?model=gpt-realtime-2", max_size=None) as ws:
        json.loads(await ws.recv())  # session.created
        await ws.send(
            json.dumps(
                {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["audio"]}}
            )
        )
        cpu = 0.0
        audio_bytes = 0
        for _ in range(turns):
            t0 = time.process_time()
            await ws.send(json.dumps(_user_text(PROMPT)))
            await ws.send(json.dumps({"type": "response.create"}))
            while True:
                ev = json.loads(await ws.recv())
                if ev["type"] == "response.output_audio.delta":
                    audio_bytes += len(base64.b64decode(ev["delta"]))
                elif ev["type"] == "response.done":
                    break
            cpu += time.process_time() - t0
    return cpu, audio_bytes / PCM16_BYTES_PER_MS / 1000


class _Recorder:
    """What the recording comm saw: message count, audio bytes in binary buffers, bytes on the wire."""

    def __init__(self) -> None:
        from jupyter_client.session import Session

        self.session = Session(key=b"bench-key", username="bench")
        self.messages = 0
        self.audio_bytes = 0
        self.wire_bytes = 0


def _recording_comm_class(rec: _Recorder) -> type:
    from comm import DummyComm

    class RecordingComm(DummyComm):  # type: ignore[misc]
        """A comm that serializes and signs each message as ipykernel would, then counts it."""

        kernel = True  # ipywidgets only sends when the comm has a kernel

        def publish_msg(
            self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **keys: Any
        ) -> None:
            content = {"data": data, "comm_id": self.comm_id, **keys}
            msg = rec.session.msg(msg_type, content=content, metadata=metadata or {})
            parts = rec.session.serialize(msg)
            rec.messages += 1
            rec.wire_bytes += sum(len(p) for p in parts)
            if buffers:
                rec.wire_bytes += sum(len(memoryview(b).cast("B")) for b in buffers)
                if isinstance(data, dict) and data.get("method") == "custom":
                    inner = data.get("content") or {}
                    # A batch (rtwidget.widget.view) carries several messages, each with its own buffers.
                    parts = inner.get("parts") or [] if inner.get("type") == "batch" else [inner]
                    at = 0
                    for part in parts:
                        n = part.get("nbuf", 0) if part is not inner else len(buffers)
                        if part.get("type") == "audio":
                            rec.audio_bytes += sum(memoryview(b).nbytes for b in buffers[at : at + n])
                        at += n

    return RecordingComm


def recording_widget(url: str, rec: _Recorder | None = None) -> Any:
    """A RealtimeWidget for ``url`` whose comm is a recording one (into ``rec``), with a "ready" view: the
    browser's handshake (docs/testing.md pitfall 8), without which the widget sends nothing."""
    import comm

    from rtwidget import RealtimeWidget

    original = comm.create_comm
    comm.create_comm = _recording_comm_class(rec or _Recorder())
    try:
        w = RealtimeWidget(url=url)
    finally:
        comm.create_comm = original
    w._handle_custom_msg({"type": "ready", "view": "bench", "limit": 300}, [])
    return w


async def _report_played(w: Any) -> None:
    """What a view playing in real time reports (~3 Hz): per item, the ms heard since its first audio was
    sent, at most what arrived (the widget decides from these how far ahead its audio is)."""
    while True:
        await asyncio.sleep(0.3)
        now = time.time()
        items = {
            item: min(stats["received_ms"] or 0.0, 1000 * (now - stats["first_sent_at"]))
            for item, stats in w.audio_stats.items()
            if stats["first_sent_at"] is not None
        }
        if items:
            w._handle_custom_msg({"type": "played", "items": items}, [])


async def widget_turns(url: str, turns: int, memory: bool = False) -> tuple[float, float, _Recorder]:
    """The turns through RealtimeWidget with a recording comm and a ready view: (cpu_s, audio_s, recorder).

    With ``memory``, the CPU figure is replaced by the bytes the widget's state grows by per turn after
    the first (traced allocations after a garbage collection, connection open: the first turn's fixed
    costs such as lazy imports are left out), and the audio figure by the audio of those turns.
    """
    import gc
    import tracemalloc

    rec = _Recorder()
    w = recording_widget(url, rec)
    reporter = asyncio.get_running_loop().create_task(_report_played(w))
    if memory:
        tracemalloc.start()
    await w.connect()
    await w.wait_for("session.created", timeout=10)
    await w.update_session(output_modalities=["audio"])
    await w.wait_for("session.updated", timeout=10)
    cpu = 0.0
    held_after_first, audio_after_first = 0, 0
    for turn in range(turns):
        t0 = time.process_time()
        await w.send_text(PROMPT)
        await w.wait_for("response.done", timeout=120)
        cpu += time.process_time() - t0
        if memory and turn == 0:
            gc.collect()
            held_after_first, audio_after_first = tracemalloc.get_traced_memory()[0], rec.audio_bytes
    reporter.cancel()
    if memory:
        gc.collect()
        grown = float(tracemalloc.get_traced_memory()[0] - held_after_first)
        tracemalloc.stop()
        await w.disconnect()
        return grown, (rec.audio_bytes - audio_after_first) / PCM16_BYTES_PER_MS / 1000, rec
    await w.disconnect()
    return cpu, rec.audio_bytes / PCM16_BYTES_PER_MS / 1000, rec


def bench_cpu(turns: int, speed: float = SIM_SPEED, memory: bool = True, rounds: int = 3) -> dict[str, float]:
    """Run (a) with the simulator at this speed; return its figures (memory ones only with ``memory``).

    Baseline and widget alternate for ``rounds`` rounds and each keeps its best: this machine's speed
    drifts by 2x within minutes, and a ratio of two runs minutes apart measured the drift.
    """
    with simulator(speed) as url:
        asyncio.run(baseline_turns(url, 1))  # warm-up: imports, the simulator's first synthesis
        asyncio.run(widget_turns(url, 1))
        base: list[tuple[float, float]] = []
        ours: list[tuple[float, float, _Recorder]] = []
        for _ in range(rounds):
            base.append(asyncio.run(baseline_turns(url, turns)))
            ours.append(asyncio.run(widget_turns(url, turns)))
        base_cpu, base_audio = min(base, key=lambda r: r[0] / r[1])
        w_cpu, w_audio, rec = min(ours, key=lambda r: r[0] / r[1])
        held, held_audio = 0.0, 1.0
        if memory:
            held, held_audio, _ = asyncio.run(widget_turns(url, turns, memory=True))
    out = {
        "held_bytes_per_audio_s": held / held_audio,
        "held_to_pcm": held / held_audio / (PCM16_BYTES_PER_MS * 1000),
        "audio_s": w_audio,
        "baseline_audio_s": base_audio,
        "widget_cpu_ms_per_audio_s": 1000 * w_cpu / w_audio,
        "baseline_cpu_ms_per_audio_s": 1000 * base_cpu / base_audio,
        "messages_per_audio_s": rec.messages / w_audio,
        "wire_kb_per_audio_s": rec.wire_bytes / 1024 / w_audio,
    }
    out["ratio_widget_to_baseline"] = out["widget_cpu_ms_per_audio_s"] / out["baseline_cpu_ms_per_audio_s"]
    out["realtime_factor"] = 1000 / out["widget_cpu_ms_per_audio_s"]
    return out


# --------------------------------------------------------------------------------------------------------
# (b) first-audio latency in headless Chromium

TOKEN = "rtwidget-bench"
STALL_S = 8.0  # a short reply takes ~2 s to stream and play; a turn still running after this has stalled
# The flags of the browser tests (docs/testing.md). The fake media device also gives headless Chromium a fake
# audio sink that renders on a steady clock; without it, output goes to a missing sound server.
CHROME_ARGS = [
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
SETUP_CELL = """
from rtwidget import RealtimeWidget

w = RealtimeWidget(simulator_speed=1.0, simulator_first_audio_ms=FIRST_AUDIO_MS, preroll_ms=PREROLL_MS)
w
"""
SESSION_CODE = """
await w.update_session(output_modalities=["audio"])
await w.wait_for("session.updated", timeout=10)
"""
# w.audio_stats: first_delta_at = wall-clock s when the item's first delta reached the kernel;
# first_sample_at / first_rendered_at = wall-clock s the view reported for the first sample heard / rendered.
STAMPS = (
    "first_delta_at", "first_sent_at", "first_arrived_at", "first_sample_at", "first_noticed_at",
    "first_rendered_at",
)  # fmt: skip
STATS_CODE = f"""
import json
print(json.dumps({{k: [v[s] for s in {STAMPS!r}] for k, v in w.audio_stats.items()}}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def console_page(
    preroll_ms: int = 0, first_audio_ms: float = 0.0, init_script: str = "", lab_args: tuple[str, ...] = ()
) -> Iterator[Any]:
    """JupyterLab + headless Chromium (docs/testing.md) with the bench's notebook run, Connect clicked and the
    session set to audio: yield the Playwright page (``bench/page_profile.py`` profiles the same setup).

    ``init_script`` runs in the page before JupyterLab's own scripts (``page.add_init_script``); ``lab_args``
    are added to JupyterLab's command line."""
    import mouth_to_ear
    import nbformat
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("no chromium on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        root, home = Path(tmp) / "root", Path(tmp) / "home"
        root.mkdir()
        home.mkdir()
        nb = nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell(
                    SETUP_CELL.replace("PREROLL_MS", str(preroll_ms)).replace(
                        "FIRST_AUDIO_MS", repr(first_audio_ms)
                    )
                )
            ]
        )
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, root / "bench.ipynb")
        env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
        env.update(HOME=str(home), XDG_RUNTIME_DIR=str(home))
        port = _free_port()
        cmd = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            f"--IdentityProvider.token={TOKEN}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None", *lab_args,
        ]  # fmt: skip
        with (home / "jupyter.log").open("w") as log:
            lab = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=1):
                        break
                except OSError:
                    time.sleep(0.1)
            with sync_playwright() as p:
                wav = mouth_to_ear.speech_wav(Path(tmp) / "speech.wav")
                browser = p.chromium.launch(
                    executable_path=chromium,
                    headless=True,
                    args=[*CHROME_ARGS, mouth_to_ear.chrome_arg(wav)],
                    env=env,
                )
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.set_default_timeout(60_000)
                if init_script:
                    page.add_init_script(init_script)
                page.goto(f"{base}/lab/tree/bench.ipynb?reset&token={TOKEN}")
                page.wait_for_function(
                    "() => window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel?.status"
                    " === 'idle'"
                )
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                # Connect as a person does: the click also creates the AudioContext and loads the worklet.
                page.click('[data-testid="rt-connect"]')
                page.wait_for_selector('[data-testid="rt-status"][data-state="open"]')
                _kernel(page, SESSION_CODE)
                yield page
                browser.close()
        finally:
            lab.terminate()
            lab.wait(timeout=30)


def typed_turn(page: Any, text: str) -> tuple[str, bool]:
    """Type one turn into the console's prompt (Enter), as a person would, and wait until its reply is done
    and fully played: (the reply's item id, whether the turn stalled and the kernel had to be nudged)."""
    t_start = time.monotonic()
    stalled = False
    nudges = 0
    previous = _reply_state(page)[0]
    prompt = page.locator('[data-testid="rt-prompt"]')
    prompt.fill(text)
    prompt.press("Enter")
    while True:  # each turn ends when its reply is done and fully played
        item, status, received_ms, played_ms = _reply_state(page)
        if item and item != previous and status == "done" and played_ms >= received_ms - 1 > 0:
            return item, stalled
        if time.monotonic() - t_start > STALL_S + (2 if stalled else 0) * nudges:
            # Known widget issue (see the report): the turn stops until the kernel
            # gets another message. Count it, nudge the kernel, keep measuring.
            stalled = True
            nudges += 1
            _kernel(page, "pass")
        if time.monotonic() - t_start > 60:
            raise TimeoutError(f"{text!r}: {status} {item} {played_ms}/{received_ms} ms")
        page.wait_for_timeout(250)  # the stamps are the worklet's: this wait is not timed


def bench_latency(
    turns: int, preroll_ms: int = 0, first_audio_ms: float = 0.0, ptt_turns: int = 0
) -> dict[str, Any]:
    """Run (b) with this pre-roll (0 excludes it; otherwise it is included in the figures) and the
    simulator's time to first audio, then ``ptt_turns`` push-to-talk turns (``bench/mouth_to_ear.py``);
    return the figures in ms, with the stage tables under ``stages`` and ``ptt_stages``."""
    import mouth_to_ear

    with console_page(preroll_ms, first_audio_ms) as page:
        items = []
        stages: dict[str, list[float]] = {}
        stalls = 0
        for turn in range(turns):
            # Turns are typed into the console, as a person would: no cell runs meanwhile, so the
            # kernel handles the view's messages as they come.
            t_start = time.monotonic()
            item, stalled = typed_turn(page, f"Say something short. ({turn})")
            stalls += stalled
            if not stalled:
                items.append(item)
            print(
                f"    turn {turn + 1}/{turns}: played out after {time.monotonic() - t_start:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        # Comm messages from the view wait while a cell runs: read the stats once all are in.
        stats = json.loads(_kernel(page, STATS_CODE).strip().splitlines()[-1])
        latencies, rendered = [], []
        for item in items:
            stamps = stats.get(item)
            if stamps is None or None in stamps:
                raise RuntimeError(
                    f"missing timestamps for {item}: {dict(zip(STAMPS, stamps or [], strict=False))}"
                )
            latencies.append(1000 * (stamps[3] - stamps[0]))
            rendered.append(1000 * (stamps[5] - stamps[0]))
            for name, (a, b) in STAGES.items():
                stages.setdefault(name, []).append(1000 * (stamps[b] - stamps[a]))
        ptt_stages: dict[str, list[float]] = {}
        transcripts: list[str] = []
        barge: list[float] = []
        if ptt_turns:
            ptt_stages, transcripts = mouth_to_ear.ptt_turns(page, _kernel, _reply_state, ptt_turns)
            barge = mouth_to_ear.barge_ins(page, _kernel, _reply_state, ptt_turns)
    latencies.sort()
    return {
        "rendered_median_ms": statistics.median(rendered),
        "rendered_p90_ms": p90(rendered),
        "stages": stages,
        "ptt_stages": ptt_stages,
        "barge_in_ms": barge,
        "transcripts": transcripts,
        "turns": float(len(latencies)),
        "stalled_turns": float(stalls),
        "median_ms": statistics.median(latencies),
        "p90_ms": p90(latencies),
        "min_ms": latencies[0],
        "max_ms": latencies[-1],
    }


# The first audio's path, stage by stage (indices into STAMPS; one wall clock on one machine).
STAGES = {
    "kernel: first delta in -> audio message out": (0, 1),
    "zmq + jupyter_server + browser WebSocket -> page": (1, 2),
    "page -> worklet -> first sample rendered": (2, 5),
    "rendered -> heard (the output's latency)": (5, 3),
    "(rendered -> the worklet's notice on the main thread)": (5, 4),
}


WAKE_PERIOD_S = 0.05
WAKE_COUNT = 40


async def idle_wake_cpu_us() -> float:
    """CPU microseconds one wake-up of an otherwise idle event loop costs (a timer's sleep, nothing done):
    at real-time pace the kernel wakes for each delta, and on a virtual machine a wake from idle costs
    hundreds of microseconds (cold caches, the hypervisor's halt-polling) where a busy loop's pass costs
    a few."""
    t0 = time.process_time()
    for _ in range(WAKE_COUNT):
        await asyncio.sleep(WAKE_PERIOD_S)
    return 1e6 * (time.process_time() - t0) / WAKE_COUNT


def p90(values: list[float]) -> float:
    """The 90th percentile by nearest rank (never below the median, even for two values)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def print_stages(stages: dict[str, list[float]]) -> None:
    """The stage table: median and p90 in ms of each stage."""
    print("    stage (median / p90 ms)")
    for name, values in stages.items():
        ordered = sorted(values)
        print(f"      {name:<52} {statistics.median(ordered):7.1f} / {p90(ordered):7.1f}")


def _reply_state(page: Any) -> tuple[str, str, int, int]:
    """(reply item id, reply status, received ms, played ms) as the console shows them."""
    state = page.evaluate(
        """() => { const r = document.querySelector('[data-testid="rt-reply"]');
          const a = document.querySelector('[data-testid="rt-audio"]');
          return [r.dataset.itemId || "", r.dataset.status || "",
                  +a.dataset.receivedMs, +a.dataset.playedMs]; }"""
    )
    return str(state[0]), str(state[1]), int(state[2]), int(state[3])


def _kernel(page: Any, code: str) -> str:
    """Run code on the notebook's kernel; return stdout; raise with the traceback on error."""
    result = page.evaluate(
        """async (code) => {
          const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
          const f = k.requestExecute({ code, store_history: false });
          let out = '', error = null;
          f.onIOPub = (m) => {
            if (m.header.msg_type === 'stream') out += m.content.text;
            if (m.header.msg_type === 'error') error = m.content.traceback.join('\\n');
          };
          await f.done;
          return { out, error };
        }""",
        code,
    )
    if result["error"]:
        raise RuntimeError(result["error"])
    return str(result["out"])


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: print both benchmarks' figures."""
    parser = argparse.ArgumentParser(prog="python bench/widget.py", description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5, help="spoken turns per CPU measurement (default 5)")
    parser.add_argument(
        "--latency-turns", type=int, default=20, help="turns for the latency median (default 20)"
    )
    parser.add_argument(
        "--preroll-ms",
        type=int,
        default=0,
        help="also measure with this pre-roll (the widget's default is 100)",
    )
    parser.add_argument(
        "--speed", type=float, default=SIM_SPEED, help=f"simulator speed for (a) (default {SIM_SPEED:g})"
    )
    parser.add_argument(
        "--realtime-turns",
        type=int,
        default=1,
        help="turns of (a) again with the simulator at real-time pace (default 1, about 9 s; 0 skips it)",
    )
    parser.add_argument(
        "--first-audio-ms",
        type=float,
        default=300.0,
        help="the simulator's realistic time to first audio for (b), measured beside 0 (default 300)",
    )
    parser.add_argument(
        "--ptt-turns",
        type=int,
        default=5,
        help="push-to-talk turns for the mouth-to-ear loop of (b), per time to first audio (default 5)",
    )
    parser.add_argument(
        "--capture-seconds",
        type=float,
        default=30.0,
        help="seconds of captured microphone audio for (c) (default 30; 0 skips it)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating baseline/widget rounds of (a), best kept (default 3)",
    )
    parser.add_argument(
        "--realtime-rounds", type=int, default=2, help="the same for (a') at real-time pace (default 2)"
    )
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args(argv)
    ok = True
    if not args.skip_cpu:
        r = bench_cpu(args.turns, args.speed, rounds=args.rounds)
        print(
            f"(a) kernel CPU over {r['audio_s']:.1f} s of streamed audio"
            f" (baseline {r['baseline_audio_s']:.1f} s), simulator at {args.speed:g}x, child process,"
            f" best of {args.rounds} alternating rounds"
        )
        print(
            f"    widget (socket -> event -> log -> comm msg): {r['widget_cpu_ms_per_audio_s']:.2f} ms CPU"
            f" per audio s = {r['realtime_factor']:.0f}x real time (goal <= {GOAL_CPU_MS_PER_AUDIO_S} ms)"
        )
        print(f"    baseline (websockets recv + json.loads): {r['baseline_cpu_ms_per_audio_s']:.2f} ms")
        print(
            f"    ratio widget / baseline: {r['ratio_widget_to_baseline']:.2f}x;"
            f" {r['messages_per_audio_s']:.1f} comm msgs and {r['wire_kb_per_audio_s']:.0f} KB per audio s"
        )
        print(
            f"    kernel memory held: {r['held_bytes_per_audio_s'] / 1000:.1f} KB per received audio s ="
            f" {r['held_to_pcm']:.2f}x its PCM16 size (goal <= {GOAL_HELD_TO_PCM}x)"
        )
        ok &= r["widget_cpu_ms_per_audio_s"] <= GOAL_CPU_MS_PER_AUDIO_S
        ok &= r["held_to_pcm"] <= GOAL_HELD_TO_PCM
        if args.realtime_turns > 0:
            rt = bench_cpu(args.realtime_turns, 1.0, memory=False, rounds=args.realtime_rounds)
            print(
                f"(a') the same at real-time pace (simulator at 1x), {rt['audio_s']:.1f} s of audio,"
                f" best of {args.realtime_rounds}"
            )
            print(
                f"    widget: {rt['widget_cpu_ms_per_audio_s']:.2f} ms CPU per audio s"
                f" (goal <= {GOAL_CPU_MS_PER_AUDIO_S_REALTIME} ms);"
                f" baseline {rt['baseline_cpu_ms_per_audio_s']:.2f} ms;"
                f" ratio {rt['ratio_widget_to_baseline']:.2f}x; {rt['messages_per_audio_s']:.1f} comm msgs"
                " per audio s"
            )
            ok &= rt["widget_cpu_ms_per_audio_s"] <= GOAL_CPU_MS_PER_AUDIO_S_REALTIME
            wake_us = asyncio.run(idle_wake_cpu_us())
            print(
                f"    this machine's floor: an idle event loop's wake-up costs {wake_us:.0f} us of CPU"
                f" (sleep {WAKE_PERIOD_S * 1000:.0f} ms, {WAKE_COUNT}x), so the goal's budget is"
                f" {1000 * GOAL_CPU_MS_PER_AUDIO_S_REALTIME / wake_us:.0f} wake-ups per audio s; each audio"
                " delta is one (read, handled, sent at once: the views buffer only the pre-roll)"
            )
    if not args.skip_cpu and args.capture_seconds > 0:
        import capture

        print(
            "(c) kernel CPU per second of captured audio sent (bench/capture.py, mic chunks of a ready view)"
        )
        ok &= asyncio.run(capture.run(args.capture_seconds, rounds=3))
    if not args.skip_browser:
        runs = [(0, 0.0), (0, args.first_audio_ms)] + ([(args.preroll_ms, 0.0)] if args.preroll_ms else [])
        for preroll_ms, first_audio_ms in runs:
            ptt = args.ptt_turns if preroll_ms == 0 else 0
            r = bench_latency(args.latency_turns, preroll_ms, first_audio_ms, ptt)
            how = "excluded" if preroll_ms == 0 else "included"
            when = (
                f"simulator's first audio {first_audio_ms:g} ms after response.created"
                if first_audio_ms
                else "audio with the turn's first events"
            )
            print(
                f"(b) first-audio latency: delta at kernel -> first sample rendered / heard, {when},"
                f" pre-roll {preroll_ms} ms ({how}), {r['turns']:.0f} turns"
                f" ({r['stalled_turns']:.0f} stalled turns left out)"
            )
            goal = GOAL_RENDERED_MS if first_audio_ms else GOAL_RENDERED_FIRST_EVENTS_MS
            print(
                f"    rendered: median {r['rendered_median_ms']:.1f} ms, p90 {r['rendered_p90_ms']:.1f}"
                + (f" (goal: median < {goal[0]:g} ms, p90 < {goal[1]:g})" if preroll_ms == 0 else "")
            )
            print(
                f"    heard: median {r['median_ms']:.1f} ms, p90 {r['p90_ms']:.1f}, min {r['min_ms']:.1f},"
                f" max {r['max_ms']:.1f} (the output's latency included)"
            )
            print_stages(r["stages"])
            if r["ptt_stages"]:
                n = len(r["transcripts"])
                print(
                    f"(b') mouth to ear: push-to-talk release -> first reply sample heard, {when}, {n} turns"
                )
                print_stages(r["ptt_stages"])
                print(f"    user transcripts: {sorted(set(r['transcripts']))}")
            if r["barge_in_ms"]:
                flushes = r["barge_in_ms"]
                print(
                    f"(b'') barge-in: speech_started at the kernel -> playback quiet in the page,"
                    f" {len(flushes)} turns: median {statistics.median(flushes):.1f} ms,"
                    f" max {max(flushes):.1f}"
                    f" (issue 9: within {GOAL_BARGE_IN_MS:g} ms)"
                )
                ok &= max(flushes) <= GOAL_BARGE_IN_MS
            if preroll_ms == 0:
                ok &= r["rendered_median_ms"] < goal[0] and r["rendered_p90_ms"] < goal[1]
    print("goals met" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
