"""Input audio: the buffer, server/semantic VAD turns, commits and input transcription."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from rtwidget.server.responses import ResponsesMixin
from rtwidget.server.state import (
    IDLE_BUFFER_KEEP_MS,
    JSON,
    MIN_COMMIT_MS,
    PCM16_SAMPLE_BYTES,
    TRANSCRIPT_LOGPROB,
    split_pieces,
)

__all__ = ["InputAudioMixin"]


class InputAudioMixin(ResponsesMixin):
    """Input audio: the buffer, server/semantic VAD turns, commits and input transcription."""

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
            excess = (
                int((self._ms(len(self._buf)) - keep_ms) * PCM16_SAMPLE_BYTES * self._in_rate_hz / 1000) & ~1
            )
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
        bytes_per_ms = PCM16_SAMPLE_BYTES * self._in_rate_hz / 1000.0
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
