"""The notebook console: ``RealtimeWidget`` (anywidget) and its log entries."""

from __future__ import annotations

from rtwidget.widget.log import LogEntry
from rtwidget.widget.widget import AudioTrack, Item, RealtimeWidget

__all__ = ["AudioTrack", "Item", "LogEntry", "RealtimeWidget"]
