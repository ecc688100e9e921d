"""Shared state of a simulated session: its constants, timed steps, responses in flight, plumbing.

Every job of :class:`~rtwidget.server.core.SimSession` (items, input audio, responses, streaming, usage)
is a class in its own module that builds on this one; see :mod:`rtwidget.server` for the layering.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from rtwidget.protocol import Event
from rtwidget.protocol.catalog import DEFAULT_VOICE
from rtwidget.protocol.formats import FORMATS
from rtwidget.server.ids import IdFactory
from rtwidget.server.sessionconfig import format_rate_hz

# The input buffer holds PCM16 (decoded from G.711 if need be) at the input format's rate.
PCM16_SAMPLE_BYTES = FORMATS["pcm16"].bytes_per_sample

__all__ = [
    "AUDIO_CHUNK_MS",
    "Close",
    "Output",
    "ResponseRun",
    "SessionState",
    "Step",
    "json_copy",
    "split_pieces",
    "split_sentences",
    "text_tokens",
]

JSON = dict[str, Any]
Dialect = Literal["ga", "beta"]

# Recorded audio turns carry ~100-200 ms per `response.output_audio.delta` (e.g. 4 deltas for "Hi there!").
AUDIO_CHUNK_MS = 100
# Text, transcript and argument deltas stream at about this rate at speed 1.
TEXT_TOKEN_MS = 20
# Error text of the real server: "buffer too small. Expected at least 100ms of audio".
MIN_COMMIT_MS = 100
# Plausible token accounting: ~4 characters per text token; audio in ~10 tokens/s, audio out ~20 tokens/s
# (recorded: "Hi there!" -> 15 output audio tokens).
CHARS_PER_TOKEN = 4
INPUT_AUDIO_MS_PER_TOKEN = 100
OUTPUT_AUDIO_MS_PER_TOKEN = 50
# Prompt caching works on 64-token blocks (recorded `cached_tokens`: 64).
CACHE_BLOCK_TOKENS = 64
RATE_LIMIT_TOKENS = 15_000_000
# Audio kept between VAD turns beyond the prefix padding (the detector needs a few frames to confirm speech).
IDLE_BUFFER_KEEP_MS = 1000
# The simulator's transcripts are certain of themselves (log probability of a near-sure token).
TRANSCRIPT_LOGPROB = -0.01

_PIECE_RE = re.compile(r"\s*[\w'’]+|\s*[^\w\s]+|\s+")


_SENTENCE_END_RE = re.compile(r"(?<=[.!?])(?=\s)")


def split_sentences(text: str) -> list[str]:
    """Split text after sentence ends, keeping every character ("Hi!", " How are you?")."""
    return [s for s in _SENTENCE_END_RE.split(text) if s] or [text]


def split_pieces(text: str) -> list[str]:
    """Split text into token-like deltas the way the recordings stream them ("Hi", " there", "!")."""
    return _PIECE_RE.findall(text)


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON tree (dicts, lists, scalars): what `copy.deepcopy` gives, ~10x faster.

    Every event carries its own copy of the session, item or response, so later changes to the state
    never alter an event already handed out; a response's start and end copy a dozen such trees.
    """
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(json_copy(v) for v in value)
    return value


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


@dataclass(frozen=True)
class Close:
    """A WebSocket close the server performs: code and reason (e.g. 3000 after a bad key)."""

    code: int
    reason: str


Output = Event  # what `start` / `receive` / `advance` return: typed protocol server events


@dataclass(slots=True)
class Step:
    """One timed action of a response (an event to emit at `due`)."""

    due: float
    run: Callable[[], None]
    audio: bool = False
    # Schedules the next sentence: needs its synthesized speech (see `SimSession.work`).
    speak: bool = False


@dataclass
class ResponseRun:
    """A response in flight: its wire object, its timed steps and what it has streamed so far."""

    id: str
    conversation: str  # "auto" or "none"
    obj: JSON
    steps: deque[Step] = field(default_factory=deque)
    item: JSON | None = None
    part: str | None = None  # "text" | "audio" while a content part is open
    sent_text: str = ""
    sent_audio_ms: float = 0.0
    sent_args: str = ""
    text_tokens: int = 0
    audio_tokens: int = 0
    usage_in: JSON = field(default_factory=dict)
    final_status: str = "completed"
    status_details: JSON | None = None
    # Audio replies: sentences still to synthesize, (voice, voice speed, format type), token limit,
    # and when the next / last scheduled audio chunk is due.
    sentences: deque[str] = field(default_factory=deque)
    voice: tuple[str, float, str] = (DEFAULT_VOICE, 1.0, FORMATS["pcm16"].ga_type)
    limit: int | None = None
    next_due: float = 0.0
    last_due: float = 0.0
    # The synthesized `sentences[0]` when `SimSession.work` made it ahead of its step, and that step's due.
    speech: Any = None
    speak_due: float | None = None


class SessionState:
    """What every job of a session reads and writes; :class:`~rtwidget.server.core.SimSession` sets it up."""

    dialect: Dialect
    speed: float
    audio_chunk_ms: int
    first_audio_ms: float
    defer_synthesis: bool
    session: JSON
    items: list[JSON]
    # Ids of `items`, for O(1) membership (item creates must not scan the conversation).
    _item_ids: set[str]
    audio_due: deque[float] | None
    _ids: IdFactory
    _conversation_id: str
    _beta_extra: JSON
    # Per item id: input PCM16, its duration (for output items: what was streamed), the text the model sees.
    _item_audio: dict[str, bytes]
    _item_audio_ms: dict[str, float]
    _item_text_for_model: dict[str, str]
    _active: ResponseRun | None
    _running: list[ResponseRun]
    _assistant_audio_present: bool
    _turn: int
    _last_input_tokens: int
    _tokens_used: int
    _now: float
    _pending: list[JSON]
    _buf: bytearray
    _buf_start_ms: float
    _timeline_ms: float
    _vad: Any
    _vad_origin_ms: float
    _speech_item_id: str | None
    _speech_start_ms: float

    def _emit(self, event: JSON) -> None:
        event_id = self._ids.new("event")
        # Key order as recorded: type, event_id, then the payload.
        self._pending.append(
            {"type": event["type"], "event_id": event_id, **{k: v for k, v in event.items() if k != "type"}}
        )

    def _error(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        event_id: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        self._emit(
            {
                "type": "error",
                "error": {
                    "type": error_type,
                    "code": code,
                    "message": message,
                    "param": param,
                    "event_id": event_id,
                },
            }
        )

    @property
    def _in_rate_hz(self) -> int:
        return format_rate_hz(self.session["audio"]["input"]["format"])

    def _decode_input(self, payload: bytes) -> bytes:
        kind = self.session["audio"]["input"]["format"]["type"]
        if kind == "audio/pcm":
            return payload
        from rtwidget import audio

        decoded = audio.ulaw_decode(payload) if kind == "audio/pcmu" else audio.alaw_decode(payload)
        return bytes(decoded.astype("<i2").tobytes())

    def _ms(self, nbytes: int) -> float:
        return nbytes / PCM16_SAMPLE_BYTES / self._in_rate_hz * 1000.0
