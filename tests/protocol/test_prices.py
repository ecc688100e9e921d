"""The price table and the bill of a usage (rtwidget.protocol.prices): sans I/O, no event loop."""

from __future__ import annotations

import pytest

from rtwidget.protocol import catalog
from rtwidget.protocol.prices import (
    PRICE_FIELDS,
    PRICES_USD_PER_1M_TOKENS,
    UNCONFIRMED,
    cost_usd,
    merge_prices,
    price_for,
    usage_tokens,
)

GPT_REALTIME_2 = PRICES_USD_PER_1M_TOKENS["gpt-realtime-2"]


def usage(text_in: int, audio_in: int, text_out: int, audio_out: int, **extra: object) -> dict[str, object]:
    return {
        "input_tokens": text_in + audio_in,
        "output_tokens": text_out + audio_out,
        "input_token_details": {"text_tokens": text_in, "audio_tokens": audio_in, "cached_tokens": 0},
        "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        **extra,
    }


def test_every_current_and_shut_down_realtime_model_has_a_price() -> None:
    """The catalog's realtime models (and those on its shutdown list) are priced, dated snapshots included."""
    realtime = [m for m in (*catalog.REALTIME_MODELS, *catalog.SHUTDOWNS) if "realtime" in m]
    for model in realtime:
        assert price_for(model, PRICES_USD_PER_1M_TOKENS) is not None, model
    assert (
        price_for("gpt-realtime-2025-08-28", PRICES_USD_PER_1M_TOKENS)
        is PRICES_USD_PER_1M_TOKENS["gpt-realtime"]
    )
    assert price_for("nobody-knows", PRICES_USD_PER_1M_TOKENS) is None


def test_every_model_has_every_field_and_the_unconfirmed_ones_exist() -> None:
    for model, fields in PRICES_USD_PER_1M_TOKENS.items():
        assert set(PRICE_FIELDS) <= set(fields), model
    for model, names in UNCONFIRMED.items():
        assert set(names) <= set(PRICES_USD_PER_1M_TOKENS[model]), model


def test_reasoning_tokens_outside_the_text_count_are_billed_as_text_output() -> None:
    """output_tokens 50 = 10 text + 30 audio + 10 reasoning: the 20 non-audio tokens are text output."""
    spent = usage(0, 0, 10, 30)
    spent["output_tokens"] = 50
    spent["output_token_details"] = {"text_tokens": 10, "audio_tokens": 30, "reasoning_tokens": 10}
    expected = (20 * GPT_REALTIME_2["text_output"] + 30 * GPT_REALTIME_2["audio_output"]) / 1e6
    assert cost_usd(spent, GPT_REALTIME_2) == pytest.approx(expected)
    assert usage_tokens(spent)["reasoning_tokens"] == 10


def test_cached_tokens_without_their_split_give_no_cost() -> None:
    """Cached text and cached audio are priced apart: without cached_tokens_details the bill is unknown."""
    spent = usage(100, 100, 0, 0)
    spent["input_token_details"] = {"text_tokens": 100, "audio_tokens": 100, "cached_tokens": 64}
    assert cost_usd(spent, GPT_REALTIME_2) is None
    assert cost_usd(usage(100, 100, 0, 0), GPT_REALTIME_2) is not None


def test_image_tokens_need_an_image_price() -> None:
    spent = usage(10, 0, 0, 0)
    spent["input_token_details"] = {
        "text_tokens": 10,
        "audio_tokens": 0,
        "image_tokens": 100,
        "cached_tokens": 0,
    }
    assert cost_usd(spent, GPT_REALTIME_2) == pytest.approx(
        (10 * GPT_REALTIME_2["text_input"] + 100 * GPT_REALTIME_2["image_input"]) / 1e6
    )
    assert cost_usd(spent, PRICES_USD_PER_1M_TOKENS["gpt-4o-realtime-preview"]) is None


def test_merge_adds_a_complete_new_model_and_leaves_the_base_alone() -> None:
    new = dict.fromkeys(PRICE_FIELDS, 1.0)
    merged = merge_prices(PRICES_USD_PER_1M_TOKENS, {"my-model": new})
    assert merged["my-model"] == new
    assert "my-model" not in PRICES_USD_PER_1M_TOKENS
    with pytest.raises(ValueError, match="number"):
        merge_prices(PRICES_USD_PER_1M_TOKENS, {"gpt-realtime": {"text_input": True}})
