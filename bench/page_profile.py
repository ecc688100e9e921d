"""What keeps the page's main thread busy at a turn's start, until the reply's first audio reaches our code.

The setup is ``bench/widget.py`` part (b)'s (``console_page``: JupyterLab + headless Chromium, the bench's
notebook run, Connect clicked, the session set to audio). Per turn a prompt is typed into the console and
Enter pressed, with a Chrome DevTools Protocol trace running (``Tracing.start``: devtools.timeline, toplevel,
blink.user_timing and the V8 sampling profiler at its high-resolution interval) and the kernel WebSocket's
frames recorded (``Network.webSocketFrameReceived``: when Chromium's network layer had each frame, and its
bytes, decoded as Jupyter messages). A script added before JupyterLab's own stamps the Enter and the start
and end of each kernel WebSocket ``message`` handler in the page. The kernel's ``w.audio_stats`` gives the
wall-clock times the item's first audio message was sent and when our code (``AudioEngine.push``) had it.

Printed:

- for one turn (the one with the median delay), every main-thread task from the Enter to ``push``: when it
  started (ms after the Enter), how long it ran, what ran it (the Jupyter message a WebSocket task handled,
  else the task's first traced event), its split into script / style+layout / paint / GC, and its sampled
  script time by owner: ours (rtwidget's module), anywidget, ipywidgets, JupyterLab (its core bundle and
  Lumino), other;
- for all turns, medians: the kernel's send -> the page reading the frame (DevTools stamps a WebSocket
  frame when the renderer's main thread reads it) -> its message task starting -> push, and how much of
  the first stage the main thread spent running other tasks; then the main thread's time from the Enter to
  push by what ran it (message type), by kind and by owner ("ours": samples with rtwidget's code on the
  stack, what it calls included; JupyterLab's "call T" tasks are React's scheduler, its renders).

Usage: ``python bench/page_profile.py [--turns N] [--first-audio-ms MS] [--all] [--save DIR]
[--invalidations] [--lab-arg ARG]...`` (``--all``: every turn's table, not only the median one's; ``--save``:
each turn's trace, for DevTools' Performance panel; ``--lab-arg``: e.g. a JupyterLab or server option).
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import struct
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from widget import _kernel, console_page, typed_turn  # bench/widget.py's setup

__all__ = ["main"]

CATEGORIES = ",".join(
    [
        "-*",
        "toplevel",
        "devtools.timeline",
        "disabled-by-default-devtools.timeline",
        "disabled-by-default-devtools.timeline.frame",
        "blink.user_timing",
        "v8.execute",
        "disabled-by-default-v8.cpu_profiler",
        "disabled-by-default-v8.cpu_profiler.hires",
    ]
)
# With --invalidations: what invalidated style, layout and paint, and the script stack that did (heavier).
INVALIDATIONS = (
    ",disabled-by-default-devtools.timeline.invalidationTracking,disabled-by-default-devtools.timeline.stack"
)
# Stamps in the page (performance.now() ms): the Enter in the console's prompt, and each kernel WebSocket
# message handler's start and end (JupyterLab sets ws.onmessage; its handling of a message runs in that task
# and its microtasks).
INIT_SCRIPT = """(() => {
  const prof = window.__rtProf = { enter: [], ws: [] };
  const desc = Object.getOwnPropertyDescriptor(WebSocket.prototype, "onmessage");
  Object.defineProperty(WebSocket.prototype, "onmessage", {
    configurable: true,
    get() { return desc.get.call(this); },
    set(fn) {
      if (typeof fn !== "function" || !this.url.includes("/api/kernels/")) {
        desc.set.call(this, fn);
        return;
      }
      desc.set.call(this, function (ev) {
        const t0 = performance.now();
        try { return fn.call(this, ev); } finally {
          const n = typeof ev.data === "string" ? ev.data.length : ev.data.byteLength;
          prof.ws.push([t0, performance.now(), n]);
        }
      });
    },
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target?.dataset?.testid === "rt-prompt") {
      performance.mark("rt-enter");
      prof.enter.push(performance.now());
    }
  }, true);
})();"""
# The page's clocks: performance.now() ms and its time origin, to map the kernel's wall-clock stamps.
CLOCK_JS = "() => [performance.timeOrigin, performance.now()]"
STATS_CODE = """
import json
print(json.dumps({k: [v["first_delta_at"], v["first_sent_at"], v["first_arrived_at"]]
                  for k, v in w.audio_stats.items()}))
"""
OWNERS = ("ours", "anywidget", "ipywidgets", "jupyterlab", "other")
SPLIT = ("script", "style+layout", "paint", "gc")
STYLE_LAYOUT = {
    "UpdateLayoutTree",
    "Layout",
    "RecalculateStyles",
    "InvalidateLayout",
    "ScheduleStyleRecalculation",
}
PAINT = {
    "Paint",
    "PrePaint",
    "Layerize",
    "Commit",
    "UpdateLayer",
    "CompositeLayers",
    "PaintImage",
    "UpdateLayerTree",
}
GC = {"MinorGC", "MajorGC", "BlinkGC.AtomicPhase", "V8.GCScavenger", "V8.GCFinalizeMC", "CppGC.AtomicPhase"}
MIN_TASK_MS = 0.1  # shorter tasks are counted in the totals but not listed


# --------------------------------------------------------------------------------------------------------
# Jupyter messages on the kernel WebSocket


def jupyter_message(payload: bytes | str) -> dict[str, Any]:
    """One kernel WebSocket frame as {channel, header, parent_header, content, nbuf}: the
    v1.kernel.websocket.jupyter.org binary layout (jupyter_server) or the JSON one."""
    if isinstance(payload, str):
        msg: dict[str, Any] = json.loads(payload)
        return {**msg, "nbuf": len(msg.get("buffers") or [])}
    (count,) = struct.unpack_from("<Q", payload, 0)
    offsets = [*struct.unpack_from(f"<{count}Q", payload, 8), len(payload)]
    parts = [payload[offsets[i] : offsets[i + 1]] for i in range(count)]
    names = ("header", "parent_header", "metadata", "content")
    out: dict[str, Any] = {"channel": parts[0].decode()}
    out.update({name: json.loads(part) for name, part in zip(names, parts[1:5], strict=False)})
    out["nbuf"] = len(parts) - 5
    return out


def is_jupyter(payload: bytes | str) -> bool:
    try:
        return "header" in jupyter_message(payload)
    except (ValueError, struct.error, UnicodeDecodeError, IndexError):
        return False


def describe(msg: dict[str, Any]) -> str:
    """A short label: the message type and what it carries (a status, a comm update's keys, custom types)."""
    kind = msg["header"]["msg_type"]
    content = msg.get("content") or {}
    parent = (msg.get("parent_header") or {}).get("msg_type", "")
    if kind == "status":
        return f"status {content.get('execution_state')} ({parent})"
    if kind == "comm_msg":
        data = content.get("data") or {}
        if data.get("method") == "update":
            return "comm update " + ",".join(sorted((data.get("state") or {}).keys()))
        if data.get("method") == "custom":
            custom = data.get("content") or {}
            if custom.get("type") == "batch":
                return "custom batch[" + ",".join(p.get("type", "?") for p in custom.get("parts", [])) + "]"
            return f"custom {custom.get('type')}"
        return f"comm {data.get('method')}"
    return f"{kind} ({parent})" if parent else kind


def first_audio(msg: dict[str, Any], item: str) -> bool:
    """Whether this message carries audio of ``item`` (alone or in a batch)."""
    if msg["header"]["msg_type"] != "comm_msg":
        return False
    custom = ((msg.get("content") or {}).get("data") or {}).get("content") or {}
    parts = custom.get("parts", []) if custom.get("type") == "batch" else [custom]
    return any(p.get("type") == "audio" and p.get("item") == item for p in parts)


# --------------------------------------------------------------------------------------------------------
# The trace


@dataclass
class Task:
    """One main-thread task: trace µs, what ran it, its split and its sampled script time by owner (ms)."""

    ts: float
    dur: float
    what: str = ""
    ws: bool = False  # a kernel WebSocket message task
    split: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SPLIT, 0.0))
    owners: dict[str, float] = field(default_factory=lambda: dict.fromkeys(OWNERS, 0.0))

    @property
    def end(self) -> float:
        return self.ts + self.dur


def owner(url: str) -> str | None:
    """Whose code a script URL is (None: not a script with a URL)."""
    if not url:
        return None
    if url.startswith("blob:"):
        return "ours"  # anywidget loads the widget's _esm from a blob URL
    if "anywidget" in url:
        return "anywidget"
    if "jupyter-widgets" in url:
        return "ipywidgets"
    if "/static/" in url or "/lab/" in url:
        return "jupyterlab"
    return "other"


def main_thread(events: list[dict[str, Any]]) -> tuple[int, int]:
    """(pid, tid) of the renderer main thread that saw the Enter mark."""
    for e in events:
        if e.get("name") == "rt-enter" and "blink.user_timing" in e.get("cat", ""):
            return e["pid"], e["tid"]
    raise RuntimeError("no rt-enter mark in the trace")


def samples(events: list[dict[str, Any]], pid: int, tid: int) -> list[tuple[float, str, float]]:
    """The V8 sampling profiler's samples on the main thread: (trace µs, owner, ms since the previous sample).
    The owner is the most specific one on the sample's stack (ours > anywidget > ipywidgets > jupyterlab >
    other): a sample in JupyterLab's code called from ours is ours; "native" when no frame has a URL."""
    profiles = {e["id"] for e in events if e.get("name") == "Profile" and (e["pid"], e["tid"]) == (pid, tid)}
    start: dict[str, float] = {}
    nodes: dict[int, tuple[int | None, str]] = {}
    out: list[tuple[float, str, float]] = []
    clock: dict[str, float] = {}
    for e in events:
        if e.get("id") not in profiles or e["pid"] != pid:
            continue
        data = e.get("args", {}).get("data", {})
        if e["name"] == "Profile":
            start[e["id"]] = data["startTime"]
            continue
        if e["name"] != "ProfileChunk":
            continue
        cpu = data.get("cpuProfile", {})
        for node in cpu.get("nodes", []):
            nodes[node["id"]] = (node.get("parent"), node["callFrame"].get("url", ""))
        t = clock.get(e["id"], start.get(e["id"], 0.0))
        for sample, delta in zip(cpu.get("samples", []), data.get("timeDeltas", []), strict=False):
            t += delta
            out.append((t, stack_owner(nodes, sample), max(0.0, delta) / 1000))
        clock[e["id"]] = t
    return out


def stack_owner(nodes: dict[int, tuple[int | None, str]], leaf: int) -> str:
    rank = {name: i for i, name in enumerate(OWNERS)}
    best: str | None = None
    node: int | None = leaf
    while node is not None and node in nodes:
        parent, url = nodes[node]
        who = owner(url)
        if who is not None and (best is None or rank[who] < rank[best]):
            best = who
        node = parent
    return best or "native"


def tasks(events: list[dict[str, Any]], pid: int, tid: int, t0: float, t1: float) -> list[Task]:
    """The main thread's tasks overlapping [t0, t1] (trace µs), each with what ran it and its split."""
    mine = sorted(
        (
            e
            for e in events
            if e.get("pid") == pid and e.get("tid") == tid and e.get("ph") == "X" and "dur" in e
        ),
        key=lambda e: (e["ts"], -e["dur"]),
    )
    out: list[Task] = []
    current: Task | None = None
    children: list[dict[str, Any]] = []

    def close() -> None:
        if current is not None:
            finish(current, children)
            out.append(current)

    for e in mine:
        if e["name"] in ("RunTask", "ThreadControllerImpl::RunTask"):
            if current is not None and e["ts"] < current.end:
                continue  # nested run loop
            close()
            current, children = None, []
            if e["ts"] + e["dur"] < t0 or e["ts"] > t1:
                continue
            current = Task(e["ts"], e["dur"])
        elif current is not None and current.ts <= e["ts"] < current.end:
            children.append(e)
    close()
    return out


def finish(task: Task, children: list[dict[str, Any]]) -> None:
    """Name a task from its first traced event; split its time (style/layout, paint, GC; the rest: script)."""
    for e in children:
        data = e.get("args", {}).get("data", {})
        if e["name"] == "EventDispatch":
            task.what = task.what or f"event {data.get('type')}"
        elif e["name"] == "TimerFire":
            task.what = task.what or "timer"
        elif e["name"] == "FireAnimationFrame":
            task.what = task.what or "animation frame"
        elif e["name"] == "FunctionCall":
            task.what = task.what or f"call {data.get('functionName') or '?'} ({owner(data.get('url', ''))})"
        elif e["name"] in STYLE_LAYOUT | PAINT:
            task.what = task.what or "rendering"
    task.what = task.what or (children[0]["name"] if children else "(untraced)")
    covered: dict[str, list[tuple[float, float]]] = {"style+layout": [], "paint": [], "gc": []}
    for e in children:
        kind = (
            "style+layout"
            if e["name"] in STYLE_LAYOUT
            else "paint"
            if e["name"] in PAINT
            else "gc"
            if e["name"] in GC
            else None
        )
        if kind:
            covered[kind].append((e["ts"], e["ts"] + e["dur"]))
    for kind, spans in covered.items():
        task.split[kind] = union_ms(spans)
    task.split["script"] = max(0.0, task.dur / 1000 - sum(task.split[k] for k in covered))


def union_ms(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for a, b in sorted(spans):
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total / 1000


# --------------------------------------------------------------------------------------------------------
# One profiled turn


@dataclass
class Turn:
    item: str
    enter: float  # trace µs
    sent: float  # trace µs: the kernel's send of the item's first audio message
    network: (
        float  # trace µs: the page read that frame (DevTools' webSocketFrameReceived: on the main thread)
    )
    dispatch: float  # trace µs: its WebSocket task started on the main thread
    pushed: float  # trace µs: AudioEngine.push had it
    tasks: list[Task]
    before: list[str]  # the kernel messages handled from the Enter until the audio's


def profile_turn(
    page: Any, cdp: Any, text: str, save: Path | None = None, categories: str = CATEGORIES
) -> Turn | None:
    """Type one turn with the trace running; None when the turn stalled. ``save``: write the trace there
    (Chrome's trace JSON: DevTools' Performance panel opens it)."""
    frames: list[tuple[float, bytes | str]] = []  # (network s, payload) of the kernel WebSocket
    chunks: list[dict[str, Any]] = []
    done: list[bool] = []

    def on_frame(e: dict[str, Any]) -> None:
        r = e["response"]
        payload = base64.b64decode(r["payloadData"]) if r["opcode"] == 2 else r["payloadData"]
        if is_jupyter(payload):  # not JupyterLab's other WebSockets (events)
            frames.append((e["timestamp"], payload))

    cdp.on("Network.webSocketFrameReceived", on_frame)
    cdp.on("Tracing.dataCollected", lambda e: chunks.extend(e["value"]))
    cdp.on("Tracing.tracingComplete", lambda e: done.append(True))
    cdp.send("Tracing.start", {"traceConfig": {"includedCategories": categories.split(",")[1:]},
                               "transferMode": "ReportEvents"})  # fmt: skip
    ws_before = page.evaluate("() => window.__rtProf.ws.length")
    item, stalled = typed_turn(page, text)
    cdp.send("Tracing.end")
    while not done:
        page.wait_for_timeout(50)
    cdp.remove_listener("Network.webSocketFrameReceived", on_frame)
    if save is not None:
        save.write_text(json.dumps({"traceEvents": chunks}))
    if stalled:
        return None
    origin, _ = page.evaluate(CLOCK_JS)
    prof = page.evaluate("() => window.__rtProf")
    stats = json.loads(_kernel(page, STATS_CODE).strip().splitlines()[-1])[item]
    pid, tid = main_thread(chunks)
    enter_mark = max(
        e["ts"] for e in chunks if e.get("name") == "rt-enter" and (e["pid"], e["tid"]) == (pid, tid)
    )
    # performance.now() ms -> trace µs, from the Enter (stamped in both)
    offset = enter_mark - 1000 * prof["enter"][-1]

    def wall(s: float) -> float:
        return 1000 * (1000 * s - origin) + offset

    handlers = prof["ws"][ws_before:]
    # Frames and handlers pair up in order (one kernel WebSocket); the sizes check it.
    received = frames[-len(handlers) :] if handlers else []
    if any(len(p) != h[2] for (_, p), h in zip(received, handlers, strict=True)):
        raise RuntimeError("the kernel WebSocket's frames and the page's handlers do not pair up")
    messages = [jupyter_message(p) for _, p in received]
    audio = next(i for i, m in enumerate(messages) if first_audio(m, item))
    enter = enter_mark
    pushed = wall(stats[2])
    found = tasks(chunks, pid, tid, enter, pushed)
    # Name each WebSocket task by the Jupyter messages it handled.
    for (t_start, _t_end, _n), msg in zip(handlers, messages, strict=True):
        ts = offset + 1000 * t_start
        for t in found:
            if t.ts <= ts <= t.end:
                t.what = describe(msg) if not t.ws else f"{t.what} + {describe(msg)}"
                t.ws = True
                break
    for ts, who, ms in samples(chunks, pid, tid):
        for t in found:
            if t.ts <= ts <= t.end and who in OWNERS:
                t.owners[who] += ms
                break
    before = [
        describe(msg)
        for (t_start, _, _), msg in zip(handlers[: audio + 1], messages, strict=False)
        if offset + 1000 * t_start >= enter
    ]
    return Turn(
        item=item,
        enter=enter,
        sent=wall(stats[1]),
        network=1e6 * received[audio][0],
        dispatch=offset + 1000 * handlers[audio][0],
        pushed=pushed,
        tasks=found,
        before=before,
    )


def busy_ms(turn: Turn, t0: float, t1: float) -> float:
    """Main-thread task time within [t0, t1] (trace µs), in ms."""
    return sum(max(0.0, min(t.end, t1) - max(t.ts, t0)) for t in turn.tasks) / 1000


def kind(t: Task) -> str:
    """A task's kind for the totals: its message type without the parent, a custom batch without its parts."""
    return " + ".join(w.split(" (")[0].split("[")[0] for w in t.what.split(" + "))


def print_turn(turn: Turn) -> None:
    """The tasks from the Enter to push, one line each."""
    ms = lambda ts: (ts - turn.enter) / 1000  # noqa: E731
    print(
        f"  item {turn.item}: kernel sent the first audio at +{ms(turn.sent):.1f} ms, the page read its frame"
        f" at +{ms(turn.network):.1f}, its message task started at +{ms(turn.dispatch):.1f},"
        f" push at +{ms(turn.pushed):.1f} (ms after the Enter)"
    )
    head = f"    {'start':>7} {'ms':>6}  {'what ran it':<58}" + "".join(f"{k:>8}" for k in SPLIT)
    print(head + " | " + "".join(f"{k[:8]:>9}" for k in OWNERS))
    for t in turn.tasks:
        if t.dur / 1000 < MIN_TASK_MS:
            continue
        print(
            f"    {ms(t.ts):7.1f} {t.dur / 1000:6.2f}  {t.what[:58]:<58}"
            + "".join(f"{t.split[k]:8.2f}" for k in SPLIT)
            + " | "
            + "".join(f"{t.owners[k]:9.2f}" for k in OWNERS)
        )
    busy = sum(t.dur for t in turn.tasks) / 1000
    print(f"    main thread busy {busy:.1f} ms of the {ms(turn.pushed):.1f} ms from the Enter to push")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/page_profile.py", description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=8, help="profiled turns (default 8)")
    parser.add_argument("--first-audio-ms", type=float, default=0.0, help="the simulator's (default 0)")
    parser.add_argument("--all", action="store_true", help="print every turn's table")
    parser.add_argument(
        "--invalidations", action="store_true", help="also trace what invalidated style/layout/paint"
    )
    parser.add_argument("--save", type=Path, help="write each turn's trace into this directory (turn-N.json)")
    parser.add_argument(
        "--lab-arg", action="append", default=[], help="an argument added to JupyterLab's command line"
    )
    args = parser.parse_args(argv)
    with console_page(0, args.first_audio_ms, INIT_SCRIPT, tuple(args.lab_arg)) as page:
        where = _kernel(page, "import rtwidget; print(rtwidget.__file__)").strip()
        print(f"the kernel's rtwidget: {where}", file=sys.stderr)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        typed_turn(page, "Say something short. (warm-up)")
        turns = []
        for n in range(args.turns):
            save = None
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                save = args.save / f"turn-{n + 1}.json"
            categories = CATEGORIES + (INVALIDATIONS if args.invalidations else "")
            turn = profile_turn(page, cdp, f"Say something short. ({n})", save, categories)
            print(
                f"    turn {n + 1}/{args.turns}{' stalled, left out' if turn is None else ''}",
                file=sys.stderr,
            )
            if turn is not None:
                turns.append(turn)
    if not turns:
        print("no turn measured")
        return 1
    delay = lambda t: t.pushed - t.sent  # noqa: E731
    ordered = sorted(turns, key=delay)
    median_turn = ordered[len(ordered) // 2]
    print(
        f"Main thread from the Enter to the first audio in our code, simulator's first audio"
        f" {args.first_audio_ms:g} ms, {len(turns)} turns"
    )
    for turn in turns if args.all else [median_turn]:
        print_turn(turn)

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):6.1f}"

    stages = {
        "kernel send -> the page reads its frame": [(t.network - t.sent) / 1000 for t in turns],
        "  of which the main thread ran other tasks": [busy_ms(t, t.sent, t.network) for t in turns],
        "frame read -> its message task starts": [(t.dispatch - t.network) / 1000 for t in turns],
        "message task starts -> push": [(t.pushed - t.dispatch) / 1000 for t in turns],
        "kernel send -> push": [delay(t) / 1000 for t in turns],
    }
    print("  medians over the turns (ms)")
    for name, values in stages.items():
        print(f"    {name:<44} {med(values)}")
    by_what: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, list[int]] = defaultdict(list)
    kinds = {kind(t) for turn in turns for t in turn.tasks}
    for turn in turns:
        for k in kinds:
            mine = [t for t in turn.tasks if kind(t) == k]
            by_what[k].append(sum(t.dur for t in mine) / 1000)
            counts[k].append(len(mine))
    print("  main-thread time from the Enter to push, by what ran it (median ms per turn, median count)")
    for k, values in sorted(by_what.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"    {k[:70]:<70} {med(values)}  x{statistics.median(counts[k]):.0f}")
    print("  the same by kind, and the sampled script by owner (median ms per turn)")
    totals = {k: [sum(t.split[k] for t in turn.tasks) for turn in turns] for k in SPLIT}
    totals |= {k: [sum(t.owners[k] for t in turn.tasks) for turn in turns] for k in OWNERS}
    print("    " + "  ".join(f"{k} {med(v).strip()}" for k, v in totals.items()))
    print("  kernel messages handled from the Enter to the audio's (the median turn)")
    for label in median_turn.before:
        print(f"    {label[:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
