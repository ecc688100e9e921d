"""The simulator never logs a client's API key (websockets logs requests and headers at DEBUG)."""

from __future__ import annotations

import json
import logging

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from rtwidget.server import serve

KEY = "sk-secret-123"


async def test_keys_redacted_in_debug_log(caplog: pytest.LogCaptureFixture):
    """Authorization, api-key header, ?api-key= and the key subprotocol are logged as ***."""
    caplog.set_level(logging.DEBUG, logger="rtwidget.server.websockets")
    async with serve(port=0) as sim:
        url = f"{sim.url}?model=gpt-realtime-2&api-key={KEY}"
        headers = {"Authorization": f"Bearer {KEY}", "api-key": KEY}
        protocols = [Subprotocol("realtime"), Subprotocol(f"openai-insecure-api-key.{KEY}")]
        async with connect(url, additional_headers=headers, subprotocols=protocols) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
    messages = [r.getMessage() for r in caplog.records if r.name == "rtwidget.server.websockets"]
    assert any("api-key" in m.lower() for m in messages), "websockets logged no request headers"
    assert not [m for m in messages if KEY in m]
    assert any("***" in m for m in messages)
