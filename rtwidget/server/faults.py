"""Fault injection for tests: misbehave on purpose, switched on by a `serve()` option or query parameters.

Query parameters (on the connection URL) override the server-wide `Faults`:

====================  ===============================================================
`fault_drop_after`    abort the TCP connection (no close frame) after N server events
`fault_close_after`   close with `fault_close_code` / `fault_close_reason` after N events
`fault_malformed_after`  send a non-JSON text frame after N events
`fault_binary_after`  send a binary frame after N events
`fault_unknown_after` send an event of an unknown `type` after N events
`fault_delay_ms`      delay every server event by this many milliseconds
====================  ===============================================================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["MALFORMED_FRAME", "UNKNOWN_EVENT_TYPE", "Faults"]

# What the injected frames look like (tests compare against these).
MALFORMED_FRAME = '{"type": "response.output_text.delta", "delta": '
UNKNOWN_EVENT_TYPE = "simulator.unknown_event"
_PREFIX = "fault_"


@dataclass(frozen=True)
class Faults:
    """Which faults to inject; every count is the number of server events sent before the fault."""

    drop_after: int | None = None
    close_after: int | None = None
    close_code: int = 1011
    close_reason: str = "simulated fault"
    malformed_after: int | None = None
    binary_after: int | None = None
    unknown_after: int | None = None
    delay_ms: float = 0.0

    @property
    def active(self) -> bool:
        """Whether any fault is switched on."""
        return self != Faults()

    def with_query(self, query: Mapping[str, str]) -> Faults:
        """These faults overridden by `fault_*` query parameters.

        Raises:
            ValueError: a `fault_*` parameter is unknown or not a number (message names it).
        """
        changes: dict[str, object] = {}
        names = {f.name: f for f in dataclasses.fields(self)}
        for key, raw in query.items():
            if not key.startswith(_PREFIX):
                continue
            name = key[len(_PREFIX) :]
            if name not in names:
                raise ValueError(
                    f"unknown fault parameter {key!r}; known: {', '.join(_PREFIX + n for n in names)}"
                )
            if name == "close_reason":
                changes[name] = raw
                continue
            try:
                changes[name] = float(raw) if name == "delay_ms" else int(raw)
            except ValueError:
                raise ValueError(f"fault parameter {key!r} must be a number, got {raw!r}") from None
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
