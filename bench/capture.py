"""Benchmark: kernel CPU per second of captured microphone audio sent to the server.

The view captures the microphone and sends the kernel PCM16 chunks of ``voice.CHUNK_MS`` (50 ms) as binary
comm buffers; the kernel turns each into a validated ``input_audio_buffer.append`` and sends it. Here the
simulator runs in a child process (its VAD is not our CPU; ``bench/widget.py``'s launcher), and in this
process:

- ``baseline``: a bare websockets client sends the same chunks as ``input_audio_buffer.append`` frames
  (base64 + ``json.dumps`` + send): the floor of putting that audio on the wire;
- ``widget``: a RealtimeWidget connected to the same server gets the chunks as view messages (the path of
  ``{type: "mic"}``: a comm message handler, validation, the ordered outbox, the log) and sends them. Its
  comm is ``bench/widget.py``'s recording one (each message to the view serialized and signed as ipykernel
  does) with a ready view, so the log rows the view is sent for the appends are counted too.

CPU is ``time.process_time()`` of this process over the whole stream, per second of audio. Goal: <= 1 ms
of CPU per second of captured audio. Usage: ``python bench/capture.py [--seconds 60] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time

import numpy as np
from widget import recording_widget, simulator  # bench/widget.py's launcher and recording widget

from rtwidget.audio import float32_to_pcm16
from rtwidget.protocol.catalog import DEFAULT_MODEL
from rtwidget.widget import voice

GOAL_CPU_MS_PER_AUDIO_S = 1.0


def _chunks(seconds: float) -> list[bytes]:
    rng = np.random.default_rng(0)
    pcm = float32_to_pcm16((0.1 * rng.standard_normal(int(24000 * seconds))).astype(np.float32))
    step = 48 * voice.CHUNK_MS
    return [pcm[at : at + step] for at in range(0, len(pcm), step)]


async def baseline(url: str, chunks: list[bytes]) -> float:
    """CPU seconds to send the chunks as appends on a bare websockets connection."""
    from websockets.asyncio.client import connect

    async with connect(f"{url}?model={DEFAULT_MODEL}", max_size=None, compression=None) as ws:
        await ws.recv()  # session.created
        start = time.process_time()
        for data in chunks:
            frame = {"type": "input_audio_buffer.append", "audio": base64.b64encode(data).decode("ascii")}
            await ws.send(json.dumps(frame))
        return time.process_time() - start


async def widget(url: str, chunks: list[bytes]) -> float:
    """CPU seconds for a RealtimeWidget with a ready view to take the chunks as view messages, send them."""
    w = recording_widget(url)
    await w.connect()
    await w.wait_for("session.created", timeout=10, since=0)
    try:
        start = time.process_time()
        for data in chunks:
            w._handle_custom_msg({"type": "mic", "rate": 24000}, [data])
            if len(w._outbox._queue) > 20:  # as a view would: chunks arrive while earlier ones go out
                await w._outbox.join()
        await w._outbox.join()
        return time.process_time() - start
    finally:
        await w.disconnect()
        w.close()


async def measure(seconds: float, rounds: int) -> dict[str, float]:
    """Best-of-``rounds`` ms of CPU per audio second: ``baseline_ms_per_audio_s``, ``widget_ms_per_audio_s``
    and their ``ratio``."""
    chunks = _chunks(seconds)
    with simulator(speed=1.0) as url:
        base = min([await baseline(url, chunks) for _ in range(rounds)])
        ours = min([await widget(url, chunks) for _ in range(rounds)])
    per_s = 1000.0 / seconds
    return {
        "baseline_ms_per_audio_s": base * per_s,
        "widget_ms_per_audio_s": ours * per_s,
        "ratio": ours / base,
    }


async def run(seconds: float, rounds: int) -> bool:
    """Print the figures of `measure`; return whether the goal is met."""
    r = await measure(seconds, rounds)
    n_chunks = len(_chunks(seconds))
    print(f"{seconds:g} s of captured audio in {n_chunks} chunks of {voice.CHUNK_MS} ms, best of {rounds}")
    base = r["baseline_ms_per_audio_s"]
    print(f"  baseline (websockets + base64 + json)  {base:6.3f} ms CPU per audio second")
    print(
        f"  widget   (view message -> append)      {r['widget_ms_per_audio_s']:6.3f} ms CPU per audio second"
    )
    print(f"  ratio widget / baseline                {r['ratio']:6.2f}x")
    met = r["widget_ms_per_audio_s"] <= GOAL_CPU_MS_PER_AUDIO_S
    verdict = "met" if met else "missed"
    print(f"  goal <= {GOAL_CPU_MS_PER_AUDIO_S} ms per audio second: {verdict}")
    return met


def main() -> None:
    """Print the kernel CPU per second of captured audio, ours and the baseline's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.rounds))


if __name__ == "__main__":
    main()
