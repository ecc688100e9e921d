"""Command line: `python -m rtwidget.server [--host 127.0.0.1] [--port 8765] [--workers N] ...`.

Prints the WebSocket URL on one line once it accepts connections; Ctrl-C stops it cleanly. With
`--workers N`, N processes share the port (:mod:`rtwidget.server.workers`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys

from rtwidget.server.adapter import serve
from rtwidget.server.handshake import allowed_origins
from rtwidget.server.workers import supervise

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rtwidget.server",
        description="Local simulator of the OpenAI Realtime WebSocket API (GA; beta on request).",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    p.add_argument(
        "--port", type=int, default=8765, help="TCP port, 0 for any free one (default: %(default)s)"
    )
    p.add_argument(
        "--speed", type=float, default=1.0, help="pacing of streamed audio; 10 = ten times real time"
    )
    p.add_argument(
        "--first-audio-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="a model's time to first audio: each response's first delta (audio or text) comes MS after "
        "its response.created, divided by --speed like all pacing; real models take 300-2000 "
        "(default: %(default)s, with the response's first events)",
    )
    p.add_argument(
        "--require-key", metavar="KEY", default=None, help="reject connections without this API key"
    )
    p.add_argument(
        "--reject-beta", action="store_true", help="answer beta clients with beta_api_shape_disabled"
    )
    p.add_argument(
        "--allow-origin",
        metavar="ORIGIN",
        action="append",
        default=[],
        help="accept browser connections from web pages of ORIGIN, e.g. http://localhost:5173 (repeatable; "
        "'*' for any). Other pages get HTTP 403; clients that send no Origin header (Python, Node) are "
        "always accepted",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (Linux SO_REUSEPORT): the kernel spreads connections over them, "
        "one core each (default: %(default)s)",
    )
    # Set by the supervisor of `--workers`: this process is worker "i/n" (named in each upgrade's
    # X-Simulator-Worker header) and stops when its stdin, the supervisor's pipe, closes.
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return p


def _stop_at_stdin_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    fd = sys.stdin.fileno()

    def readable() -> None:
        if not os.read(fd, 4096):
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)


async def _run(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: KeyboardInterrupt handles Ctrl-C
            loop.add_signal_handler(sig, stop.set)
    if args.worker is not None:
        _stop_at_stdin_eof(loop, stop)
    async with serve(
        host=args.host,
        port=args.port,
        speed=args.speed,
        first_audio_ms=args.first_audio_ms,
        require_key=args.require_key,
        reject_beta=args.reject_beta,
        allow_origins=args.allow_origin,
        reuse_port=args.worker is not None,
        worker=None if args.worker is None else f"{args.worker}; pid={os.getpid()}",
    ) as sim:
        print(sim.url, flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until Ctrl-C / SIGTERM; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.speed <= 0:
        print("error: --speed must be > 0", file=sys.stderr)
        return 2
    if not args.first_audio_ms >= 0:
        print("error: --first-audio-ms must be >= 0", file=sys.stderr)
        return 2
    try:
        allowed_origins(args.allow_origin)
    except ValueError as exc:
        print(f"error: --allow-origin: {exc}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("error: --workers must be >= 1", file=sys.stderr)
        return 2
    if args.workers > 1:
        return supervise(args)
    try:
        asyncio.run(_run(args))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
