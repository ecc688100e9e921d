"""Recorded-style turns of servers that deviate from OpenAI's schema, one per family of deviations.

Written here from the deviations observed in other servers' traffic (xAI's Grok voice API, Azure Voice
Live, a third-party mock server) and in OpenAI's own newest frames. Each turn is what a client sees from
``session.created`` to ``response.done``; each frame that deviates is marked with the problem paths a
tolerant reader must report (a frame whose only deviation is extra fields reports none).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

JSON = dict[str, Any]

PCM_100MS = base64.b64encode(bytes(4800)).decode()  # 100 ms of PCM16 silence at 24 kHz


@dataclass
class Turn:
    """One family's frames, the problems each frame must report, and the conversation it leaves."""

    name: str
    frames: list[JSON] = field(default_factory=list)
    problems: dict[int, set[str]] = field(default_factory=dict)
    items: list[tuple[str, str]] = field(default_factory=list)  # (item id, text) in conversation order
    audio_bytes: int = 0

    def add(self, frame: JSON, *problem_paths: str) -> None:
        """Append a frame with the problem paths it must report."""
        if problem_paths:
            self.problems[len(self.frames)] = set(problem_paths)
        self.frames.append(frame)


def _ids(n: int) -> str:
    return f"event_{n:04d}"


def xai_turn() -> Turn:
    """xAI-style: session without type, custom voice object, pings, extra delta fields, role on calls."""
    t = Turn("xai", items=[("u1", "weather in Paris?"), ("fc1", '{"city": "Paris"}'), ("a1", "Sunny.")])
    t.add(
        {
            "type": "session.created",
            "event_id": _ids(1),
            "session": {"id": "sess_x", "model": "grok", "audio": {"output": {"voice": {"id": "custom-1"}}}},
        },
        "$.session.type",
    )
    t.add({"type": "ping", "event_id": _ids(2), "ts": 1}, "$.type")
    user = {
        "id": "u1",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "weather in Paris?"}],
    }
    t.add({"type": "conversation.item.added", "event_id": _ids(3), "previous_item_id": None, "item": user})
    t.add(
        {"type": "response.created", "event_id": _ids(4), "response": {"id": "r1", "status": "in_progress"}}
    )
    call = {
        "id": "fc1",
        "type": "function_call",
        "role": "assistant",
        "call_id": "c1",
        "name": "weather",
        "arguments": "",
    }
    t.add(
        {
            "type": "response.output_item.added",
            "event_id": _ids(5),
            "response_id": "r1",
            "output_index": 0,
            "item": call,
            "previous_item_id": "u1",
        }
    )
    t.add({"type": "conversation.item.added", "event_id": _ids(6), "previous_item_id": "u1", "item": call})
    for n, piece in enumerate(['{"city": ', '"Paris"}']):
        t.add(
            {
                "type": "response.function_call_arguments.delta",
                "event_id": _ids(7 + n),
                "response_id": "r1",
                "item_id": "fc1",
                "output_index": 0,
                "call_id": "c1",
                "delta": piece,
                "ts": 5,
                "latency": 12,
            }
        )
    t.add(
        {
            "type": "response.function_call_arguments.done",
            "event_id": _ids(9),
            "response_id": "r1",
            "item_id": "fc1",
            "output_index": 0,
            "call_id": "c1",
            "name": "weather",
            "arguments": '{"city": "Paris"}',
        }
    )
    t.add(
        {
            "type": "conversation.item.input_audio_transcription.updated",
            "event_id": _ids(10),
            "item_id": "u1",
        },
        "$.type",
    )
    assistant = {"id": "a1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    t.add(
        {
            "type": "conversation.item.added",
            "event_id": _ids(11),
            "previous_item_id": "fc1",
            "item": assistant,
        }
    )
    t.add(
        {
            "type": "response.output_audio_transcript.delta",
            "event_id": _ids(12),
            "response_id": "r1",
            "item_id": "a1",
            "output_index": 1,
            "content_index": 0,
            "delta": "Sunny.",
            "start_time": 0.0,
        }
    )
    t.add(
        {
            "type": "response.output_audio.delta",
            "event_id": _ids(13),
            "response_id": "r1",
            "item_id": "a1",
            "output_index": 1,
            "content_index": 0,
            "delta": PCM_100MS,
            "audio_duration_ms": 100,
            "ts": 7,
        }
    )
    t.audio_bytes = 4800
    t.add(
        {
            "type": "response.done",
            "event_id": _ids(14),
            "response": {"id": "r1", "status": "completed", "output": []},
        }
    )
    return t


def azure_voice_live_turn() -> Turn:
    """Azure Voice Live-style: beta names on a GA connection, status_details a string, part missing."""
    t = Turn("azure_voice_live", items=[("u1", "hello"), ("a1", "Hi there")])
    t.add(
        {
            "type": "session.created",
            "event_id": _ids(1),
            "session": {"type": "realtime", "id": "s", "model": "gpt-realtime-2"},
        }
    )
    user = {
        "id": "u1",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "hello"}],
    }
    t.add({"type": "conversation.item.created", "event_id": _ids(2), "previous_item_id": None, "item": user})
    t.add(
        {
            "type": "response.created",
            "event_id": _ids(3),
            "response": {"id": "r1", "status": "in_progress", "status_details": "in progress"},
        },
        "$.response.status_details",
    )
    assistant = {"id": "a1", "type": "message", "role": "assistant", "content": []}
    t.add(
        {
            "type": "conversation.item.created",
            "event_id": _ids(4),
            "previous_item_id": "u1",
            "item": assistant,
        }
    )
    for n, piece in enumerate(["Hi", " there"]):
        t.add(
            {
                "type": "response.text.delta",
                "event_id": _ids(5 + n),
                "response_id": "r1",
                "item_id": "a1",
                "output_index": 0,
                "content_index": 0,
                "delta": piece,
            },
            "$.type",
        )
    t.add(
        {
            "type": "response.text.done",
            "event_id": _ids(7),
            "response_id": "r1",
            "item_id": "a1",
            "output_index": 0,
            "content_index": 0,
            "text": "Hi there",
        },
        "$.type",
    )
    t.add(
        {
            "type": "response.content_part.done",
            "event_id": _ids(8),
            "response_id": "r1",
            "item_id": "a1",
            "output_index": 0,
            "content_index": 0,
        },
        "$.part",
    )
    t.add(
        {
            "type": "response.done",
            "event_id": _ids(9),
            "response": {"id": "r1", "status": "completed", "status_details": "completed"},
        },
        "$.response.status_details",
    )
    return t


def mock_server_turn() -> Turn:
    """Third-party-mock-style: null formats, beta keys in a GA session, output_text parts, no item_id."""
    t = Turn("mock_server", items=[("u1", ""), ("a1", "Mock reply")])
    session = {
        "type": "realtime",
        "model": "gpt-realtime",
        "modalities": ["text"],
        "temperature": 0.8,
        "audio": {"input": {"format": None}, "output": {"format": None, "voice": "alloy"}},
    }
    t.add(
        {"type": "session.created", "event_id": _ids(1), "session": session},
        "$.session.audio.input.format",
        "$.session.audio.output.format",
    )
    t.add(
        {"type": "input_audio_buffer.committed", "event_id": _ids(2), "previous_item_id": None}, "$.item_id"
    )
    user = {
        "id": "u1",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": None}],
    }
    t.add({"type": "conversation.item.added", "event_id": _ids(3), "previous_item_id": None, "item": user})
    t.add(
        {"type": "response.created", "event_id": _ids(4), "response": {"id": "r1", "status": "in_progress"}}
    )
    assistant = {"id": "a1", "type": "message", "role": "assistant", "content": []}
    t.add(
        {"type": "conversation.item.added", "event_id": _ids(5), "previous_item_id": "u1", "item": assistant}
    )
    part = {"type": "output_text", "text": ""}
    t.add(
        {
            "type": "response.content_part.added",
            "event_id": _ids(6),
            "response_id": "r1",
            "item_id": "a1",
            "output_index": 0,
            "content_index": 0,
            "part": part,
            "content": part,
        }
    )
    t.add(
        {
            "type": "response.output_text.delta",
            "event_id": _ids(7),
            "response_id": "r1",
            "item_id": "a1",
            "output_index": 0,
            "content_index": 0,
            "delta": "Mock reply",
        }
    )
    t.add({"type": "response.cancelled", "event_id": _ids(8), "response_id": "r2"}, "$.type")
    t.add({"type": "response.done", "event_id": _ids(9), "response": {"id": "r1", "status": "completed"}})
    return t


def openai_newest_turn() -> Turn:
    """OpenAI's own newest frames: phase, reasoning tokens, error.message, absent previous_item_id."""
    t = Turn("openai_newest", items=[("u1", "2+2?"), ("fc1", "{}"), ("a1", "4")])
    t.add(
        {
            "type": "session.created",
            "event_id": _ids(1),
            "session": {
                "type": "realtime",
                "id": "s",
                "reasoning": {"effort": "low"},
                "parallel_tool_calls": True,
            },
        }
    )
    user = {
        "id": "u1",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "2+2?"}],
    }
    t.add({"type": "conversation.item.added", "event_id": _ids(2), "previous_item_id": None, "item": user})
    t.add(
        {"type": "response.created", "event_id": _ids(3), "response": {"id": "r1", "status": "in_progress"}}
    )
    call = {"id": "fc1", "type": "function_call", "call_id": "c1", "name": "calc", "arguments": ""}
    # previous_item_id absent (not null): the item goes after what came before, not first.
    t.add({"type": "conversation.item.added", "event_id": _ids(4), "item": call})
    t.add(
        {
            "type": "response.function_call_arguments.delta",
            "event_id": _ids(5),
            "response_id": "r1",
            "item_id": "fc1",
            "call_id": "c1",
            "delta": "{}",
        },
        "$.output_index",
    )
    assistant = {"id": "a1", "type": "message", "role": "assistant", "phase": "final_answer", "content": []}
    t.add({"type": "conversation.item.added", "event_id": _ids(6), "item": assistant})
    t.add(
        {
            "type": "response.output_text.delta",
            "event_id": _ids(7),
            "response_id": "r1",
            "item_id": "a1",
            "output_index": 1,
            "content_index": 0,
            "delta": "4",
        }
    )
    usage = {
        "total_tokens": 9,
        "input_tokens": 5,
        "output_tokens": 4,
        "output_token_details": {"text_tokens": 1, "audio_tokens": 0, "reasoning_tokens": 3},
    }
    details = {
        "type": "failed",
        "error": {"type": "server_error", "code": "x", "message": "The server had an error"},
    }
    t.add(
        {
            "type": "response.done",
            "event_id": _ids(8),
            "response": {"id": "r1", "status": "failed", "status_details": details, "usage": usage},
        }
    )
    return t


TURNS = {
    turn.name: turn
    for turn in (xai_turn(), azure_voice_live_turn(), mock_server_turn(), openai_newest_turn())
}
"""Every family's turn by name (fresh objects: tests may not change them)."""


@asynccontextmanager
async def serve_turn(name: str) -> AsyncIterator[str]:
    """Serve one family's turn on 127.0.0.1 (port 0) to each connection; yield the URL."""

    async def handler(ws: ServerConnection) -> None:
        for frame in TURNS[name].frames:
            await ws.send(json.dumps(frame))
        async for _ in ws:  # answer nothing; keep the socket open until the client closes
            pass

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"
