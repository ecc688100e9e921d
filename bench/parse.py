"""Benchmark: parsing a realistic GA voice session's server frames into typed events plus PCM bytes.

The stream: 10 minutes of model speech in GA frames as the live server sends them -- turns of user
speech (VAD events, committed, user item added/done, input transcription deltas and completed) and
assistant replies (response.created, output item and content part added, ``response.output_audio.delta``
frames of 40-200 ms of 24 kHz PCM16 each with an ``obfuscation`` field, word-by-word
``response.output_audio_transcript.delta`` frames, the ``*.done`` events, ``response.done`` with usage,
``rate_limits.updated``). Frames are ``str``, as a WebSocket text frame arrives.

Timed side by side in one process, rounds interleaved, best round of each over the whole stream:

- ``floor``: ``json.loads`` and, for audio deltas, ``base64.b64decode`` -- no typing at all;
- ``rtwidget``: ``parse_server_event(frame)`` -> typed event, and ``.audio`` (PCM bytes) for deltas;
- ``openai``: the official SDK's receive path, exactly its ``parse_event``:
  ``construct_type_unchecked(value=json.loads(data), type_=RealtimeServerEvent)`` (which leaves audio as
  base64); ``openai+b64`` adds the base64 decode so it ends with PCM bytes like the others.

Goal: rtwidget at or below the floor, and at least 10x faster than the official path.
Usage: ``python bench/parse.py [--minutes 10] [--rounds 5] [--seed 1]``
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import random
import string
import time
from collections.abc import Callable
from typing import Any, cast

from openai._models import construct_type_unchecked
from openai.types.realtime.realtime_server_event import RealtimeServerEvent
from openai.types.realtime.response_audio_delta_event import ResponseAudioDeltaEvent as OpenAIAudioDelta

from rtwidget.protocol import UnknownEvent, parse_server_event
from rtwidget.protocol.ga import ResponseOutputAudioDeltaEvent

__all__ = ["build_stream", "main"]

SAMPLE_RATE_HZ = 24_000
BYTES_PER_SAMPLE = 2
MIN_DELTA_MS = 40
MAX_DELTA_MS = 200
TURN_SPEECH_MS = 12_000  # model speech per reply
WORDS_PER_SECOND = 2.5
AUDIO_DELTA = "response.output_audio.delta"


class _Ids:
    """Ids shaped like the live server's (``event_E4ySyqtszaCwtKJ3TNavm``)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def __call__(self, prefix: str) -> str:
        return prefix + "_" + "".join(self._rng.choices(string.ascii_letters + string.digits, k=21))


def _obfuscation(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(4, 16)))


def _user_turn(
    ids: _Ids, rng: random.Random, previous: str | None, clock_ms: int
) -> tuple[list[dict[str, Any]], str]:
    item = ids("item")
    speech_ms = rng.randint(1500, 5000)
    frames: list[dict[str, Any]] = [
        {
            "type": "input_audio_buffer.speech_started",
            "event_id": ids("event"),
            "audio_start_ms": clock_ms,
            "item_id": item,
        },
        {
            "type": "input_audio_buffer.speech_stopped",
            "event_id": ids("event"),
            "audio_end_ms": clock_ms + speech_ms,
            "item_id": item,
        },
        {
            "type": "input_audio_buffer.committed",
            "event_id": ids("event"),
            "previous_item_id": previous,
            "item_id": item,
        },
    ]
    content = [{"type": "input_audio", "transcript": None}]
    user_item = {"id": item, "type": "message", "status": "completed", "role": "user", "content": content}
    frames.extend(
        {"type": kind, "event_id": ids("event"), "previous_item_id": previous, "item": user_item}
        for kind in ("conversation.item.added", "conversation.item.done")
    )
    words = ["could", "you", "tell", "me", "about", "the", "weather", "in", "Lisbon", "today"]
    frames.extend(
        {
            "type": "conversation.item.input_audio_transcription.delta",
            "event_id": ids("event"),
            "item_id": item,
            "content_index": 0,
            "delta": word + " ",
            "obfuscation": _obfuscation(rng),
        }
        for word in words
    )
    frames.append(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "event_id": ids("event"),
            "item_id": item,
            "content_index": 0,
            "transcript": " ".join(words),
            "usage": {"type": "duration", "seconds": speech_ms // 1000},
        }
    )
    return frames, item


def _assistant_turn(ids: _Ids, rng: random.Random, previous: str) -> tuple[list[dict[str, Any]], str]:
    response, item = ids("resp"), ids("item")
    ref = {"response_id": response, "item_id": item, "output_index": 0, "content_index": 0}
    base_response = {
        "object": "realtime.response",
        "id": response,
        "status": "in_progress",
        "status_details": None,
        "output": [],
        "conversation_id": "conv_bench",
        "output_modalities": ["audio"],
        "max_output_tokens": "inf",
        "audio": {"output": {"format": {"type": "audio/pcm", "rate": SAMPLE_RATE_HZ}, "voice": "alloy"}},
        "usage": None,
        "metadata": None,
    }
    in_progress = {"id": item, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    frames: list[dict[str, Any]] = [
        {"type": "response.created", "event_id": ids("event"), "response": base_response},
        {
            "type": "response.output_item.added",
            "event_id": ids("event"),
            "response_id": response,
            "output_index": 0,
            "item": in_progress,
        },
        {
            "type": "conversation.item.added",
            "event_id": ids("event"),
            "previous_item_id": previous,
            "item": in_progress,
        },
        {
            "type": "response.content_part.added",
            "event_id": ids("event"),
            **ref,
            "part": {"type": "audio", "transcript": ""},
        },
    ]
    words: list[str] = []
    spoken_ms = 0
    word_debt = 0.0
    while spoken_ms < TURN_SPEECH_MS:
        chunk_ms = rng.randint(MIN_DELTA_MS, MAX_DELTA_MS)
        pcm = rng.randbytes(SAMPLE_RATE_HZ * BYTES_PER_SAMPLE * chunk_ms // 1000)
        word_debt += chunk_ms / 1000 * WORDS_PER_SECOND
        while word_debt >= 1:
            word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9)))
            words.append(word)
            word_debt -= 1
            frames.append(
                {
                    "type": "response.output_audio_transcript.delta",
                    "event_id": ids("event"),
                    **ref,
                    "delta": " " + word,
                    "obfuscation": _obfuscation(rng),
                }
            )
        frames.append(
            {
                "type": AUDIO_DELTA,
                "event_id": ids("event"),
                **ref,
                "delta": base64.b64encode(pcm).decode("ascii"),
                "obfuscation": _obfuscation(rng),
            }
        )
        spoken_ms += chunk_ms
    transcript = " ".join(words)
    done_part = {"type": "audio", "transcript": transcript}
    done_item = {
        **in_progress,
        "status": "completed",
        "content": [{"type": "output_audio", "transcript": transcript}],
    }
    usage = {
        "total_tokens": 900,
        "input_tokens": 300,
        "output_tokens": 600,
        "input_token_details": {
            "text_tokens": 100,
            "audio_tokens": 200,
            "image_tokens": 0,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": 100, "audio_tokens": 500},
    }
    frames += [
        {"type": "response.output_audio.done", "event_id": ids("event"), **ref},
        {
            "type": "response.output_audio_transcript.done",
            "event_id": ids("event"),
            **ref,
            "transcript": transcript,
        },
        {"type": "response.content_part.done", "event_id": ids("event"), **ref, "part": done_part},
        {
            "type": "conversation.item.done",
            "event_id": ids("event"),
            "previous_item_id": previous,
            "item": done_item,
        },
        {
            "type": "response.output_item.done",
            "event_id": ids("event"),
            "response_id": response,
            "output_index": 0,
            "item": done_item,
        },
        {
            "type": "response.done",
            "event_id": ids("event"),
            "response": {**base_response, "status": "completed", "output": [done_item], "usage": usage},
        },
        {
            "type": "rate_limits.updated",
            "event_id": ids("event"),
            "rate_limits": [
                {"name": "tokens", "limit": 15000000, "remaining": 14999100, "reset_seconds": 0.003}
            ],
        },
    ]
    return frames, item


def build_stream(minutes: float = 10.0, seed: int = 1) -> list[str]:
    """Return the server frames (JSON text) of a GA voice session with ``minutes`` of model speech."""
    rng = random.Random(seed)
    ids = _Ids(rng)
    frames: list[dict[str, Any]] = []
    previous: str | None = None
    clock_ms = 0
    for _ in range(round(minutes * 60_000 / TURN_SPEECH_MS)):
        user, previous = _user_turn(ids, rng, previous, clock_ms)
        assistant, previous = _assistant_turn(ids, rng, previous)
        frames += user + assistant
        clock_ms += 20_000
    return [json.dumps(frame, separators=(",", ":")) for frame in frames]


def _floor(frames: list[str]) -> int:
    total = 0
    for frame in frames:
        data = json.loads(frame)
        if data["type"] == AUDIO_DELTA:
            total += len(base64.b64decode(data["delta"]))
    return total


def _rtwidget(frames: list[str]) -> int:
    total = 0
    for frame in frames:
        event = parse_server_event(frame)
        if type(event) is ResponseOutputAudioDeltaEvent:
            total += len(event.audio)
    return total


def _openai_parse_event(data: str | bytes) -> RealtimeServerEvent:
    # Verbatim the body of openai.resources.realtime.realtime.AsyncRealtimeConnection.parse_event.
    return cast(
        RealtimeServerEvent,
        construct_type_unchecked(value=json.loads(data), type_=cast(Any, RealtimeServerEvent)),
    )


def _openai(frames: list[str]) -> int:
    for frame in frames:
        _openai_parse_event(frame)
    return 0


def _openai_b64(frames: list[str]) -> int:
    total = 0
    for frame in frames:
        event = _openai_parse_event(frame)
        if isinstance(event, OpenAIAudioDelta):
            total += len(base64.b64decode(event.delta))
    return total


def _best_times(
    runs: dict[str, Callable[[list[str]], int]], frames: list[str], rounds: int
) -> dict[str, float]:
    """Best wall time of each parser over ``rounds`` rounds, interleaved so drift hits all alike."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            gc.collect()  # start each timing from the same heap state; GC stays on, as in a real client
            start = time.perf_counter()
            run(frames)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> None:
    """Build the stream, time the four parsers and print times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of model speech in the stream")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per parser (best is kept)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    frames = build_stream(args.minutes, args.seed)
    unknown = [frame[:80] for frame in frames if isinstance(parse_server_event(frame), UnknownEvent)]
    if unknown:
        raise SystemExit(f"the stream has frames rtwidget does not type: {unknown[:3]}")
    audio_frames = sum(AUDIO_DELTA in frame[:40] for frame in frames)
    megabytes = sum(len(frame) for frame in frames) / 1e6
    print(f"stream: {len(frames)} frames ({audio_frames} audio deltas), {megabytes:.1f} MB of JSON")

    floor_bytes, ours_bytes = _floor(frames), _rtwidget(frames)
    if ours_bytes != floor_bytes:
        raise SystemExit(f"rtwidget decoded {ours_bytes} PCM bytes, the floor {floor_bytes}")
    best = _best_times(
        {"floor": _floor, "rtwidget": _rtwidget, "openai": _openai, "openai_b64": _openai_b64},
        frames,
        args.rounds,
    )
    floor_s, ours_s, openai_s, openai_b64_s = (
        best["floor"],
        best["rtwidget"],
        best["openai"],
        best["openai_b64"],
    )
    pcm_seconds = floor_bytes / (SAMPLE_RATE_HZ * BYTES_PER_SAMPLE)
    print(f"decoded audio: {pcm_seconds:.0f} s of 24 kHz PCM16 ({floor_bytes / 1e6:.1f} MB)")
    print()
    print(f"{'parser':<44}{'total ms':>10}{'us/frame':>10}{'x floor':>9}")
    rows = [
        ("floor: json.loads + b64decode", floor_s),
        ("rtwidget: parse_server_event + .audio", ours_s),
        ("openai: parse_event (construct_type)", openai_s),
        ("openai: parse_event + b64decode", openai_b64_s),
    ]
    for name, seconds in rows:
        print(
            f"{name:<44}{seconds * 1e3:>10.1f}{seconds / len(frames) * 1e6:>10.2f}{seconds / floor_s:>9.2f}"
        )
    print()
    print(f"rtwidget vs floor:           {floor_s / ours_s:.2f}x faster (goal >= 1x)")
    print(f"rtwidget vs openai:          {openai_s / ours_s:.1f}x faster (goal >= 10x)")
    print(f"rtwidget vs openai+b64decode: {openai_b64_s / ours_s:.1f}x faster")


if __name__ == "__main__":
    main()
