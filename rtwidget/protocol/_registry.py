"""Builds the wire-type -> class maps and sets each class's ``type`` attribute."""

from __future__ import annotations

from typing import TypeVar

from rtwidget.protocol._base import ClientEvent, ServerEvent

E = TypeVar("E", ClientEvent, ServerEvent)

__all__ = ["event_map"]


def event_map(*classes: type[E]) -> dict[str, type[E]]:
    """Return ``{wire type: class}`` for tagged event classes, giving each class a ``type`` attribute."""
    result: dict[str, type[E]] = {}
    for cls in classes:
        tag = cls.__struct_config__.tag
        if not isinstance(tag, str):
            raise TypeError(f"{cls.__name__} has no string tag")
        setattr(cls, "type", tag)  # noqa: B010 - the base declares `type` read-only for type checkers
        result[tag] = cls
    return result
