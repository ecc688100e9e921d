"""Benchmark: many concurrent simulator sessions streaming audio, vs a single-session baseline.

    .venv/bin/python bench/simulator.py [--sessions 200] [--speed 1] [--turns 4] [--workers N]

The simulator runs in this process (with `--workers N`: `python -m rtwidget.server --workers N`, N processes
on one port); the clients run in a child process (so they share the cores the way a real client and server
would). Each client session asks for audio replies `--turns` times and
records, for every `response.output_audio.delta`, how late it arrived vs its schedule: the moment the
client sent `response.create` + the audio before it / speed (synthesis, queueing and the socket all
count). The simulator side records how late each delta was written to its socket.
Reported: events/s, audio deltas, errors, p50 / p95 / max lateness, simulator and client CPU (per event),
for 1 session and for N sessions (with `--workers`, the simulator's CPU is its workers', read from /proc
from the moment it listens, and its socket lateness is not recorded);
then the simulator's own CPU per event in process (the sans-I/O core driving the same N sessions and
turns with a simulated clock, events encoded as for the wire) as a ratio to encoding the same events
with msgspec alone. Audio deltas carry the default 100 ms each (recordings: 40-200 ms). Last, 20k
`conversation.item.create`s with their own ids, each after the previous: the CPU per create of the last
1k as a ratio to the first 1k (~1 when a create does not scan the conversation).
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

# Formatted with the session number so every session gets its own replies: no two sessions can share
# a cached synthesis, as with real users.
PROMPTS = (
    "Hi, my name is Ada{n}.",
    "Tell me about session {n} and its audio stream.",
    "What can you do as a local simulator?",
    "Please repeat after me: speaker {n} is testing the simulator",
)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _client_session(
    url: str, n: int, *, turns: int, speed: float, stagger_s: float, out: dict[str, Any]
) -> None:
    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()
    await asyncio.sleep(n * stagger_s)
    async with connect(url, max_size=None, compression=None) as ws:
        json.loads(await ws.recv())  # session.created
        for turn in range(turns):
            item = {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": PROMPTS[turn % len(PROMPTS)].format(n=n)}],
            }
            await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
            # The schedule starts when we ask: delta k is due k chunk durations / speed later.
            start = loop.time()
            await ws.send(json.dumps({"type": "response.create"}))
            audio_ms = 0.0
            while True:
                raw = await ws.recv()
                now = loop.time()
                event = json.loads(raw)
                out["events"] += 1
                kind = event["type"]
                if kind == "error":
                    out["errors"].append(event["error"]["message"])
                elif kind == "response.output_audio.delta":
                    due = start + audio_ms / 1000.0 / speed
                    out["lateness_s"].append(now - due)
                    b64 = event["delta"]
                    nbytes = len(b64) * 3 // 4 - b64[-2:].count("=")
                    audio_ms += nbytes / 48.0  # 24 kHz PCM16: 48 bytes/ms
                    out["audio_deltas"] += 1
                elif kind == "response.done":
                    if event["response"]["status"] != "completed":
                        out["errors"].append(f"response status {event['response']['status']}")
                    break


async def _clients(url: str, sessions: int, turns: int, speed: float, stagger_s: float) -> dict[str, Any]:
    out: dict[str, Any] = {"events": 0, "audio_deltas": 0, "errors": [], "lateness_s": []}
    t0 = time.perf_counter()
    results = await asyncio.gather(
        *(
            _client_session(url, n, turns=turns, speed=speed, stagger_s=stagger_s, out=out)
            for n in range(sessions)
        ),
        return_exceptions=True,
    )
    out["wall_s"] = time.perf_counter() - t0
    out["errors"] += [repr(r) for r in results if isinstance(r, BaseException)]
    return out


def _client_main(args: argparse.Namespace) -> None:
    result = asyncio.run(_clients(args.client, args.sessions, args.turns, args.speed, args.stagger_ms / 1000))
    print(json.dumps(result))


async def _run(sessions: int, turns: int, speed: float, stagger_ms: float = 0.0) -> dict[str, Any]:
    from rtwidget.server import serve

    server_cpu0 = time.process_time()
    child_cpu0 = _children_cpu_s()
    async with serve(port=0, speed=speed, record_lateness=True) as sim:
        cmd = [
            sys.executable,
            __file__,
            "--client",
            f"{sim.url}?model=gpt-realtime-2",
            "--sessions",
            str(sessions),
            "--turns",
            str(turns),
            "--speed",
            str(speed),
            "--stagger-ms",
            str(stagger_ms),
        ]
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=subprocess.PIPE)
        stdout, _ = await proc.communicate()
        result: dict[str, Any] = json.loads(stdout)
        result["server_lateness_s"] = list(sim.audio_lateness_s)
    result["server_cpu_s"] = time.process_time() - server_cpu0
    result["client_cpu_s"] = _children_cpu_s() - child_cpu0
    return result


async def _run_workers(
    sessions: int, turns: int, speed: float, stagger_ms: float, workers: int
) -> dict[str, Any]:
    """As `_run`, with the simulator in `python -m rtwidget.server --workers N` (Linux: CPU from /proc)."""
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "rtwidget.server", "--port", "0", "--workers", str(workers), "--speed", str(speed)),
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None
    url = (await server.stdout.readline()).decode().strip()
    pids = _worker_pids(server.pid) if workers > 1 else [server.pid]
    server_cpu0 = sum(map(_proc_cpu_s, pids))
    child_cpu0 = _children_cpu_s()
    cmd = [sys.executable, __file__, "--client", f"{url}?model=gpt-realtime-2", "--sessions", str(sessions)]
    cmd += ["--turns", str(turns), "--speed", str(speed), "--stagger-ms", str(stagger_ms)]
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=subprocess.PIPE)
    stdout, _ = await proc.communicate()
    result: dict[str, Any] = json.loads(stdout)
    result["client_cpu_s"] = _children_cpu_s() - child_cpu0
    result["server_cpu_s"] = sum(map(_proc_cpu_s, pids)) - server_cpu0
    result["server_lateness_s"] = []
    server.send_signal(signal.SIGINT)
    await server.wait()
    return result


def _worker_pids(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc/<pid>/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _core_cpu(sessions: int, turns: int, speed: float) -> tuple[int, float, float]:
    """(events, CPU s of the sans-I/O core + wire encoding, CPU s of msgspec encoding the same events)."""
    import msgspec

    from rtwidget.protocol import encode_event
    from rtwidget.server.core import SimSession

    def drive(collect: list[Any] | None) -> int:
        live = [SimSession(speed=speed, seed=n) for n in range(sessions)]
        count = 0

        def out(events: list[Any]) -> None:
            nonlocal count
            for event in events:
                encode_event(event)
            count += len(events)
            if collect is not None:
                collect.extend(events)

        for sess in live:
            out(sess.start(0.0))
        now = 0.0
        for turn in range(turns):
            due: list[tuple[float, int]] = []
            for n, sess in enumerate(live):
                text = PROMPTS[turn % len(PROMPTS)].format(n=n)
                item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
                out(sess.receive(json.dumps({"type": "conversation.item.create", "item": item}), now))
                out(sess.receive('{"type": "response.create"}', now))
                if (when := sess.next_deadline()) is not None:
                    heapq.heappush(due, (when, n))
            while due:
                now, n = heapq.heappop(due)
                out(live[n].advance(now))
                if (when := live[n].next_deadline()) is not None:
                    heapq.heappush(due, (when, n))
        return count

    drive(None)  # warm up: imports, wavetables
    cpu0 = time.process_time()
    count = drive(None)
    core_s = time.process_time() - cpu0
    events: list[Any] = []
    drive(events)
    encoder = msgspec.json.Encoder()
    cpu0 = time.process_time()
    for event in events:
        encoder.encode(event)
    return count, core_s, time.process_time() - cpu0


def _item_creates(count: int, window: int) -> tuple[float, float]:
    """CPU s per create of the first and the last `window` of `count` creates with own ids, in a row."""
    from rtwidget.server.core import SimSession

    sess = SimSession()
    sess.start(0.0)
    frames = [
        json.dumps(
            {
                "type": "conversation.item.create",
                "previous_item_id": f"item_{n - 1:06d}" if n else None,
                "item": {"id": f"item_{n:06d}", "type": "message", "role": "user", "content": []},
            }
        )
        for n in range(count)
    ]
    marks = [time.process_time()]
    for n, frame in enumerate(frames):
        sess.receive(frame, 0.0)
        if n + 1 in (window, count - window, count):
            marks.append(time.process_time())
    return (marks[1] - marks[0]) / window, (marks[3] - marks[2]) / window


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _report(label: str, r: dict[str, Any]) -> dict[str, float]:
    late_ms = [x * 1000 for x in r["lateness_s"]]
    server_ms = [x * 1000 for x in r["server_lateness_s"]]
    row = {
        "events_per_s": r["events"] / r["wall_s"],
        "p50_ms": _pct(late_ms, 0.50),
        "p95_ms": _pct(late_ms, 0.95),
        "max_ms": max(late_ms) if late_ms else float("nan"),
        "server_p95_ms": _pct(server_ms, 0.95),
    }
    print(
        f"{label:>12}: {r['events']:6d} events in {r['wall_s']:5.2f} s = "
        f"{row['events_per_s']:6.0f} events/s, "
        f"{r['audio_deltas']:5d} audio deltas, errors {len(r['errors'])}; CPU: simulator "
        f"{r['server_cpu_s']:.2f} s ({1e6 * r['server_cpu_s'] / r['events']:.0f} us/event), "
        f"clients {r['client_cpu_s']:.2f} s ({1e6 * r['client_cpu_s'] / r['events']:.0f} us/event)\n"
        f"{'':>14}audio delta lateness at the client: p50 {row['p50_ms']:.1f} ms, "
        f"p95 {row['p95_ms']:.1f} ms, "
        f"max {row['max_ms']:.1f} ms; at the simulator's socket: "
        + (
            f"p95 {row['server_p95_ms']:.1f} ms (mean {statistics.fmean(server_ms):.1f} ms)"
            if server_ms
            else "not recorded"
        )
    )
    for err in r["errors"][:5]:
        print("    error:", err)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--speed", type=float, default=1.0, help="1: real time, the case of issue 12 (default)")
    p.add_argument("--turns", type=int, default=4)
    p.add_argument(
        "--stagger-ms",
        type=float,
        default=0.0,
        help="start session n after n * this delay (default 0: all in lockstep, the worst case)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="serve the sessions by `python -m rtwidget.server --workers N` (default 0: in this process)",
    )
    p.add_argument("--client", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.client:
        _client_main(args)
        return
    print(
        f"simulator bench: speed {args.speed}, {args.turns} audio turns per session, "
        f"sessions started {args.stagger_ms} ms apart"
    )
    base = _report("1 session", asyncio.run(_run(1, args.turns, args.speed)))
    if args.workers:
        label = f"{args.sessions} sessions, {args.workers} worker{'s' if args.workers > 1 else ''}"
        run = _run_workers(args.sessions, args.turns, args.speed, args.stagger_ms, args.workers)
    else:
        label, run = f"{args.sessions} sessions", _run(args.sessions, args.turns, args.speed, args.stagger_ms)
    many = _report(label, asyncio.run(run))
    print(
        f"ratio {args.sessions} vs 1: events/s x{many['events_per_s'] / base['events_per_s']:.1f}, "
        f"client p95 lateness x{many['p95_ms'] / max(base['p95_ms'], 1.0):.1f}, "
        f"socket p95 lateness x{many['server_p95_ms'] / max(base['server_p95_ms'], 1.0):.1f}"
    )
    count, core_s, encode_s = _core_cpu(args.sessions, args.turns, args.speed)
    print(
        f"in process: core + encoding {1e6 * core_s / count:.1f} us/event vs msgspec encoding alone "
        f"{1e6 * encode_s / count:.2f} us/event: x{core_s / encode_s:.1f} ({count} events)"
    )
    first_s, last_s = _item_creates(20_000, 1_000)
    print(
        f"item creates with own ids: first 1k {1e6 * first_s:.1f} us each, last 1k of 20k "
        f"{1e6 * last_s:.1f} us each: x{last_s / first_s:.2f}"
    )


if __name__ == "__main__":
    main()
