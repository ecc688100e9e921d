"""The one decision of where to connect: simulator, OpenAI, a custom URL, or a ready config."""

from __future__ import annotations

from rtwidget.client import ClientConfig
from rtwidget.client.backend import resolve_backend

KEY = "sk-test-backend-0123456789"


def test_nothing_given_means_the_embedded_simulator() -> None:
    """No key, no URL, no config, no OPENAI_API_KEY: the embedded simulator."""
    backend = resolve_backend(env={})
    assert (backend.embedded, backend.config, backend.label) == (True, None, "local simulator")
    config = backend.config_for("ws://127.0.0.1:5/v1/realtime")
    assert (config.url, config.api_key) == ("ws://127.0.0.1:5/v1/realtime", None)


def test_environment_key_means_openai() -> None:
    """OPENAI_API_KEY in the environment (and nothing else) means OpenAI, with that key."""
    backend = resolve_backend(env={"OPENAI_API_KEY": KEY})
    assert (backend.embedded, backend.label) == (False, "api.openai.com")
    assert backend.config is not None
    assert backend.config.api_key == KEY
    assert KEY in backend.secrets


def test_custom_url_never_gets_the_environment_key() -> None:
    """A custom URL receives only an explicitly given key, never OPENAI_API_KEY."""
    backend = resolve_backend(url="ws://example.test/v1/realtime?api-key=zzz", env={"OPENAI_API_KEY": KEY})
    assert backend.config is not None
    assert backend.config.api_key is None
    assert backend.label == "example.test"  # host only: the query may hold a key
    explicit = resolve_backend(url="ws://example.test/v1/realtime", api_key=KEY, env={})
    assert explicit.config is not None
    assert explicit.config.api_key == KEY


def test_ready_config_is_used_as_it_is() -> None:
    """A ClientConfig wins; model, when given, overrides its model."""
    config = ClientConfig(url="ws://h.test/v1/realtime", model="m1", dialect="beta")
    backend = resolve_backend(config=config, model="m2", env={"OPENAI_API_KEY": KEY})
    assert backend.config is not None
    assert (backend.config.model, backend.dialect, backend.embedded) == ("m2", "beta", False)
    assert backend.config_for() is backend.config
