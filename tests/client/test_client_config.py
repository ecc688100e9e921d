"""ClientConfig: URLs, headers and keys per provider and dialect; keys never printed."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from rtwidget.client import ClientConfig

KEY = "sk-test-SECRET-key-0123456789"


def query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def test_openai_default_url() -> None:
    """OpenAI GA: wss://api.openai.com/v1/realtime?model=gpt-realtime-2."""
    assert ClientConfig(api_key=KEY).ws_url() == "wss://api.openai.com/v1/realtime?model=gpt-realtime-2"


def test_openai_base_url_http_maps_to_ws() -> None:
    """An http:// base URL becomes ws:// with /realtime appended."""
    config = ClientConfig.openai(KEY, base_url="http://127.0.0.1:9/v1/", model="m1")
    assert config.ws_url() == "ws://127.0.0.1:9/v1/realtime?model=m1"
    assert config.rest_base_url() == "http://127.0.0.1:9/v1"


def test_call_id_replaces_model() -> None:
    """Joining a call puts call_id, not model, in the query."""
    assert query(ClientConfig(api_key=KEY, call_id="rtc_123").ws_url()) == [("call_id", "rtc_123")]


def test_transcription_intent_replaces_model() -> None:
    """A transcription session sends intent=transcription and no model."""
    assert query(ClientConfig(api_key=KEY, intent="transcription").ws_url()) == [("intent", "transcription")]


def test_bad_intent_refused() -> None:
    """An unknown intent is refused with a message naming it."""
    with pytest.raises(ValueError, match="'translate'"):
        ClientConfig(api_key=KEY, intent="translate")  # type: ignore[arg-type]


def test_azure_ga_url() -> None:
    """Azure GA: /openai/v1/realtime?model=<deployment>, no api-version."""
    config = ClientConfig.azure("https://res.openai.azure.com/", "my-deploy", api_key=KEY)
    assert config.ws_url() == "wss://res.openai.azure.com/openai/v1/realtime?model=my-deploy"


def test_azure_preview_url() -> None:
    """Azure preview: /openai/realtime?api-version=...&deployment=..."""
    config = ClientConfig.azure(
        "https://res.openai.azure.com", "my-deploy", api_key=KEY, azure_api_version="2025-04-01-preview"
    )
    assert config.ws_url() == (
        "wss://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=my-deploy"
    )


def test_azure_deployment_defaults_to_model() -> None:
    """Without azure_deployment the model names the deployment."""
    config = ClientConfig.azure("https://res.openai.azure.com", api_key=KEY, model="dep2")
    assert query(config.ws_url()) == [("model", "dep2")]


def test_azure_endpoint_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """AZURE_OPENAI_ENDPOINT supplies the Azure endpoint."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://envres.openai.azure.com")
    config = ClientConfig(provider="azure", api_key=KEY)
    assert config.ws_url().startswith("wss://envres.openai.azure.com/openai/v1/realtime?")


def test_azure_without_endpoint_refused() -> None:
    """Azure with no endpoint anywhere gets a clear message."""
    with pytest.raises(ValueError, match="AZURE_OPENAI_ENDPOINT"):
        ClientConfig(provider="azure", api_key=KEY)


def test_custom_url_gets_model_appended() -> None:
    """A custom URL keeps its path and gains ?model=."""
    config = ClientConfig(url="ws://127.0.0.1:8765/v1/realtime", model="sim")
    assert config.provider == "custom"
    assert config.ws_url() == "ws://127.0.0.1:8765/v1/realtime?model=sim"


def test_custom_url_query_wins() -> None:
    """Query parameters already in the URL are kept and not duplicated."""
    config = ClientConfig(url="ws://h/v1/realtime?model=mine&x=1", query={"y": "2"})
    assert query(config.ws_url()) == [("model", "mine"), ("x", "1"), ("y", "2")]


@pytest.mark.parametrize(
    ("url", "provider"),
    [
        ("wss://api.openai.com/v1/realtime", "openai"),
        ("wss://res.openai.azure.com/openai/v1/realtime", "azure"),
        ("wss://res.cognitiveservices.azure.com/openai/v1/realtime", "azure"),
        ("ws://localhost:8765/v1/realtime", "custom"),
    ],
)
def test_provider_inferred_from_host(url: str, provider: str) -> None:
    """The provider follows the URL's host when not given."""
    assert ClientConfig(url=url, api_key=KEY).provider == provider


def test_bad_scheme_refused() -> None:
    """A URL that is neither ws(s) nor http(s) is refused at construction."""
    with pytest.raises(ValueError, match="ftp"):
        ClientConfig(url="ftp://h/v1/realtime")


def test_bad_dialect_refused() -> None:
    """Only 'ga' and 'beta' are dialects."""
    with pytest.raises(ValueError, match="'v2'"):
        ClientConfig(url="ws://h", dialect="v2")  # type: ignore[arg-type]


def test_openai_ga_headers() -> None:
    """OpenAI GA sends Bearer auth, organization and project, and no OpenAI-Beta."""
    headers = ClientConfig(api_key=KEY, organization="org-1", project="proj-1").ws_headers()
    assert headers == {
        "Authorization": f"Bearer {KEY}",
        "OpenAI-Organization": "org-1",
        "OpenAI-Project": "proj-1",
    }


def test_beta_header_only_in_beta() -> None:
    """dialect='beta' adds OpenAI-Beta: realtime=v1."""
    assert ClientConfig(api_key=KEY, dialect="beta").ws_headers()["OpenAI-Beta"] == "realtime=v1"


def test_ga_with_beta_header_refused() -> None:
    """An OpenAI-Beta header under dialect='ga' is refused, naming the server error it would cause."""
    with pytest.raises(ValueError, match="beta_api_shape_disabled"):
        ClientConfig(url="ws://h", headers={"openai-beta": "realtime=v1"})


def test_azure_headers_use_api_key() -> None:
    """Azure sends api-key and no Authorization."""
    headers = ClientConfig.azure("https://res.openai.azure.com", "d", api_key=KEY).ws_headers()
    assert headers == {"api-key": KEY}


def test_azure_ad_token_uses_bearer() -> None:
    """An Entra token goes as Authorization: Bearer instead of api-key."""
    headers = ClientConfig.azure(
        "https://res.openai.azure.com", "d", azure_ad_token="tok-abcdef"
    ).ws_headers()
    assert headers == {"Authorization": "Bearer tok-abcdef"}


def test_openai_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """OPENAI_API_KEY is used when no key is given."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert ClientConfig().ws_headers()["Authorization"] == f"Bearer {KEY}"


def test_azure_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """AZURE_OPENAI_API_KEY is used for Azure when no key is given."""
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-provider-key")
    assert ClientConfig.azure("https://res.openai.azure.com", "d").ws_headers() == {"api-key": KEY}


def test_custom_server_never_gets_environment_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A custom URL receives no key from OPENAI_API_KEY."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert ClientConfig(url="ws://127.0.0.1:1/v1/realtime").ws_headers() == {}


def test_missing_openai_key_is_a_clear_error() -> None:
    """OpenAI without any key says how to provide one."""
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        ClientConfig().ws_headers()


def test_extra_headers_sent_last() -> None:
    """Extra headers are added after (and may override) the computed ones."""
    headers = ClientConfig(url="ws://h", api_key=KEY, headers={"X-Trace": "1"}).ws_headers()
    assert list(headers.items()) == [("Authorization", f"Bearer {KEY}"), ("X-Trace", "1")]


def test_repr_and_str_hide_key() -> None:
    """repr() and str() of a config show *** instead of the key, and still name the endpoint."""
    config = ClientConfig(url="ws://h/v1/realtime?api-key=" + KEY, api_key=KEY, headers={"X-Key": KEY})
    for text in (repr(config), str(config)):
        assert KEY not in text
        assert "api_key='***'" in text
        assert "ws://h/v1/realtime" in text


def test_repr_hides_environment_key_in_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key taken from the environment is masked too, wherever it reappears."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    config = ClientConfig(headers={"X-Copy": f"copy {KEY}"})
    assert KEY not in repr(config)


def test_headers_repr_hides_key() -> None:
    """The header dict prints *** for credentials but keeps the real values for the wire."""
    headers = ClientConfig.azure(
        "https://res.openai.azure.com", "d", api_key=KEY, headers={"X-A": "1"}
    ).ws_headers()
    assert KEY not in repr(headers)
    assert KEY not in str(headers)
    assert "'X-A': '1'" in repr(headers)
    assert headers["api-key"] == KEY


def test_replace_reinfers_provider() -> None:
    """replace(url=...) re-infers the provider from the new URL."""
    config = ClientConfig(api_key=KEY).replace(url="ws://127.0.0.1:1/v1/realtime")
    assert config.provider == "custom"


def test_key_in_url_query_counts_as_secret() -> None:
    """An api-key query parameter (Azure's alternative to the header) is masked like a key."""
    config = ClientConfig(url="wss://res.openai.azure.com/openai/v1/realtime?api-key=" + KEY)
    assert KEY in config.secrets()
    assert KEY not in repr(config)


def test_azure_key_as_query_parameter_needs_no_header() -> None:
    """Azure with api-key= in the URL sends no api-key header and raises no missing-key error."""
    config = ClientConfig(url="wss://res.openai.azure.com/openai/v1/realtime?api-key=" + KEY)
    assert config.ws_headers() == {}
    assert ("api-key", KEY) in query(config.ws_url())


@pytest.mark.parametrize(
    "bad",
    [
        {"ping_interval_s": 0},
        {"ping_timeout_s": float("nan")},
        {"receive_buffer_frames": 0},
        {"receive_buffer_bytes": -1},
    ],
)
def test_keepalive_and_buffer_options_must_be_positive(bad: dict[str, float]) -> None:
    """Keepalive periods and receive-buffer caps are refused unless positive (None disables keepalive)."""
    [(name, _)] = bad.items()
    with pytest.raises(ValueError, match=name):
        ClientConfig(url="ws://h/v1/realtime", **bad)
    assert (
        ClientConfig(url="ws://h/v1/realtime", ping_interval_s=None, ping_timeout_s=None).ping_timeout_s
        is None
    )
