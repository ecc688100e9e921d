"""Benchmark: the simulator's model parts on its hot path -- speech synthesis, VAD and transcription.

The simulator synthesizes every audio reply (once per response, 50 concurrent sessions in
``bench/simulator.py``), runs the VAD over every appended chunk and transcribes every committed turn.
Timed in one process, best of ``--rounds``, for ``--seconds`` of speech:

- ``baseline``: ``audio.tone`` of the same duration (one vectorized sine: the cost floor of making that
  many samples);
- ``synthesize``: :func:`rtwidget.server.voice.synthesize` without its cache (a new text each round);
- ``synthesize cached``: the same text again (what 50 sessions saying the same reply cost);
- ``vad 20 ms chunks``: :class:`~rtwidget.server.vad.EnergyVad` fed the speech in 20 ms appends;
- ``transcribe``: :func:`~rtwidget.server.transcribe.transcribe` of the speech (its words read back from
  their tones, :mod:`rtwidget.server.watermark`) and of the same speech through G.711 at 8 kHz, which has
  no room for the tones (description path).

Goal: synthesizing 10 s of speech in under 50 ms. Usage: ``python bench/voice.py [--seconds 10] [--rounds 7]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from rtwidget import audio
from rtwidget.server import transcribe, vad, voice

SENTENCE = "The quick brown fox jumps over the lazy dog, and then it runs away into the woods."


def _best_ms(run: Callable[[int], object], rounds: int) -> float:
    best = float("inf")
    for i in range(rounds):
        start = time.perf_counter()
        run(i)
        best = min(best, time.perf_counter() - start)
    return best * 1000.0


def main() -> None:
    """Print the time of each step and its ratio to the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    one = voice.synthesize(SENTENCE).duration_ms / 1000.0
    repeats = max(1, round(args.seconds / one))
    text = " ".join([SENTENCE] * repeats)
    speech = voice.synthesize(text)
    seconds = speech.duration_ms / 1000.0
    ulaw = audio.encode_audio(audio.pcm16_to_float32(speech.pcm), "g711_ulaw")
    lossy = audio.float32_to_pcm16(audio.decode_audio(ulaw, "g711_ulaw"))
    uncached = voice._synthesize_cached.__wrapped__

    timings = {
        "baseline (audio.tone)": _best_ms(lambda _: audio.tone(220, speech.duration_ms), args.rounds),
        "synthesize": _best_ms(lambda i: uncached(f"{text} {i}", "alloy", 1.0, 24_000), args.rounds),
        "synthesize cached": _best_ms(lambda _: voice.synthesize(text), args.rounds),
        "vad 20 ms chunks": _best_ms(
            lambda _: [vad.EnergyVad().feed(c) for c in audio.chunk(speech.pcm, 20)], args.rounds
        ),
        "transcribe (own speech)": _best_ms(lambda _: transcribe.transcribe(speech.pcm), args.rounds),
        "transcribe (G.711)": _best_ms(lambda _: transcribe.transcribe(lossy), args.rounds),
    }
    base = timings["baseline (audio.tone)"]
    print(f"{seconds:.1f} s of speech, {len(speech.words)} words, best of {args.rounds}")
    for name, ms in timings.items():
        print(f"  {name:<26} {ms:8.2f} ms  {ms / base:7.1f}x baseline  {seconds * 1000 / ms:8.0f}x real time")


if __name__ == "__main__":
    main()
