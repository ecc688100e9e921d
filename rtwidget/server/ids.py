"""Deterministic ids in the shapes the real server uses (`event_…`, `item_…`, `resp_…`, `call_…`)."""

from __future__ import annotations

import random
import string

__all__ = ["IdFactory"]

_ALPHABET = string.ascii_letters + string.digits
# Random bytes -> id characters in one C call (bytes.translate); the slight bias of `% 62` is harmless here.
_TO_ALPHABET = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))
# Recorded ids: "event_E6U0upa15CBe8gAnApXCO", "item_E6U0u6ZFxXUxYesuS1vaT" (21 characters after the prefix),
# "call_uMNE0Myi2tDTPu0w" (16).
_ID_CHARS = 21
_CALL_ID_CHARS = 16
# Recorded deltas carry an `obfuscation` string that pads `delta` + `obfuscation` to 16 characters
# ("Hi" + 14, " there" + 10, "!" + 15).
_OBFUSCATION_BLOCK = 16


class IdFactory:
    """Makes ids from a seeded generator, so a session replays identically for the same seed."""

    def __init__(self, seed: int | str = 0) -> None:
        self._rng = random.Random(seed)

    def _chars(self, n: int) -> str:
        return self._rng.randbytes(n).translate(_TO_ALPHABET).decode("ascii")

    def new(self, prefix: str) -> str:
        """A fresh id such as `item_E6U0u6ZFxXUxYesuS1vaT`."""
        return f"{prefix}_{self._chars(_CALL_ID_CHARS if prefix == 'call' else _ID_CHARS)}"

    def obfuscation(self, delta: str) -> str:
        """Padding that hides the length of a streamed delta, like the real server's `obfuscation` field."""
        return self._chars((-len(delta)) % _OBFUSCATION_BLOCK or _OBFUSCATION_BLOCK)
