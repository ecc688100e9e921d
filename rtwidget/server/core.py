"""Sans-I/O simulator session: client frames in, server events out, time passed in.

`SimSession` never touches a socket or a clock: the adapter feeds it frames (`receive`) and the current
time (`advance`), and sends what comes back. Paced output (audio deltas in real time divided by `speed`,
text deltas at a token rate) is a queue of timed steps; `next_deadline()` says when to call `advance`.
Tests drive it with a fake clock and need no event loop and no sleeping.

Internally every event is built in the GA shape; a beta session is translated at the edges
(:mod:`rtwidget.server.dialect`). Event order and fields follow the recorded OpenAI traffic in
tests/data/corpus (a text turn: user item added/done, `response.created`, output item, content part, text
deltas, their `.done`s, `response.done`, then `rate_limits.updated`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections import deque
from typing import Any

from rtwidget.protocol import catalog
from rtwidget.server import dialect as _dialect
from rtwidget.server.ids import IdFactory
from rtwidget.server.input_audio import InputAudioMixin
from rtwidget.server.sessionconfig import (
    SessionError,
    apply_session_update,
    default_realtime_session,
    default_transcription_session,
)
from rtwidget.server.state import (
    AUDIO_CHUNK_MS,
    JSON,
    Close,
    Dialect,
    Output,
    ResponseRun,
    json_copy,
    split_pieces,
    split_sentences,
)

__all__ = [
    "AUDIO_CHUNK_MS",
    "Close",
    "Output",
    "SimSession",
    "split_pieces",
    "split_sentences",
]

logger = logging.getLogger("rtwidget.server")

# Deeper than any client event needs (a tool's JSON Schema nests a few dozen levels), and shallow enough
# that what walks an event recursively (validation, `json_copy`) stays far from Python's recursion limit.
MAX_JSON_DEPTH = 128
_TOO_DEEP = f"arrays and objects nest more than {MAX_JSON_DEPTH} levels deep"
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")


class _UnreadableFrameError(ValueError):
    """A text frame that is no JSON the server accepts; the message says why (it goes to the client)."""


def _decode_frame(frame: str) -> Any:
    """`json.loads`, refusing what it lets through but no strict JSON reader would (RFC 8259).

    Raises:
        _UnreadableFrameError: the reason, worded for the client (never echoing a lone surrogate: it cannot
            be encoded to UTF-8, so the error event carrying it could not be sent).
    """
    try:
        data = json.loads(frame)
    except json.JSONDecodeError as exc:
        raise _UnreadableFrameError(exc.msg) from None
    except ValueError:
        # The only other ValueError json.loads raises: int() refuses long digit strings (CVE-2020-10735).
        raise _UnreadableFrameError(f"a number has more than {sys.get_int_max_str_digits()} digits") from None
    except RecursionError:
        raise _UnreadableFrameError(_TOO_DEEP) from None
    # json.loads decodes a lone `\ud800` escape to a str that cannot be encoded; it can only come from
    # such an escape (websockets checks a text frame's UTF-8).
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _UnreadableFrameError(_TOO_DEEP)
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
                value = value.values()
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and not value.isascii() and (m := _SURROGATE_RE.search(value)):
            raise _UnreadableFrameError(
                f"a string holds a lone surrogate (U+{ord(m.group()):04X}), not Unicode text"
            )
    return data


class SimSession(InputAudioMixin):
    """One simulated realtime session (sans-I/O).

    Args:
        dialect: "ga" (default) or "beta" (the client sent `OpenAI-Beta: realtime=v1`).
        model: model name from the URL.
        intent: "transcription" for a transcription session, else None.
        speed: pacing factor for streamed output (10 = ten times faster than real time).
        seed: seed for the deterministic ids.
        created_at: wall-clock seconds since the epoch, only used for `expires_at`.
        audio_chunk_ms: audio per `response.output_audio.delta`.
        first_audio_ms: a model's time to first output: each response's first delta (audio, transcript,
            text or arguments) comes this long after its `response.created` (divided by `speed`, like
            every other pacing); its output item is announced at once. 0: with the turn's first events.
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
        model: str = catalog.DEFAULT_MODEL,
        intent: str | None = None,
        speed: float = 1.0,
        seed: int | str = 0,
        created_at: float = 0.0,
        audio_chunk_ms: int = AUDIO_CHUNK_MS,
        first_audio_ms: float = 0.0,
        record_lateness: bool = False,
        defer_synthesis: bool = False,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        if not first_audio_ms >= 0:
            raise ValueError(f"first_audio_ms must be >= 0, got {first_audio_ms}")
        self.dialect: Dialect = dialect
        self.speed = speed
        self.audio_chunk_ms = audio_chunk_ms
        self.first_audio_ms = first_audio_ms
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
        self._item_ids: set[str] = set()
        self._item_audio: dict[str, bytes] = {}
        self._item_audio_ms: dict[str, float] = {}
        self._item_text_for_model: dict[str, str] = {}
        self._active: ResponseRun | None = None
        self._running: list[ResponseRun] = []
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
        self._emit({"type": "session.created", "session": json_copy(self.session)})
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
        event: JSON | None = None
        try:
            event = self._parse(frame)
            if event is not None:
                self._dispatch(event)
        except Exception as exc:  # a simulator bug must not end the session; say so like the server
            logger.exception(
                "simulator failed on %s", "a client frame" if event is None else event.get("type")
            )
            self._error(
                "server_error",
                f"The server had an error while processing your request: {type(exc).__name__}.",
                event_id=None if event is None else event.get("event_id"),
                error_type="server_error",
            )
            if event is not None:
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

    def _blocked(self, resp: ResponseRun) -> bool:
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
            # docs/protocol-notes.md: "a binary frame -> invalid_event".
            self._error(
                "invalid_event", "Invalid event: binary frames are not supported; send JSON text frames."
            )
            return None
        try:
            data = _decode_frame(frame)
        except _UnreadableFrameError as exc:
            # docs/protocol-notes.md: "non-JSON text -> invalid_json" (and the session goes on).
            self._error("invalid_json", f"We could not parse the JSON body of your request: {exc}.")
            return None
        if not isinstance(data, dict):
            self._error("invalid_json", "The event must be a JSON object.")
            return None
        event_id = data.get("event_id") if isinstance(data.get("event_id"), str) else None
        kind = data.get("type")
        accepted = _dialect.client_types(self.dialect)
        if kind not in accepted:
            # docs/protocol-notes.md: `{"type":"nope"}` -> invalid_value listing the accepted client types.
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
        self._emit({"type": "session.updated", "session": json_copy(self.session)})

    # ------------------------------------------------------------------ input audio
