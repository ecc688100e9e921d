"""Fixtures for the client tests: no real keys from the environment, loopback never proxied."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide the caller's keys (tests must never see a real one) and keep 127.0.0.1 off any proxy."""
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
