"""Streaming a response: output items, paced text/audio/argument deltas, and the response's end."""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

from rtwidget.protocol.formats import FORMATS, format_name
from rtwidget.server.sessionconfig import format_rate_hz
from rtwidget.server.state import (
    JSON,
    OUTPUT_AUDIO_MS_PER_TOKEN,
    ResponseRun,
    Step,
    json_copy,
    split_pieces,
)
from rtwidget.server.usage import UsageMixin

__all__ = ["StreamingMixin"]


class StreamingMixin(UsageMixin):
    """Streaming a response: output items, paced text/audio/argument deltas, and the response's end."""

    def _then_speak(self, resp: ResponseRun) -> None:
        """Queue the step that schedules the next sentence's audio (or the end of the reply)."""
        if not resp.sentences:
            resp.steps.append(Step(resp.last_due, partial(self._finish, resp)))
            return
        # Due when the sentence's first chunk is: like a streaming TTS, one sentence at a time, so the first
        # audio leaves after one sentence is synthesized, not the whole text.
        resp.speak_due = resp.next_due
        resp.steps.append(Step(resp.next_due, partial(self._speak_next, resp), speak=True))

    def _synthesize(self, resp: ResponseRun, sentence: str) -> Any:
        from rtwidget.server import voice

        voice_name, voice_speed, kind = resp.voice
        rate_hz = format_rate_hz({"type": kind})
        return voice.prepare(sentence, voice_name, speed=voice_speed, rate_hz=rate_hz)

    def _speak_next(self, resp: ResponseRun) -> None:
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
        fmt = FORMATS[format_name({"type": kind}) or "pcm16"]
        sample_bytes = fmt.bytes_per_sample
        payload_len = n_samples * sample_bytes
        if not payload_len:
            resp.steps.append(Step(resp.next_due, partial(self._audio_delta, resp, b"", pieces, 0.0)))
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
            resp.steps.append(Step(resp.next_due, delta, audio=True))
            resp.last_due = resp.next_due
            # Real time: the next chunk is due when this one's audio has played (divided by speed).
            resp.next_due += chunk_ms / 1000.0 / self.speed
        self._then_speak(resp)

    def _open_item(self, resp: ResponseRun, item: JSON, t: float, part: str | None = None) -> None:
        resp.item = item
        index = len(resp.obj["output"])
        resp.obj["output"].append(item)

        def run() -> None:
            self._emit(
                {
                    "type": "response.output_item.added",
                    "response_id": resp.id,
                    "output_index": index,
                    "item": json_copy(item),
                }
            )
            if resp.conversation == "auto":
                self._insert(item, notify=False)
                prev = self._prev_id(item["id"])
                self._emit(
                    {"type": "conversation.item.added", "previous_item_id": prev, "item": json_copy(item)}
                )
            if part is not None:
                resp.part = part
                body = {"type": "text", "text": ""} if part == "text" else {"type": "audio", "transcript": ""}
                self._emit({"type": "response.content_part.added", **self._where(resp), "part": body})

        resp.steps.append(Step(t, run))

    def _where(self, resp: ResponseRun) -> JSON:
        assert resp.item is not None
        return {
            "response_id": resp.id,
            "item_id": resp.item["id"],
            "output_index": len(resp.obj["output"]) - 1,
            "content_index": 0,
        }

    def _text_delta(self, resp: ResponseRun, piece: str) -> None:
        resp.sent_text += piece
        self._emit(
            {
                "type": "response.output_text.delta",
                **self._where(resp),
                "delta": piece,
                "obfuscation": self._ids.obfuscation(piece),
            }
        )

    def _transcript_delta(self, resp: ResponseRun, piece: str) -> None:
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
        self, resp: ResponseRun, chunk: bytes | Callable[[], bytes], lead: list[str], ms: float
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

    def _args_delta(self, resp: ResponseRun, chunk: str) -> None:
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

    def _close_item(self, resp: ResponseRun, status: str) -> None:
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
                    "item": json_copy(item),
                }
            )
        self._emit(
            {
                "type": "response.output_item.done",
                "response_id": resp.id,
                "output_index": where["output_index"],
                "item": json_copy(item),
            }
        )

    def _finish(self, resp: ResponseRun) -> None:
        status = resp.final_status
        if status == "incomplete":
            resp.status_details = {"type": "incomplete", "reason": "max_output_tokens"}
        self._close_item(resp, "incomplete" if status == "incomplete" else "completed")
        self._done(resp, status)

    def _cancel(self, resp: ResponseRun, reason: str) -> None:
        resp.steps.clear()
        resp.status_details = {"type": "cancelled", "reason": reason}
        if resp.item is not None and resp.item.get("status") == "in_progress":
            self._close_item(resp, "incomplete")
        self._done(resp, "cancelled")

    def _fail(self, resp: ResponseRun, exc: Exception | None) -> None:
        """End a response as `failed` after an internal error (reported as `server_error`)."""
        if exc is not None:
            self._error(
                "server_error",
                f"The server had an error while processing your request: {type(exc).__name__}.",
                error_type="server_error",
            )
        resp.status_details = {"type": "failed", "error": {"type": "server_error", "code": "server_error"}}
        self._done(resp, "failed")

    def _done(self, resp: ResponseRun, status: str) -> None:
        resp.steps.clear()
        if resp in self._running:
            self._running.remove(resp)
        if self._active is resp:
            self._active = None
        usage = self._output_usage(resp, status)
        resp.obj.update(status=status, status_details=resp.status_details, usage=usage)
        self._emit({"type": "response.done", "response": json_copy(resp.obj)})
        self._count_tokens(usage["total_tokens"])


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
