"""Every field the official ``openai`` package documents for a GA client event is one we accept."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
import pytest
import typing_extensions

from rtwidget.protocol import ga

realtime_client_event_param = pytest.importorskip("openai.types.realtime.realtime_client_event_param")

_WRAPPERS = {typing.Required, typing.NotRequired, typing.Annotated}


def _alternatives(annotation: Any) -> Iterator[Any]:
    """The concrete types an annotation allows (unions, Optional, Required, Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin in _WRAPPERS:
        yield from _alternatives(typing.get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType, list, Iterable, typing.Sequence) or (
        isinstance(origin, type) and origin is not dict and issubclass(origin, Iterable)
    ):
        for arg in typing.get_args(annotation):
            yield from _alternatives(arg)
    else:
        yield annotation


def _openai_paths(annotation: Any, prefix: str, seen: set[Any]) -> set[str]:
    paths: set[str] = set()
    for alt in _alternatives(annotation):
        if typing_extensions.is_typeddict(alt) and alt not in seen:
            hints = typing.get_type_hints(alt, include_extras=True)
            for key, hint in hints.items():
                path = f"{prefix}.{key}"
                paths.add(path)
                paths |= _openai_paths(hint, path, seen | {alt})
    return paths


def _our_paths(annotation: Any, prefix: str, seen: set[Any]) -> set[str]:
    paths: set[str] = set()
    for alt in _alternatives(annotation):
        if isinstance(alt, type) and issubclass(alt, msgspec.Struct) and alt not in seen:
            config = alt.__struct_config__
            if config.tag_field:
                paths.add(f"{prefix}.{config.tag_field}")
            for info in msgspec.structs.fields(alt):
                path = f"{prefix}.{info.encode_name}"
                paths.add(path)
                paths |= _our_paths(info.type, path, seen | {alt})
    return paths


def _openai_events() -> dict[str, Any]:
    union = realtime_client_event_param.RealtimeClientEventParam
    events = {}
    for param in typing.get_args(union):
        hints = typing.get_type_hints(param, include_extras=True)
        (kind,) = typing.get_args(next(iter(_alternatives(hints["type"]))))
        events[kind] = param
    return events


@pytest.mark.parametrize("kind", sorted(_openai_events()))
def test_documented_client_fields_are_accepted(kind: str) -> None:
    """Each field path openai documents for this GA client event exists in our typed event."""
    documented = _openai_paths(_openai_events()[kind], "$", set())
    ours = _our_paths(ga.CLIENT_EVENTS[kind], "$", set())
    missing = sorted(documented - ours)
    assert not missing, f"{kind}: openai documents fields we refuse: {missing}"
