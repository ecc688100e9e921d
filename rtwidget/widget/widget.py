"""RealtimeWidget: the notebook console, an I/O shell on the kernel's own asyncio loop.

The shell owns the traits, the comm and the hand-off of view messages to the kernel loop; what the console
knows lives in :class:`~rtwidget.widget.console.ConsoleState` (sans I/O), and the messages between the
kernel and the views are documented in :mod:`rtwidget.widget.view`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import Coroutine, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anywidget
import traitlets

from rtwidget.widget import lifecycle, recording, voice
from rtwidget.widget import replay as replaying  # the module; RealtimeWidget.replay is the classmethod
from rtwidget.widget.compare import CompareMethods
from rtwidget.widget.console import DEFAULT_KEEP_AUDIO_S, AudioTrack, ConsoleState, Item, jsonable
from rtwidget.widget.hub import EventHub, Handler
from rtwidget.widget.items import wall_clock
from rtwidget.widget.log import LogEntry, redact
from rtwidget.widget.loop import KernelLoop, awaited, reported
from rtwidget.widget.metrics import Metrics, MetricsMethods
from rtwidget.widget.replay import ReplayMethods
from rtwidget.widget.rerun import RerunMethods
from rtwidget.widget.tools import ToolMethods, ToolRunner
from rtwidget.widget.turns import ResponseQueue, TextMethods
from rtwidget.widget.view import ViewSync
from rtwidget.widget.viewinput import ViewMessageError, apply_outcome, route_view_message
from rtwidget.widget.voice import VoiceMethods

if TYPE_CHECKING:
    from rtwidget.protocol.conversation import Conversation

__all__ = ["AudioTrack", "Item", "LogEntry", "RealtimeWidget"]

HERE = Path(__file__).parent
ESM_FILES = ("capture.js", "conversation.js", "latency.js", "widget.js")
"""The files of the ES module, in the order they are joined (only the last one exports)."""


class RealtimeWidget(  # the mixins hold the feature APIs; the shell below stays small
    TextMethods,
    VoiceMethods,
    ToolMethods,
    ReplayMethods,
    RerunMethods,
    CompareMethods,
    MetricsMethods,
    anywidget.AnyWidget,
):
    """A live console for a Realtime-protocol server; also an awaitable API on the running kernel loop.

    With no ``api_key``, no ``url``, no ``config`` and no ``OPENAI_API_KEY`` in the environment, ``connect()``
    starts the bundled simulator on the kernel loop. ``OPENAI_API_KEY`` set -> OpenAI GA. Otherwise pass
    ``url`` (any compatible server) or a ready ``rtwidget.client.ClientConfig``.

    The API key lives in a private attribute only: never in a trait (traits are saved in the notebook),
    the log, an export, a repr or an exception message.
    """

    # One ES module from ESM_FILES (no build step): capture.js the microphone, conversation.js and latency.js
    # the conversation panel with its latency, widget.js the console and the module's export.
    _esm = "\n".join((HERE / name).read_text(encoding="utf-8") for name in ESM_FILES)
    _css = HERE / "widget.css"

    status = traitlets.Unicode("idle").tag(sync=True)
    close_code = traitlets.Int(None, allow_none=True).tag(sync=True)
    close_reason = traitlets.Unicode("").tag(sync=True)
    close_hint = traitlets.Unicode("").tag(sync=True)
    model_notice = traitlets.Unicode("").tag(sync=True)
    backend = traitlets.Unicode("").tag(sync=True)
    model = traitlets.Unicode("").tag(sync=True)
    dialect = traitlets.Unicode("ga").tag(sync=True)
    error_count = traitlets.Int(0).tag(sync=True)
    # Not synced: the views get errors.append and errors.window messages (a synced list is resent whole).
    errors = traitlets.List(traitlets.Dict())
    # The reply's status and item; its text goes to the views as reply.text increments.
    reply = traitlets.Dict().tag(sync=True)
    session_effective = traitlets.Dict().tag(sync=True)
    session_requested = traitlets.Dict().tag(sync=True)
    session_diff = traitlets.List(traitlets.Dict()).tag(sync=True)
    form_error = traitlets.Unicode("").tag(sync=True)
    form_notice = traitlets.Unicode("").tag(sync=True)
    talk_notice = traitlets.Unicode("").tag(sync=True)
    mic_rate = traitlets.Int(24000).tag(sync=True)
    mic_chunk_ms = traitlets.Int(voice.CHUNK_MS, min=voice.MIN_CHUNK_MS, max=voice.MAX_CHUNK_MS).tag(
        sync=True
    )
    log_filter = traitlets.Unicode("all").tag(sync=True)
    log_search = traitlets.Unicode("").tag(sync=True)
    preroll_ms = traitlets.Int(100).tag(sync=True)
    tolerated_count = traitlets.Int(0).tag(sync=True)
    # One AudioContext per widget: the front end keys it by this id (anywidget proxies differ per view).
    _rt_id = traitlets.Unicode().tag(sync=True)

    @traitlets.default("_rt_id")
    def _default_rt_id(self) -> str:
        return uuid.uuid4().hex

    def __init__(  # noqa: PLR0917 - the documented positional order (README, docs/architecture.md)
        self,
        url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        dialect: str = "ga",
        config: Any = None,
        simulator_speed: float = 1.0,
        *,
        factory: Any = None,
        simulator_first_audio_ms: float = 0.0,
        keep_audio_s: float = DEFAULT_KEEP_AUDIO_S,
        close_without_view: bool = True,
        **kwargs: Any,
    ) -> None:
        """Create the console; nothing connects until ``connect()`` (or the Connect button).

        Args:
            url: WebSocket URL of a compatible server (``ws://…/v1/realtime``).
            api_key: API key for the server; kept private (see the class docstring).
            model: Model name (default ``rtwidget.protocol.catalog.DEFAULT_MODEL``, ``gpt-realtime-2``).
            dialect: ``"ga"`` (default) or ``"beta"``.
            config: A ready ``rtwidget.client.ClientConfig`` (overrides url/api_key/model/dialect).
            simulator_speed: Pace of the embedded simulator (1.0 = real time).
            simulator_first_audio_ms: The embedded simulator's time to first audio: each reply's first
                delta comes this long after its ``response.created`` (at speed 1; real models take
                300-2000 ms). 0 (default): with the reply's first events.
            factory: Transport factory handed to ``rtwidget.client.connect`` (tests, custom transports).
            keep_audio_s: Most received audio kept in the kernel, in seconds (default half an hour, see
                ``rtwidget.widget.console.DEFAULT_KEEP_AUDIO_S``); past it the oldest items' audio is
                dropped, a ``local.audio_dropped`` log row says so, and the log keeps sizes and durations.
                The log holds as much sent audio (the appends), under the same rule.
            close_without_view: Close the connection when the console's last view has been gone for a
                moment (its cell re-run or its output cleared; see rtwidget.widget.lifecycle).
            **kwargs: Trait values (e.g. ``preroll_ms``).
        """
        if dialect not in ("ga", "beta"):
            raise ValueError(f"dialect must be 'ga' or 'beta', not {dialect!r}")
        from rtwidget.client.backend import resolve_backend

        self._backend = resolve_backend(url, api_key, config, model=model, dialect=dialect)  # type: ignore[arg-type]
        self._simulator_speed = simulator_speed
        self._simulator_first_audio_ms = simulator_first_audio_ms
        self._factory = factory
        super().__init__(
            model=self._backend.model, dialect=self._backend.dialect, backend=self._backend.label, **kwargs
        )
        self._console = ConsoleState(self._wire_dialect, self._secrets(), keep_audio_s)
        # The kernel loop (a cell runs on it): the connection, the simulator and every future and task of
        # this widget live there, and view messages that arrive on another thread are handed over to it.
        self._kernel = KernelLoop(lambda code, message: self._local_error(code, self._scrub(message)))
        self._conn: Any = None
        self._stack: AsyncExitStack | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._closing_by_us = False
        self._fail_hint = ""  # set when the widget itself ends a connection as failed (no session.created)
        self._t0: float | None = None
        self._hub = EventHub(
            lambda result: self._spawn(awaited(result)),
            lambda code, message: self._local_error(code, self._scrub(message)),
        )
        self._event_ids = itertools.count(1)
        self._apply_id: str | None = None  # event_id of the form's last session.update, until answered
        self._responses = ResponseQueue()
        self._outbox = voice.Outbox(self)
        self._ready = False
        self._views = ViewSync(self)
        self.close_without_view = close_without_view
        self._presence = lifecycle.ViewPresence(self._kernel, lambda: lifecycle.close_viewless(self))
        self._session_timer = lifecycle.Timer(self._kernel)
        self._tools = ToolRunner(self)
        self._metrics = Metrics(self)
        self.on_msg(self._on_view_msg)
        self.on_msg(lambda _w, content, buffers: replaying.on_view_msg(self, content, buffers))
        self.observe(self._views.on_filter, names=["log_filter", "log_search"])

    # --- configuration ---------------------------------------------------------------------------

    @property
    def _wire_dialect(self) -> Literal["ga", "beta"]:
        return "beta" if self.dialect == "beta" else "ga"

    def _secrets(self) -> list[str]:
        return list(self._backend.secrets)

    def _scrub(self, text: str) -> str:
        return str(redact(text, self._secrets()))

    def _make_config(self, sim_url: str | None) -> Any:
        config = self._backend.config_for(sim_url)
        changes = {
            k: v
            for k, v in (("model", self.model), ("dialect", self._wire_dialect))
            if getattr(config, k) != v
        }
        return config.replace(**changes) if changes else config

    def __repr__(self) -> str:
        return (
            f"RealtimeWidget(status={self.status!r}, backend={self.backend!r}, model={self.model!r}, "
            f"dialect={self.dialect!r}, events={len(self._log.entries)})"
        )

    # --- public API ------------------------------------------------------------------------------

    @property
    def _log(self) -> Any:
        return self._console.log

    @property
    def events(self) -> list[LogEntry]:
        """Every log entry so far (a copy of the list): direction, type, time since connect, data."""
        return list(self._log.entries)  # deltas kept compactly are made into entries again

    @property
    def conversation(self) -> Conversation:
        """Conversation state (``rtwidget.protocol.Conversation``) rebuilt from this session's events."""
        return self._console.conversation

    @property
    def items(self) -> list[Item]:
        """Conversation items with their text and received audio (``.audio``: numpy float32, 24 kHz)."""
        return self._console.items()

    @property
    def audio_stats(self) -> dict[str, dict[str, float | None]]:
        """Per audio item: ms received, ms played (browser report), wall times of first delta and sample."""
        return self._console.audio_stats()

    @property
    def connected(self) -> bool:
        """Whether the connection is open."""
        return self._conn is not None and self.status == "open"

    def on(self, type_: str, handler: Handler | None = None) -> Any:
        """Call ``handler(event)`` for each server event of ``type_`` (``"*"`` for all); sync or async.

        Usable as a decorator: ``@w.on("response.done")``. Returns the handler.
        """
        if handler is not None:
            return self._hub.on(type_, handler)
        return lambda fn: self._hub.on(type_, fn)

    def off(self, type_: str, handler: Handler) -> None:
        """Remove a handler registered with ``on``."""
        self._hub.off(type_, handler)

    async def connect(self) -> None:
        """Open the connection (starting the embedded simulator if that is the backend); no-op when open."""
        if self._conn is not None and self.status == "open":
            return
        if self._connecting is not None and not self._connecting.done():
            await asyncio.shield(self._connecting)
            return
        self._loop = asyncio.get_running_loop()
        self._connecting = task = asyncio.ensure_future(self._do_connect())
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and (current is None or not current.cancelling()):
                raise reported(
                    ConnectionError("the connect was cancelled by disconnect() or close()")
                ) from None
            raise

    async def _do_connect(self) -> None:
        await lifecycle.open_connection(self)

    async def disconnect(self) -> None:
        """Close the connection (and stop the embedded simulator)."""
        conn = self._conn
        if conn is None:
            pending = self._connecting
            if pending is not None and not pending.done():  # a connect under way: call it off
                self._closing_by_us = True
                pending.cancel()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await pending
            return
        self._closing_by_us = True
        self.status = "closing"
        with contextlib.suppress(Exception):
            await conn.close()
        if self._reader is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._reader

    async def send_event(self, event: Mapping[str, Any] | Any) -> Any:
        """Validate and send one client event (a dict or a typed event); refused with a clear error otherwise.

        An ``event_id`` is added when missing, so server errors can be linked to the event that caused them.
        Raises ``rtwidget.protocol.ValidationError`` (nothing sent) or ``RuntimeError`` when not connected.
        (Named ``send_event``, not ``send``: ``ipywidgets.Widget.send`` is the comm's message method.)
        """
        from rtwidget.protocol import ProtocolError, ValidationError, validate_client_event

        if not isinstance(event, Mapping) and not callable(getattr(event, "to_dict", None)):
            message = f"an event is a dict or a typed client event, not {type(event).__name__}"
            self._local_error("refused", message)
            raise reported(ValidationError(message, code="invalid_event")) from None
        data = dict(event) if isinstance(event, Mapping) else dict(event.to_dict())
        if "event_id" not in data:
            data["event_id"] = f"evt_rtw_{next(self._event_ids)}"
        try:
            typed = validate_client_event(data, dialect=self._wire_dialect)
            voice.check_append(self, typed)  # what the protocol cannot know: the session's input format
        except ProtocolError as exc:
            message = self._scrub(str(exc))
            self._local_error("refused", f"{data.get('type')}: {message}", data={"refused": message})
            raise reported(exc.reworded(self._scrub)) from None  # its path and code kept
        return await self._send_valid(typed, data)

    async def _send_valid(self, typed: Any, data: dict[str, Any], audio: bytes | None = None) -> Any:
        if self._conn is None or self.status != "open":
            raise RuntimeError("not connected: call `await w.connect()` first")
        self._responses.sent(data)
        sent = await self._conn._send_checked(typed)  # valid for this dialect
        self._console.conversation.sent(data, audio)  # input audio: the server never echoes it
        return sent

    async def update_session(
        self, session: Mapping[str, Any] | None = None, *, event_id: str | None = None, **fields: Any
    ) -> None:
        """Send ``session.update`` with the given session fields (GA shape; ``fields`` merged in).

        ``event_id`` is sent with the event (default: a fresh one), so a server error names it.

        Raises ``rtwidget.protocol.ValidationError`` naming the field (nothing sent) if a value is invalid.
        """
        body = self._tools.session_body({**(session or {}), **fields})
        if self.dialect == "ga":
            body.setdefault("type", "realtime")
        event: dict[str, Any] = {"type": "session.update", "session": body}
        if event_id is not None:
            event["event_id"] = event_id
        before = self._console.session_requested
        # Set before the send: the session.updated that answers may be read while the send completes.
        self._console.session_requested = self.session_requested = redact(jsonable(body), self._secrets())
        try:
            await self.send_event(event)
        except Exception:  # refused (or not sent): what was asked before stays asked
            self._console.session_requested = self.session_requested = before
            raise

    async def wait_for(
        self,
        type_: str,
        timeout: float | None = 30.0,  # noqa: ASYNC109 - the documented API: wait_for(type, timeout)
        *,
        since: int | None = None,
    ) -> Any:
        """The first server event of ``type_`` logged after the last event this widget sent.

        ``since`` (a log index) overrides the starting point, e.g. ``since=0`` for the whole log. Events that
        already arrived count, so a wait in a later cell does not miss a fast reply. Raises ``TimeoutError``,
        or ``ConnectionError`` (with the close code, reason and a hint) as soon as the connection is gone.
        """
        start = self._console.last_sent_index + 1 if since is None else since
        past = (e.event for e in self._log.entries[start:] if e.direction == "server" and e.type == type_)
        found = next((event for event in past if event is not None), None)
        if found is not None:
            return found
        if self._conn is None and self.status in ("closed", "failed"):
            raise ConnectionError(self._closed_message())
        return await self._hub.wait(type_, timeout)

    def export_log(self, path: str | Path, audio: bool = True) -> int:
        """Write the session as JSONL (docs/recording-format.md), keys redacted; ``audio=False`` leaves audio
        payloads out (their sizes stay). Returns the number of entries; ``RealtimeWidget.replay`` reads it."""
        return recording.write(self, path, audio=audio)

    def clear_log(self) -> None:
        """Clear the console's log view (``events`` keeps every entry)."""
        self._log.clear()
        self._console.clear_errors()
        self._views.sync()
        if self._ready:
            self._views.post({"type": "log.window", "view": "*", **self._log.tail(300)})

    # --- function tools (methods: rtwidget.widget.tools.ToolMethods) ------------------------------

    tool_auto_respond = traitlets.Bool(True)
    """Ask for a response once every tool call of a response has its output (per tool: ``respond=``)."""

    # --- frames in and out -----------------------------------------------------------------------

    def _now(self) -> float:
        return 0.0 if self._t0 is None else time.monotonic() - self._t0

    def _on_frame(self, direction: str, raw: str | bytes, event: Any, error: Exception | None) -> None:
        """Log every frame both ways (called synchronously by the connection)."""
        now = self._now()
        self._console.frame(direction, raw, event, error, now)
        self._metrics.frame(direction, event, now)
        self._views.sync()
        self._views.schedule_flush()

    def _handle_event(self, event: Any) -> None:
        if event.type == "session.created":
            self._session_timer.cancel()
        apply_outcome(self, event)
        if self._responses.received(event):
            self.talk_notice = ""
            self._spawn(self.send_event({"type": "response.create"}))
        self._console.event(event, wall_clock())
        voice.on_event(self, event)  # after the console: it reads the session and the audio state
        if self._console.audio_end_pending:
            self._views.send_audio()  # the end of an item's audio: forward what waits now, then the end
        elif self._console.audio_pending:
            self._views.schedule_audio()
        self._views.sync()
        self._tools.event(event)  # first: a new session's tools go out before a waiting cell's next event
        self._hub.publish(event)
        if "reply" in self._console.dirty:
            self._views.schedule_flush()

    def _fail_waiters(self) -> None:
        self._hub.fail(self._closed_message())

    def _closed_message(self) -> str:
        why = f"closed {self.close_code}" if self.close_code is not None else self.status
        reason = f" {self.close_reason}" if self.close_reason else ""
        hint = f" - {self.close_hint}" if self.close_hint else ""
        return f"the connection to {self.backend} is {why}{reason}{hint}"

    # --- local entries and errors ----------------------------------------------------------------

    def _local(self, type_: str, data: dict[str, Any]) -> None:
        self._console.local(type_, data, self._now())
        self._views.schedule_flush()

    def _local_error(self, code: str, message: str, data: dict[str, Any] | None = None) -> None:
        self._console.local_error(code, message, self._now(), data)
        self._views.sync()
        self._views.schedule_flush()

    # --- view messages ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the widget's comm; an open (or opening) connection is closed too, on the running loop."""
        live = getattr(self, "_conn", None) is not None or (
            getattr(self, "_connecting", None) is not None and not self._connecting.done()  # type: ignore[union-attr]
        )
        if live and self._loop is not None and self._loop.is_running():
            # A comm close may arrive over a subshell thread: the disconnect runs where the connection lives.
            self._spawn(self.disconnect())
        super().close()

    def _on_view_msg(self, _widget: Any, content: Any, buffers: list[bytes]) -> None:
        if self._kernel.hand_off(self._on_view_msg, _widget, content, buffers):
            return  # arrived on a subshell's thread (see rtwidget.widget.loop): handled on the kernel loop
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        view = content.get("view")
        if "seq" in content:
            self._views.post({"type": "ack", "seq": content["seq"], "view": view})
        self._kernel.adopt()
        try:
            route_view_message(self, kind, view, content, buffers)
        except ViewMessageError as exc:
            self._local_error("view_message", self._scrub(f"{kind}: {exc}"))
        except Exception as exc:
            self._local_error("view_message", self._scrub(f"{kind}: {type(exc).__name__}: {exc}"))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._kernel.spawn(coro)

    @property
    def _loop(self) -> asyncio.AbstractEventLoop | None:
        return self._kernel.loop

    @_loop.setter
    def _loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._kernel.loop = loop
