"""Several simulator processes behind one port: `python -m rtwidget.server --workers N`.

One process runs every session on one core. With `--workers N` this process reserves the port, starts N
worker processes (each `python -m rtwidget.server` on that port, binding with SO_REUSEPORT) and waits; the
kernel spreads new connections over the workers' listening sockets, hashed by the client's address and
port, so no front process copies any bytes. A connection stays with the worker that accepted it. A worker
that dies takes its own sessions with it; new connections go to the others. Linux only: elsewhere
SO_REUSEPORT is missing or (macOS, the BSDs) hands every connection to one socket instead of spreading them.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

__all__ = ["reuse_port_refusal", "supervise"]

# How often the supervisor looks at its workers, and how long a stopping worker gets before SIGKILL.
_POLL_S = 0.5
_STOP_GRACE_S = 10.0


def reuse_port_refusal() -> str | None:
    """Why `--workers` > 1 cannot work on this platform (None: it can)."""
    if not sys.platform.startswith("linux") or not hasattr(socket, "SO_REUSEPORT"):
        return (
            f"--workers needs Linux's SO_REUSEPORT, which spreads connections over processes; on "
            f"{sys.platform} run one process per port instead"
        )
    return None


class _StopSignalError(Exception):
    """SIGINT / SIGTERM reached the supervisor."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopSignalError


def _reserve(host: str, port: int) -> socket.socket:
    """A bound, not listening, SO_REUSEPORT socket holding `port` (0: a free one) for the workers.

    Not listening, it takes no connections; it keeps the port the workers share from being handed to
    another program between two workers' binds.
    """
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def _worker_argv(args: argparse.Namespace, port: int, index: int) -> list[str]:
    argv = [sys.executable, "-m", "rtwidget.server", "--host", args.host, "--port", str(port)]
    argv += ["--speed", repr(args.speed), "--first-audio-ms", repr(args.first_audio_ms)]
    argv += ["--worker", f"{index}/{args.workers}"]
    if args.require_key is not None:
        argv += ["--require-key", args.require_key]
    if args.reject_beta:
        argv.append("--reject-beta")
    for origin in args.allow_origin:
        argv += ["--allow-origin", origin]
    return argv


def _stop(workers: list[subprocess.Popen[str]]) -> None:
    for proc in workers:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + _STOP_GRACE_S
    for proc in workers:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def supervise(args: argparse.Namespace) -> int:
    """Start `args.workers` workers on one port, print its URL, wait until stopped; the exit status."""
    refused = reuse_port_refusal()
    if refused is not None:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    try:
        reserved = _reserve(args.host, args.port)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    workers: list[subprocess.Popen[str]] = []
    try:
        with reserved:
            port = reserved.getsockname()[1]
            # A worker's stdin is this process's pipe: at its EOF (this process is gone, even by SIGKILL)
            # the worker stops, so no orphan keeps the port.
            workers = [
                subprocess.Popen(
                    _worker_argv(args, port, index), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
                )
                for index in range(1, args.workers + 1)
            ]
            urls = [proc.stdout.readline().strip() if proc.stdout else "" for proc in workers]
            if not all(urls):
                print("error: a worker did not start (its error is above)", file=sys.stderr)
                return 1
            print(urls[0], flush=True)
            live = list(workers)
            while live:
                time.sleep(_POLL_S)
                for proc in [p for p in live if p.poll() is not None]:
                    live.remove(proc)
                    print(
                        f"worker pid {proc.pid} exited with status {proc.returncode}; "
                        f"{len(live)} of {args.workers} left",
                        file=sys.stderr,
                        flush=True,
                    )
            return 1
    except _StopSignalError:
        return 0
    finally:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the workers' stop short
        _stop(workers)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
