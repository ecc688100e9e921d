"""The client against the bundled simulator (rtwidget.server.serve) on loopback."""

from __future__ import annotations

from typing import Any

import pytest

from rtwidget.client import PermanentError, connect
from rtwidget.protocol import UnknownEvent, beta, ga
from rtwidget.server import serve

USER_HELLO = {
    "type": "conversation.item.create",
    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]},
}
TEXT_ONLY = {
    "ga": {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}},
    "beta": {"type": "session.update", "session": {"modalities": ["text"]}},
}
KNOWN: dict[str, dict[str, Any]] = {"ga": ga.SERVER_EVENTS, "beta": beta.SERVER_EVENTS}


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_text_turn_parses_to_dialect_classes(dialect: str) -> None:
    """A text turn yields only known classes of the connection's dialect, ending in response.done."""
    async with serve(port=0, speed=100.0) as sim, connect(sim.url, dialect=dialect) as conn:  # type: ignore[arg-type]
        first = await conn.recv()
        for message in (TEXT_ONLY[dialect], USER_HELLO, {"type": "response.create"}):
            await conn.send(message)
        events = [first]
        async for ev in conn:
            events.append(ev)
            if ev.type == "response.done":
                break
    assert events[0].type == "session.created"
    assert events[-1].type == "response.done"
    assert not [ev for ev in events if isinstance(ev, UnknownEvent)]
    assert all(type(ev) is KNOWN[dialect][ev.type] for ev in events)


@pytest.mark.parametrize(
    ("options", "code", "reason"),
    [
        ({"api_key": "sk-wrong"}, 3000, "invalid_request_error.invalid_api_key"),
        ({"api_key": "sk-right", "dialect": "beta"}, 4000, "invalid_request_error.beta_api_shape_disabled"),
    ],
)
async def test_simulator_rejections_are_permanent(options: dict[str, Any], code: int, reason: str) -> None:
    """A wrong key (3000) and the beta shape on a GA-only server (4000) end iteration with PermanentError."""
    async with (
        serve(port=0, require_key="sk-right", reject_beta=True) as sim,
        connect(sim.url, **options) as conn,
    ):
        errors: list[Any] = []
        conn.on("error", errors.append)
        with pytest.raises(PermanentError) as caught:
            await conn.run()
    assert (caught.value.close_code, caught.value.close_reason) == (code, reason)
    assert [e.error.code for e in errors] == [reason.split(".")[1]]
