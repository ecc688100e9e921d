"""Async client for servers speaking the OpenAI Realtime protocol (asyncio + websockets).

```python
from rtwidget.client import connect

async with connect(url="ws://127.0.0.1:8765/v1/realtime") as conn:   # or connect(config=ClientConfig...)
    conn.on("response.output_text.delta", lambda ev: print(ev.delta, end=""))
    await conn.send({"type": "response.create"})                       # validated before sending
    async for ev in conn:                                               # typed server events
        if ev.type == "response.done":
            break
```

This layer only moves frames between the socket and :mod:`rtwidget.protocol`; see :class:`Connection`
for the receive model and the error rules (:class:`PermanentError` versus :class:`FrameError`).
"""

from __future__ import annotations

from rtwidget.client.config import (
    AZURE_API_KEY_ENV,
    DEFAULT_MODEL,
    MAX_FRAME_BYTES,
    OPENAI_API_KEY_ENV,
    ClientConfig,
    Dialect,
    Provider,
    RedactedHeaders,
)
from rtwidget.client.connection import Connection, Direction, FrameObserver, Handler, State, connect
from rtwidget.client.errors import (
    ClientSecretError,
    FrameError,
    PermanentError,
    RealtimeError,
    TemporaryError,
)
from rtwidget.client.memory import MemoryTransport, memory_factory
from rtwidget.client.secrets import ClientSecret, client_secret_request, create_client_secret
from rtwidget.client.transport import Transport, TransportFactory, WebSocketTransport, websocket_factory

__all__ = [
    "AZURE_API_KEY_ENV",
    "DEFAULT_MODEL",
    "MAX_FRAME_BYTES",
    "OPENAI_API_KEY_ENV",
    "ClientConfig",
    "ClientSecret",
    "ClientSecretError",
    "Connection",
    "Dialect",
    "Direction",
    "FrameError",
    "FrameObserver",
    "Handler",
    "MemoryTransport",
    "PermanentError",
    "Provider",
    "RealtimeError",
    "RedactedHeaders",
    "State",
    "TemporaryError",
    "Transport",
    "TransportFactory",
    "WebSocketTransport",
    "client_secret_request",
    "connect",
    "create_client_secret",
    "memory_factory",
    "websocket_factory",
]
