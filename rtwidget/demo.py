"""A short SDK demo: a text turn and an audio turn, against a server URL or the local simulator.

Usage: ``python -m rtwidget.demo [--url ws://HOST:PORT/v1/realtime] [--text "hello there"]``.
With no ``--url`` and no ``OPENAI_API_KEY`` in the environment it starts the bundled simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from contextlib import AsyncExitStack
from typing import Any

from rtwidget.client import connect
from rtwidget.client.backend import resolve_backend
from rtwidget.protocol.formats import duration_ms
from rtwidget.server import serve

__all__ = ["main", "run"]


def _user_message(text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
    }


async def run(url: str | None, text: str) -> None:
    """Connect, run one text turn and one audio turn, print what arrives."""
    async with AsyncExitStack() as stack:
        backend = resolve_backend(url=url)
        sim_url = None
        if backend.embedded:
            sim = await stack.enter_async_context(serve(port=0, speed=4.0))
            sim_url = sim.url
            print(f"= started the local simulator at {sim_url}")
        conn = await stack.enter_async_context(connect(config=backend.config_for(sim_url)))
        first = await conn.recv()
        print(f"< {first.type}")
        for modality in ("text", "audio"):
            await conn.send(
                {"type": "session.update", "session": {"type": "realtime", "output_modalities": [modality]}}
            )
            await conn.send(_user_message(text))
            await conn.send({"type": "response.create"})
            print(f"> {modality} turn: {text!r}")
            audio_bytes = 0
            async for ev in conn:
                if ev.type in ("response.output_text.delta", "response.output_audio_transcript.delta"):
                    print(ev.delta, end="", flush=True)  # type: ignore[attr-defined]
                elif ev.type == "response.output_audio.delta":
                    audio_bytes += len(ev.audio)  # type: ignore[attr-defined]
                elif ev.type == "error":
                    print(f"\n! {ev.to_dict()['error']}")
                elif ev.type == "response.done":
                    status = ev.to_dict()["response"]["status"]
                    extra = f", {duration_ms(audio_bytes) / 1000:.1f} s of audio" if audio_bytes else ""
                    print(f"\n< response.done ({status}{extra})")
                    break


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m rtwidget.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="server URL (default: the local simulator)")
    parser.add_argument("--text", default="Hello! What are you?", help="what to say")
    args = parser.parse_args(argv)
    try:
        asyncio.run(run(args.url, args.text))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
