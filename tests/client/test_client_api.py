"""The public surface of rtwidget.client: exported names and the error hierarchy."""

from __future__ import annotations

import rtwidget
from rtwidget import client


def test_all_names_resolve() -> None:
    """Every name in rtwidget.client.__all__ exists."""
    missing = [name for name in client.__all__ if not hasattr(client, name)]
    assert missing == []


def test_top_level_reexports_are_the_same_objects() -> None:
    """rtwidget.connect / Connection / ClientConfig are the client's own objects."""
    assert rtwidget.connect is client.connect
    assert rtwidget.Connection is client.Connection
    assert rtwidget.ClientConfig is client.ClientConfig


def test_error_hierarchy() -> None:
    """Permanent and temporary errors are distinct RealtimeErrors; FrameError is temporary."""
    assert issubclass(client.PermanentError, client.RealtimeError)
    assert issubclass(client.TemporaryError, client.RealtimeError)
    assert issubclass(client.FrameError, client.TemporaryError)
    assert not issubclass(client.FrameError, client.PermanentError)
    assert not issubclass(client.PermanentError, client.TemporaryError)
