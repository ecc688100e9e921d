"""Sans-I/O simulator session: client frames in, server events out, time passed in.

`SimSession` never touches a socket or a clock: the adapter feeds it frames (`receive`) and the current
time (`advance`), and sends what comes back. Paced output (audio deltas in real time divided by `speed`,
text deltas at a token rate) is a queue of timed steps; `next_deadline()` says when to call `advance`.
Tests drive it with a fake clock and need no event loop and no sleeping.

Internally every event is built in the GA shape; a beta session is translated at the edges
(:mod:`rtwidget.server.dialect`). Event order and fields follow the recordings in
../shared/realtime-corpus and PROTOCOL.md §10.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from rtwidget.protocol import Event
from rtwidget.server import dialect as _dialect
from rtwidget.server.ids import IdFactory
from rtwidget.server.sessionconfig import (
    SessionError,
    apply_session_update,
    check_output_modalities,
    default_realtime_session,
    default_transcription_session,
    format_rate_hz,
)

__all__ = [
    "AUDIO_CHUNK_MS",
    "Close",
    "Output",
    "SimSession",
    "split_pieces",
    "split_sentences",
]

JSON = dict[str, Any]
Dialect = Literal["ga", "beta"]
logger = logging.getLogger("rtwidget.server")

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


def _json_copy(value: Any) -> Any:
    """A deep copy of a JSON tree (dicts, lists, scalars): what `copy.deepcopy` gives, ~10x faster.

    Every event carries its own copy of the session, item or response, so later changes to the state
    never alter an event already handed out; a response's start and end copy a dozen such trees.
    """
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_json_copy(v) for v in value)
    return value


def _text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


@dataclass(frozen=True)
class Close:
    """A WebSocket close the server performs: code and reason (e.g. 3000 after a bad key)."""

    code: int
    reason: str


Output = Event  # what `start` / `receive` / `advance` return: typed protocol server events


@dataclass(slots=True)
class _Step:
    due: float
    run: Callable[[], None]
    audio: bool = False
    # Schedules the next sentence: needs its synthesized speech (see `SimSession.work`).
    speak: bool = False


@dataclass
class _Response:
    id: str
    conversation: str  # "auto" or "none"
    obj: JSON
    steps: deque[_Step] = field(default_factory=deque)
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
    voice: tuple[str, float, str] = ("alloy", 1.0, "audio/pcm")
    limit: int | None = None
    next_due: float = 0.0
    last_due: float = 0.0
    # The synthesized `sentences[0]` when `SimSession.work` made it ahead of its step, and that step's due.
    speech: Any = None
    speak_due: float | None = None


class SimSession:
    """One simulated realtime session (sans-I/O).

    Args:
        dialect: "ga" (default) or "beta" (the client sent `OpenAI-Beta: realtime=v1`).
        model: model name from the URL.
        intent: "transcription" for a transcription session, else None.
        speed: pacing factor for streamed output (10 = ten times faster than real time).
        seed: seed for the deterministic ids.
        created_at: wall-clock seconds since the epoch, only used for `expires_at`.
        audio_chunk_ms: audio per `response.output_audio.delta`.
        record_lateness: keep the due time of each emitted audio delta in `audio_due` (for benchmarks:
            the adapter compares it with the moment the frame is written).
        defer_synthesis: leave speech synthesis to `work()` (the caller runs it when it has time, most
            urgent first) instead of doing it inside `receive` / `advance`; a reply whose next sentence is
            not synthesized yet waits for it. Same events either way. The adapter sets it so that 50
            sessions asking at once do not stall every other session's stream behind 50 syntheses.
    """

    def __init__(
        self,
        *,
        dialect: Dialect = "ga",
        model: str = "gpt-realtime",
        intent: str | None = None,
        speed: float = 1.0,
        seed: int | str = 0,
        created_at: float = 0.0,
        audio_chunk_ms: int = AUDIO_CHUNK_MS,
        record_lateness: bool = False,
        defer_synthesis: bool = False,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.dialect: Dialect = dialect
        self.speed = speed
        self.audio_chunk_ms = audio_chunk_ms
        self.defer_synthesis = defer_synthesis
        self._ids = IdFactory(seed)
        session_id = self._ids.new("sess")
        self._conversation_id = self._ids.new("conv")
        # The recorded `expires_at` is about 30 minutes after the connection.
        expires_at = int(created_at) + 1800
        if intent == "transcription":
            self.session: JSON = default_transcription_session(session_id, expires_at)
        else:
            self.session = default_realtime_session(session_id, model, expires_at)
        self._beta_extra: JSON = {"temperature": 0.8, "modalities": ["text", "audio"]}
        self.items: list[JSON] = []
        self._item_audio: dict[str, bytes] = {}
        self._item_audio_ms: dict[str, float] = {}
        self._item_text_for_model: dict[str, str] = {}
        self._active: _Response | None = None
        self._running: list[_Response] = []
        self._assistant_audio_present = False
        self._turn = 0
        self._last_input_tokens = 0
        self._tokens_used = 0
        self._now = 0.0
        self._pending: list[JSON] = []
        # Input audio: decoded PCM16 at the input format's rate, and its start on the session timeline.
        self._buf = bytearray()
        self._buf_start_ms = 0.0
        self._timeline_ms = 0.0
        self._vad: Any = None
        self._vad_origin_ms = 0.0
        self._speech_item_id: str | None = None
        self._speech_start_ms = 0.0
        self.audio_due: deque[float] | None = deque() if record_lateness else None
        self._reset_vad()

    # ------------------------------------------------------------------ public API

    def start(self, now: float) -> list[Output]:
        """Events sent right after the handshake: `session.created` (+ `conversation.created` in beta)."""
        self._now = now
        self._emit({"type": "session.created", "session": _json_copy(self.session)})
        if self.dialect == "beta" and self.session["type"] == "realtime":
            # The beta server announced the default conversation right after the session.
            self._emit(
                {
                    "type": "conversation.created",
                    "conversation": {"id": self._conversation_id, "object": "realtime.conversation"},
                }
            )
        return self._flush()

    def receive(self, frame: str | bytes, now: float) -> list[Output]:
        """Handle one client frame received at `now`; returns the events to send (in order)."""
        self._now = now
        self._run_due(now)
        event = self._parse(frame)
        if event is not None:
            try:
                self._dispatch(event)
            except Exception as exc:  # a simulator bug must not end the session; say so like the server
                logger.exception("simulator failed on %s", event.get("type"))
                self._error(
                    "server_error",
                    f"The server had an error while processing your request: {type(exc).__name__}.",
                    event_id=event.get("event_id"),
                    error_type="server_error",
                )
                for resp in [r for r in self._running if r.item is None]:
                    # A response that failed before any output: end it, or it would block the next one.
                    self._fail(resp, None)
        self._run_due(now)
        return self._flush()

    def advance(self, now: float) -> list[Output]:
        """Emit every timed step due at or before `now`."""
        self._now = now
        self._run_due(now)
        return self._flush()

    def next_deadline(self) -> float | None:
        """When the next timed step is due (None: nothing scheduled; a reply waiting for `work` is not)."""
        dues = [r.steps[0].due for r in self._running if r.steps and not self._blocked(r)]
        return min(dues) if dues else None

    def work_deadline(self) -> float | None:
        """With `defer_synthesis`: when the most urgent pending synthesis is needed (None: nothing to do)."""
        dues = [r.speak_due for r in self._running if r.speak_due is not None and r.speech is None]
        return min(dues) if dues else None

    def work(self) -> None:
        """Synthesize the most urgently needed sentence (call `advance` afterwards: its audio may be due)."""
        waiting = [r for r in self._running if r.speak_due is not None and r.speech is None]
        if waiting:
            resp = min(waiting, key=lambda r: r.speak_due or 0.0)
            try:
                resp.speech = self._synthesize(resp, resp.sentences[0])
            except Exception as exc:  # a simulator bug ends this response, not the session
                logger.exception("simulator failed while synthesizing for %s", resp.id)
                self._fail(resp, exc)

    @property
    def input_buffer_ms(self) -> float:
        """Milliseconds of input audio currently buffered (not yet committed or dropped)."""
        return self._ms(len(self._buf))

    @property
    def active_response_id(self) -> str | None:
        """Id of the in-progress in-conversation response, if any."""
        return self._active.id if self._active else None

    # ------------------------------------------------------------------ plumbing

    def _emit(self, event: JSON) -> None:
        event_id = self._ids.new("event")
        # Key order as recorded: type, event_id, then the payload.
        self._pending.append(
            {"type": event["type"], "event_id": event_id, **{k: v for k, v in event.items() if k != "type"}}
        )

    def _flush(self) -> list[Output]:
        pending, self._pending = self._pending, []
        out: list[Output] = []
        for ev in pending:
            if self.dialect == "beta":
                out.extend(
                    _dialect.to_event(e, "beta") for e in _dialect.ga_server_to_beta(ev, self._beta_extra)
                )
            else:
                out.append(_dialect.to_event(ev, "ga"))
        return out

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

    def _blocked(self, resp: _Response) -> bool:
        """Whether the reply's next step waits for a synthesis that `work` has not done yet."""
        return resp.steps[0].speak and resp.speech is None and self.defer_synthesis

    def _run_due(self, now: float) -> None:
        while True:
            ready = [r for r in self._running if r.steps and r.steps[0].due <= now and not self._blocked(r)]
            if not ready:
                return
            resp = min(ready, key=lambda r: r.steps[0].due)
            step = resp.steps.popleft()
            if step.audio and self.audio_due is not None:
                self.audio_due.append(step.due)
            try:
                step.run()
            except Exception as exc:  # a simulator bug ends this response, not the session
                logger.exception("simulator failed while streaming %s", resp.id)
                self._fail(resp, exc)

    # ------------------------------------------------------------------ parsing

    def _parse(self, frame: str | bytes) -> JSON | None:
        if isinstance(frame, bytes | bytearray | memoryview):
            # PROTOCOL.md §10: "a binary frame -> invalid_event".
            self._error(
                "invalid_event", "Invalid event: binary frames are not supported; send JSON text frames."
            )
            return None
        try:
            data = json.loads(frame)
        except json.JSONDecodeError as exc:
            # PROTOCOL.md §10: "non-JSON text -> invalid_json".
            self._error("invalid_json", f"We could not parse the JSON body of your request: {exc.msg}.")
            return None
        if not isinstance(data, dict):
            self._error("invalid_json", "The event must be a JSON object.")
            return None
        event_id = data.get("event_id") if isinstance(data.get("event_id"), str) else None
        kind = data.get("type")
        accepted = _dialect.client_types(self.dialect)
        if kind not in accepted:
            # PROTOCOL.md §10: `{"type":"nope"}` -> invalid_value listing the accepted client types.
            listed = ", ".join(f"'{t}'" for t in accepted)
            if kind is None:
                self._error(
                    "missing_required_parameter",
                    "Missing required parameter: 'type'.",
                    param="type",
                    event_id=event_id,
                )
            else:
                self._error(
                    "invalid_value",
                    f"Invalid value: '{kind}'. Supported values are: {listed}.",
                    param="type",
                    event_id=event_id,
                )
            return None
        problem = _dialect.validate_client(data, self.dialect)
        if problem is not None:
            code, message, param = problem
            self._error(code, message, param=param, event_id=event_id)
            return None
        if self.dialect == "beta":
            data = _dialect.beta_client_to_ga(data, self._beta_extra)
        result: JSON = data
        return result

    def _dispatch(self, ev: JSON) -> None:
        handler = getattr(self, "_on_" + ev["type"].replace(".", "_"), None)
        assert handler is not None, ev["type"]
        handler(ev)

    # ------------------------------------------------------------------ session

    def _on_session_update(self, ev: JSON) -> None:
        update = ev.get("session", {})
        if isinstance(update, dict) and "type" not in update and self.dialect == "beta":
            update = {**update, "type": self.session["type"]}
        try:
            new = apply_session_update(
                self.session, update, assistant_audio_present=self._assistant_audio_present
            )
        except SessionError as exc:
            self._error(exc.code, exc.message, param=exc.param, event_id=ev.get("event_id"))
            return
        old_td = self.session["audio"]["input"]["turn_detection"]
        old_fmt = self.session["audio"]["input"]["format"]
        self.session = new
        if new["audio"]["input"]["turn_detection"] != old_td or new["audio"]["input"]["format"] != old_fmt:
            self._reset_vad()
        self._emit({"type": "session.updated", "session": _json_copy(self.session)})

    # ------------------------------------------------------------------ input audio

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
        return nbytes / 2 / self._in_rate_hz * 1000.0

    def _reset_vad(self) -> None:
        td = self.session["audio"]["input"]["turn_detection"]
        self._speech_item_id = None
        self._vad_origin_ms = self._timeline_ms
        if td is None:
            self._vad = None
            return
        from rtwidget.server.vad import EnergyVad

        if td["type"] == "server_vad":
            self._vad = EnergyVad(
                threshold=td["threshold"],
                prefix_padding_ms=td["prefix_padding_ms"],
                silence_duration_ms=td["silence_duration_ms"],
                idle_timeout_ms=td.get("idle_timeout_ms"),
                rate_hz=self._in_rate_hz,
            )
        else:
            # semantic_vad approximated by eagerness -> how long a pause ends the turn.
            self._vad = EnergyVad.semantic(td.get("eagerness", "auto"), rate_hz=self._in_rate_hz)

    def _on_input_audio_buffer_append(self, ev: JSON) -> None:
        try:
            payload = base64.b64decode(ev["audio"], validate=True)
        except (binascii.Error, ValueError):
            self._error(
                "invalid_value",
                "Invalid value for 'audio': expected base64-encoded audio.",
                param="audio",
                event_id=ev.get("event_id"),
            )
            return
        pcm = self._decode_input(payload)
        if len(pcm) % 2:
            pcm = pcm[:-1]
        self._buf += pcm
        self._timeline_ms += self._ms(len(pcm))
        if self._vad is None:
            return
        for vev in self._vad.feed(pcm):
            self._on_vad(vev)
        if not self._vad.speaking:
            # Between turns only the prefix padding can still become part of an item: drop older audio so
            # an open microphone streaming silence does not grow the buffer without bound.
            keep_ms = IDLE_BUFFER_KEEP_MS + self._prefix_padding_ms()
            excess = int((self._ms(len(self._buf)) - keep_ms) * 2 * self._in_rate_hz / 1000) & ~1
            if excess > 0:
                del self._buf[:excess]
                self._buf_start_ms += self._ms(excess)

    def _prefix_padding_ms(self) -> int:
        td = self.session["audio"]["input"]["turn_detection"] or {}
        return int(td.get("prefix_padding_ms", 300))

    def _on_vad(self, vev: Any) -> None:
        td = self.session["audio"]["input"]["turn_detection"] or {}
        if vev.kind == "speech_started":
            self._speech_item_id = self._ids.new("item")
            self._speech_start_ms = self._vad_origin_ms + vev.audio_start_ms
            self._emit(
                {
                    "type": "input_audio_buffer.speech_started",
                    "audio_start_ms": round(self._speech_start_ms),
                    "item_id": self._speech_item_id,
                }
            )
            if td.get("interrupt_response", True) and self._active is not None:
                self._cancel(self._active, "turn_detected")
        elif vev.kind == "speech_stopped":
            item_id = self._speech_item_id or self._ids.new("item")
            end_ms = self._vad_origin_ms + vev.audio_end_ms
            self._emit(
                {
                    "type": "input_audio_buffer.speech_stopped",
                    "audio_end_ms": round(end_ms),
                    "item_id": item_id,
                }
            )
            self._speech_item_id = None
            self._commit(
                self._take(self._speech_start_ms, end_ms), item_id, auto=td.get("create_response", True)
            )
        elif vev.kind == "timeout":
            item_id = self._ids.new("item")
            start_ms = self._vad_origin_ms + vev.audio_start_ms
            end_ms = self._vad_origin_ms + vev.audio_end_ms
            # GA: `input_audio_buffer.timeout_triggered` "when the server VAD timeout is triggered"; the
            # buffered audio is committed and a response follows.
            self._emit(
                {
                    "type": "input_audio_buffer.timeout_triggered",
                    "audio_start_ms": round(start_ms),
                    "audio_end_ms": round(end_ms),
                    "item_id": item_id,
                }
            )
            self._commit(self._take(start_ms, end_ms), item_id, auto=td.get("create_response", True))

    def _take(self, start_ms: float, end_ms: float) -> bytes:
        """Cut [start_ms, end_ms) of the session timeline out of the buffer; drop everything before end."""
        bytes_per_ms = 2 * self._in_rate_hz / 1000.0
        lo = max(0, int((start_ms - self._buf_start_ms) * bytes_per_ms) & ~1)
        hi = max(lo, min(len(self._buf), int((end_ms - self._buf_start_ms) * bytes_per_ms) & ~1))
        seg = bytes(self._buf[lo:hi])
        del self._buf[:hi]
        self._buf_start_ms += self._ms(hi)
        return seg

    def _on_input_audio_buffer_commit(self, ev: JSON) -> None:
        ms = self._ms(len(self._buf))
        if ms < MIN_COMMIT_MS:
            self._error(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, "
                f"but buffer only has {ms:.2f}ms of audio.",
                event_id=ev.get("event_id"),
            )
            return
        seg = bytes(self._buf)
        self._buf.clear()
        self._buf_start_ms = self._timeline_ms
        item_id = self._speech_item_id or self._ids.new("item")
        self._reset_vad()
        self._commit(seg, item_id, auto=False)

    def _on_input_audio_buffer_clear(self, ev: JSON) -> None:
        self._buf.clear()
        self._buf_start_ms = self._timeline_ms
        self._reset_vad()
        self._emit({"type": "input_audio_buffer.cleared"})

    def _commit(self, pcm: bytes, item_id: str, *, auto: bool) -> None:
        previous = self.items[-1]["id"] if self.items else None
        self._emit({"type": "input_audio_buffer.committed", "previous_item_id": previous, "item_id": item_id})
        from rtwidget.server.transcribe import transcribe

        transcript = transcribe(pcm, rate_hz=self._in_rate_hz)
        item: JSON = {
            "id": item_id,
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self._item_audio[item_id] = pcm
        self._item_audio_ms[item_id] = self._ms(len(pcm))
        self._item_text_for_model[item_id] = transcript
        self._insert(item)
        transcription = self.session["audio"]["input"]["transcription"]
        # With interrupt_response off an answer may still be streaming: the new item then waits for the
        # next response instead of starting a second one in the same conversation.
        if self.session["type"] == "realtime" and auto and self._active is None:
            self._start_response({}, after_created=lambda: self._transcribe(item, transcript, transcription))
        else:
            self._transcribe(item, transcript, transcription)

    def _transcribe(self, item: JSON, transcript: str, config: JSON | None) -> None:
        if config is None:
            return
        # `include: ["item.input_audio_transcription.logprobs"]` adds per-token log probabilities.
        with_logprobs = "item.input_audio_transcription.logprobs" in (self.session.get("include") or [])
        all_logprobs: list[JSON] = []
        for piece in split_pieces(transcript):
            delta: JSON = {
                "type": "conversation.item.input_audio_transcription.delta",
                "item_id": item["id"],
                "content_index": 0,
                "delta": piece,
                "obfuscation": self._ids.obfuscation(piece),
            }
            if with_logprobs:
                logprobs = [{"token": piece, "logprob": TRANSCRIPT_LOGPROB, "bytes": list(piece.encode())}]
                all_logprobs += logprobs
                delta["logprobs"] = logprobs
            self._emit(delta)
        item["content"][0]["transcript"] = transcript
        seconds = max(1, round(self._item_audio_ms.get(item["id"], 0.0) / 1000.0))
        completed: JSON = {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": item["id"],
            "content_index": 0,
            "transcript": transcript,
            "usage": {"type": "duration", "seconds": seconds},
        }
        if with_logprobs:
            completed["logprobs"] = all_logprobs
        self._emit(completed)

    # ------------------------------------------------------------------ conversation items

    def _index(self, item_id: str) -> int | None:
        for i, it in enumerate(self.items):
            if it["id"] == item_id:
                return i
        return None

    def _insert(self, item: JSON, after: str | None = None, *, notify: bool = True) -> None:
        """Insert after item `after` ("root": first; None: at the end, as the reference says)."""
        if after is None:
            pos = len(self.items)
        elif after == "root":
            pos = 0
        else:
            idx = self._index(after)
            pos = len(self.items) if idx is None else idx + 1
        self.items.insert(pos, item)
        prev = self.items[pos - 1]["id"] if pos > 0 else None
        if notify:
            self._emit(
                {"type": "conversation.item.added", "previous_item_id": prev, "item": _json_copy(item)}
            )
            self._emit({"type": "conversation.item.done", "previous_item_id": prev, "item": _json_copy(item)})

    def _normalize_item(self, raw: JSON) -> JSON:
        item = _json_copy(raw)
        item.setdefault("id", self._ids.new("item"))
        kind = item.get("type", "message")
        out: JSON = {"id": item["id"], "type": kind}
        if kind == "message":
            out["status"] = item.get("status", "completed")
            out["role"] = item.get("role")
            content = []
            for part in item.get("content", []):
                p = dict(part)
                if p.get("type") == "input_audio" and "audio" in p:
                    pcm = self._decode_input(base64.b64decode(p.pop("audio")))
                    self._item_audio[item["id"]] = pcm
                    self._item_audio_ms[item["id"]] = self._ms(len(pcm))
                    p.setdefault("transcript", None)
                content.append(p)
            out["content"] = content
        elif kind == "function_call":
            out["status"] = item.get("status", "completed")
            for key in ("name", "call_id", "arguments"):
                out[key] = item.get(key, "")
        elif kind == "function_call_output":
            out["call_id"] = item.get("call_id")
            out["output"] = item.get("output", "")
        else:
            out.update({k: v for k, v in item.items() if k not in out})
        return out

    def _on_conversation_item_create(self, ev: JSON) -> None:
        raw = ev.get("item", {})
        eid = ev.get("event_id")
        if isinstance(raw.get("id"), str) and self._index(raw["id"]) is not None:
            self._error(
                "item_create_duplicate_item_id",
                f"Item with id '{raw['id']}' already exists.",
                param="item.id",
                event_id=eid,
            )
            return
        if raw.get("type", "message") == "message" and raw.get("role") not in ("user", "assistant", "system"):
            self._error(
                "invalid_value",
                f"Invalid value: '{raw.get('role')}'. Supported values are: 'user', 'assistant', 'system'.",
                param="item.role",
                event_id=eid,
            )
            return
        if raw.get("type") == "function_call_output" and not any(
            it.get("type") == "function_call" and it.get("call_id") == raw.get("call_id") for it in self.items
        ):
            self._error(
                "invalid_value",
                f"No tool call found for function call output with call_id {raw.get('call_id')}.",
                param="item.call_id",
                event_id=eid,
            )
            return
        prev = ev.get("previous_item_id")
        if prev not in (None, "root") and self._index(prev) is None:
            self._error(
                "item_create_invalid_previous_item_id",
                f"Previous item with id '{prev}' not found.",
                param="previous_item_id",
                event_id=eid,
            )
            return
        try:
            item = self._normalize_item(raw)
        except (binascii.Error, ValueError):
            self._error(
                "invalid_value", "Invalid base64 audio in item content.", param="item.content", event_id=eid
            )
            return
        self._insert(item, prev)

    def _on_conversation_item_retrieve(self, ev: JSON) -> None:
        idx = self._index(ev.get("item_id", ""))
        if idx is None:
            self._error(
                "item_retrieve_invalid_item_id",
                f"Item with item_id not found: {ev.get('item_id')}",
                param="item_id",
                event_id=ev.get("event_id"),
            )
            return
        item = _json_copy(self.items[idx])
        audio = self._item_audio.get(item["id"])
        if audio is not None and item.get("role") == "user":
            for part in item.get("content", []):
                if part.get("type") == "input_audio":
                    part["audio"] = base64.b64encode(audio).decode("ascii")
        self._emit({"type": "conversation.item.retrieved", "item": item})

    def _on_conversation_item_delete(self, ev: JSON) -> None:
        idx = self._index(ev.get("item_id", ""))
        if idx is None:
            self._error(
                "item_delete_invalid_item_id",
                f"Item with item_id not found: {ev.get('item_id')}",
                param="item_id",
                event_id=ev.get("event_id"),
            )
            return
        del self.items[idx]
        self._emit({"type": "conversation.item.deleted", "item_id": ev["item_id"]})

    def _on_conversation_item_truncate(self, ev: JSON) -> None:
        eid = ev.get("event_id")
        idx = self._index(ev.get("item_id", ""))
        if idx is None:
            self._error(
                "item_truncate_invalid_item_id",
                f"Item with item_id not found: {ev.get('item_id')}",
                param="item_id",
                event_id=eid,
            )
            return
        item = self.items[idx]
        ci = ev.get("content_index", 0)
        content = item.get("content") or []
        if (
            item.get("role") != "assistant"
            or not (0 <= ci < len(content))
            or content[ci].get("type") != "output_audio"
        ):
            self._error(
                "invalid_value",
                "Only assistant messages with audio content can be truncated.",
                param="content_index",
                event_id=eid,
            )
            return
        have_ms = self._item_audio_ms.get(item["id"], 0.0)
        end_ms = ev.get("audio_end_ms", 0)
        if end_ms > have_ms + 0.5:
            self._error(
                "invalid_value",
                f"Audio content of {round(have_ms)}ms is already shorter than {end_ms}ms",
                param="audio_end_ms",
                event_id=eid,
            )
            return
        self._item_audio_ms[item["id"]] = float(end_ms)
        # Reference: truncation "will delete the server-side text transcript to ensure there is not text in
        # the context that hasn't been heard by the user".
        content[ci]["transcript"] = ""
        self._emit(
            {
                "type": "conversation.item.truncated",
                "item_id": item["id"],
                "content_index": ci,
                "audio_end_ms": end_ms,
            }
        )

    def _on_output_audio_buffer_clear(self, ev: JSON) -> None:
        self._error(
            "invalid_value",
            "output_audio_buffer.clear is only supported for WebRTC and SIP sessions.",
            param="type",
            event_id=ev.get("event_id"),
        )

    # ------------------------------------------------------------------ responses

    def _on_response_create(self, ev: JSON) -> None:
        if self.session["type"] != "realtime":
            self._error(
                "invalid_value",
                "Responses are not supported in transcription sessions.",
                param="type",
                event_id=ev.get("event_id"),
            )
            return
        params = ev.get("response") or {}
        if "output_modalities" in params:
            try:
                check_output_modalities(params["output_modalities"], "response.output_modalities")
            except SessionError as exc:
                self._error(exc.code, exc.message, param=exc.param, event_id=ev.get("event_id"))
                return
        if params.get("conversation", "auto") != "none" and self._active is not None:
            self._error(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self._active.id}. "
                "Wait until the response is finished before creating a new one.",
                event_id=ev.get("event_id"),
            )
            return
        self._start_response(params)

    def _on_response_cancel(self, ev: JSON) -> None:
        wanted = ev.get("response_id")
        target = None
        for r in self._running:
            if (wanted is None and r is self._active) or r.id == wanted:
                target = r
        if target is None:
            self._error(
                "response_cancel_not_active",
                "Cancellation failed: no active response found",
                event_id=ev.get("event_id"),
            )
            return
        self._cancel(target, "client_cancelled")

    def _context(self, params: JSON) -> list[JSON]:
        if "input" in params:
            items = []
            for raw in params["input"]:
                if raw.get("type") == "item_reference":
                    idx = self._index(raw.get("id", ""))
                    if idx is not None:
                        items.append(self.items[idx])
                else:
                    items.append(self._normalize_item(raw))
            return items
        return list(self.items) if params.get("conversation", "auto") != "none" else []

    def _user_text(self, item: JSON) -> str:
        if item["id"] in self._item_text_for_model:
            return self._item_text_for_model[item["id"]]
        texts = [part.get("text") or part.get("transcript") or "" for part in item.get("content", [])]
        return " ".join(t for t in texts if t)

    def _start_response(self, params: JSON, after_created: Callable[[], None] | None = None) -> None:
        from rtwidget.server import responder, tools

        now = self._now
        sess = self.session
        conversation = params.get("conversation", "auto")
        modalities = params.get("output_modalities") or sess["output_modalities"]
        instructions: str = params.get("instructions", sess["instructions"]) or ""
        tool_defs: list[JSON] = params.get("tools", sess["tools"]) or []
        tool_choice = params.get("tool_choice", sess["tool_choice"])
        max_tokens = params.get("max_output_tokens", sess["max_output_tokens"])
        out_cfg = dict(sess["audio"]["output"])
        out_cfg.update((params.get("audio") or {}).get("output") or {})
        context = self._context(params)

        resp_obj: JSON = {
            "object": "realtime.response",
            "id": self._ids.new("resp"),
            "status": "in_progress",
            "status_details": None,
            "output": [],
            "conversation_id": self._conversation_id if conversation == "auto" else None,
            "output_modalities": list(modalities),
            "max_output_tokens": max_tokens,
            "audio": {"output": {"format": out_cfg["format"], "voice": out_cfg["voice"]}},
            "usage": None,
            "metadata": params.get("metadata"),
        }
        resp = _Response(id=resp_obj["id"], conversation=conversation, obj=resp_obj)
        resp.usage_in = self._input_usage(instructions, tool_defs, context, conversation)
        self._running.append(resp)
        if conversation == "auto":
            self._active = resp
        self._emit({"type": "response.created", "response": _json_copy(resp_obj)})
        if after_created is not None:
            after_created()

        user_items = [it for it in context if it.get("type") == "message" and it.get("role") == "user"]
        user_text = self._user_text(user_items[-1]) if user_items else ""
        last = context[-1] if context else None
        turn = self._turn
        self._turn += 1
        function_tools = [t for t in tool_defs if t.get("type", "function") == "function"]
        if last is not None and last.get("type") == "function_call_output":
            call = next(
                (
                    it
                    for it in context
                    if it.get("type") == "function_call" and it.get("call_id") == last.get("call_id")
                ),
                None,
            )
            text = responder.reply(
                user_text,
                instructions=instructions,
                turn=turn,
                tool_output=str(last.get("output", "")),
                tool_name=call.get("name") if call else None,
            )
            chosen = None
        else:
            chosen = (
                tools.choose_tool(function_tools, user_text, tool_choice)
                if function_tools and tool_choice != "none"
                else None
            )
            text = "" if chosen else responder.reply(user_text, instructions=instructions, turn=turn)

        t = now
        token_s = TEXT_TOKEN_MS / 1000.0 / self.speed
        if chosen is not None:
            args = json.dumps(tools.arguments_for(chosen, user_text))
            item = {
                "id": self._ids.new("item"),
                "type": "function_call",
                "status": "in_progress",
                "name": chosen["name"],
                "call_id": self._ids.new("call"),
                "arguments": "",
            }
            self._open_item(resp, item, t)
            for piece in _chunks(args, 6):
                t += token_s
                resp.steps.append(_Step(t, partial(self._args_delta, resp, piece)))
            resp.text_tokens = _text_tokens(args)
            resp.steps.append(_Step(t, partial(self._finish, resp)))
            return

        item = {
            "id": self._ids.new("item"),
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        pieces = split_pieces(text)
        limit = max_tokens if isinstance(max_tokens, int) else None
        if modalities == ["text"]:
            if limit is not None and len(pieces) > limit:
                pieces = pieces[:limit]
                resp.final_status = "incomplete"
            resp.text_tokens = len(pieces)
            self._open_item(resp, item, t, part="text")
            for piece in pieces:
                t += token_s
                resp.steps.append(_Step(t, partial(self._text_delta, resp, piece)))
            resp.steps.append(_Step(t, partial(self._finish, resp)))
            return

        resp.text_tokens = resp.audio_tokens = 0
        resp.voice = (out_cfg["voice"], float(out_cfg.get("speed", 1.0)), out_cfg["format"]["type"])
        resp.sentences = deque(split_sentences(text))
        resp.limit = limit
        resp.next_due = resp.last_due = t
        self._open_item(resp, item, t, part="audio")
        self._then_speak(resp)

    def _then_speak(self, resp: _Response) -> None:
        """Queue the step that schedules the next sentence's audio (or the end of the reply)."""
        if not resp.sentences:
            resp.steps.append(_Step(resp.last_due, partial(self._finish, resp)))
            return
        # Due when the sentence's first chunk is: like a streaming TTS, one sentence at a time, so the first
        # audio leaves after one sentence is synthesized, not the whole text.
        resp.speak_due = resp.next_due
        resp.steps.append(_Step(resp.next_due, partial(self._speak_next, resp), speak=True))

    def _synthesize(self, resp: _Response, sentence: str) -> Any:
        from rtwidget.server import voice

        voice_name, voice_speed, kind = resp.voice
        rate_hz = format_rate_hz({"type": kind})
        return voice.prepare(sentence, voice_name, speed=voice_speed, rate_hz=rate_hz)

    def _speak_next(self, resp: _Response) -> None:
        """Schedule the audio and transcript of the next sentence (synthesized by `work` or now)."""
        sentence = resp.sentences.popleft()
        speech = resp.speech if resp.speech is not None else self._synthesize(resp, sentence)
        resp.speech = resp.speak_due = None
        _, _, kind = resp.voice
        rate_hz = format_rate_hz({"type": kind})
        n_samples: int = speech.n_samples
        words = list(speech.words)
        total_ms = n_samples / rate_hz * 1000.0
        pieces = split_pieces(sentence)

        def spoken_ms(keep: int) -> float:
            return total_ms * len("".join(pieces[:keep])) / max(1, len(sentence))

        if resp.limit is not None:
            budget = resp.limit - resp.text_tokens - resp.audio_tokens
            keep = len(pieces)
            while keep > 0 and keep + math.ceil(spoken_ms(keep) / OUTPUT_AUDIO_MS_PER_TOKEN) > budget:
                keep -= 1
            if keep < len(pieces):
                resp.final_status = "incomplete"
                resp.sentences.clear()
                total_ms = spoken_ms(keep)
                n_samples = int(total_ms * rate_hz / 1000)
                pieces = pieces[:keep]
        resp.text_tokens += len(pieces)
        resp.audio_tokens += math.ceil(total_ms / OUTPUT_AUDIO_MS_PER_TOKEN)
        times = _piece_times(pieces, words, total_ms, sentence)
        # PCM16 has 2 bytes per sample, G.711 one. The audio itself is rendered chunk by chunk as it is
        # sent (`_render_chunk`): a reply starts without waiting for its whole sentence to be synthesized.
        sample_bytes = 2 if kind == "audio/pcm" else 1
        payload_len = n_samples * sample_bytes
        if not payload_len:
            resp.steps.append(_Step(resp.next_due, partial(self._audio_delta, resp, b"", pieces, 0.0)))
            self._then_speak(resp)
            return
        bytes_per_ms = payload_len / total_ms
        chunk_bytes = max(1, round(self.audio_chunk_ms * bytes_per_ms))
        if kind == "audio/pcm":
            chunk_bytes = max(2, chunk_bytes & ~1)
        queue = deque(zip(pieces, times, strict=True))
        offsets = range(0, payload_len, chunk_bytes)
        for i, off in enumerate(offsets):
            end = min(off + chunk_bytes, payload_len)
            chunk_end_ms = end / bytes_per_ms
            lead: list[str] = []
            while queue and (queue[0][1] < chunk_end_ms or i == len(offsets) - 1):
                lead.append(queue.popleft()[0])
            chunk_ms = (end - off) / bytes_per_ms
            chunk = partial(_render_chunk, speech, off // sample_bytes, end // sample_bytes, kind)
            delta = partial(self._audio_delta, resp, chunk, lead, chunk_ms)
            resp.steps.append(_Step(resp.next_due, delta, audio=True))
            resp.last_due = resp.next_due
            # Real time: the next chunk is due when this one's audio has played (divided by speed).
            resp.next_due += chunk_ms / 1000.0 / self.speed
        self._then_speak(resp)

    def _input_usage(
        self, instructions: str, tool_defs: list[JSON], context: list[JSON], conversation: str
    ) -> JSON:
        text = (
            _text_tokens(instructions) + _text_tokens(json.dumps(tool_defs))
            if tool_defs
            else _text_tokens(instructions)
        )
        audio_tokens = 0
        for it in context:
            if it["id"] in self._item_audio_ms and it.get("role") == "user":
                audio_tokens += math.ceil(self._item_audio_ms[it["id"]] / INPUT_AUDIO_MS_PER_TOKEN)
            elif it.get("type") == "message":
                text += _text_tokens(self._user_text(it)) + 4
            else:
                text += _text_tokens(json.dumps({k: v for k, v in it.items() if k != "id"}))
        total = text + audio_tokens
        cached = 0
        if conversation == "auto" and self._last_input_tokens:
            cached = min(total, self._last_input_tokens) // CACHE_BLOCK_TOKENS * CACHE_BLOCK_TOKENS
        if conversation == "auto":
            self._last_input_tokens = total
        cached_text = min(cached, text)
        return {
            "input_tokens": total,
            "input_token_details": {
                "text_tokens": text,
                "audio_tokens": audio_tokens,
                "image_tokens": 0,
                "cached_tokens": cached,
                "cached_tokens_details": {
                    "text_tokens": cached_text,
                    "audio_tokens": cached - cached_text,
                    "image_tokens": 0,
                },
            },
        }

    def _open_item(self, resp: _Response, item: JSON, t: float, part: str | None = None) -> None:
        resp.item = item
        index = len(resp.obj["output"])
        resp.obj["output"].append(item)

        def run() -> None:
            self._emit(
                {
                    "type": "response.output_item.added",
                    "response_id": resp.id,
                    "output_index": index,
                    "item": _json_copy(item),
                }
            )
            if resp.conversation == "auto":
                self._insert(item, notify=False)
                prev = self._prev_id(item["id"])
                self._emit(
                    {"type": "conversation.item.added", "previous_item_id": prev, "item": _json_copy(item)}
                )
            if part is not None:
                resp.part = part
                body = {"type": "text", "text": ""} if part == "text" else {"type": "audio", "transcript": ""}
                self._emit({"type": "response.content_part.added", **self._where(resp), "part": body})

        resp.steps.append(_Step(t, run))

    def _prev_id(self, item_id: str) -> str | None:
        idx = self._index(item_id)
        return self.items[idx - 1]["id"] if idx else None

    def _where(self, resp: _Response) -> JSON:
        assert resp.item is not None
        return {
            "response_id": resp.id,
            "item_id": resp.item["id"],
            "output_index": len(resp.obj["output"]) - 1,
            "content_index": 0,
        }

    def _text_delta(self, resp: _Response, piece: str) -> None:
        resp.sent_text += piece
        self._emit(
            {
                "type": "response.output_text.delta",
                **self._where(resp),
                "delta": piece,
                "obfuscation": self._ids.obfuscation(piece),
            }
        )

    def _transcript_delta(self, resp: _Response, piece: str) -> None:
        resp.sent_text += piece
        self._emit(
            {
                "type": "response.output_audio_transcript.delta",
                **self._where(resp),
                "delta": piece,
                "obfuscation": self._ids.obfuscation(piece),
            }
        )

    def _audio_delta(
        self, resp: _Response, chunk: bytes | Callable[[], bytes], lead: list[str], ms: float
    ) -> None:
        for piece in lead:
            self._transcript_delta(resp, piece)
        if not chunk:
            return
        if callable(chunk):
            chunk = chunk()
        resp.sent_audio_ms += ms
        self._assistant_audio_present = True
        self._emit(
            {
                "type": "response.output_audio.delta",
                **self._where(resp),
                "_audio": chunk,
            }
        )

    def _args_delta(self, resp: _Response, chunk: str) -> None:
        assert resp.item is not None
        resp.sent_args += chunk
        self._emit(
            {
                "type": "response.function_call_arguments.delta",
                "response_id": resp.id,
                "item_id": resp.item["id"],
                "output_index": len(resp.obj["output"]) - 1,
                "call_id": resp.item["call_id"],
                "delta": chunk,
                "obfuscation": self._ids.obfuscation(chunk),
            }
        )

    def _close_item(self, resp: _Response, status: str) -> None:
        item = resp.item
        assert item is not None
        where = self._where(resp)
        if item["type"] == "function_call":
            item["arguments"] = resp.sent_args
            self._emit(
                {
                    "type": "response.function_call_arguments.done",
                    "response_id": resp.id,
                    "item_id": item["id"],
                    "output_index": where["output_index"],
                    "call_id": item["call_id"],
                    "name": item["name"],
                    "arguments": resp.sent_args,
                }
            )
        elif resp.part == "text":
            self._emit({"type": "response.output_text.done", **where, "text": resp.sent_text})
            self._emit(
                {
                    "type": "response.content_part.done",
                    **where,
                    "part": {"type": "text", "text": resp.sent_text},
                }
            )
            item["content"] = [{"type": "output_text", "text": resp.sent_text}]
        elif resp.part == "audio":
            self._emit({"type": "response.output_audio.done", **where})
            self._emit(
                {"type": "response.output_audio_transcript.done", **where, "transcript": resp.sent_text}
            )
            self._emit(
                {
                    "type": "response.content_part.done",
                    **where,
                    "part": {"type": "audio", "transcript": resp.sent_text},
                }
            )
            item["content"] = [{"type": "output_audio", "transcript": resp.sent_text}]
            self._item_audio_ms[item["id"]] = resp.sent_audio_ms
        resp.part = None
        item["status"] = status
        if resp.conversation == "auto" and self._index(item["id"]) is not None:
            # Recorded: the assistant item's `conversation.item.done` carries `previous_item_id` null in the
            # first turn but the real predecessor later; we always send the real predecessor.
            self._emit(
                {
                    "type": "conversation.item.done",
                    "previous_item_id": self._prev_id(item["id"]),
                    "item": _json_copy(item),
                }
            )
        self._emit(
            {
                "type": "response.output_item.done",
                "response_id": resp.id,
                "output_index": where["output_index"],
                "item": _json_copy(item),
            }
        )

    def _finish(self, resp: _Response) -> None:
        status = resp.final_status
        if status == "incomplete":
            resp.status_details = {"type": "incomplete", "reason": "max_output_tokens"}
        self._close_item(resp, "incomplete" if status == "incomplete" else "completed")
        self._done(resp, status)

    def _cancel(self, resp: _Response, reason: str) -> None:
        resp.steps.clear()
        resp.status_details = {"type": "cancelled", "reason": reason}
        if resp.item is not None and resp.item.get("status") == "in_progress":
            self._close_item(resp, "incomplete")
        self._done(resp, "cancelled")

    def _fail(self, resp: _Response, exc: Exception | None) -> None:
        """End a response as `failed` after an internal error (reported as `server_error`)."""
        if exc is not None:
            self._error(
                "server_error",
                f"The server had an error while processing your request: {type(exc).__name__}.",
                error_type="server_error",
            )
        resp.status_details = {"type": "failed", "error": {"type": "server_error", "code": "server_error"}}
        self._done(resp, "failed")

    def _done(self, resp: _Response, status: str) -> None:
        resp.steps.clear()
        if resp in self._running:
            self._running.remove(resp)
        if self._active is resp:
            self._active = None
        if status == "cancelled":
            # Only what was streamed counts (resp.part is closed by now, so count the sent text).
            resp.text_tokens = len(split_pieces(resp.sent_text)) if resp.sent_text else 0
            resp.audio_tokens = math.ceil(resp.sent_audio_ms / OUTPUT_AUDIO_MS_PER_TOKEN)
        out_tokens = resp.text_tokens + resp.audio_tokens
        usage = {
            "total_tokens": resp.usage_in["input_tokens"] + out_tokens,
            "input_tokens": resp.usage_in["input_tokens"],
            "output_tokens": out_tokens,
            "input_token_details": resp.usage_in["input_token_details"],
            "output_token_details": {"text_tokens": resp.text_tokens, "audio_tokens": resp.audio_tokens},
        }
        resp.obj.update(status=status, status_details=resp.status_details, usage=usage)
        self._emit({"type": "response.done", "response": _json_copy(resp.obj)})
        self._tokens_used += usage["total_tokens"]
        # PROTOCOL.md §10: `rate_limits.updated` follows `response.done`.
        self._emit(
            {
                "type": "rate_limits.updated",
                "rate_limits": [
                    {
                        "name": "tokens",
                        "limit": RATE_LIMIT_TOKENS,
                        "remaining": max(0, RATE_LIMIT_TOKENS - self._tokens_used),
                        "reset_seconds": 0.002,
                    }
                ],
            }
        )


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _norm_word(s: str) -> str:
    return re.sub(r"[^\w]", "", s).lower()


def _piece_times(pieces: list[str], words: list[Any], total_ms: float, text: str) -> list[float]:
    """Start time (ms) of each transcript piece: the synthesized word's start, else proportional."""
    times: list[float] = []
    wi = 0
    offset = 0
    last = 0.0
    for piece in pieces:
        key = _norm_word(piece)
        when = None
        if key:
            for j in range(wi, min(wi + 3, len(words))):
                if _norm_word(str(words[j].text)) == key:
                    when = float(words[j].start_ms)
                    wi = j + 1
                    break
            if when is None:
                when = total_ms * offset / max(1, len(text))
        else:
            when = last
        last = max(last, when)
        times.append(last)
        offset += len(piece)
    return times


def _render_chunk(speech: Any, lo: int, hi: int, kind: str) -> bytes:
    """Samples ``lo`` to ``hi`` of a `voice.SpeechStream`, in the output format."""
    return _encode_output(speech.pcm(lo, hi), kind)


def _encode_output(pcm: bytes, kind: str) -> bytes:
    if kind == "audio/pcm":
        return pcm
    from rtwidget import audio

    return bytes(audio.ulaw_encode(pcm) if kind == "audio/pcmu" else audio.alaw_encode(pcm))
