"""Token accounting of responses and the `rate_limits.updated` that follows each."""

from __future__ import annotations

import json
import math

from rtwidget.server.items import ItemsMixin
from rtwidget.server.state import (
    CACHE_BLOCK_TOKENS,
    INPUT_AUDIO_MS_PER_TOKEN,
    JSON,
    OUTPUT_AUDIO_MS_PER_TOKEN,
    RATE_LIMIT_TOKENS,
    ResponseRun,
    split_pieces,
    text_tokens,
)

__all__ = ["UsageMixin"]


class UsageMixin(ItemsMixin):
    """Token accounting of responses and the `rate_limits.updated` that follows each."""

    def _input_usage(
        self, instructions: str, tool_defs: list[JSON], context: list[JSON], conversation: str
    ) -> JSON:
        text = (
            text_tokens(instructions) + text_tokens(json.dumps(tool_defs))
            if tool_defs
            else text_tokens(instructions)
        )
        audio_tokens = 0
        for it in context:
            if it["id"] in self._item_audio_ms and it.get("role") == "user":
                audio_tokens += math.ceil(self._item_audio_ms[it["id"]] / INPUT_AUDIO_MS_PER_TOKEN)
            elif it.get("type") == "message":
                text += text_tokens(self._user_text(it)) + 4
            else:
                text += text_tokens(json.dumps({k: v for k, v in it.items() if k != "id"}))
        total = text + audio_tokens
        cached = 0
        if conversation == "auto" and self._last_input_tokens:
            cached = min(total, self._last_input_tokens) // CACHE_BLOCK_TOKENS * CACHE_BLOCK_TOKENS
        if conversation == "auto":
            self._last_input_tokens = total
        cached_text = min(cached, text)
        return {
            "input_tokens": total,
            "input_token_details": {
                "text_tokens": text,
                "audio_tokens": audio_tokens,
                "image_tokens": 0,
                "cached_tokens": cached,
                "cached_tokens_details": {
                    "text_tokens": cached_text,
                    "audio_tokens": cached - cached_text,
                    "image_tokens": 0,
                },
            },
        }

    def _output_usage(self, resp: ResponseRun, status: str) -> JSON:
        """The `usage` of a finished response (a cancelled one counts only what was streamed)."""
        if status == "cancelled":
            # Only what was streamed counts (resp.part is closed by now, so count the sent text).
            resp.text_tokens = len(split_pieces(resp.sent_text)) if resp.sent_text else 0
            resp.audio_tokens = math.ceil(resp.sent_audio_ms / OUTPUT_AUDIO_MS_PER_TOKEN)
        out_tokens = resp.text_tokens + resp.audio_tokens
        return {
            "total_tokens": resp.usage_in["input_tokens"] + out_tokens,
            "input_tokens": resp.usage_in["input_tokens"],
            "output_tokens": out_tokens,
            "input_token_details": resp.usage_in["input_token_details"],
            "output_token_details": {"text_tokens": resp.text_tokens, "audio_tokens": resp.audio_tokens},
        }

    def _count_tokens(self, total_tokens: int) -> None:
        """Charge a response's tokens to the rate limit and report what remains."""
        self._tokens_used += total_tokens
        # docs/protocol-notes.md: `rate_limits.updated` follows `response.done`.
        self._emit(
            {
                "type": "rate_limits.updated",
                "rate_limits": [
                    {
                        "name": "tokens",
                        "limit": RATE_LIMIT_TOKENS,
                        "remaining": max(0, RATE_LIMIT_TOKENS - self._tokens_used),
                        "reset_seconds": 0.002,
                    }
                ],
            }
        )
