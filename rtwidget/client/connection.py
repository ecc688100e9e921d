"""Connection: typed send/receive over a Transport, handlers, frame observers; and ``connect()``."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable, Generator
from types import TracebackType
from typing import Any, Literal, TypeVar

from rtwidget.client.config import ClientConfig, Dialect
from rtwidget.client.errors import FrameError, PermanentError, RealtimeError, redact
from rtwidget.client.transport import ABNORMAL_CLOSURE, Transport, TransportFactory, websocket_factory
from rtwidget.protocol import (
    ClientEvent,
    Event,
    ProtocolError,
    UnknownEvent,
    encode_event,
    parse_client_event,
    parse_server_event,
)
from rtwidget.protocol import validate_client_event as _validate_client_event

__all__ = ["Connection", "Direction", "FrameObserver", "Handler", "State", "connect"]

logger = logging.getLogger("rtwidget.client")

State = Literal["connecting", "open", "closing", "closed"]
Direction = Literal["client", "server"]
Handler = Callable[[Any], Any]
"""Called with each matching server event; may be a plain function or return an awaitable."""
FrameObserver = Callable[[Direction, str | bytes, Event | None, Exception | None], Any]
"""Called synchronously for every frame: direction, raw frame, parsed event or None, frame error or None."""
EventT = TypeVar("EventT", bound=Event)
ResultT = TypeVar("ResultT")
ObserverT = TypeVar("ObserverT", bound=FrameObserver)

# 1000 normal closure, 1001 going away: the peer ended the session on purpose; anything else is a failure.
_CLEAN_CLOSE_CODES = frozenset({1000, 1001})
_PREVIEW_CHARS = 120


def _preview(frame: str | bytes) -> str:
    text = repr(frame[:_PREVIEW_CHARS])
    return text + ("..." if len(frame) > _PREVIEW_CHARS else "")


def _frame_bytes(frame: str | bytes, limit: int) -> int:
    """Size of ``frame`` on the wire; exact only when it may exceed ``limit`` (UTF-8: <= 4 bytes/char)."""
    if isinstance(frame, bytes) or len(frame) * 4 <= limit:
        return len(frame)
    return len(frame.encode())


class Connection:
    """An open Realtime connection: typed events in both directions.

    The socket is read as frames arrive, into a bounded buffer (``ClientConfig.receive_buffer_frames``
    and ``receive_buffer_bytes``), so keepalive pongs are seen while the consumer is behind. Events are
    parsed, and handlers and observers called, when someone awaits :meth:`recv`, iterates
    (``async for``) or runs :meth:`run`. For each server frame, in this order: frame observers
    (:meth:`on_frame`) see it, then handlers (:meth:`on`) matching its type or ``"*"`` are called in
    registration order (async handlers are awaited one after another, so the order holds; spawn a task
    for long work), then the event is returned to the caller. Only one task may receive at a time.
    Keep receiving while the session is open (``asyncio.create_task(conn.run())`` if you only use
    handlers): once the buffer is full the socket is no longer read (a WARNING says so), and a pause
    longer than the keepalive (``ping_interval_s`` + ``ping_timeout_s``) ends the connection with a
    :class:`PermanentError` saying "client fell behind", after the frames already read.

    Errors:
        - A frame that does not parse (not JSON, binary, no ``type``, not an object) raises
          :class:`FrameError` from :meth:`recv` (it carries ``.raw``); the connection stays usable.
          A frame of a known type whose fields deviate (other servers do: a missing ``part``, a
          string ``status_details``) arrives as its typed class, with the deviating fields ``UNSET``
          and named in ``event.problems``; with ``strict=True`` it raises :class:`FrameError` instead.
          A frame of a type this dialect does not know is no error: it arrives as an ``UnknownEvent``
          (type and raw JSON kept).
          ``async for`` and :meth:`run` skip such frames; observers still see them with the error.
        - A handler or observer that raises is logged (logger ``rtwidget.client``, level ERROR, with
          traceback) and skipped; the receive loop and the remaining handlers go on.
        - Server ``error`` events are ordinary events (type ``"error"``), never exceptions.
        - Once the connection is closed or broken, every operation raises :class:`PermanentError` with
          ``close_code`` / ``close_reason``. ``async for`` and :meth:`run` end quietly on a clean close
          (codes 1000/1001, or :meth:`close` called here) and raise :class:`PermanentError` otherwise
          (e.g. 3000 bad key, 4000 bad model or beta shape on a GA server). Nothing reconnects.
    """

    def __init__(self, transport: Transport, config: ClientConfig, url: str) -> None:
        self._transport = transport
        self.config = config
        self.url = url
        self._state: State = "open"
        self._closed_by_us = False
        self._receiving = False
        self._closed_error: PermanentError | None = None
        self._handlers: list[tuple[str, Handler]] = []
        self._observers: list[FrameObserver] = []

    @property
    def dialect(self) -> Dialect:
        """The protocol dialect, ``"ga"`` or ``"beta"``."""
        return self.config.dialect

    @property
    def state(self) -> State:
        """``"open"``, ``"closing"`` or ``"closed"`` (``"connecting"`` exists only inside ``connect``)."""
        if self._state == "open" and self._transport.close_code is not None:
            return "closed"
        return self._state

    @property
    def close_code(self) -> int | None:
        """WebSocket close code once closed (3000, 4000, 1000, ...), else None."""
        code = self._transport.close_code
        if code is None and self._closed_error is not None:
            return self._closed_error.close_code
        return code

    @property
    def close_reason(self) -> str | None:
        """Close reason once closed (e.g. ``"invalid_request_error.invalid_api_key"``), else None."""
        reason = self._transport.close_reason
        if reason is None and self._closed_error is not None:
            return self._closed_error.close_reason
        return reason

    def __repr__(self) -> str:
        return f"<Connection {self.state} {redact(self.url, *self.config.secrets())} dialect={self.dialect}>"

    # -- handlers and observers -------------------------------------------------------------------------

    def on(self, event_type: str, handler: Callable[[EventT], ResultT]) -> Callable[[EventT], ResultT]:
        """Call ``handler(event)`` for each received event of ``event_type`` (``"*"``: every event).

        The handler may be typed for the event class it expects (``def h(ev: ga.ErrorEvent)``).
        Returns the handler, so it can be removed with :meth:`off`.
        """
        self._handlers.append((event_type, handler))
        return handler

    def off(self, event_type: str, handler: Handler | None = None) -> None:
        """Remove ``handler`` from ``event_type`` (every handler of that type when None)."""
        self._handlers = [
            (t, h) for t, h in self._handlers if not (t == event_type and (handler is None or h == handler))
        ]

    def on_frame(self, observer: ObserverT) -> ObserverT:
        """Call ``observer(direction, raw, event, error)`` synchronously for every frame, both ways.

        Sent frames are reported just before they are written (``event`` is the validated event, or for
        :meth:`send_raw` the parsed one when the frame is a valid client event); if the write fails,
        the send raises :class:`PermanentError`. Received frames are reported before handlers run; a
        bad frame comes with its :class:`FrameError` and ``event`` None (or, for a known type with bad
        fields, the lenient ``UnknownEvent``). Keep observers cheap: they run inline on the receive path.
        """
        self._observers.append(observer)
        return observer

    def off_frame(self, observer: FrameObserver) -> None:
        """Stop calling ``observer``."""
        self._observers = [o for o in self._observers if o != observer]

    def _observe(
        self, direction: Direction, frame: str | bytes, event: Event | None, error: Exception | None
    ) -> None:
        for observer in self._observers:
            try:
                observer(direction, frame, event, error)
            except Exception:
                logger.exception("! frame observer %r failed", observer)

    async def _dispatch(self, event: Event) -> None:
        event_type = event.type
        # A snapshot: handlers may register or remove handlers while being called.
        for handler_type, handler in tuple(self._handlers):
            if handler_type not in (event_type, "*"):
                continue
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("! handler %r for %r failed", handler, event_type)

    # -- sending ----------------------------------------------------------------------------------------

    async def send(self, event: ClientEvent | dict[str, Any]) -> ClientEvent:
        """Validate ``event`` strictly, send it, and return the typed event that was sent.

        Raises:
            ValidationError: The event is not a valid client event of this dialect; nothing was sent.
            ValueError: The encoded frame is larger than ``config.max_frame_bytes``; nothing was sent.
            PermanentError: The connection is closed.
        """
        typed = _validate_client_event(event, dialect=self.dialect)
        await self._send_frame(encode_event(typed), typed)
        return typed

    async def send_raw(self, frame: str | bytes) -> None:
        """Send ``frame`` as is, without validation (``bytes`` go out as a binary frame).

        Raises:
            TypeError: ``frame`` is neither ``str`` nor ``bytes``.
            ValueError: The frame is larger than ``config.max_frame_bytes``; nothing was sent.
            PermanentError: The connection is closed.
        """
        if not isinstance(frame, str | bytes):
            raise TypeError(
                f"send_raw() takes str or bytes, not {type(frame).__name__}; use send() for events"
            )
        event: Event | None = None
        if isinstance(frame, str) and self._observers:
            try:
                event = parse_client_event(frame, dialect=self.dialect)
            except ProtocolError:
                event = None
        await self._send_frame(frame, event)

    async def _send_frame(self, frame: str | bytes, event: Event | None) -> None:
        limit = self.config.max_frame_bytes
        size = _frame_bytes(frame, limit)
        if size > limit:
            raise ValueError(
                f"frame of {size} bytes exceeds max_frame_bytes={limit}; nothing was sent "
                "(split audio into several input_audio_buffer.append events)"
            )
        self._check_open("send")
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("> %s", event.type if event is not None else _preview(frame))
        # Reported before the write: a large frame may wait for the socket to drain, and server frames
        # received meanwhile must not appear before it in a log.
        if self._observers:
            self._observe("client", frame, event, None)
        try:
            await self._transport.send(frame)
        except Exception as exc:
            raise self._broken(exc, "send") from exc

    def _check_open(self, action: str) -> None:
        state = self.state
        if self._closed_error is None and state == "open":
            return
        code, reason = self.close_code, self.close_reason
        shown = f" {reason!r}" if reason else ""
        raise PermanentError(
            f"connection is {state} (close code {code}{shown}); cannot {action}",
            close_code=code,
            close_reason=reason,
        )

    def _broken(self, exc: Exception, action: str) -> PermanentError:
        """Record that the transport is gone and return the PermanentError to raise."""
        if isinstance(exc, PermanentError):
            error = exc
        else:
            code = self._transport.close_code or ABNORMAL_CLOSURE
            message = redact(
                f"connection broken ({type(exc).__name__}: {exc}); cannot {action}", *self.config.secrets()
            )
            error = PermanentError(message, close_code=code, close_reason=self._transport.close_reason)
        if self._state == "open":
            self._state = "closed"
        if self._closed_error is None:
            self._closed_error = error
            logger.debug("= closed %s %r", error.close_code, error.close_reason)
        return error

    # -- receiving --------------------------------------------------------------------------------------

    async def _recv_frame(self) -> str | bytes:
        if self._receiving:
            raise RuntimeError(
                "another task is already receiving on this connection; use handlers (on) instead"
            )
        if self._closed_error is not None:
            self._check_open("receive")
        self._receiving = True
        try:
            return await self._transport.recv()
        except Exception as exc:
            raise self._broken(exc, "receive") from exc
        finally:
            self._receiving = False

    async def recv_raw(self) -> str | bytes:
        """Receive the next frame unparsed (observers see it; handlers do not run).

        Raises:
            PermanentError: The connection is closed.
        """
        frame = await self._recv_frame()
        if self._observers:
            self._observe("server", frame, None, None)
        return frame

    async def recv(self) -> Event:
        """Receive the next server event, typed; handlers for it have run when this returns.

        Cancelling a pending ``recv()`` (e.g. with ``asyncio.timeout``) loses no frame.

        Raises:
            FrameError: This frame did not parse (see ``.raw``); the next call receives the next frame.
            PermanentError: The connection is closed (``close_code``/``close_reason`` say why).
        """
        frame = await self._recv_frame()
        try:
            event = self._parse(frame)
        except FrameError as error:
            logger.debug("! %s", error)
            if self._observers:
                self._observe("server", frame, error.event, error)
            raise
        if self._observers:
            self._observe("server", frame, event, None)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("< %s", event.type)
        if self._handlers:
            await self._dispatch(event)
        return event

    def _parse(self, frame: str | bytes) -> Event:
        """Parse one server frame, raising :class:`FrameError` when it is unusable."""
        if isinstance(frame, bytes):
            # The live server answers a binary client frame with error invalid_event (docs/protocol-notes.md):
            # Realtime events are JSON text frames in both directions.
            raise FrameError(
                f"binary frame of {len(frame)} bytes; Realtime events are JSON text frames", frame
            )
        try:
            event = parse_server_event(frame, dialect=self.dialect, strict=self.config.strict)
        except ProtocolError as exc:
            raise FrameError(f"bad frame: {exc}", frame) from None
        if isinstance(event, UnknownEvent) and event.error is not None:
            # A known type with wrong or missing fields: typed handlers for that type would break on
            # it. Unknown *types* (error None) pass through as UnknownEvent, type and JSON kept.
            raise FrameError(f"bad {event.type} event: {event.error}", frame, event)
        return event

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        while True:
            try:
                event = await self.recv()
            except FrameError:
                continue
            except PermanentError as exc:
                if self._closed_by_us or exc.close_code in _CLEAN_CLOSE_CODES:
                    return
                raise
            yield event

    async def run(self) -> None:
        """Receive until the connection closes, feeding handlers and observers (a receive loop).

        Use it when you consume events through :meth:`on` only, e.g. ``asyncio.create_task(conn.run())``.

        Raises:
            PermanentError: The connection closed with an error code (not 1000/1001, not by :meth:`close`).
        """
        async for _ in self:
            pass

    # -- control ----------------------------------------------------------------------------------------

    async def ping(self) -> float:
        """Send a WebSocket ping and wait for the pong; return the round trip in seconds.

        Raises:
            PermanentError: The connection is closed.
        """
        self._check_open("ping")
        try:
            return await self._transport.ping()
        except Exception as exc:
            raise self._broken(exc, "ping") from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with ``code`` and ``reason`` and wait for the closing handshake (idempotent)."""
        if self._state in ("closing", "closed"):
            return
        self._closed_by_us = True
        self._state = "closing"
        try:
            await self._transport.close(code, reason)
        finally:
            self._state = "closed"
            logger.debug("= closed by client %s %r", code, reason)

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class _Connect:
    """What :func:`connect` returns: await it for a Connection, or use it as ``async with``."""

    def __init__(self, config: ClientConfig, factory: TransportFactory | None) -> None:
        self.config = config
        self._factory = factory
        self._connection: Connection | None = None

    async def _open(self) -> Connection:
        config = self.config
        url = config.ws_url()
        headers = config.ws_headers()
        factory = self._factory or websocket_factory(
            max_frame_bytes=config.max_frame_bytes,
            open_timeout_s=config.open_timeout_s,
            secrets=config.secrets(),
            ping_interval_s=config.ping_interval_s,
            ping_timeout_s=config.ping_timeout_s,
            receive_buffer_frames=config.receive_buffer_frames,
            receive_buffer_bytes=config.receive_buffer_bytes,
        )
        try:
            transport = await factory(url, headers)
        except RealtimeError:
            raise
        except Exception as exc:
            message = redact(f"cannot connect to {url}: {type(exc).__name__}: {exc}", *config.secrets())
            raise PermanentError(message) from exc
        logger.debug("= open %s (%s)", redact(url, *config.secrets()), config.dialect)
        return Connection(transport, config, url)

    def __await__(self) -> Generator[Any, None, Connection]:
        return self._open().__await__()

    async def __aenter__(self) -> Connection:
        self._connection = await self._open()
        return self._connection

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._connection is not None:
            await self._connection.close()


def connect(
    url: str | ClientConfig | None = None,
    *,
    model: str | None = None,
    api_key: str | None = None,
    dialect: Dialect | None = None,
    config: ClientConfig | None = None,
    factory: TransportFactory | None = None,
    **options: Any,
) -> _Connect:
    """Open a Realtime connection; ``await connect(...)`` or ``async with connect(...) as conn``.

    Args:
        url: Server URL, e.g. ``"ws://127.0.0.1:8765/v1/realtime"``, or a :class:`ClientConfig`;
            None means OpenAI (or ``config``'s URL).
        model: Model (deployment on Azure); default ``"gpt-realtime"``.
        api_key: Key; for OpenAI/Azure taken from the environment when None (never for custom URLs).
        dialect: ``"ga"`` (default) or ``"beta"``.
        config: A ready :class:`ClientConfig`; the other arguments, when given, override its fields.
        factory: Opens the transport, ``factory(url, headers) -> Transport``; default: websockets with
            ``max_size=config.max_frame_bytes``.
        **options: Further :class:`ClientConfig` fields (``organization``, ``call_id``, ``headers``, ...).

    Raises:
        ValueError: Bad configuration (no key for OpenAI/Azure, bad scheme or dialect).
        PermanentError: The connection could not be opened (refused, HTTP status instead of 101, timeout).
    """
    if isinstance(url, ClientConfig):
        if config is not None:
            raise TypeError("connect() got two configs: pass either a ClientConfig or config=, not both")
        url, config = None, url
    given = {"url": url, "model": model, "api_key": api_key, "dialect": dialect}
    changes = {k: v for k, v in given.items() if v is not None} | options
    resolved = config.replace(**changes) if config is not None else ClientConfig(**changes)
    return _Connect(resolved, factory)
