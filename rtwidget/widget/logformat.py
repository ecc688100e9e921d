"""Formatting of logged events: audio payloads elided or held by reference, one-line summaries.

Used by :mod:`rtwidget.widget.log` (which re-exports the public names) and the console.
"""

from __future__ import annotations

import base64
import collections
import json
import re
import sys
from collections.abc import Mapping
from typing import Any

import msgspec

from rtwidget.protocol import dialect_names
from rtwidget.protocol.formats import duration_ms

__all__ = [
    "AUDIO_PAYLOAD_TYPES",
    "SUMMARY_CHARS",
    "AudioRef",
    "SentAudio",
    "b64_decoded_len",
    "dropped_audio",
    "dropped_size",
    "elide_audio",
    "search_text",
    "summarize",
]

SUMMARY_CHARS = 160

# Event types whose base64 audio payload field is elided in row details (field name per type).
AUDIO_PAYLOAD_TYPES: dict[str, str] = {
    **dict.fromkeys(dialect_names("response.output_audio.delta"), "delta"),
    "input_audio_buffer.append": "audio",
}


def b64_decoded_len(text: str, start: int = 0, end: int | None = None) -> int:
    """Byte length of a base64 payload (``text[start:end]``) without decoding or copying it."""
    end = len(text) if end is None else end
    n = end - start
    if n <= 0:
        return 0
    pad = 2 if text.endswith("==", start, end) else 1 if text.endswith("=", start, end) else 0
    return n * 3 // 4 - pad


def dropped_audio(nbytes: int) -> str:
    """What a logged frame's audio payload says once the ``keep_audio_s`` cap dropped it (its size stays)."""
    return f"<{nbytes} bytes of audio no longer held (keep_audio_s)>"


_DROPPED = re.compile(r"<(\d+) bytes of audio no longer held")


def dropped_size(payload: object) -> int | None:
    """The size a :func:`dropped_audio` payload names; None for anything else (base64 has no ``<``)."""
    match = _DROPPED.match(payload) if isinstance(payload, str) and payload[:1] == "<" else None
    return int(match.group(1)) if match else None


class SentAudio:
    """The audio of the appends this side sent, as the log keeps it (base64 in each entry's event), capped:
    past ``keep_s`` of it the oldest entries' audio is replaced by :func:`dropped_audio` (their rows keep the
    sizes and durations), like the received audio the conversation holds under the same cap."""

    def __init__(self, keep_s: float) -> None:
        """An empty record of sent audio, holding at most ``keep_s`` seconds."""
        self.keep_ms = 1000.0 * keep_s
        self.held_ms = 0.0
        self.dropped_ms = 0.0
        self._held: collections.deque[tuple[Any, float]] = collections.deque()

    def add(self, entry: Any, field: str, audio_ms: float) -> None:
        """Note a logged client entry whose ``data[field]`` holds ``audio_ms`` of base64 audio; drop the
        oldest held audio beyond the cap."""
        self._held.append((entry, audio_ms))
        self.held_ms += audio_ms
        while self.held_ms > self.keep_ms and self._held:
            old, ms = self._held.popleft()
            data = old.data
            payload = data.get(field)
            if isinstance(payload, str):
                old._data = {**data, field: dropped_audio(b64_decoded_len(payload))}
            self.held_ms -= ms
            self.dropped_ms += ms


_DELTA_KEY = re.compile(r'"delta"\s*:\s*"')


class AudioRef:
    """A logged audio frame held as the text around its base64 plus where its PCM lives.

    ``data()`` and ``event()`` put the base64 back from the conversation's copy of the audio; when the
    ``keep_audio_s`` cap dropped that audio, the frame comes back with ``delta`` saying so (its size stays).
    """

    __slots__ = (
        "b64_len",
        "content_index",
        "conversation",
        "head",
        "item_id",
        "nbytes",
        "offset",
        "part",
        "tail",
    )

    def __init__(
        self, head: tuple[str, ...], tail: str, b64_len: int, *, conversation: Any, item_id: str,
        content_index: int, offset: int, nbytes: int,
    ) -> None:  # fmt: skip
        """Keep the pieces; use :meth:`cut` to make one from a frame."""
        self.head, self.tail, self.b64_len = head, tail, b64_len
        self.conversation, self.item_id, self.content_index = conversation, item_id, content_index
        self.offset, self.nbytes = offset, nbytes
        self.part: Any = None

    def resolve(self) -> None:
        """Keep the content part the audio went to (once the conversation has it), so the frame can still be
        rebuilt after its item is deleted from the conversation."""
        if self.part is None:
            self.part = self.conversation.audio_part(self.item_id, self.content_index)

    @classmethod
    def cut(
        cls,
        raw: str | bytes,
        *,
        conversation: Any,
        item_id: str,
        content_index: int,
        offset: int,
        nbytes: int,
    ) -> AudioRef | None:
        """Split ``raw`` around its ``"delta":"..."`` string, or None if it is not plain base64 there."""
        text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        match = _DELTA_KEY.search(text)
        if match is None:
            return None
        start = match.end()
        end = text.find('"', start)
        # An escaped character (e.g. "\/") would not come back from re-encoding: keep such frames whole.
        if end < 0 or text.find("\\", start, end) >= 0:
            return None
        if b64_decoded_len(text, start, end) != nbytes:
            return None
        # Deltas of one item share everything around their event_id: keep one copy of those pieces.
        head: tuple[str, ...] = (text[:start],)
        cut = head[0].find('"event_id":"')
        close = head[0].find('"', cut + 12) if cut >= 0 else -1
        if close > 0:
            whole = head[0]
            head = (sys.intern(whole[: cut + 12]), whole[cut + 12 : close], sys.intern(whole[close:]))
        return cls(
            head, sys.intern(text[end:]), end - start, conversation=conversation, item_id=item_id,
            content_index=content_index, offset=offset, nbytes=nbytes,
        )  # fmt: skip

    def _b64(self) -> str | None:
        self.resolve()
        part = self.part
        buffer = None if part is None else part.audio_buffer
        if buffer is None or len(buffer) < self.offset + self.nbytes:
            return None
        encoded = base64.b64encode(bytes(buffer[self.offset : self.offset + self.nbytes])).decode("ascii")
        return encoded if len(encoded) == self.b64_len else None

    def text(self) -> str | None:
        """The frame exactly as received, or None once its audio is no longer held."""
        encoded = self._b64()
        return None if encoded is None else "".join(self.head) + encoded + self.tail

    def data(self) -> dict[str, Any]:
        """The frame as a JSON object (``delta`` says so if its audio was dropped)."""
        text = self.text()
        if text is not None:
            decoded: dict[str, Any] = json.loads(text)
            return decoded
        data: dict[str, Any] = json.loads("".join(self.head) + self.tail)
        data["delta"] = dropped_audio(self.nbytes)
        return data

    def event(self) -> Any:
        """The typed event, parsed again from the rebuilt frame (None once its audio was dropped)."""
        text = self.text()
        if text is None:
            return None
        from rtwidget.protocol import parse_server_event

        return parse_server_event(text, self.conversation.dialect)


def elide_audio(type_: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Replace a base64 audio payload with its size and duration (duration assumes PCM16 at 24 kHz)."""
    field = AUDIO_PAYLOAD_TYPES.get(type_)
    out = dict(data)
    if field and isinstance(out.get(field), str):
        nbytes = b64_decoded_len(out[field])
        out[field] = f"<{nbytes} bytes · {duration_ms(nbytes):.0f} ms of audio, elided>"
    item = out.get("item")
    if isinstance(item, dict) and isinstance(item.get("content"), list):
        parts = []
        for part in item["content"]:
            if isinstance(part, dict) and isinstance(part.get("audio"), str) and len(part["audio"]) > 64:
                nbytes = b64_decoded_len(part["audio"])
                parts.append({**part, "audio": f"<{nbytes} bytes of audio, elided>"})
            else:
                parts.append(part)
        out["item"] = {**item, "content": parts}
    return out


# A JSON string of 256+ base64 characters (a data: URL's too): audio or an image inside a frame the search
# reads. Words appear in base64 by chance (a 3-letter one about every 30 KB), so the search skips them.
_B64_STRING = re.compile(r'"(?:data:[^";,]*;base64,)?[A-Za-z0-9+/]{256,}={0,2}"')
_B64_SCAN_CHARS = 512
_JSON = msgspec.json.Encoder()  # shorter frames cannot hold such a string next to their other fields


def _without_string(text: str, key: str) -> str:
    """``text`` with the string value of its first ``"key"`` emptied (str.find: no regex over the payload)."""
    at = text.find(f'"{key}"')
    start = text.find('"', at + len(key) + 2) if at >= 0 else -1
    end = text.find('"', start + 1) if start >= 0 else -1
    return text if end < 0 else text[:start] + '""' + text[end + 1 :]


def search_text(
    type_: str, frame: str | bytes | None, data: Mapping[str, Any] | None, audio: AudioRef | None
) -> str:
    """The lower-cased JSON text the log search reads for one entry, without its audio payloads.

    Received frames are searched as kept (no parse: the log may hold 100k of them); an audio delta held by
    reference as the text around its base64; an event kept as a dict (sent, local) as its JSON.
    """
    if audio is not None:
        return ("".join(audio.head) + audio.tail).lower()
    if frame is not None:
        text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
    elif data is not None:
        field = AUDIO_PAYLOAD_TYPES.get(type_)
        shown = {k: v for k, v in data.items() if k != field} if field else data
        try:
            text = _JSON.encode(shown).decode("utf-8", "replace")  # several times faster than json.dumps
        except (TypeError, ValueError):  # what only json can write (NaN, a lone surrogate)
            text = json.dumps(shown, ensure_ascii=False, default=str)
    else:
        return ""
    if len(text) > _B64_SCAN_CHARS:
        field = AUDIO_PAYLOAD_TYPES.get(type_)
        if field and frame is not None:
            text = _without_string(text, field)
        if '"audio"' in text or ";base64," in text:  # an item's audio part, an image
            text = _B64_STRING.sub('""', text)
    return text.lower()


def _clip(text: str, n: int = SUMMARY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _content_text(item: Mapping[str, Any]) -> str:
    parts = [
        part[key]
        for part in item.get("content") or []
        if isinstance(part, dict)
        for key in ("text", "transcript")
        if isinstance(part.get(key), str)
    ]
    if isinstance(item.get("arguments"), str):
        parts.append(item["arguments"])
    if isinstance(item.get("output"), str):
        parts.append(item["output"])
    return " ".join(parts)


def summarize(type_: str, data: Mapping[str, Any]) -> str:
    """One short line that says what an event is about (shown after the type; matched by the search box)."""
    if type_ == "error":
        err = data.get("error") or {}
        if isinstance(err, dict):
            return _clip(f"{err.get('code') or err.get('type') or ''}: {err.get('message') or ''}")
    session = data.get("session")
    if isinstance(session, dict):
        bits = [str(session[key]) for key in ("id", "model") if session.get(key)]
        mods = session.get("output_modalities") or session.get("modalities")
        if mods:
            bits.append("out=" + "+".join(map(str, mods)))
        audio = session.get("audio")
        voice = audio.get("output", {}).get("voice") if isinstance(audio, dict) else session.get("voice")
        if voice:
            bits.append(f"voice={voice}")
        return _clip(" ".join(bits) or ", ".join(session))
    item = data.get("item")
    if isinstance(item, dict):
        head = " ".join(str(item[k]) for k in ("type", "role", "id", "status", "name") if item.get(k))
        text = _content_text(item)
        return _clip(f"{head} {text!r}" if text else head)
    response = data.get("response")
    if isinstance(response, dict):
        bits = [str(response[k]) for k in ("id", "status") if response.get(k)]
        details = response.get("status_details")
        if isinstance(details, dict) and details.get("reason"):
            bits.append(f"({details['reason']})")
        usage = response.get("usage")
        if isinstance(usage, dict) and usage.get("total_tokens") is not None:
            bits.append(f"tokens={usage['total_tokens']}")
        return _clip(" ".join(bits))
    if type_ == "rate_limits.updated":
        limits = data.get("rate_limits") or []
        return _clip(
            " ".join(
                f"{lim.get('name')} {lim.get('remaining')}/{lim.get('limit')}"
                for lim in limits
                if isinstance(lim, dict)
            )
        )
    bits = []
    for key in ("item_id", "response_id", "call_id", "name", "audio_start_ms", "audio_end_ms", "transcript"):
        value = data.get(key)
        if value is not None and value != "":
            bits.append(f"{key}={value}" if key.endswith("_ms") else str(value))
    if not bits and data.get("event_id"):
        bits.append(str(data["event_id"]))
    return _clip(" ".join(bits))


def raw_type(raw: str | bytes) -> str:
    """The ``type`` of a raw frame, or ``"(bad frame)"``."""
    import json

    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return "(bad frame)"
    return str(data.get("type")) if isinstance(data, dict) and data.get("type") else "(bad frame)"


def payload_len(event: Any, data: dict[str, Any] | None) -> int:
    """Bytes of base64 audio a client event carries (0 for others)."""
    if event is None or data is None:
        return 0
    field_name = AUDIO_PAYLOAD_TYPES.get(event.type)
    if field_name and isinstance(data.get(field_name), str):
        return b64_decoded_len(data[field_name])
    return 0


def kv_summary(data: dict[str, Any]) -> str:
    """A one-line ``key=value`` summary of a local entry's data."""
    return " ".join(f"{k}={v}" for k, v in data.items() if v not in (None, ""))[:160]
