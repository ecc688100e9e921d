"""The console's playback bookkeeping: the audio to forward to the views, what they report back (played
positions, first-sample stamps, barge-in flushes) and what Stop sends. Mixed into
:class:`rtwidget.widget.console.ConsoleState`, whose state it reads (sans I/O, like it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtwidget.protocol.formats import duration_ms
from rtwidget.widget.items import AudioTrack, wall_clock

if TYPE_CHECKING:
    from rtwidget.protocol import Conversation

__all__ = ["Playback"]


class Playback:
    """Playback state and the views' reports (``ConsoleState``'s; the attributes are set by its reset)."""

    conversation: Conversation
    tracks: dict[str, AudioTrack]
    last_audio_item: str | None
    response_id: str | None
    _pending_audio: dict[str, bytearray]
    _pending_ends: list[str]

    def take_audio(self) -> list[tuple[str, bytes | None]]:
        """Audio to forward since the last call: ``(item, pcm)`` merged per item, ``(item, None)`` = end.

        Merging the deltas read in one pass of the event loop sends one message where there were many
        (each comm message costs the kernel ~90 us) without delaying any audio: the shell calls this on
        the next loop iteration after audio arrived.
        """
        out: list[tuple[str, bytes | None]] = []
        for item_id, pcm in self._pending_audio.items():
            if pcm:
                out.append((item_id, bytes(pcm)))
                if item_id in self.tracks:
                    self.tracks[item_id].forwarded = True
        out.extend((item, None) for item in dict.fromkeys(self._pending_ends))
        self._pending_audio = {}
        self._pending_ends = []
        return out

    def audio_lead_ms(self) -> float:
        """How far the audio already forwarded is ahead of what the views reported heard, for the item whose
        audio waits in :meth:`take_audio` with the least lead (0 when an end waits or nothing was sent)."""
        if self._pending_ends or not self._pending_audio:
            return 0.0
        return min(
            self.received_ms(item) - duration_ms(len(pcm), "pcm16") - self.played_ms(item)
            for item, pcm in self._pending_audio.items()
        )

    @property
    def audio_end_pending(self) -> bool:
        """Whether the end of an item's audio waits in :meth:`take_audio`."""
        return bool(self._pending_ends)

    @property
    def audio_pending(self) -> bool:
        """Whether :meth:`take_audio` has something to forward."""
        return bool(self._pending_audio or self._pending_ends)

    def played(self, items: dict[str, Any], replace: bool = False, flushed_ms: float | None = None) -> None:
        """Record what a view reports as rendered per item (ms); ``replace`` for Stop's exact positions;
        ``flushed_ms``: the wall-clock ms its playback went quiet after a flush (for a barge-in's stamps)."""
        if flushed_ms is not None:
            for track in self.tracks.values():
                if track.interrupted_at is not None and track.flushed_at is None:
                    track.flushed_at = flushed_ms / 1000.0
        for item_id, ms in items.items():
            if not isinstance(item_id, str) or isinstance(ms, bool) or not isinstance(ms, int | float):
                continue
            if replace and item_id in self.conversation:
                self.conversation.item(item_id).played_ms = float(ms)
            else:
                self.conversation.set_played(item_id, float(ms))

    def audio_started(self, item_id: str, *stamps_ms: float | None) -> None:
        """A view rendered an item's first sample (see :meth:`AudioTrack.started`)."""
        if (track := self.tracks.get(item_id)) is not None:
            track.started(*stamps_ms)

    def audio_sent(self, item_id: str) -> None:
        """The first audio of an item went to the views now."""
        if (track := self.tracks.get(item_id)) is not None and track.first_sent_at is None:
            track.first_sent_at = wall_clock()

    def received_ms(self, item_id: str) -> float:
        """Milliseconds of output audio received for an item (truncation not applied)."""
        if item_id not in self.conversation:
            return 0.0
        parts = self.conversation.item(item_id).content
        return sum(duration_ms(p.audio_received_bytes, p.audio_format or "pcm16") for p in parts)

    def played_ms(self, item_id: str) -> float:
        """Milliseconds of an item's audio the views reported as rendered."""
        return self.conversation.item(item_id).played_ms if item_id in self.conversation else 0.0

    def stop_plan(self, audio_end_ms: int | None) -> tuple[str | None, list[dict[str, Any]]]:
        """Decide what Stop sends: the item to flush, ``response.cancel``, ``conversation.item.truncate``.

        Truncates only an item still being heard or still arriving, once, at ``min(played, received)``.
        """
        item = self.last_audio_item
        track = self.tracks.get(item) if item else None
        played = float(audio_end_ms) if audio_end_ms is not None else (self.played_ms(item) if item else 0.0)
        in_flight = self.response_id is not None
        received = self.received_ms(item) if item else 0.0
        truncate = (
            track is not None
            and not track.stopped
            and (played < received or (in_flight and track.response_id == self.response_id))
        )
        if track is not None:
            track.stopped = True
        self._pending_audio.pop(item or "", None)
        events: list[dict[str, Any]] = [{"type": "response.cancel"}] if in_flight else []
        if truncate and track is not None:
            end = int(min(played, received))
            events.append(
                {
                    "type": "conversation.item.truncate",
                    "item_id": track.item_id,
                    "content_index": track.content_index,
                    "audio_end_ms": end,
                }
            )
        return item, events

    def audio_stats(self) -> dict[str, dict[str, float | None]]:
        """Per audio item: ms received, ms played, wall times of the first delta and first sample."""
        conv = self.conversation
        return {
            item_id: track.stats(
                self.received_ms(item_id),
                self.played_ms(item_id),
                conv.item(item_id).first_audio_at if item_id in conv else None,
            )
            for item_id, track in self.tracks.items()
        }
