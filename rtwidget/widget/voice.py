"""The user's voice: microphone audio from the views, push-to-talk, turn modes, barge-in, ``send_audio``.

The view captures the microphone through an AudioWorklet, resamples it to the session's input rate (24 kHz
PCM16, or 8 kHz for G.711) and sends it as binary chunks of ``CHUNK_MS``; the kernel turns each into an
``input_audio_buffer.append`` (G.711-encoded when the session says so). Everything the voice path sends goes
through one :class:`Outbox`, so a push-to-talk release's ``commit`` and ``response.create`` follow the last
chunk of audio, never overtake it.

Turn modes (the ``rt-mode`` select): ``text`` (no microphone), ``ptt`` (turn detection off: press clears the
input buffer and silences the reply, release commits and asks for a response), ``server_vad`` and
``semantic_vad`` (the server decides). The session is the one source: a mode is a ``session.update`` of
``audio.input.turn_detection``, and the view reads the mode back from the effective session.

Barge-in: on ``input_audio_buffer.speech_started`` while the model's audio plays, playback is flushed at once
and the playing item is truncated at ``min(played, received)`` ms (the server cancels the response itself
when its turn detection has ``interrupt_response``).
"""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rtwidget.audio import encode_audio, pcm16_to_float32, read_wav
from rtwidget.protocol.formats import FORMATS, AudioFormatName, session_audio_format
from rtwidget.protocol.ga import InputAudioBufferAppendEvent
from rtwidget.widget.items import wall_clock

if TYPE_CHECKING:
    from rtwidget.widget.widget import RealtimeWidget

__all__ = [
    "CHUNK_MS",
    "MAX_CHUNK_MS",
    "MIN_CHUNK_MS",
    "TURN_MODES",
    "VAD_TAIL_MS",
    "Outbox",
    "VoiceMethods",
    "barge_in",
    "check_append",
    "input_format",
    "mic_chunk",
    "on_event",
    "push_to_talk",
    "send_audio",
    "set_mode",
    "silence_plan",
    "stop",
]

CHUNK_MS = 100
"""Audio per ``input_audio_buffer.append`` by default (the ``mic_chunk_ms`` trait): what the view captures per
message, and ``send_audio``'s step. A trade-off: the server hears speech up to a chunk later (half of one on
average), and each chunk is a comm message and a frame (kernel CPU per second of speech: ``bench/capture.py``
measures 0.8 ms at 100 ms, 1.2-1.4 ms at 50 ms)."""
MIN_CHUNK_MS = 10
"""Least audio a view message carries (``mic_chunk_ms``)."""
MAX_CHUNK_MS = 1000
"""Most audio one view message may carry (a larger one is refused with a logged error)."""
TURN_MODES = ("text", "ptt", "server_vad", "semantic_vad")
"""The turn modes of the ``rt-mode`` select."""
VAD_TAIL_MS = 800
"""Silence ``send_audio`` appends under server turn detection, so the server hears the turn end."""


class Outbox:
    """Client events of the voice path, sent in order by one task on the kernel loop."""

    def __init__(self, widget: RealtimeWidget) -> None:
        """An empty outbox for ``widget``."""
        self._w = widget
        self._queue: collections.deque[dict[str, Any] | bytes] = collections.deque()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def put(self, event: dict[str, Any] | bytes) -> None:
        """Queue one event (bytes: an ``input_audio_buffer.append`` of that audio); the drain task sends it
        after everything queued before it."""
        self._queue.append(event)
        self._idle.clear()
        loop = self._w._kernel.loop
        if (self._task is None or self._task.done()) and loop is not None:
            self._task = loop.create_task(self._drain())

    async def join(self) -> None:
        """Wait until everything queued so far has been sent (or refused)."""
        await self._idle.wait()

    def clear(self) -> None:
        """Drop what waits (the connection ended)."""
        self._queue.clear()
        self._idle.set()

    async def _drain(self) -> None:
        while self._queue:
            event = self._queue.popleft()
            try:
                if isinstance(event, bytes):
                    await _send_append(self._w, event)
                else:
                    await self._w.send_event(event)
            except Exception:  # send_event logged the refusal; the rest still goes
                if not self._w.connected:
                    self._queue.clear()
        self._idle.set()


async def _send_append(w: RealtimeWidget, audio: bytes) -> None:
    """Send an ``input_audio_buffer.append`` of ``audio`` (the session's input format) built here from bytes,
    so valid by construction: no validation round trip, and the conversation keeps the bytes as they are."""
    event_id = f"evt_rtw_{next(w._event_ids)}"
    typed = InputAudioBufferAppendEvent.from_pcm(audio, event_id=event_id)  # the same in both dialects
    await w._send_valid(typed, typed.to_dict(), audio)


def input_format(w: RealtimeWidget) -> AudioFormatName:
    """The session's input audio format (PCM16 until the server says otherwise)."""
    return session_audio_format(w._console.session_effective, "input") or "pcm16"


def _encoded(samples: Any, rate: int, fmt: AudioFormatName) -> bytes:
    """Float samples at ``rate`` as the session's input format at its own rate (24 kHz PCM16, 8 kHz G.711)."""
    return encode_audio(samples, fmt, rate)


def check_append(w: RealtimeWidget, event: Any) -> None:
    """Refuse an ``input_audio_buffer.append`` whose audio cannot be the session's format: PCM16 comes in
    whole 2-byte samples (the protocol core checked the base64; the format is the session's).

    Raises:
        ValidationError: ``invalid_value`` at ``$.audio``.
    """
    if event.type != "input_audio_buffer.append" or input_format(w) != "pcm16":
        return
    size = len(event.audio) * 3 // 4 - event.audio[-2:].count("=")
    if size % 2:
        from rtwidget.protocol import ValidationError

        detail = f"{size} bytes of PCM16 (16-bit samples come in byte pairs)"
        raise ValidationError(f"input_audio_buffer.append: `audio` is {detail} at `$.audio`", "$.audio",
                              "invalid_value", detail)  # fmt: skip


def mic_chunk(w: RealtimeWidget, content: dict[str, Any], buffers: list[Any]) -> None:
    """A view's chunk of microphone audio (PCM16 at ``content["rate"]``) -> ``input_audio_buffer.append``."""
    if not w.connected or not buffers:
        return
    pcm = bytes(buffers[0])
    rate = content.get("rate")
    fmt = input_format(w)
    want = FORMATS[fmt].rate_hz
    if not isinstance(rate, int) or isinstance(rate, bool) or not 8000 <= rate <= 192_000:
        w._local_error("mic", f"a microphone chunk came with rate {rate!r}: refused")
        return
    if len(pcm) % 2 or len(pcm) > 2 * rate * MAX_CHUNK_MS // 1000:
        w._local_error("mic", f"a microphone chunk of {len(pcm)} bytes is not PCM16 of at most 1 s: refused")
        return
    # As captured (the view followed mic_rate), or converted: G.711, or a rate the session changed meanwhile.
    payload = pcm if fmt == "pcm16" and rate == want else _encoded(pcm16_to_float32(pcm), rate, fmt)
    w._outbox.put(payload)


def push_to_talk(w: RealtimeWidget, pressed: bool) -> None:
    """Press: silence the reply (truncated at what was heard) and clear the input buffer. Release: commit
    what was said and ask for the reply (after the last audio chunk, through the outbox)."""
    if not w.connected:
        return
    if pressed:
        _silence_reply(w, cancel=True)
        w._outbox.put({"type": "input_audio_buffer.clear"})
    else:
        w._outbox.put({"type": "input_audio_buffer.commit"})
        w._outbox.put({"type": "response.create"})


def silence_plan(w: RealtimeWidget, audio_end_ms: int | None = None) -> list[dict[str, Any]]:
    """Flush the views' playback of the latest audio item; return what to send: ``response.cancel`` while a
    response is in flight, and the truncation at ``min(played, received)`` (the console's ``stop_plan``)."""
    console = w._console
    if w._ready:
        w._views.post({"type": "audio.flush", "item": console.last_audio_item})
    return console.stop_plan(audio_end_ms)[1]


async def stop(w: RealtimeWidget, audio_end_ms: int | None) -> None:
    """Stop (see :meth:`RealtimeWidget.stop`): also cancels a reply waiting for the one in flight."""
    console = w._console
    item = console.last_audio_item
    played = float(audio_end_ms) if audio_end_ms is not None else (console.played_ms(item) if item else 0.0)
    in_flight = console.response_id is not None
    w._responses.waiting, w.talk_notice = False, ""
    events = silence_plan(w, audio_end_ms)
    w._local("local.stop", {"item_id": item, "played_ms": round(played), "response_in_flight": in_flight})
    for event in events:
        await w.send_event(event)


def _silence_reply(w: RealtimeWidget, *, cancel: bool) -> None:
    """Push-to-talk press and barge-in: the reply stops where it was heard (through the outbox)."""
    if w._console.last_audio_item is None:
        return
    for event in silence_plan(w):
        if cancel or event["type"] != "response.cancel":
            w._outbox.put(event)


def on_event(w: RealtimeWidget, event: Any) -> None:
    """A server event, for the voice path: the session's input rate for the views, and barge-in."""
    if event.type in ("session.created", "session.updated"):
        w.mic_rate = FORMATS[input_format(w)].rate_hz
    elif event.type == "input_audio_buffer.speech_started":
        barge_in(w)


def barge_in(w: RealtimeWidget) -> None:
    """The user started speaking (``speech_started``): a reply that plays stops where it was heard."""
    console = w._console
    item = console.last_audio_item
    track = console.tracks.get(item) if item else None
    if track is None or track.stopped:
        return
    if console.played_ms(item or "") < console.received_ms(item or "") or console.response_id is not None:
        track.interrupted_at = wall_clock()
        w._local("local.barge_in", {"item_id": item, "played_ms": round(console.played_ms(item or ""))})
        _silence_reply(w, cancel=False)  # the server's interrupt_response cancels the response itself


def set_mode(w: RealtimeWidget, mode: str) -> None:
    """Switch the turn mode: a ``session.update`` of the turn detection (``text`` changes nothing there)."""
    if mode not in TURN_MODES:
        w._local_error("mode", f"unknown turn mode {mode!r} (one of {', '.join(TURN_MODES)})")
        return
    if mode == "text" or not w.connected:
        return
    detection: dict[str, Any] | None = None if mode == "ptt" else {"type": mode}
    if w.dialect == "beta":
        w._spawn(w.update_session({"turn_detection": detection}))
    else:
        w._spawn(w.update_session({"audio": {"input": {"turn_detection": detection}}}))


def _samples_from(source: Any, rate: int | None) -> tuple[Any, int]:
    """Float samples and their rate from a WAV path or bytes, PCM16 bytes (``rate`` needed) or an array."""
    if isinstance(source, str | Path):
        return read_wav(source)
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if data[:4] == b"RIFF":
            return read_wav(data)
        if rate is None:
            raise ValueError("send_audio(bytes) needs rate= (PCM16 bytes carry no rate); a WAV file does not")
        if len(data) % 2:
            raise ValueError(f"PCM16 bytes come in pairs; got {len(data)} bytes")
        return pcm16_to_float32(data), rate
    array = np.asarray(source)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"send_audio(array) takes a non-empty 1-D array of samples, got shape {array.shape}")
    if rate is None:
        raise ValueError("send_audio(array) needs rate= (the samples' rate)")
    if array.dtype == np.int16:
        return pcm16_to_float32(array), rate
    return array.astype(np.float32), rate


async def send_audio(w: RealtimeWidget, source: Any, rate: int | None, realtime: bool) -> float:
    """Stream audio as a user turn; see :meth:`RealtimeWidget.send_audio`. Returns the seconds sent."""
    if not w.connected:
        raise RuntimeError("not connected: call `await w.connect()` first")
    samples, src_rate = _samples_from(source, rate)
    fmt = input_format(w)
    payload = _encoded(samples, src_rate, fmt)
    session = w._console.session_effective
    audio_in = (session.get("audio") or {}).get("input") or {}
    detection = audio_in.get("turn_detection", session.get("turn_detection"))
    if detection:  # the server ends the turn when it hears silence
        payload += _encoded(
            np.zeros(FORMATS[fmt].rate_hz * VAD_TAIL_MS // 1000, np.float32), FORMATS[fmt].rate_hz, fmt
        )
    chunk_ms = w.mic_chunk_ms
    step = FORMATS[fmt].bytes_per_ms * chunk_ms
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n, at in enumerate(range(0, len(payload), step)):
        w._outbox.put(payload[at : at + step])
        if realtime:
            await asyncio.sleep(max(0.0, start + (n + 1) * chunk_ms / 1000 - loop.time()))
    if not detection:
        w._outbox.put({"type": "input_audio_buffer.commit"})
        w._outbox.put({"type": "response.create"})
    await w._outbox.join()
    return len(payload) / (FORMATS[fmt].bytes_per_ms * 1000)


class VoiceMethods:
    """The widget's voice API (mixed into ``RealtimeWidget``)."""

    async def send_audio(self, source: Any, rate: int | None = None, realtime: bool = True) -> float:
        """Stream audio as a user turn: a WAV path or bytes, PCM16 bytes or a numpy array (``rate`` needed).

        Resampled to the session's input format and sent as ``input_audio_buffer.append`` chunks of
        ``mic_chunk_ms`` (default ``voice.CHUNK_MS``), at real-time pace or (``realtime=False``) as fast as
        allowed. Without turn detection the turn is committed and a response asked for; with it,
        ``voice.VAD_TAIL_MS`` of silence follows so the server hears the turn end. Returns the seconds sent.
        """
        return await send_audio(self, source, rate, realtime)  # type: ignore[arg-type]

    async def stop(self, *, audio_end_ms: int | None = None) -> None:
        """Stop the reply: flush playback, cancel the response in flight, truncate the item that was playing.

        ``audio_end_ms`` overrides the played position (default: what the browser reported as played; 0 when
        no view played anything). The truncation point is ``min(played, received)``.
        """
        await stop(self, audio_end_ms)  # type: ignore[arg-type]
