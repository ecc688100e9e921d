"""Per-response metrics of a console: usage and cost, latency stages on the kernel's clock, rate limits.

:class:`Timeline` (sans I/O) is fed every frame both ways with the log's time (seconds since the console's
first connect, ``time.monotonic()`` based) and the views' playback reports, and keeps, per response, when
each stage happened:

- the turn start: the user's speech end (``input_audio_buffer.speech_stopped``), or a push-to-talk release
  (the client's ``input_audio_buffer.commit``), or a text send (the client's ``response.create``): the first
  of these since the previous ``response.created``. A new user input makes earlier candidates stale: the
  server's ``speech_started``, the client's ``input_audio_buffer.clear`` (a press to talk) and a user message
  sent with ``conversation.item.create`` forget them. (``speech_stopped`` comes once the server's VAD has
  heard its ``silence_duration_ms`` of silence: the user stopped speaking that much earlier);
- ``response.created``, the first text (``output_text`` or ``output_audio_transcript``) delta, the first audio
  delta as the kernel received it, and ``response.done``;
- the first sample a view rendered (its ``audio.started`` notice, converted to the kernel's clock: see
  :meth:`Timeline.audio_started`) and the last one (see :meth:`Timeline.played`).

Usage is not copied here: each row reads its response's ``usage`` from the conversation's
``ConversationResponse`` (the one reducer keeps it), held from ``response.created`` on so that a reconnect,
which starts a new conversation, does not lose it. Cost is :func:`rtwidget.protocol.prices.cost_usd` at the
console's price table. :class:`Metrics` wires a timeline to a widget.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rtwidget.protocol.prices import PRICES_USD_PER_1M_TOKENS, cost_usd, merge_prices, price_for, usage_tokens
from rtwidget.widget.console import OUTPUT_AUDIO_DELTAS, REPLY_TEXT_DELTAS

if TYPE_CHECKING:
    from rtwidget.protocol.conversation import Conversation, ConversationResponse
    from rtwidget.widget.widget import RealtimeWidget

__all__ = ["STAGES", "TOKEN_COLUMNS", "Metrics", "Timeline", "browser_to_kernel"]

STAGES: tuple[str, ...] = (
    "to_created_ms",
    "to_first_text_ms",
    "to_first_audio_ms",
    "to_first_played_ms",
    "to_last_played_ms",
    "to_done_ms",
)
"""The latency stages of a row, in ms from the turn start (None where a stage does not apply)."""

TOKEN_COLUMNS: tuple[str, ...] = tuple(usage_tokens(None))
"""The token counts of a row (``rtwidget.protocol.prices.usage_tokens``)."""

_ID_COLUMNS = ("response_id", "status", "model", "session_id")

_TURN_STARTS = {
    ("client", "input_audio_buffer.commit"): "commit",
    ("client", "response.create"): "response.create",
    ("server", "input_audio_buffer.speech_stopped"): "speech_stopped",
}


def browser_to_kernel(at_ms: float, arrived_s: float, arrived_wall_s: float, floor_s: float | None) -> float:
    """A view's wall-clock stamp ``at_ms`` on the kernel's clock, from the moment its notice arrived.

    The notice arrived at ``arrived_s`` (kernel clock) = ``arrived_wall_s`` (the kernel's wall clock); the
    stamp is ``arrived_wall_s - at_ms / 1000`` seconds before that by the wall clocks, which agree when the
    browser runs on the kernel's machine (or both keep NTP time). Only that difference is used, never the
    wall clock's absolute value. A skewed clock cannot break causality: the result is at most the arrival (the
    sample was rendered before it was reported) and at least ``floor_s`` (not before its audio reached the
    kernel).
    """
    kernel = arrived_s - max(0.0, arrived_wall_s - at_ms / 1000.0)
    return kernel if floor_s is None else max(kernel, floor_s)


class _Response:
    """What the timeline knows of one response."""

    __slots__ = (
        "audio_items",
        "conversation",
        "created",
        "done",
        "first_audio",
        "first_text",
        "id",
        "model",
        "session_id",
        "start",
        "state",
        "turn",
    )

    def __init__(self, response_id: str, created: float | None, conversation: Conversation) -> None:
        session = conversation.session or {}
        self.id = response_id
        self.session_id: str | None = _str(session.get("id"))
        self.model: str | None = _str(session.get("model"))
        self.turn: str | None = None
        self.start: float | None = None
        self.created = created
        self.first_text: float | None = None
        self.first_audio: float | None = None
        self.done: float | None = None
        self.audio_items: list[str] = []
        self.state: ConversationResponse | None = None
        # Until its ConversationResponse is found (the conversation applies an event after it is logged).
        self.conversation: Conversation | None = conversation


class Timeline:
    """Stage times per response, on one clock (sans I/O; the caller passes the times)."""

    def __init__(self) -> None:
        """Start empty."""
        self.responses: dict[str, _Response] = {}
        self._candidate: tuple[str, float] | None = None  # the turn start waiting for its response.created
        self._open: list[str] = []  # created, not done: where a delta without response_id goes
        self._unsettled: list[_Response] = []
        self._item_first_audio: dict[str, float] = {}
        self._first_sample: dict[str, float] = {}
        self._played_ms: dict[str, float] = {}
        self._last_played: dict[str, float] = {}
        self._item_response: dict[str, str] = {}
        self.changed: set[str] = set()
        """Responses whose stages changed since the views last got them (:meth:`take_changed`)."""

    # --- frames ------------------------------------------------------------------------------------

    def frame(self, direction: str, event: Any, now: float, conversation: Conversation) -> None:
        """One frame sent (``client``) or received (``server``) at ``now``, before ``conversation`` has it."""
        self.settle(conversation)
        type_ = event.type
        kind = _TURN_STARTS.get((direction, type_))
        if kind is not None:
            if self._candidate is None:
                self._candidate = (kind, now)
        elif direction == "client":
            if type_ == "input_audio_buffer.clear" or (
                type_ == "conversation.item.create"
                and _str(getattr(getattr(event, "item", None), "role", None)) == "user"
            ):
                self._candidate = None
        elif type_ in REPLY_TEXT_DELTAS:
            response = self._response_of(event)
            if response is not None and response.first_text is None:
                response.first_text = now
                self.changed.add(response.id)
        elif type_ in OUTPUT_AUDIO_DELTAS:
            self._audio_delta(event, now)
        elif type_ == "input_audio_buffer.speech_started":
            self._candidate = None
        elif type_ == "response.created":
            self._created(event, now, conversation)
        elif type_ == "response.done":
            self._done(event, now, conversation)

    def _created(self, event: Any, now: float, conversation: Conversation) -> None:
        response_id = _response_id(event)
        if response_id is None or response_id in self.responses:
            return
        response = self.responses[response_id] = _Response(response_id, now, conversation)
        if self._candidate is not None:
            response.turn, response.start = self._candidate
            self._candidate = None
        self._open.append(response_id)
        self._unsettled.append(response)
        self.changed.add(response_id)

    def _done(self, event: Any, now: float, conversation: Conversation) -> None:
        response_id = _response_id(event)
        if response_id is None:
            return
        response = self.responses.get(response_id)
        if response is None:  # a response.done without its response.created: usage yes, stages no
            response = self.responses[response_id] = _Response(response_id, None, conversation)
            self._unsettled.append(response)
        if response.done is None:
            response.done = now
            self.changed.add(response_id)
        if response_id in self._open:
            self._open.remove(response_id)

    def _audio_delta(self, event: Any, now: float) -> None:
        item_id = _str(getattr(event, "item_id", None))
        response = self._response_of(event)
        if item_id is None or response is None:
            return
        if response.first_audio is None:
            response.first_audio = now
            self.changed.add(response.id)
        if item_id not in self._item_first_audio:
            self._item_first_audio[item_id] = now
            self._item_response[item_id] = response.id
            response.audio_items.append(item_id)

    def _response_of(self, event: Any) -> _Response | None:
        response_id = _str(getattr(event, "response_id", None))
        if response_id is None and self._open:
            response_id = self._open[-1]
        return self.responses.get(response_id) if response_id is not None else None

    def settle(self, conversation: Conversation) -> None:
        """Hold the ``ConversationResponse`` of each response the conversation has applied by now."""
        for response in list(self._unsettled):
            held = response.conversation
            state = held.responses.get(response.id) if held is not None else None
            if state is not None or held is not conversation:  # found, or its conversation was replaced
                response.state, response.conversation = state, None
                self._unsettled.remove(response)

    # --- the views' reports ------------------------------------------------------------------------

    def audio_started(self, item_id: str, at_ms: float, arrived_s: float, arrived_wall_s: float) -> None:
        """A view rendered ``item_id``'s first sample at wall-clock ``at_ms`` (its ``audio.started`` notice,
        which reached the kernel at ``arrived_s`` on its clock and ``arrived_wall_s`` on its wall clock)."""
        if item_id not in self._first_sample:
            floor = self._item_first_audio.get(item_id)
            self._first_sample[item_id] = browser_to_kernel(at_ms, arrived_s, arrived_wall_s, floor)
            self._mark_item(item_id)

    def played(self, items: Mapping[str, Any], now: float) -> None:
        """A view's report of the ms rendered per item, arrived at ``now``.

        The last sample of an item counts as rendered at the arrival of the last report in which its played
        ms grew (when played reached what was received, or where a stop or barge-in cut it): approximate, as
        reports are throttled by the view (about every 300 ms, at once when an item's queued audio runs out,
        at a flush and at an item's first sample) and take the comm's trip to the kernel.
        """
        for item_id, ms in items.items():
            if not isinstance(item_id, str) or isinstance(ms, bool) or not isinstance(ms, int | float):
                continue
            if ms > self._played_ms.get(item_id, 0.0):
                self._played_ms[item_id] = float(ms)
                self._last_played[item_id] = now
                self._mark_item(item_id)

    def _mark_item(self, item_id: str) -> None:
        response_id = self._item_response.get(item_id)
        if response_id is not None:
            self.changed.add(response_id)

    def take_changed(self) -> list[str]:
        """The responses whose stages changed since the last call (a view's report may add one meanwhile,
        from a subshell's thread: it stays for the next call)."""
        ids = list(self.changed)
        self.changed.difference_update(ids)
        return ids

    # --- reading -----------------------------------------------------------------------------------

    def stages(self, response_id: str) -> dict[str, Any] | None:
        """:meth:`row` of one response (None when it is not known)."""
        response = self.responses.get(response_id)
        return None if response is None else self.row(response)

    def summary(self) -> dict[str, dict[str, float | None]]:
        """Per stage over every response: how many have it (``n``), its median and its p90 (nearest rank)."""
        rows = [self.row(response) for response in self.responses.values()]
        out: dict[str, dict[str, float | None]] = {}
        for stage in STAGES:
            values = sorted(row[stage] for row in rows if row[stage] is not None)
            n = len(values)
            out[stage] = {
                "n": n,
                "median_ms": round(statistics.median(values), 1) if values else None,
                "p90_ms": values[math.ceil(0.9 * n) - 1] if values else None,
            }
        return out

    def row(self, response: _Response) -> dict[str, Any]:
        """The stage columns of one response (no usage): ms from its turn start."""
        items = response.audio_items
        first_played = min((self._first_sample[i] for i in items if i in self._first_sample), default=None)
        last_played = max((self._last_played[i] for i in items if i in self._last_played), default=None)
        if first_played is not None and last_played is not None:
            last_played = max(last_played, first_played)  # a played report may overtake the audio.started
        times = (
            response.created,
            response.first_text,
            response.first_audio,
            first_played,
            last_played,
            response.done,
        )
        start = response.start
        stages = {
            name: None if t is None or start is None else round((t - start) * 1000.0, 1)
            for name, t in zip(STAGES, times, strict=True)
        }
        return {"turn": response.turn, **stages}


class Metrics:
    """A widget's timeline, price table and the rows, totals and summaries read from them.

    Created by the widget; sees every frame through :meth:`frame` (the shell's frame observer) and the views'
    playback reports as a second comm message handler.
    """

    def __init__(self, widget: RealtimeWidget) -> None:
        """Attach to ``widget``'s view messages; the shell passes frames to :meth:`frame`."""
        self._w = widget
        self.timeline = Timeline()
        self.prices: dict[str, dict[str, float]] = merge_prices(PRICES_USD_PER_1M_TOKENS, {})
        widget.on_msg(lambda _w, content, _buffers: self._on_view_msg(content))

    def frame(self, direction: str, event: Any, now: float) -> None:
        """A frame both ways (``event`` None for one that did not parse: not a stage of anything)."""
        if event is not None and direction in ("client", "server"):
            self.timeline.frame(direction, event, now, self._w._console.conversation)

    def _on_view_msg(self, content: Any) -> None:
        # May run on a subshell's thread (rtwidget.widget.loop): it only stamps the arrival and records it.
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        now = self._w._now()
        if kind == "audio.started":
            at_ms = content.get("at_ms")
            if isinstance(at_ms, int | float) and not isinstance(at_ms, bool):
                self.timeline.audio_started(str(content.get("item")), float(at_ms), now, time.time())
        elif kind == "played":
            items = content.get("items")
            self.timeline.played(items if isinstance(items, dict) else {}, now)
        elif kind in ("stop", "ptt.start"):  # what the view had rendered when it flushed
            played = content.get("played")
            self.timeline.played(played if isinstance(played, dict) else {}, now)
        else:
            return
        if self.timeline.changed:  # the views' timelines: the reports come after the last frame of a turn
            views = self._w._views
            if not self._w._kernel.hand_off(views.schedule_flush):
                views.schedule_flush()

    def set_prices(self, overrides: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace the overrides: the shipped table with ``overrides`` merged per model."""
        if not isinstance(overrides, Mapping):
            raise ValueError(
                f"prices are {{model: {{field: USD per 1M tokens}}}}, not {type(overrides).__name__}"
            )
        self.prices = merge_prices(PRICES_USD_PER_1M_TOKENS, overrides)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per response, in the order they were created."""
        self.timeline.settle(self._w._console.conversation)
        out = []
        for response in self.timeline.responses.values():
            state = response.state
            usage = state.usage if state is not None else None
            model = response.model or self._w.model
            out.append(
                {
                    "response_id": response.id,
                    "status": state.status if state is not None else None,
                    "model": model,
                    "session_id": response.session_id,
                    **usage_tokens(usage),
                    "cost_usd": cost_usd(usage, price_for(model, self.prices)),
                    **self.timeline.row(response),
                }
            )
        return out

    def table(self) -> Any:
        """:meth:`rows` as a pandas DataFrame when pandas can be imported, else the list itself."""
        rows = self.rows()
        try:
            import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]
        except ImportError:
            return rows
        columns = list(rows[0]) if rows else [*_ID_COLUMNS, *TOKEN_COLUMNS, "cost_usd", "turn", *STAGES]
        return pd.DataFrame(rows, columns=columns)

    def usage(self) -> dict[str, Any]:
        """Totals over every response: each token count summed, ``cost_usd`` summed over the priced ones."""
        rows = self.rows()
        totals: dict[str, Any] = {"responses": len(rows)}
        for name in TOKEN_COLUMNS:
            totals[name] = sum(row[name] or 0 for row in rows)
        costs = [row["cost_usd"] for row in rows if row["cost_usd"] is not None]
        totals["cost_usd"] = sum(costs) if costs else None
        totals["unpriced_responses"] = len(rows) - len(costs)
        return totals

    def latency_summary(self) -> dict[str, dict[str, float | None]]:
        """Per stage: how many responses have it (``n``), its median and its p90 (nearest rank), in ms."""
        return self.timeline.summary()

    def rate_limits(self) -> dict[str, dict[str, Any]]:
        """The latest ``rate_limits.updated`` by limit name (the conversation keeps the last one)."""
        limits = self._w._console.conversation.rate_limits
        return {str(limit.get("name")): dict(limit) for limit in limits}


def _response_id(event: Any) -> str | None:
    response = event.wire().get("response")
    return _str(response.get("id")) if isinstance(response, dict) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class MetricsMethods:
    """RealtimeWidget's usage, cost and latency API (the bookkeeping is :class:`Metrics`)."""

    _metrics: Metrics

    @property
    def metrics(self) -> Any:
        """One row per response: usage, ``cost_usd``, latency stages in ms from the turn start (None where a
        stage does not apply); a pandas DataFrame when pandas is installed, else a list of dicts."""
        return self._metrics.table()

    @property
    def usage(self) -> dict[str, Any]:
        """Token counts and ``cost_usd`` summed over every response of this console (``metrics``' rows)."""
        return self._metrics.usage()

    @property
    def prices(self) -> dict[str, dict[str, float]]:
        """USD per 1M tokens by model (``rtwidget.protocol.prices``); assign ``{model: {field: usd}}`` to
        override: merged per model into the shipped table (each assignment replaces the last)."""
        return {model: dict(fields) for model, fields in self._metrics.prices.items()}

    @prices.setter
    def prices(self, overrides: Mapping[str, Mapping[str, float]]) -> None:
        self._metrics.set_prices(overrides)

    @property
    def rate_limits(self) -> dict[str, dict[str, Any]]:
        """The session's latest ``rate_limits.updated``, by limit name (``limit``, ``remaining``, ...)."""
        return self._metrics.rate_limits()

    def latency_summary(self) -> dict[str, dict[str, float | None]]:
        """Per latency stage over this console's responses: ``n``, ``median_ms`` and ``p90_ms``."""
        return self._metrics.latency_summary()
