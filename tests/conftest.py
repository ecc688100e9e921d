"""Fixtures for the whole suite: no real keys, no proxies, loopback only."""

from __future__ import annotations

import pytest

_KEY_VARIABLES = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID")
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _offline_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see a real key (the widget would pick OpenAI) nor route loopback through a proxy."""
    for name in (*_KEY_VARIABLES, *_PROXY_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost,::1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the real-browser tests last.

    Playwright's sync API keeps its own event loop installed for as long as its session-scoped browser
    lives; asyncio tests (and nbclient) collected after it would find "another loop is running".
    """
    del config
    items.sort(
        key=lambda item: "browser" in item.path.parts or item.get_closest_marker("browser") is not None
    )
