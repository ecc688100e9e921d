"""Package-level promises: the public names, and the protocol core staying sans-I/O."""

from __future__ import annotations

import subprocess
import sys

import rtwidget


def test_all_names_resolve() -> None:
    """Every name in rtwidget.__all__ resolves to an object."""
    for name in rtwidget.__all__:
        assert getattr(rtwidget, name) is not None, name


def test_contract_names_exported() -> None:
    """The public API contract (docs/architecture.md) is importable from the top level."""
    from rtwidget import ClientConfig, Connection, RealtimeWidget, connect
    from rtwidget.protocol import ProtocolError, UnknownEvent, parse_client_event, parse_server_event

    assert callable(connect)
    assert callable(parse_server_event)
    assert callable(parse_client_event)
    assert issubclass(ProtocolError, Exception)
    for cls in (ClientConfig, Connection, RealtimeWidget, UnknownEvent):
        assert isinstance(cls, type)


def test_protocol_core_imports_no_io() -> None:
    """Importing rtwidget.protocol loads neither asyncio, websockets nor numpy."""
    code = (
        "import sys, rtwidget.protocol, rtwidget.protocol.conversation\n"
        "bad = [m for m in ('asyncio', 'websockets', 'numpy') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_sdk_import_does_not_load_widget_stack() -> None:
    """Using the SDK does not import anywidget or ipywidgets."""
    code = (
        "import sys\nfrom rtwidget import connect, ClientConfig\n"
        "print(','.join(m for m in ('anywidget', 'ipywidgets') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
