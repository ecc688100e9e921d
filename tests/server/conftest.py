"""Fixtures for the simulator tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_testing import FAST_SPEED

from rtwidget.server import Simulator, serve


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A simulator on 127.0.0.1, random port, streaming fast."""
    async with serve(port=0, speed=FAST_SPEED) as running:
        yield running
