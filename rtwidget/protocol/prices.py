"""Token prices of the realtime models, and the usage of a response split the way it is billed.

Prices are USD per 1M tokens, per model, for text, audio and image input (uncached and cached) and text and
audio output. Source: OpenAI's model pages (developers.openai.com/api/docs/models/<model>, each page's
"Pricing" tables), read on 2026-12-02 from the stored copies the project's search corpus holds (the pages
carry no date of their own). Figures the pages did not show are listed in :data:`UNCONFIRMED`: they are
assumptions, copied from the model's successor at the same tier, and should be checked before being relied
on. Override any of them per widget: ``w.prices = {"gpt-realtime": {"audio_output": 70.0}}``.

Billing facts this module relies on (the official schema, ``RealtimeResponse.usage``, and OpenAI's "Managing
costs" guide for the Realtime API): ``input_tokens`` counts text, audio and image tokens;
``input_token_details.cached_tokens`` is "the number of cached tokens used as input", a part of
``input_tokens`` (not an addition), split by modality in ``cached_tokens_details``; cached tokens are billed
at the cached rate and the rest of the input at the input rate. ``output_tokens`` counts text and audio
output; ``output_token_details.reasoning_tokens`` (newest models) is reasoning the model did, billed as text
output.

Sans-I/O like the rest of ``rtwidget.protocol``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "PRICES_USD_PER_1M_TOKENS",
    "PRICE_FIELDS",
    "UNCONFIRMED",
    "cost_usd",
    "merge_prices",
    "price_for",
    "usage_tokens",
]

PRICE_FIELDS: tuple[str, ...] = (
    "text_input",
    "text_cached_input",
    "audio_input",
    "audio_cached_input",
    "text_output",
    "audio_output",
)
"""The prices every model has (USD per 1M tokens)."""

_IMAGE_FIELDS: tuple[str, ...] = ("image_input", "image_cached_input")
"""Prices only models with image input have."""


def _price(
    text: tuple[float, float, float], audio: tuple[float, float, float], image: tuple[float, float] | None
) -> dict[str, float]:
    """One model's prices from (input, cached input, output) per modality."""
    out = {
        "text_input": text[0],
        "text_cached_input": text[1],
        "text_output": text[2],
        "audio_input": audio[0],
        "audio_cached_input": audio[1],
        "audio_output": audio[2],
    }
    if image is not None:
        out.update(image_input=image[0], image_cached_input=image[1])
    return out


PRICES_USD_PER_1M_TOKENS: dict[str, dict[str, float]] = {
    "gpt-realtime-2": _price((4.0, 0.4, 24.0), (32.0, 0.4, 64.0), (5.0, 0.5)),
    "gpt-realtime-2.1": _price((4.0, 0.4, 24.0), (32.0, 0.4, 64.0), (5.0, 0.5)),
    "gpt-realtime-2.1-mini": _price((0.6, 0.06, 2.4), (10.0, 0.3, 20.0), (0.8, 0.08)),
    "gpt-realtime-1.5": _price((4.0, 0.4, 16.0), (32.0, 0.4, 64.0), (5.0, 0.5)),
    "gpt-realtime": _price((4.0, 0.4, 16.0), (32.0, 0.4, 64.0), (5.0, 0.5)),
    "gpt-realtime-mini": _price((0.6, 0.06, 2.4), (10.0, 0.3, 20.0), (0.8, 0.08)),
    "gpt-4o-realtime-preview": _price((5.0, 2.5, 20.0), (40.0, 2.5, 80.0), None),
    "gpt-4o-mini-realtime-preview": _price((0.6, 0.3, 2.4), (10.0, 0.3, 20.0), None),
}
"""USD per 1M tokens by model (a dated snapshot, ``<model>-YYYY-MM-DD``, is priced as its model)."""

UNCONFIRMED: dict[str, tuple[str, ...]] = {
    # The compare page (models/compare?model=gpt-realtime) shows text only: audio and image as
    # gpt-realtime-1.5.
    "gpt-realtime": ("audio_input", "audio_cached_input", "audio_output", *_IMAGE_FIELDS),
    # Only the text input price appears (in gpt-realtime-2.1-mini's comparison): the rest as
    # gpt-realtime-2.1-mini.
    "gpt-realtime-mini": (
        "text_cached_input",
        "text_output",
        "audio_input",
        "audio_cached_input",
        "audio_output",
        *_IMAGE_FIELDS,
    ),
}
"""Figures of :data:`PRICES_USD_PER_1M_TOKENS` no model page in the source confirmed (see the module doc).

Also unconfirmed: the first gpt-4o-realtime-preview snapshot (2024-10-01) was priced higher for audio than
the later ones; it is priced here as its model."""

_DATED = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def price_for(model: str | None, prices: Mapping[str, Mapping[str, float]]) -> Mapping[str, float] | None:
    """The prices of ``model`` in ``prices`` (a dated snapshot falls back to its model), or None."""
    if not model:
        return None
    found = prices.get(model)
    if found is None:
        found = prices.get(_DATED.sub("", model))
    return found


def merge_prices(
    base: Mapping[str, Mapping[str, float]], overrides: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, float]]:
    """``base`` with ``overrides`` merged per model: a known model keeps the fields not given.

    Raises:
        ValueError: a price that is not a non-negative number, an unknown field, or a new model that does not
            give every field of :data:`PRICE_FIELDS`.
    """
    merged = {model: dict(fields) for model, fields in base.items()}
    for model, fields in overrides.items():
        if not isinstance(model, str) or not isinstance(fields, Mapping):
            raise ValueError(f"prices are {{model: {{field: USD per 1M tokens}}}}, not {model!r}: {fields!r}")
        for name, value in fields.items():
            if name not in PRICE_FIELDS + _IMAGE_FIELDS:
                known = ", ".join(PRICE_FIELDS + _IMAGE_FIELDS)
                raise ValueError(f"{model}: unknown price field {name!r} (known: {known})")
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ValueError(
                    f"{model}.{name}: a price is a number >= 0 (USD per 1M tokens), not {value!r}"
                )
        missing = [name for name in PRICE_FIELDS if name not in fields and name not in merged.get(model, {})]
        if missing:
            raise ValueError(f"{model}: a new model needs every price; missing {', '.join(missing)}")
        merged.setdefault(model, {}).update({name: float(value) for name, value in fields.items()})
    return merged


def _count(obj: Any, name: str) -> int | None:
    value = obj.get(name) if isinstance(obj, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage_tokens(usage: Mapping[str, Any] | None) -> dict[str, int | None]:
    """The token counts of a ``response.usage`` by kind (None for what the server did not send).

    ``cached_*`` are parts of ``input_*`` (the input tokens that hit the cache), ``reasoning_tokens`` a part
    of the output. Keys: ``input_tokens``, ``input_{text,audio,image}_tokens``, ``cached_tokens``,
    ``cached_{text,audio,image}_tokens``, ``output_tokens``, ``output_{text,audio}_tokens``,
    ``reasoning_tokens``, ``total_tokens``.
    """
    usage = usage if isinstance(usage, Mapping) else {}
    inp = usage.get("input_token_details")
    cached = inp.get("cached_tokens_details") if isinstance(inp, Mapping) else None
    out = usage.get("output_token_details")
    return {
        "input_tokens": _count(usage, "input_tokens"),
        "input_text_tokens": _count(inp, "text_tokens"),
        "input_audio_tokens": _count(inp, "audio_tokens"),
        "input_image_tokens": _count(inp, "image_tokens"),
        "cached_tokens": _count(inp, "cached_tokens"),
        "cached_text_tokens": _count(cached, "text_tokens"),
        "cached_audio_tokens": _count(cached, "audio_tokens"),
        "cached_image_tokens": _count(cached, "image_tokens"),
        "output_tokens": _count(usage, "output_tokens"),
        "output_text_tokens": _count(out, "text_tokens"),
        "output_audio_tokens": _count(out, "audio_tokens"),
        "reasoning_tokens": _count(out, "reasoning_tokens"),
        "total_tokens": _count(usage, "total_tokens"),
    }


def cost_usd(usage: Mapping[str, Any] | None, price: Mapping[str, float] | None) -> float | None:
    """What a response's ``usage`` costs at ``price`` (one model's prices), or None when it cannot be known.

    None when there is no usage or no price, or when a figure the bill needs is missing: the input's split by
    modality, or the cached tokens' split when some input was cached (cached text and cached audio are priced
    apart), or a price for image tokens that were used.
    """
    if usage is None or price is None:
        return None
    t = usage_tokens(usage)
    text_in, audio_in = t["input_text_tokens"], t["input_audio_tokens"]
    image_in = t["input_image_tokens"] or 0
    if text_in is None or audio_in is None:
        return None
    cached = t["cached_tokens"] or 0
    cached_text, cached_audio = t["cached_text_tokens"], t["cached_audio_tokens"]
    cached_image = t["cached_image_tokens"] or 0
    if cached and (cached_text is None or cached_audio is None):
        return None
    cached_text, cached_audio = cached_text or 0, cached_audio or 0
    audio_out = t["output_audio_tokens"] or 0
    text_out = t["output_text_tokens"] or 0
    if t["output_tokens"] is not None:
        # Everything in the output that is not audio is billed as text, reasoning included whether or not a
        # server counts it inside output_token_details.text_tokens.
        text_out = max(text_out, t["output_tokens"] - audio_out)
    image_price = (price.get("image_input"), price.get("image_cached_input"))
    if (image_in or cached_image) and None in image_price:
        return None
    per_token = [
        (text_in - cached_text, price["text_input"]),
        (cached_text, price["text_cached_input"]),
        (audio_in - cached_audio, price["audio_input"]),
        (cached_audio, price["audio_cached_input"]),
        (text_out, price["text_output"]),
        (audio_out, price["audio_output"]),
    ]
    if image_in or cached_image:
        per_token += [(image_in - cached_image, image_price[0] or 0.0), (cached_image, image_price[1] or 0.0)]
    return sum(tokens * usd for tokens, usd in per_token) / 1_000_000
