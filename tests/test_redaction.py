"""The package's one redaction policy: plain data in, masked data out, the input untouched."""

from __future__ import annotations

import copy

from rtwidget.redaction import REDACTED, redact, redact_text, redact_url

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
