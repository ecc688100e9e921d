"""What the notebook reads back from the console: conversation items with their audio, playback facts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rtwidget.protocol.formats import PCM_RATE_HZ, AudioFormatName

if TYPE_CHECKING:
    import numpy as np
    from IPython.display import Audio

    from rtwidget.protocol.conversation import ConversationItem

__all__ = ["AudioTrack", "Item", "to_pcm16", "wall_clock"]


def to_pcm16(data: bytes, fmt: AudioFormatName) -> bytes:
    """Received audio in ``fmt`` as PCM16 at 24 kHz, as the views play it (G.711 decoded and resampled)."""
    from rtwidget import audio

    return audio.encode_audio(audio.decode_audio(data, fmt, PCM_RATE_HZ), "pcm16", PCM_RATE_HZ)


def wall_clock() -> float:
    """Wall-clock seconds (the clock of ``first_delta_at``, comparable with the browser's)."""
    return time.time()


@dataclass
class AudioTrack:
    """Playback facts of one item's output audio that the conversation does not hold."""

    item_id: str
    content_index: int = 0
    response_id: str | None = None
    first_sample_at: float | None = None
    # Stage stamps of the first audio (wall clock, s): sent to the views, reached the page, its first sample
    # rendered by the context, the worklet's notice reached the page's main thread (first_sample_at is when
    # the sample is heard: rendered + the output's latency).
    first_sent_at: float | None = None
    first_arrived_at: float | None = None
    first_rendered_at: float | None = None
    first_noticed_at: float | None = None
    # A barge-in (wall clock, s): the user's speech_started reached the kernel; the views went quiet.
    interrupted_at: float | None = None
    flushed_at: float | None = None
    stopped: bool = False
    forwarded: bool = False

    def stats(
        self, received_ms: float, played_ms: float, first_delta_at: float | None
    ) -> dict[str, float | None]:
        """This item's line of ``w.audio_stats``: ms received and played, and the first audio's stamps."""
        return {
            "received_ms": received_ms,
            "played_ms": played_ms,
            "first_delta_at": first_delta_at,
            "first_sent_at": self.first_sent_at,
            "first_arrived_at": self.first_arrived_at,
            "first_rendered_at": self.first_rendered_at,
            "first_sample_at": self.first_sample_at,
            "first_noticed_at": self.first_noticed_at,
            "interrupted_at": self.interrupted_at,
            "flushed_at": self.flushed_at,
        }

    def started(
        self,
        at_ms: float | None,
        arrived_ms: float | None = None,
        noticed_ms: float | None = None,
        rendered_ms: float | None = None,
    ) -> None:
        """A view's first sample is heard at ``at_ms`` and was rendered at ``rendered_ms``; its audio had
        reached the page at ``arrived_ms`` and the worklet's notice reached the main thread at ``noticed_ms``
        (wall clock, ms; the first report only)."""
        if self.first_sample_at is None and at_ms is not None:
            self.first_sample_at = at_ms / 1000.0
            self.first_arrived_at = None if arrived_ms is None else arrived_ms / 1000.0
            self.first_noticed_at = None if noticed_ms is None else noticed_ms / 1000.0
            self.first_rendered_at = None if rendered_ms is None else rendered_ms / 1000.0


@dataclass
class Item:
    """A conversation item as the notebook sees it: text and audio ready to use.

    Attributes:
        id: The item id.
        type: ``message``, ``function_call``, ``function_call_output``...
        role: ``user``, ``assistant``, ``system`` or None.
        status: The item's status as last reported.
        text: Text or transcript of the item's content (arguments/output for function calls).
        truncated_ms: Where the item was truncated (``conversation.item.truncated``), or None.
    """

    id: str
    type: str
    role: str | None
    status: str | None
    text: str
    truncated_ms: int | None = None
    rate_hz: int = PCM_RATE_HZ
    # The conversation's item: its audio is read when asked for, so listing ``w.items`` copies no audio.
    _source: ConversationItem | None = field(default=None, repr=False)
    _format: AudioFormatName = "pcm16"

    @classmethod
    def of(cls, it: ConversationItem, truncated_ms: int | None = None) -> Item:
        """The notebook's view of a conversation item (its audio stays in the conversation)."""
        fmt = next((p.audio_format for p in it.content if p.audio_format), None) or "pcm16"
        return cls(
            id=it.id,
            type=it.type,
            role=it.role,
            status=it.status,
            text=it.text or it.arguments or it.output or "",
            truncated_ms=truncated_ms,
            _source=it,
            _format=fmt,
        )

    @property
    def audio(self) -> np.ndarray | None:
        """Received audio (what was heard, after truncation) as float32 in [-1, 1] at ``rate_hz``, or None.

        Decoded on each access from the one copy the conversation holds (nothing is cached here); None also
        once the ``keep_audio_s`` cap dropped it.
        """
        pcm = None if self._source is None else self._source.audio
        if pcm is None:
            return None
        from rtwidget.audio import decode_audio

        return decode_audio(pcm, self._format, self.rate_hz)

    @property
    def player(self) -> Audio | None:
        """An ``IPython.display.Audio`` player for the item's audio (None without audio)."""
        audio = self.audio
        if audio is None or not len(audio):
            return None
        from IPython.display import Audio

        return Audio(data=audio, rate=self.rate_hz, normalize=False)  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        source = self._source
        held = source is not None and any(p.audio_buffer is not None for p in source.content)
        audio = f", {source.audio_ms / 1000:.2f} s audio" if held and source and source.audio_bytes else ""
        return f"Item({self.id!r}, {self.type}/{self.role}, {self.status}, {self.text[:60]!r}{audio})"
