"""The byte-moving layer under a Connection: a small Transport protocol and its websockets implementation."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import DATA_OPCODES, CloseCode, Frame, Opcode
from websockets.http11 import USER_AGENT
from websockets.protocol import Event
from websockets.protocol import State as WsState

from rtwidget import __version__
from rtwidget.client.config import (
    PING_INTERVAL_S,
    PING_TIMEOUT_S,
    RECEIVE_BUFFER_BYTES,
    RECEIVE_BUFFER_FRAMES,
)
from rtwidget.client.errors import PermanentError, redact
from rtwidget.redaction import forwardable_headers, same_origin, url_without_credentials

__all__ = ["ABNORMAL_CLOSURE", "Transport", "TransportFactory", "WebSocketTransport", "websocket_factory"]

# RFC 6455 §7.1.5: "If _The WebSocket Connection is Closed_ and no Close control frame was received by the
# endpoint ... _The WebSocket Connection Close Code_ is considered to be 1006."
ABNORMAL_CLOSURE = 1006
_CLEAN_CLOSE_CODES = frozenset({1000, 1001})
# What websockets closes with when a keepalive pong is late (websockets.asyncio.connection.keepalive).
_KEEPALIVE_TIMEOUT = "keepalive ping timeout"
_PAUSE_WARNING_INTERVAL_S = 10.0
_BODY_PREVIEW_CHARS = 300


class Transport(Protocol):
    """What a Connection needs from a message transport (a WebSocket, or an in-memory pair in tests).

    ``send``/``recv``/``ping`` raise :class:`PermanentError` (with ``close_code``/``close_reason``) once the
    transport is closed; any other exception they raise is wrapped into one by the Connection.
    ``close_code`` is None while the transport is open.
    """

    async def send(self, frame: str | bytes) -> None:
        """Send one message (``str`` as a text frame, ``bytes`` as a binary frame)."""
        ...

    async def recv(self) -> str | bytes:
        """Receive the next message (``str`` for a text frame, ``bytes`` for a binary frame)."""
        ...

    async def ping(self) -> float:
        """Send a ping, wait for its pong; return the round trip in seconds."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close (idempotent) and wait until closed."""
        ...

    @property
    def close_code(self) -> int | None:
        """The close code once closed (received from the peer, or 1006 when none arrived), else None."""
        ...

    @property
    def close_reason(self) -> str | None:
        """The close reason once closed, else None."""
        ...


logger = logging.getLogger("rtwidget.client")

TransportFactory = Callable[[str, Mapping[str, str]], Awaitable[Transport]]
"""Opens a Transport to ``(url, headers)``; injected into ``connect(factory=...)``."""


class _RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Logger given to websockets: at DEBUG it logs every request header, Authorization included."""

    def __init__(self, logger: logging.Logger, secrets: tuple[str, ...]) -> None:
        super().__init__(logger, {})
        self._secrets = secrets

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = redact(str(msg) % args if args else str(msg), *self._secrets)
        self.logger.log(level, "%s", text, **kwargs)


def _closed_error(exc: ConnectionClosed, action: str, secrets: tuple[str, ...]) -> PermanentError:
    # The peer's code (the echo of ours when we closed first); else the code we failed the connection
    # with (1009 for a frame over max_size, 1002 for a protocol error); else the link just dropped.
    if exc.rcvd is not None:
        code, reason = exc.rcvd.code, exc.rcvd.reason
    elif exc.sent is not None:
        code, reason = exc.sent.code, exc.sent.reason
    else:
        code, reason = ABNORMAL_CLOSURE, ""
    # A careless server may repeat the request URL, ?api-key= included, in its close reason.
    reason = redact(reason, *secrets)
    shown = f" {reason!r}" if reason else ""
    if exc.rcvd is None and reason == _KEEPALIVE_TIMEOUT:
        shown += ": no pong from the server within ping_timeout_s (server or network unresponsive)"
    return PermanentError(
        f"connection closed ({code}{shown}); cannot {action}", close_code=code, close_reason=reason
    )


def _again(error: PermanentError) -> PermanentError:
    """A fresh copy of ``error`` to raise once more (raising one instance again grows its traceback)."""
    return PermanentError(str(error), close_code=error.close_code, close_reason=error.close_reason)


_NOT_WEBSOCKETS_RECV = "messages go to WebSocketTransport.recv(); websockets' recv would wait for ever"


class _FrameConnection(ClientConnection):
    """websockets' client connection, handing each message to a bounded buffer as it is parsed.

    websockets' own ``recv`` goes through an assembler and a future per message, so a reader task woke
    once per frame to move it into a buffer, and the consumer woke again to take it: two loop passes and
    a dozen objects per frame. Here the frames one socket read carried land in the buffer within that
    read's callback, and a waiting consumer wakes once for all of them. Everything else (handshake,
    keepalive, closing, control frames, size limits) stays websockets' own: only data frames are taken,
    so websockets' own ``recv`` and iteration are refused (they would wait for ever).

    ``process_event`` is a websockets internal, not its documented API: a change to it fails
    ``tests/client/test_client_transport.py`` loudly. A message websockets' ``recv`` would refuse (text
    that is not UTF-8) closes the connection through the public ``close`` (1007, bounded by its
    ``close_timeout``), as does a failure of our own here (1011): nothing already read is lost.
    """

    max_frames = RECEIVE_BUFFER_FRAMES
    max_bytes = RECEIVE_BUFFER_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames: deque[str | bytes] = deque()
        self.held_bytes = 0
        self.arrived = asyncio.Event()  # a frame or the end is waiting for recv()
        self.reading_paused = False  # the buffer reached its cap: the socket is not read
        self.pauses = 0
        self.closing = False  # our close: the cap no longer pauses the socket
        self.fell_behind = False  # noted by behind() as the cap's pause ends or the connection is lost
        self.on_pause: Callable[[], None] = lambda: None
        self._fragments: list[bytes] = []
        self._fragmented_text = False
        self._failed = False  # a bad message failed the connection: the frames parsed after it are not read
        self._closer: asyncio.Task[None] | None = None

    async def recv(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(_NOT_WEBSOCKETS_RECV)

    def recv_streaming(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(_NOT_WEBSOCKETS_RECV)

    def __aiter__(self) -> Any:
        raise RuntimeError(_NOT_WEBSOCKETS_RECV)

    def _fail(self, code: int, reason: str) -> None:
        """Close with ``code``: the frames parsed after this one are not read (websockets' recv fails so)."""
        self._failed = True
        if self._closer is None:
            self._closer = self.loop.create_task(self.close(code, reason))

    def process_event(self, event: Event) -> None:
        if not isinstance(event, Frame) or event.opcode not in DATA_OPCODES:
            super().process_event(event)  # the handshake's response, pongs, the close
            return
        if self._failed:
            return
        try:
            self._take_data(event)
        except Exception as exc:  # in data_received: raised on, it would lose the rest of the socket read
            logger.exception("! receiving a %s frame failed; closing with 1011", event.opcode.name)
            self._fail(CloseCode.INTERNAL_ERROR, f"client failed to receive ({type(exc).__name__})")

    def _take_data(self, event: Frame) -> None:
        if event.opcode is Opcode.CONT or not event.fin:
            if event.opcode is not Opcode.CONT:
                self._fragmented_text = event.opcode is Opcode.TEXT
            self._fragments.append(bytes(event.data))
            if not event.fin:
                return
            data, text = b"".join(self._fragments), self._fragmented_text
            self._fragments = []
        else:
            data, text = bytes(event.data), event.opcode is Opcode.TEXT
        message: str | bytes = data
        if text:
            try:
                message = data.decode()
            except UnicodeDecodeError as exc:  # what websockets' own recv does with a bad text frame
                self._fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
                return
        self.frames.append(message)
        self.held_bytes += len(message)
        self.arrived.set()
        if not self.closing and not self.reading_paused and self.full():
            self.transport.pause_reading()
            self.reading_paused = True
            self.pauses += 1
            self.on_pause()

    def full(self) -> bool:
        """The buffer holds its cap of frames or bytes."""
        return len(self.frames) >= self.max_frames or self.held_bytes >= self.max_bytes

    def take(self) -> str | bytes:
        """The oldest frame held (there is one)."""
        frame = self.frames.popleft()
        self.held_bytes -= len(frame)
        # Read again as soon as there is room: the sooner the socket moves, the sooner pongs are seen.
        if self.reading_paused and not self.full():
            self.resume()
        return frame

    def resume(self) -> None:
        """Read the socket again if the cap paused it."""
        if self.reading_paused:
            if self.state is not WsState.OPEN:
                self.fell_behind = self.behind()  # e.g. the keepalive timed out meanwhile
            self.reading_paused = False
            if not self.transport.is_closing():
                self.transport.resume_reading()

    def behind(self) -> bool:
        """Whether an ending connection is the consumer's doing: the cap paused the socket (so pongs went
        unread), and neither our close nor the peer's ended it."""
        paused = self.reading_paused and not self.closing and self.protocol.close_rcvd is None
        return self.fell_behind or paused

    def connection_lost(self, exc: Exception | None) -> None:
        self.fell_behind = self.behind()
        super().connection_lost(exc)
        self.arrived.set()


def _connection_class(max_frames: int, max_bytes: int) -> type[_FrameConnection]:
    """A :class:`_FrameConnection` with these caps (websockets makes the connection: no arguments)."""
    return type("FrameConnection", (_FrameConnection,), {"max_frames": max_frames, "max_bytes": max_bytes})


class WebSocketTransport:
    """A :class:`Transport` over a ``websockets`` client connection, with a bounded receive buffer.

    Each frame is taken off the socket as it arrives and kept until :meth:`recv`. Without that, a
    consumer that falls behind makes websockets stop reading the socket (its queue holds 16 frames), so
    keepalive pongs go unread and websockets closes the connection with 1011 "keepalive ping timeout", a
    dead server's symptom, losing every frame not yet read.

    Policy at the cap (``receive_buffer_frames`` frames or ``receive_buffer_bytes`` bytes held,
    characters for text frames): the socket is not read until the consumer takes a frame. The frames of
    the socket read that reached the cap are all kept (a read is up to 256 KiB, so the cap may be passed by
    that much). Nothing read is dropped; the server's next frames wait in the network buffers, and one
    WARNING (logger ``rtwidget.client``) says so. If the keepalive times out meanwhile, the frames
    already read are still delivered, then the close is reported as "client fell behind", not as an
    unresponsive server.
    """

    def __init__(self, ws: _FrameConnection, *, secrets: tuple[str, ...] = ()) -> None:
        self.ws = ws
        self._secrets = secrets
        self._closed: PermanentError | None = None
        self._warned_at: float | None = None
        ws.on_pause = self._warn_paused
        if ws.reading_paused:  # the cap was reached before the handshake returned
            self._warn_paused()

    def _warn_paused(self) -> None:
        # A consumer about as fast as the server fills and drains the buffer over and over: one line
        # per interval, counting the pauses in between.
        now = time.monotonic()
        if self._warned_at is not None and now - self._warned_at < _PAUSE_WARNING_INTERVAL_S:
            return
        self._warned_at = now
        ws = self.ws
        logger.warning(
            "! receive buffer full (%d frames, %d bytes; caps receive_buffer_frames=%d, "
            "receive_buffer_bytes=%d; %d pauses so far): the consumer is behind, so the socket is not "
            "read until it takes a frame; a pause longer than ping_interval_s + ping_timeout_s ends the "
            "connection (client fell behind)",
            len(ws.frames),
            ws.held_bytes,
            ws.max_frames,
            ws.max_bytes,
            ws.pauses,
        )

    def _failed(self, exc: ConnectionClosed, action: str) -> PermanentError:
        """Remember how the connection ended (websockets reports 1006 for codes we sent) and say so."""
        error = _closed_error(exc, action, self._secrets)
        ws = self.ws
        clean = exc.rcvd is not None and exc.rcvd.code in _CLEAN_CLOSE_CODES
        if ws.behind() and not clean:
            reason = error.close_reason or "connection lost"
            error = PermanentError(
                f"client fell behind: its receive buffer reached its cap (receive_buffer_frames="
                f"{ws.max_frames}, receive_buffer_bytes={ws.max_bytes}), the socket went unread and the "
                f"connection ended ({error.close_code} {reason!r}); cannot {action}",
                close_code=error.close_code,
                close_reason=f"client fell behind ({reason})",
            )
        self._closed = self._closed or error
        return error

    async def send(self, frame: str | bytes) -> None:
        """Send one text (``str``) or binary (``bytes``) frame."""
        try:
            await self.ws.send(frame)
        except ConnectionClosed as exc:
            raise self._failed(exc, "send") from exc

    async def recv(self) -> str | bytes:
        """The next frame read from the socket; cancelling it is safe (the frame stays for the next call)."""
        ws = self.ws
        while not ws.frames:
            if ws.state is WsState.CLOSED:
                if self._closed is not None:
                    raise _again(self._closed)
                raise self._failed(ws.protocol.close_exc, "receive") from ws.recv_exc
            ws.arrived.clear()
            await ws.arrived.wait()
        return ws.take()

    async def ping(self) -> float:
        """Ping and return the latency in seconds."""
        try:
            pong_waiter = await self.ws.ping()
            return await pong_waiter
        except ConnectionClosed as exc:
            raise self._failed(exc, "ping") from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Run the closing handshake (idempotent); frames already read stay receivable."""
        self.ws.resume()  # websockets must read the peer's close frame (a keepalive timeout is noted)
        self.ws.closing = True
        await self.ws.close(code, reason)

    @property
    def close_code(self) -> int | None:
        """Close code once closed, else None."""
        if self._closed is not None:
            return self._closed.close_code
        return self.ws.close_code

    @property
    def close_reason(self) -> str | None:
        """Close reason once closed, else None."""
        if self._closed is not None:
            return self._closed.close_reason
        reason = self.ws.close_reason
        return None if reason is None else redact(reason, *self._secrets)


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _OriginBoundConnect(ws_connect):
    """websockets' ``connect``, keeping every credential to its origin when it follows a redirect.

    websockets itself drops ``Authorization`` and ``Cookie`` on a cross-origin redirect; a key in Azure's
    ``api-key`` header, in the query, or in any other header (a subprotocol) would still go along.
    """

    def __init__(self, uri: str, *, secrets: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(uri, **kwargs)
        self._secrets = secrets

    def process_redirect(self, exc: Exception) -> Exception | str:
        origin = self.uri
        target = super().process_redirect(exc)
        if isinstance(target, str) and not same_origin(origin, target):
            if self.additional_headers is not None:
                given = Headers(self.additional_headers).raw_items()
                self.additional_headers = Headers(forwardable_headers(given, self._secrets))
            target = url_without_credentials(target, self._secrets)
            logger.info(
                "= redirected to another origin, %s: credentials not forwarded",
                redact(target, *self._secrets),
            )
        return target


def websocket_factory(
    *,
    max_frame_bytes: int,
    open_timeout_s: float = 10.0,
    secrets: tuple[str, ...] = (),
    ping_interval_s: float | None = PING_INTERVAL_S,
    ping_timeout_s: float | None = PING_TIMEOUT_S,
    receive_buffer_frames: int = RECEIVE_BUFFER_FRAMES,
    receive_buffer_bytes: int = RECEIVE_BUFFER_BYTES,
) -> TransportFactory:
    """Return a factory opening :class:`WebSocketTransport` connections with these limits.

    Args:
        max_frame_bytes: Largest message accepted from the server (websockets ``max_size``).
        open_timeout_s: Handshake timeout.
        secrets: Strings masked in log lines and error messages (the API key).
        ping_interval_s: Keepalive ping period (websockets ``ping_interval``); None disables keepalive.
        ping_timeout_s: Wait for each keepalive pong (websockets ``ping_timeout``); None waits for ever.
        receive_buffer_frames: Cap, in frames, of the receive buffer (see :class:`WebSocketTransport`).
        receive_buffer_bytes: Cap, in bytes, of the receive buffer.
    """
    ws_logger = _RedactingLogger(logging.getLogger("rtwidget.client.websockets"), secrets)
    connection_class = _connection_class(receive_buffer_frames, receive_buffer_bytes)

    async def open_websocket(url: str, headers: Mapping[str, str]) -> Transport:
        shown_url = redact(url, *secrets)
        opening = _OriginBoundConnect(
            url,
            secrets=secrets,
            additional_headers=dict(headers),
            user_agent_header=f"rtwidget/{__version__} {USER_AGENT}",
            max_size=max_frame_bytes,
            open_timeout=open_timeout_s,
            ping_interval=ping_interval_s,
            ping_timeout=ping_timeout_s,
            logger=ws_logger,
            # websockets >= 15 routes through HTTP(S)_PROXY by default; a loopback server (the
            # embedded simulator) must never be sent to a proxy, whatever the environment says.
            proxy=None if _is_loopback(url) else True,
            create_connection=connection_class,
        )
        try:
            ws = await opening
        except InvalidStatus as exc:
            status = exc.response.status_code
            body = (
                exc.response.body.decode("utf-8", "replace")[:_BODY_PREVIEW_CHARS]
                if exc.response.body
                else ""
            )
            detail = f": {redact(body, *secrets)}" if body else ""
            if opening.uri != url:
                shown_url += f" (redirected to {redact(opening.uri, *secrets)})"
            raise PermanentError(
                f"server refused the WebSocket upgrade at {shown_url}: HTTP {status}{detail}",
                status_code=status,
            ) from exc
        except (InvalidHandshake, InvalidURI) as exc:
            # Not chained: InvalidURI's message repeats the URL, which may carry an api-key parameter.
            raise PermanentError(
                f"WebSocket handshake with {shown_url} failed: {redact(str(exc), *secrets)}"
            ) from None
        except (OSError, TimeoutError) as exc:
            raise PermanentError(f"cannot connect to {shown_url}: {redact(str(exc), *secrets)}") from exc
        assert isinstance(ws, _FrameConnection)
        return WebSocketTransport(ws, secrets=secrets)

    return open_websocket
