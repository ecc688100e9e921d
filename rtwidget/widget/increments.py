"""What the views get in pieces: the reply's text as increments, and several messages as one ``batch``.

Both are halves of the view protocol (rtwidget.widget.view documents the messages); they live here so the
kernel's sync code and the tests read one definition.
"""

from __future__ import annotations

from typing import Any

from rtwidget.redaction import redact

__all__ = ["REDACT_CONTEXT_CHARS", "ReplyStream", "split_batch"]

REDACT_CONTEXT_CHARS = 256
"""Reply text before the views' end redacted again with each increment (longer than any key it masks)."""


def split_batch(content: dict[str, Any], buffers: list[Any] | None) -> list[tuple[dict[str, Any], list[Any]]]:
    """The messages one custom comm message carries, each with its buffers (a ``batch`` is several)."""
    if content.get("type") != "batch":
        return [(content, list(buffers or []))]
    out: list[tuple[dict[str, Any], list[Any]]] = []
    at = 0
    for part in content.get("parts") or []:
        n = int(part.get("nbuf", 0))
        out.append(({k: v for k, v in part.items() if k != "nbuf"}, list((buffers or [])[at : at + n])))
        at += n
    return out


class ReplyStream:
    """The reply's text as the views have it, and what brings them up to date (``reply.text``).

    While a reply streams, only the new text is redacted and sent, with the REDACT_CONTEXT_CHARS before it
    redacted again as context: redacting the whole text on every flush made the work per flush grow with
    the reply. A key split across two increments is still masked: the context then changes, and the whole
    text is redacted and sent again (also when the item or the text changed other than by an append).
    """

    def __init__(self) -> None:
        """Nothing sent yet."""
        self.item: Any = None
        self.raw_len = 0  # characters of the kernel's text the views have
        self.tail = ""  # the last REDACT_CONTEXT_CHARS of them, to tell an append from a change
        self.view_len = 0  # characters the views' (redacted) text has

    def update(self, item: Any, raw: str, secrets: list[str]) -> tuple[int, str] | None:
        """``(at, text)`` for a ``reply.text`` message that makes the views show ``raw``; None if they do."""
        n = self.raw_len
        start = n - len(self.tail)
        if item == self.item and len(raw) >= n and raw.startswith(self.tail, start):
            if len(raw) == n:
                return None
            context = redact(raw[start:n], secrets)
            window = redact(raw[start:], secrets)
            if window.startswith(context):
                return self._sent(item, raw, self.view_len, window[len(context) :])
        return self._sent(item, raw, 0, redact(raw, secrets))

    def _sent(self, item: Any, raw: str, at: int, text: str) -> tuple[int, str]:
        self.item, self.raw_len, self.view_len = item, len(raw), at + len(text)
        self.tail = raw[max(0, len(raw) - REDACT_CONTEXT_CHARS) :]
        return at, text
