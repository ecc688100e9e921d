"""rtwidget: a Jupyter console and a typed async SDK for OpenAI-Realtime-protocol servers.

Names are loaded on first use: ``import rtwidget.protocol`` must not pull in asyncio, websockets or
numpy (the protocol core is sans-I/O), and SDK-only scripts should not pay for anywidget and ipywidgets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rtwidget.client import ClientConfig, Connection, connect
    from rtwidget.widget import RealtimeWidget

__version__ = "0.1.0.dev0"

__all__ = ["ClientConfig", "Connection", "RealtimeWidget", "__version__", "connect"]

_LAZY = {
    "ClientConfig": "rtwidget.client",
    "Connection": "rtwidget.client",
    "connect": "rtwidget.client",
    "RealtimeWidget": "rtwidget.widget",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rtwidget' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
