"""RealtimeWidget: the notebook console, driven by an async connection on the kernel's own asyncio loop.

View protocol (anywidget custom messages; every name below is part of the contract with widget.js):

Traits (small state a new view rebuilds from): ``status``, ``close_code``, ``close_reason``, ``backend``,
``model``, ``dialect``, ``error_count``, ``errors`` (last 50), ``reply``, ``session_effective``,
``session_requested``, ``session_diff``, ``form_error``, ``log_filter``, ``log_search``, ``preroll_ms``.

Browser -> kernel (UI actions carry ``seq`` and are acknowledged at once with ``ack``; an action left
unacknowledged for a second means a cell is running, and the view says "kernel busy — waiting"):
    {type: "ready", view, limit}                       -> log.window for that view (the handshake: the kernel
                                                          sends no custom message before the first ready)
    {type: "connect" | "disconnect" | "clear", seq}
    {type: "send_text", seq, text, respond}
    {type: "apply", seq, session}                      GA session object from the form
    {type: "stop", seq, played: {item_id: ms}, item}
    {type: "log.window", view, req, limit}             tail
    {type: "log.page", view, req, before | after: row_id, limit}
    {type: "log.around", view, req, row, limit}
    {type: "log.detail", view, req, row, member}
    {type: "played", items: {item_id: ms}, underruns, buffered_ms}   throttled by the view (~100 ms)
    {type: "audio.started", item, at_ms}               wall-clock ms of the first rendered sample of an item
Kernel -> browser:
    {type: "ack", seq, view}
    {type: "log.append", rows, updates, total}         batched every FLUSH_S while the log changes
    {type: "log.window", view, rows, offset, total, tail}   view "*" = every view (filter change, clear)
    {type: "log.page", view, dir: "older" | "newer", rows, offset, total, tail}
    {type: "log.detail", view, row, member, count, entry, json, text?, cause?}
    {type: "audio", item} + buffers [PCM16 LE 24 kHz bytes]   one per received delta, sent at once
    {type: "audio.end", item}                          no more audio for now: release the pre-roll gate
    {type: "audio.flush", item}                        Stop: drop what is buffered, ignore that item from now
Row JSON: {i: row id, d: "c"|"s"|"l", t: seconds, y: type, n: members, b: bytes, ms: audio ms,
           s: summary, f: flags (e error, u unknown type, x bad frame), c: row of the causing client event}.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import os
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anywidget
import traitlets

from rtwidget.protocol import dialect_names
from rtwidget.widget.log import (
    AUDIO_PAYLOAD_TYPES,
    FILTER_PRESETS,
    TEXT_DELTA_TYPES,
    EventLog,
    LogEntry,
    b64_decoded_len,
    redact,
    summarize,
)
from rtwidget.widget.session import audio_format_of, ga_session_to_beta, session_diff

if TYPE_CHECKING:
    import numpy as np
    from IPython.display import Audio

__all__ = ["AudioTrack", "Item", "LogEntry", "RealtimeWidget"]

HERE = Path(__file__).parent
SAMPLE_RATE_HZ = 24_000
PCM16_BYTES_PER_MS = 48
G711_RATE_HZ = 8_000
FLUSH_S = 0.05
MAX_ERRORS_SHOWN = 50
WINDOW_LIMIT_MAX = 1000
OUTPUT_AUDIO_DELTAS = dialect_names("response.output_audio.delta")
OUTPUT_AUDIO_DONE = dialect_names("response.output_audio.done")
REPLY_TEXT_DELTAS = dialect_names("response.output_text.delta", "response.output_audio_transcript.delta")
_REPLY_STATUS = {
    "completed": "done",
    "cancelled": "cancelled",
    "incomplete": "incomplete",
    "failed": "failed",
}

Handler = Callable[[Any], Any]


@dataclass
class AudioTrack:
    """Output audio received for one item, and what the browser reported as played."""

    item_id: str
    content_index: int = 0
    response_id: str | None = None
    chunks: list[bytes] = field(default_factory=list)
    received_bytes: int = 0
    played_ms: float = 0.0
    first_delta_at: float | None = None
    first_sample_at: float | None = None
    stopped: bool = False

    @property
    def received_ms(self) -> float:
        """Milliseconds of audio received (PCM16 at 24 kHz, after any G.711 decoding)."""
        return self.received_bytes / PCM16_BYTES_PER_MS


@dataclass
class Item:
    """A conversation item as the notebook sees it: text and audio ready to use.

    Attributes:
        id: The item id.
        type: ``message``, ``function_call``, ``function_call_output``...
        role: ``user``, ``assistant``, ``system`` or None.
        status: The item's status as last reported.
        text: Text or transcript of the item's content (arguments/output for function calls).
        audio: Received audio as float32 samples in [-1, 1] at ``rate_hz``, or None.
        truncated_ms: Where the item was truncated (``conversation.item.truncated``), or None.
    """

    id: str
    type: str
    role: str | None
    status: str | None
    text: str
    audio: np.ndarray | None
    truncated_ms: int | None = None
    rate_hz: int = SAMPLE_RATE_HZ

    @property
    def player(self) -> Audio | None:
        """An ``IPython.display.Audio`` player for the item's audio (None without audio)."""
        if self.audio is None or not len(self.audio):
            return None
        from IPython.display import Audio

        return Audio(data=self.audio, rate=self.rate_hz, normalize=False)  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        audio = f", {len(self.audio) / self.rate_hz:.2f} s audio" if self.audio is not None else ""
        return f"Item({self.id!r}, {self.type}/{self.role}, {self.status}, {self.text[:60]!r}{audio})"


class RealtimeWidget(anywidget.AnyWidget):
    """A live console for a Realtime-protocol server; also an awaitable API on the running kernel loop.

    With no ``api_key``, no ``url``, no ``config`` and no ``OPENAI_API_KEY`` in the environment, ``connect()``
    starts the bundled simulator on the kernel loop. ``OPENAI_API_KEY`` set -> OpenAI GA. Otherwise pass
    ``url`` (any compatible server) or a ready ``rtwidget.client.ClientConfig``.

    The API key lives in a private attribute only: never in a trait (traits are saved in the notebook),
    the log, an export, a repr or an exception message.
    """

    _esm = HERE / "widget.js"
    _css = HERE / "widget.css"

    status = traitlets.Unicode("idle").tag(sync=True)
    close_code = traitlets.Int(None, allow_none=True).tag(sync=True)
    close_reason = traitlets.Unicode("").tag(sync=True)
    backend = traitlets.Unicode("").tag(sync=True)
    model = traitlets.Unicode("").tag(sync=True)
    dialect = traitlets.Unicode("ga").tag(sync=True)
    error_count = traitlets.Int(0).tag(sync=True)
    errors = traitlets.List(traitlets.Dict()).tag(sync=True)
    reply = traitlets.Dict().tag(sync=True)
    session_effective = traitlets.Dict().tag(sync=True)
    session_requested = traitlets.Dict().tag(sync=True)
    session_diff = traitlets.List(traitlets.Dict()).tag(sync=True)
    form_error = traitlets.Unicode("").tag(sync=True)
    log_filter = traitlets.Unicode("all").tag(sync=True)
    log_search = traitlets.Unicode("").tag(sync=True)
    preroll_ms = traitlets.Int(100).tag(sync=True)
    # One AudioContext per widget: the front end keys it by this id (anywidget proxies differ per view).
    _rt_id = traitlets.Unicode().tag(sync=True)

    @traitlets.default("_rt_id")
    def _default_rt_id(self) -> str:
        return uuid.uuid4().hex

    def __init__(  # noqa: PLR0917 - API.md fixes this positional order
        self,
        url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        dialect: str = "ga",
        config: Any = None,
        simulator_speed: float = 1.0,
        *,
        factory: Any = None,
        **kwargs: Any,
    ) -> None:
        """Create the console; nothing connects until ``connect()`` (or the Connect button).

        Args:
            url: WebSocket URL of a compatible server (``ws://…/v1/realtime``).
            api_key: API key for the server; kept private (see the class docstring).
            model: Model name (default ``gpt-realtime``).
            dialect: ``"ga"`` (default) or ``"beta"``.
            config: A ready ``rtwidget.client.ClientConfig`` (overrides url/api_key/model/dialect).
            simulator_speed: Pace of the embedded simulator (1.0 = real time).
            factory: Transport factory handed to ``rtwidget.client.connect`` (tests, custom transports).
            **kwargs: Trait values (e.g. ``preroll_ms``).
        """
        if dialect not in ("ga", "beta"):
            raise ValueError(f"dialect must be 'ga' or 'beta', not {dialect!r}")
        env_key = os.environ.get("OPENAI_API_KEY") or None
        self._url = url
        self._api_key = (
            api_key if api_key is not None else (env_key if url is None and config is None else None)
        )
        self._explicit_config = config
        self._simulator_speed = simulator_speed
        self._factory = factory
        self._embedded = config is None and url is None and self._api_key is None
        cfg_model = getattr(config, "model", None)
        cfg_dialect = getattr(config, "dialect", None)
        super().__init__(
            model=model or cfg_model or "gpt-realtime",
            dialect=cfg_dialect or dialect,
            backend=self._backend_label(),
            **kwargs,
        )
        self._log = EventLog()
        self._log.secrets = self._secrets()
        # The kernel loop (a cell runs on it): the connection, the simulator and every future and task of
        # this widget live there, and view messages that arrive on another thread are handed over to it.
        self._loop: asyncio.AbstractEventLoop | None = _running_loop()
        self._conn: Any = None
        self._stack: AsyncExitStack | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._closing_by_us = False
        self._t0: float | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._handlers: dict[str, list[Handler]] = {}
        self._waiters: list[tuple[str, int, asyncio.Future[Any]]] = []
        self._event_ids = itertools.count(1)
        self._client_rows: dict[str, int] = {}
        self._ready = False
        self._flush_handle: asyncio.TimerHandle | None = None
        self._reply_dirty = False
        self._reply_state: dict[str, Any] = {}
        self._response_id: str | None = None
        self._audio: dict[str, AudioTrack] = {}
        self._last_audio_item: str | None = None
        self._audio_format = "pcm16"
        self._last_sent_index = -1
        self._conversation: Any = None
        self._conversation_failed: set[str] = set()
        self._truncated: dict[str, int] = {}
        self.on_msg(self._on_view_msg)
        self.observe(self._on_filter, names=["log_filter", "log_search"])

    # --- configuration ---------------------------------------------------------------------------

    def _backend_label(self) -> str:
        if self._embedded:
            return "local simulator"
        url = self._url or getattr(self._explicit_config, "url", None)
        if url is None and self._explicit_config is not None:
            with contextlib.suppress(Exception):
                url = self._explicit_config.ws_url()
        if not url:
            return "api.openai.com"
        # Host only: a query string may carry a key (Azure accepts ``api-key=`` there).
        return urllib.parse.urlsplit(str(url)).hostname or "custom"

    @property
    def _wire_dialect(self) -> Literal["ga", "beta"]:
        return "beta" if self.dialect == "beta" else "ga"

    def _secrets(self) -> list[str]:
        secrets = [s for s in (self._api_key, getattr(self._explicit_config, "api_key", None)) if s]
        return [str(s) for s in secrets]

    def _scrub(self, text: str) -> str:
        return str(redact(text, self._secrets()))

    def _make_config(self, sim_url: str | None) -> Any:
        from rtwidget.client import ClientConfig

        if self._explicit_config is not None:
            return self._explicit_config
        dialect = self._wire_dialect
        if sim_url is not None:
            return ClientConfig(url=sim_url, model=self.model, dialect=dialect, provider="custom")
        if self._url is not None:
            return ClientConfig(
                url=self._url, api_key=self._api_key, model=self.model, dialect=dialect, provider="custom"
            )
        return ClientConfig(api_key=self._api_key, model=self.model, dialect=dialect, provider="openai")

    def __repr__(self) -> str:
        return (
            f"RealtimeWidget(status={self.status!r}, backend={self.backend!r}, model={self.model!r}, "
            f"dialect={self.dialect!r}, events={len(self._log.entries)})"
        )

    # --- public API ------------------------------------------------------------------------------

    @property
    def events(self) -> list[LogEntry]:
        """Every log entry so far (a copy of the list): direction, type, time since connect, data."""
        return list(self._log.entries)

    @property
    def conversation(self) -> Any:
        """Conversation state (``rtwidget.protocol.conversation.Conversation``) rebuilt from server events."""
        if self._conversation is None:
            from rtwidget.protocol.conversation import Conversation

            self._conversation = Conversation(dialect=self._wire_dialect)
        return self._conversation

    def _apply_to_conversation(self, event: Any) -> None:
        if "*" in self._conversation_failed:
            return
        try:
            self.conversation.apply(event)
        except ImportError as exc:
            self._conversation_failed.add("*")
            self._local_error("conversation", self._scrub(f"conversation state unavailable: {exc}"))
        except Exception as exc:
            # Reported once per event type: the log and playback go on even if conversation state cannot.
            if event.type in self._conversation_failed:
                return
            self._conversation_failed.add(event.type)
            self._local_error("conversation", self._scrub(f"{event.type}: {type(exc).__name__}: {exc}"))

    @property
    def items(self) -> list[Item]:
        """Conversation items with their text and received audio (numpy float32, 24 kHz)."""
        import numpy as np

        out = []
        for it in getattr(self.conversation, "items", []) or []:
            item_id = str(_get(it, "id", ""))
            track = self._audio.get(item_id)
            audio = None
            if track is not None and track.chunks:
                pcm = b"".join(track.chunks)
                audio = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
            out.append(
                Item(
                    id=item_id,
                    type=str(_get(it, "type", "")),
                    role=_get(it, "role", None),
                    status=_get(it, "status", None),
                    text=_item_text(it),
                    audio=audio,
                    truncated_ms=self._truncated.get(item_id),
                )
            )
        return out

    @property
    def audio_stats(self) -> dict[str, dict[str, float | None]]:
        """Per audio item: ms received, ms played (browser report), wall times of first delta and sample."""
        return {
            k: {
                "received_ms": t.received_ms,
                "played_ms": t.played_ms,
                "first_delta_at": t.first_delta_at,
                "first_sample_at": t.first_sample_at,
            }
            for k, t in self._audio.items()
        }

    @property
    def connected(self) -> bool:
        """Whether the connection is open."""
        return self._conn is not None and self.status == "open"

    def on(self, type_: str, handler: Handler | None = None) -> Any:
        """Call ``handler(event)`` for each server event of ``type_`` (``"*"`` for all); sync or async.

        Usable as a decorator: ``@w.on("response.done")``. Returns the handler.
        """

        def register(fn: Handler) -> Handler:
            self._handlers.setdefault(type_, []).append(fn)
            return fn

        return register(handler) if handler is not None else register

    def off(self, type_: str, handler: Handler) -> None:
        """Remove a handler registered with ``on``."""
        with contextlib.suppress(KeyError, ValueError):
            self._handlers[type_].remove(handler)

    async def connect(self) -> None:
        """Open the connection (starting the embedded simulator if that is the backend); no-op when open."""
        if self._conn is not None and self.status == "open":
            return
        if self._connecting is not None and not self._connecting.done():
            await asyncio.shield(self._connecting)
            return
        self._loop = asyncio.get_running_loop()
        self._connecting = asyncio.ensure_future(self._do_connect())
        await asyncio.shield(self._connecting)

    async def _do_connect(self) -> None:
        from rtwidget.client import connect

        self.status = "connecting"
        self.close_code = None
        self.close_reason = ""
        self._t0 = time.monotonic()
        self._closing_by_us = False
        # A new connection is a new server session: conversation and reply start afresh (the log goes on).
        self._conversation = None
        self._conversation_failed.clear()
        self._reply_state = {}
        self._response_id = None
        stack = AsyncExitStack()
        try:
            sim_url = None
            if self._embedded and self._explicit_config is None:
                from rtwidget.server import serve

                sim = await stack.enter_async_context(serve(port=0, speed=self._simulator_speed))
                sim_url = sim.url
                self._local("local.simulator", {"url": sim_url, "speed": self._simulator_speed})
            config = self._make_config(sim_url)
            self._local(
                "local.connecting", {"backend": self.backend, "model": self.model, "dialect": self.dialect}
            )
            conn = await connect(config=config, factory=self._factory)
            await stack.enter_async_context(_closing(conn))
        except BaseException as exc:
            await stack.aclose()
            self.status = "closed"
            message = self._scrub(f"{type(exc).__name__}: {exc}")
            self.close_reason = message
            self._local_error("connect_failed", message)
            if isinstance(exc, Exception):
                raise _reported(ConnectionError(f"could not connect to {self.backend}: {message}")) from None
            raise
        self._stack = stack
        self._conn = conn
        conn.on_frame(self._on_frame)
        self.status = "open"
        self._reader = asyncio.ensure_future(self._read_loop(conn))

    async def disconnect(self) -> None:
        """Close the connection (and stop the embedded simulator)."""
        conn = self._conn
        if conn is None:
            return
        self._closing_by_us = True
        self.status = "closing"
        with contextlib.suppress(Exception):
            await conn.close()
        if self._reader is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._reader

    async def send(self, event: Mapping[str, Any] | Any) -> Any:
        """Validate and send one client event (a dict or a typed event); refused with a clear error otherwise.

        An ``event_id`` is added when missing, so server errors can be linked to the event that caused them.
        Raises ``rtwidget.protocol.ValidationError`` (nothing sent) or ``RuntimeError`` when not connected.
        """
        from rtwidget.protocol import ProtocolError, validate_client_event

        data = dict(event) if isinstance(event, Mapping) else dict(event.to_dict())
        if "event_id" not in data:
            data["event_id"] = f"evt_rtw_{next(self._event_ids)}"
        try:
            typed = validate_client_event(data, dialect=self._wire_dialect)
        except ProtocolError as exc:
            message = self._scrub(str(exc))
            self._local_error("refused", f"{data.get('type')}: {message}", data={"refused": message})
            raise _reported(type(exc)(message)) from None
        if self._conn is None or self.status != "open":
            raise RuntimeError("not connected: call `await w.connect()` first")
        return await self._conn.send(typed)

    async def send_text(self, text: str, respond: bool = True) -> None:
        """Send a user message (``conversation.item.create``), then ``response.create`` if ``respond``."""
        await self.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": text}],
                },
            }
        )
        if respond:
            await self.send({"type": "response.create"})

    async def update_session(self, session: Mapping[str, Any] | None = None, **fields: Any) -> None:
        """Send ``session.update`` with the given session fields (GA shape; ``fields`` merged in).

        Raises ``rtwidget.protocol.ValidationError`` naming the field (nothing sent) if a value is invalid.
        """
        body = {**(session or {}), **fields}
        if self.dialect == "ga":
            body.setdefault("type", "realtime")
        self.session_requested = redact(_jsonable(body), self._secrets())
        await self.send({"type": "session.update", "session": body})

    async def wait_for(
        self,
        type_: str,
        timeout: float | None = 30.0,  # noqa: ASYNC109 - API.md names it: wait_for(type, timeout)
        *,
        since: int | None = None,
    ) -> Any:
        """The first server event of ``type_`` logged after the last event this widget sent.

        ``since`` (a log index) overrides the starting point, e.g. ``since=0`` for the whole log. Events that
        already arrived count, so a wait in a later cell does not miss a fast reply. Raises ``TimeoutError``.
        """
        start = self._last_sent_index + 1 if since is None else since
        for entry in self._log.entries[start:]:
            if entry.direction == "server" and entry.type == type_ and entry.event is not None:
                return entry.event
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        waiter = (type_, start, fut)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise TimeoutError(f"no {type_!r} event within {timeout} s") from None
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    async def stop(self, *, audio_end_ms: int | None = None) -> None:
        """Stop the reply: flush playback, cancel the response in flight, truncate the item that was playing.

        ``audio_end_ms`` overrides the played position (default: what the browser reported as played; 0 when
        no view played anything). The truncation point is ``min(played, received)``.
        """
        item = self._last_audio_item
        if self._ready:
            self._post({"type": "audio.flush", "item": item})
        track = self._audio.get(item) if item else None
        played = float(audio_end_ms) if audio_end_ms is not None else (track.played_ms if track else 0.0)
        in_flight = self._response_id is not None
        self._local(
            "local.stop", {"item_id": item, "played_ms": round(played), "response_in_flight": in_flight}
        )
        # Truncate only an item that is still being heard or still arriving, and only once.
        truncate = (
            track is not None
            and not track.stopped
            and (played < track.received_ms or (in_flight and track.response_id == self._response_id))
        )
        if track is not None:
            track.stopped = True
        if in_flight:
            await self.send({"type": "response.cancel"})
        if truncate and track is not None:
            end = int(min(played, track.received_ms))
            await self.send(
                {
                    "type": "conversation.item.truncate",
                    "item_id": track.item_id,
                    "content_index": track.content_index,
                    "audio_end_ms": end,
                }
            )

    def export_log(self, path: str | Path) -> int:
        """Write the log as JSON lines ``{"i","dir","time","type","event"}``, keys redacted; returns count."""
        return self._log.export(path, self._secrets())

    def clear_log(self) -> None:
        """Clear the console's log view (``events`` keeps every entry)."""
        self._log.clear()
        self.errors = []
        self.error_count = 0
        if self._ready:
            self._post({"type": "log.window", "view": "*", **self._log.tail(300)})

    # --- frames in and out -----------------------------------------------------------------------

    def _now(self) -> float:
        return 0.0 if self._t0 is None else time.monotonic() - self._t0

    def _on_frame(self, direction: str, raw: str | bytes, event: Any, error: Exception | None) -> None:
        """Log every frame both ways (called synchronously by the connection)."""
        t = self._now()
        log = self._log
        if direction == "client":
            data = event.to_dict() if event is not None else None
            entry, row = log.add(
                "client",
                event.type if event is not None else _raw_type(raw),
                t,
                data=data,
                raw=raw if data is None else None,
                summary=self._scrub(summarize(event.type, data)) if data is not None else "",
                nbytes=_payload_len(event, data),
                audio_ms=_payload_len(event, data) / PCM16_BYTES_PER_MS,
            )
            event_id = entry.data.get("event_id")
            if isinstance(event_id, str):
                self._client_rows[event_id] = row.id
            self._last_sent_index = entry.index
        elif event is None:
            message = (
                self._scrub(f"{type(error).__name__}: {error}") if error is not None else "unparsable frame"
            )
            entry, row = log.add(
                "server", _raw_type(raw) or "(bad frame)", t, raw=raw, flags="x", summary=message
            )
            self._add_error(row.id, "bad_frame", message, None, t)
        else:
            type_ = event.type
            unknown = type(event).__name__ == "UnknownEvent"
            if type_ in OUTPUT_AUDIO_DELTAS:
                delta = getattr(event, "delta", "") or ""
                nbytes = b64_decoded_len(delta)
                log.add(
                    "server",
                    type_,
                    t,
                    event=event,
                    unknown=unknown,
                    item_id=getattr(event, "item_id", None),
                    nbytes=nbytes,
                    audio_ms=nbytes / PCM16_BYTES_PER_MS,
                )
            elif type_ in TEXT_DELTA_TYPES:
                text = getattr(event, "delta", "") or ""
                log.add(
                    "server", type_, t, event=event, unknown=unknown, item_id=getattr(event, "item_id", None),
                    text=text, summary=text,
                )  # fmt: skip
            else:
                data = event.to_dict()
                flags = "e" if type_ == "error" else ""
                cause = None
                if type_ == "error":
                    err = data.get("error") or {}
                    cause = self._client_rows.get(str(err.get("event_id"))) if err.get("event_id") else None
                entry, row = log.add(
                    "server",
                    type_,
                    t,
                    event=event,
                    data=data,
                    unknown=unknown,
                    flags=flags,
                    summary=self._scrub(summarize(type_, data)),
                    cause=cause,
                )
                if type_ == "error":
                    err = data.get("error") or {}
                    self._add_error(
                        row.id,
                        str(err.get("code") or err.get("type") or "error"),
                        self._scrub(str(err.get("message") or "")),
                        cause,
                        t,
                    )
        self._schedule_flush()

    async def _read_loop(self, conn: Any) -> None:
        try:
            async for event in conn:
                try:
                    self._handle_event(event)
                except Exception as exc:  # a bug in one handler must not end the session
                    self._local_error("handler_failed", self._scrub(f"{type(exc).__name__}: {exc}"))
        except Exception as exc:
            self._local_error("connection_failed", self._scrub(f"{type(exc).__name__}: {exc}"))
        finally:
            self._conn = None
            self._response_id = None
            code = getattr(conn, "close_code", None)
            reason = getattr(conn, "close_reason", "") or ""
            self.close_code = code
            self.close_reason = self._scrub(str(reason))
            self.status = "closed"
            self._local(
                "local.closed", {"code": code, "reason": self.close_reason, "by_client": self._closing_by_us}
            )
            if self._ready:
                self._post({"type": "audio.end", "item": self._last_audio_item})
            stack, self._stack = self._stack, None
            if stack is not None:
                with contextlib.suppress(Exception):
                    await stack.aclose()
            self._flush()

    def _handle_event(self, event: Any) -> None:
        type_ = event.type
        self._apply_to_conversation(event)
        if type_ in OUTPUT_AUDIO_DELTAS:
            self._route_audio(event)
        elif type_ in REPLY_TEXT_DELTAS:
            self._reply_text(event)
        elif type_ in OUTPUT_AUDIO_DONE:
            if self._ready:
                self._post({"type": "audio.end", "item": getattr(event, "item_id", None)})
        elif type_ == "response.created":
            resp = event.to_dict().get("response") or {}
            self._response_id = resp.get("id") or "?"
            self._reply_state = {
                "response_id": self._response_id,
                "item_id": None,
                "text": "",
                "status": "streaming",
            }
            self._reply_dirty = True
        elif type_ == "response.done":
            resp = event.to_dict().get("response") or {}
            self._response_id = None
            if (
                self._reply_state.get("response_id") in (resp.get("id"), "?")
                and self._reply_state["status"] != "truncated"
            ):
                self._reply_state["status"] = _REPLY_STATUS.get(
                    str(resp.get("status")), str(resp.get("status"))
                )
                self._reply_dirty = True
            if self._ready:
                self._post({"type": "audio.end", "item": self._last_audio_item})
        elif type_ == "conversation.item.truncated":
            item_id = str(getattr(event, "item_id", ""))
            end_ms = int(getattr(event, "audio_end_ms", 0) or 0)
            self._truncated[item_id] = end_ms
            if self._reply_state.get("item_id") == item_id:
                self._reply_state["status"] = "truncated"
                self._reply_state["truncated_ms"] = end_ms
                self._reply_dirty = True
        elif type_ in ("session.created", "session.updated"):
            session = event.to_dict().get("session") or {}
            self._audio_format = audio_format_of(session)
            safe = redact(_jsonable(session), self._secrets())
            self.session_effective = safe
            if self.session_requested:
                self.session_diff = session_diff(self.session_requested, safe)
        self._resolve_waiters(event)
        self._dispatch(event)
        if self._reply_dirty:
            self._schedule_flush()

    def _reply_text(self, event: Any) -> None:
        item_id = getattr(event, "item_id", None)
        state = self._reply_state
        if not state:
            state = self._reply_state = {
                "response_id": None,
                "item_id": item_id,
                "text": "",
                "status": "streaming",
            }
        if state.get("item_id") is None:
            state["item_id"] = item_id
        if state.get("item_id") == item_id:
            state["text"] = state.get("text", "") + (getattr(event, "delta", "") or "")
            self._reply_dirty = True

    def _route_audio(self, event: Any) -> None:
        item_id = str(getattr(event, "item_id", "") or "")
        pcm: bytes = event.audio
        if self._audio_format != "pcm16":
            pcm = self._decode_g711(pcm)
        track = self._audio.get(item_id)
        if track is None:
            track = self._audio[item_id] = AudioTrack(
                item_id, int(getattr(event, "content_index", 0) or 0), getattr(event, "response_id", None)
            )
            track.first_delta_at = time.time()
            if self._reply_state.get("item_id") is None:
                self._reply_state["item_id"] = item_id
        track.chunks.append(pcm)
        track.received_bytes += len(pcm)
        self._last_audio_item = item_id
        # Raw bytes in a binary buffer, sent at once: base64 in JSON would cost a third more and a decode,
        # a trait would grow without bound, and batching would add its delay to first-audio latency.
        if self._ready and not track.stopped:
            self._post({"type": "audio", "item": item_id}, [pcm])

    def _decode_g711(self, data: bytes) -> bytes:
        from rtwidget import audio

        decode = audio.ulaw_decode if self._audio_format == "g711_ulaw" else audio.alaw_decode
        pcm8k = decode(data)
        samples = audio.resample(audio.pcm16_to_float32(pcm8k), G711_RATE_HZ, SAMPLE_RATE_HZ)
        return bytes(audio.float32_to_pcm16(samples))

    def _resolve_waiters(self, event: Any) -> None:
        if not self._waiters:
            return
        for type_, _start, fut in list(self._waiters):
            if type_ == event.type and not fut.done():
                fut.set_result(event)

    def _dispatch(self, event: Any) -> None:
        for key in (event.type, "*"):
            for handler in list(self._handlers.get(key, ())):
                try:
                    result = handler(event)
                    if inspect.isawaitable(result):
                        self._spawn(_awaited(result))
                except Exception as exc:
                    self._local_error(
                        "handler_failed", self._scrub(f"{getattr(handler, '__name__', handler)}: {exc}")
                    )

    # --- local entries and errors ----------------------------------------------------------------

    def _local(self, type_: str, data: dict[str, Any]) -> None:
        data = redact(data, self._secrets())
        self._log.add("local", type_, self._now(), data=data, summary=summarize(type_, data) or _kv(data))
        self._schedule_flush()

    def _local_error(self, code: str, message: str, data: dict[str, Any] | None = None) -> None:
        t = self._now()
        body = redact({"code": code, "message": message, **(data or {})}, self._secrets())
        _, row = self._log.add("local", "local.error", t, data=body, flags="e", summary=f"{code}: {message}")
        self._add_error(row.id, code, message, None, t)
        self._schedule_flush()

    def _add_error(self, row: int, code: str, message: str, cause: int | None, t: float) -> None:
        info: dict[str, Any] = {"row": row, "code": code, "message": message[:500], "time": round(t, 3)}
        if cause is not None:
            info["cause_row"] = cause
            info["cause_type"] = self._log.rows[cause].type
        self.errors = [*self.errors[-(MAX_ERRORS_SHOWN - 1) :], info]
        self.error_count += 1

    # --- view messages ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the widget's comm; an open connection is closed too (as a task on the running loop)."""
        if getattr(self, "_conn", None) is not None and self._loop is not None and self._loop.is_running():
            # A comm close may arrive over a subshell thread: the disconnect runs where the connection lives.
            self._spawn(self.disconnect())
        super().close()

    def focus(self) -> None:
        """Focus the widget in the front end (``DOMWidget.focus``, routed past our protocol ``send``)."""
        self._post({"do": "focus"})

    def blur(self) -> None:
        """Blur the widget in the front end (``DOMWidget.blur``, routed past our protocol ``send``)."""
        self._post({"do": "blur"})

    def _post(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        """Send one custom message to the views (``Widget.send``; our ``send`` is the protocol's)."""
        super().send(content, buffers)

    def _schedule_flush(self) -> None:
        if self._flush_handle is not None or not self._ready:
            return
        loop = self._loop
        if loop is None:
            try:
                loop = self._loop = asyncio.get_running_loop()
            except RuntimeError:
                return
        self._flush_handle = loop.call_later(FLUSH_S, self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        if self._ready:
            new, updated = self._log.take_changes()
            if new or updated:
                self._post({"type": "log.append", "rows": new, "updates": updated, "total": self._log.total})
        if self._reply_dirty:
            self._reply_dirty = False
            self.reply = redact(dict(self._reply_state), self._secrets())

    def _on_filter(self, change: Any) -> None:
        preset = self.log_filter if self.log_filter in FILTER_PRESETS else "all"
        self._log.set_filter(preset, self.log_search)
        if self._ready:
            self._post({"type": "log.window", "view": "*", **self._log.tail(300)})

    def _on_view_msg(self, _widget: Any, content: Any, buffers: list[bytes]) -> None:
        home = self._loop
        if home is not None and home.is_running() and _running_loop() is not home:
            # JupyterLab sends comm messages over a kernel subshell (its `commsOverSubshells` setting defaults
            # to "perCommTarget"), so ipykernel runs this handler on the subshell's thread and loop once the
            # subshell exists. asyncio objects are not thread-safe: a task spawned there drove the kernel
            # loop's socket and timers from the wrong thread, and a frame or timer then waited until something
            # else woke the kernel loop (a `response.create` went unanswered). Handle it on the kernel loop.
            home.call_soon_threadsafe(self._on_view_msg, _widget, content, buffers)
            return
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        view = content.get("view")
        if "seq" in content:
            self._post({"type": "ack", "seq": content["seq"], "view": view})
        if self._loop is None:
            with contextlib.suppress(RuntimeError):
                self._loop = asyncio.get_running_loop()
        limit = max(1, min(int(content.get("limit") or 300), WINDOW_LIMIT_MAX))
        log = self._log
        try:
            if kind == "ready":
                self._ready = True
                self._post({"type": "log.window", "view": view, **log.tail(limit)})
                self._schedule_flush()
            elif kind == "log.window":
                self._post({"type": "log.window", "view": view, **log.tail(limit)})
            elif kind == "log.page":
                if content.get("before") is not None:
                    page = log.before(int(content["before"]), limit)
                    self._post({"type": "log.page", "view": view, "dir": "older", **page, "tail": False})
                else:
                    after = content.get("after")
                    page = log.after(int(after) if after is not None else -1, limit)
                    self._post({"type": "log.page", "view": view, "dir": "newer", **page})
            elif kind == "log.around":
                self._post({"type": "log.window", "view": view, **log.around(int(content["row"]), limit)})
            elif kind == "log.detail":
                detail = log.detail(int(content["row"]), int(content.get("member") or 0), self._secrets())
                self._post({"type": "log.detail", "view": view, **detail})
            elif kind == "played":
                for item_id, ms in (content.get("items") or {}).items():
                    track = self._audio.get(item_id)
                    if track is not None:
                        track.played_ms = max(track.played_ms, float(ms))
            elif kind == "audio.started":
                track = self._audio.get(str(content.get("item")))
                if track is not None and track.first_sample_at is None:
                    track.first_sample_at = float(content["at_ms"]) / 1000.0
            elif kind == "clear":
                self.clear_log()
            elif kind == "connect":
                self._spawn(self.connect())
            elif kind == "disconnect":
                self._spawn(self.disconnect())
            elif kind == "send_text":
                self._spawn(self.send_text(str(content.get("text", "")), bool(content.get("respond", True))))
            elif kind == "apply":
                self._apply_form(content.get("session"))
            elif kind == "stop":
                for item_id, ms in (content.get("played") or {}).items():
                    track = self._audio.get(item_id)
                    if track is not None:
                        track.played_ms = float(ms)
                self._spawn(self.stop())
        except Exception as exc:
            self._local_error("view_message", self._scrub(f"{kind}: {type(exc).__name__}: {exc}"))

    def _apply_form(self, session: Any) -> None:
        from rtwidget.protocol import ProtocolError, validate_client_event

        if not isinstance(session, dict):
            self.form_error = "the form sent no session object"
            return
        body = ga_session_to_beta(session) if self.dialect == "beta" else session
        event = {"type": "session.update", "session": body}
        try:
            validate_client_event(event, dialect=self._wire_dialect)
        except ProtocolError as exc:
            message = self._scrub(str(exc))
            self.form_error = message
            self._local_error("refused", f"session.update: {message}", data={"refused": message})
            return
        if not self.connected:
            self.form_error = "not connected"
            return
        self.form_error = ""
        self._spawn(self.update_session(body))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a UI action as a task on the kernel loop (never a nested loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not self._loop and self._loop is not None and self._loop.is_running():
            # Not on the kernel loop (another thread): the action must run where the connection lives.
            asyncio.run_coroutine_threadsafe(self._run_action(coro), self._loop)
            return
        if loop is None:
            coro.close()
            self._local_error("no_event_loop", "no running asyncio loop to run this action on")
            return
        self._loop = loop
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    async def _run_action(self, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            await coro
        except Exception as exc:
            if getattr(exc, "_rtwidget_reported", False):
                return
            self._local_error("action_failed", self._scrub(f"{type(exc).__name__}: {exc}"))

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        exc = None if task.cancelled() else task.exception()
        if exc is not None and not getattr(exc, "_rtwidget_reported", False):
            self._local_error("action_failed", self._scrub(f"{type(exc).__name__}: {exc}"))


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@contextlib.asynccontextmanager
async def _closing(conn: Any) -> Any:
    try:
        yield conn
    finally:
        with contextlib.suppress(Exception):
            await conn.close()


def _reported(exc: BaseException) -> BaseException:
    """Mark an exception already shown in the log, so a UI task that ends with it is not logged twice."""
    exc._rtwidget_reported = True  # type: ignore[attr-defined]
    return exc


async def _awaited(result: Awaitable[Any]) -> Any:
    return await result


def _get(obj: Any, name: str, default: Any) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _item_text(item: Any) -> str:
    parts: list[str] = []
    for part in _get(item, "content", None) or []:
        for key in ("text", "transcript"):
            value = _get(part, key, None)
            if isinstance(value, str) and value:
                parts.append(value)
                break
    for key in ("arguments", "output"):
        value = _get(item, key, None)
        if isinstance(value, str) and value:
            parts.append(value)
    return "".join(parts)


def _raw_type(raw: str | bytes) -> str:
    import json

    try:
        data = json.loads(raw)
    except ValueError:
        return "(bad frame)"
    return str(data.get("type")) if isinstance(data, dict) and data.get("type") else "(bad frame)"


def _payload_len(event: Any, data: Mapping[str, Any] | None) -> int:
    if event is None or data is None:
        return 0
    field_name = AUDIO_PAYLOAD_TYPES.get(event.type)
    if field_name and isinstance(data.get(field_name), str):
        return b64_decoded_len(data[field_name])
    return 0


def _kv(data: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in data.items() if v not in (None, ""))[:160]


def _jsonable(value: Any) -> Any:
    """A plain-JSON copy (traits must hold only JSON types)."""
    import json

    return json.loads(json.dumps(value, default=str))
