"""The package's one redaction policy: plain data in, masked data out, the input untouched."""

from __future__ import annotations

import copy

from rtwidget.redaction import (
    REDACTED,
    forwardable_headers,
    redact,
    redact_text,
    redact_url,
    same_origin,
    url_without_credentials,
)

KEY = "sk-test-0123456789abcdef"


def test_known_secret_and_key_like_literals_are_masked() -> None:
    """A known secret and any sk-/ek- looking literal are masked; short strings are not secrets."""
    text = f"bad key {KEY}, also ek_abcdefghijkl and 'ab'"
    assert redact_text(text, KEY, "ab") == f"bad key {REDACTED}, also {REDACTED} and 'ab'"


def test_query_credentials_are_masked_in_text_and_urls() -> None:
    """?api-key= and &token= values are masked wherever a URL appears; other parameters stay."""
    url = "wss://res.openai.azure.com/openai/v1/realtime?model=gpt&api-key=abcd1234secret&x=1"
    assert (
        redact_url(url) == f"wss://res.openai.azure.com/openai/v1/realtime?model=gpt&api-key={REDACTED}&x=1"
    )
    said = f"could not connect to {url} (HTTP 401)"
    assert "abcd1234secret" not in redact_text(said)
    assert "model=gpt" in redact_text(said)
    assert redact_text("monkey=banana") == "monkey=banana"


def test_userinfo_is_masked() -> None:
    """user:password in a URL is masked."""
    assert redact_url("wss://me:pw@host/v1") == f"wss://{REDACTED}@host/v1"


def test_nested_data_is_masked_without_changing_the_input() -> None:
    """Credential fields are replaced whole (a client_secret keeps its shape); the input is not mutated."""
    data = {
        "session": {"client_secret": {"value": "ek_secretsecret", "expires_at": 5}, "note": f"key {KEY}"},
        "headers": [{"Authorization": f"Bearer {KEY}"}],
    }
    before = copy.deepcopy(data)
    out = redact(data, [KEY])
    assert data == before
    assert out["session"]["client_secret"] == {"value": REDACTED, "expires_at": 5}
    assert out["session"]["note"] == f"key {REDACTED}"
    assert out["headers"] == [{"Authorization": REDACTED}]


def test_origins_compare_scheme_host_and_port() -> None:
    """Default ports count as given; another port, scheme or host name (localhost) is another origin."""
    assert same_origin("wss://Example.com/a?x=1", "wss://example.com:443/b")
    assert not same_origin("ws://127.0.0.1:8000/", "ws://127.0.0.1:8001/")
    assert not same_origin("ws://127.0.0.1:8000/", "ws://localhost:8000/")
    assert not same_origin("ws://h/", "wss://h/")


def test_credentials_are_removed_for_another_origin() -> None:
    """Secret headers, headers carrying a secret and credential query parameters go; the rest stays."""
    secret = "custom-token-value"
    headers = [
        ("api-key", "x"),
        ("Proxy-Authorization", "Basic x"),
        ("Sec-WebSocket-Protocol", f"realtime, openai-insecure-api-key.{secret}"),
        ("X-Mine", "sk-test-0123456789abcdef"),
        ("OpenAI-Beta", "realtime=v1"),
    ]
    assert forwardable_headers(headers, [secret]) == [("OpenAI-Beta", "realtime=v1")]
    url = f"ws://u:p@h:1/v1/realtime?model=m&api-key=k&other={secret}"
    assert url_without_credentials(url, [secret]) == "ws://h:1/v1/realtime?model=m"
