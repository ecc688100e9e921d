"""How the simulator's speech is planned from text: phone segments, durations, pitch contour, breakpoints.

The cheap, per-text half of :mod:`rtwidget.server.voice` (which renders the samples): letters become rough
phone segments (vowels, nasals, liquids, fricatives, stops) with durations and a pitch contour, and the
segments become the amplitude envelope's breakpoints.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["CORE_RE", "Segment", "breakpoints", "plan"]

_VOWEL_MS = 100.0
_STRESS_EXTRA_MS = 35.0
_NASAL_MS = 55.0
_LIQUID_MS = 50.0
_FRICATIVE_MS = 75.0
_CLOSURE_MS = 30.0
_BURST_MS = 18.0
_WORD_GAP_MS = 40.0
_COMMA_PAUSE_MS = 200.0
_SENTENCE_PAUSE_MS = 340.0
_TAIL_MS = 60.0


_VOWEL_CLASS = {"a": "a", "e": "e", "i": "i", "o": "o", "u": "u", "y": "i"}
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# Consonant letters -> (kind, voiced, noise band). Kinds: F fricative, S stop, N nasal, L liquid.
_CONSONANTS: dict[str, tuple[str, bool, str]] = {
    "s": ("F", False, "hi"),
    "z": ("F", True, "hi"),
    "f": ("F", False, "lo"),
    "v": ("F", True, "lo"),
    "h": ("F", False, "lo"),
    "x": ("F", False, "hi"),
    "j": ("F", True, "hi"),
    "p": ("S", False, "lo"),
    "b": ("S", True, "lo"),
    "t": ("S", False, "hi"),
    "d": ("S", True, "hi"),
    "k": ("S", False, "hi"),
    "g": ("S", True, "lo"),
    "q": ("S", False, "hi"),
    "c": ("S", False, "hi"),
    "m": ("N", True, ""),
    "n": ("N", True, ""),
    "l": ("L", True, ""),
    "r": ("L", True, ""),
    "w": ("L", True, ""),
}
_DIGRAPHS: dict[str, tuple[str, bool, str]] = {
    "sh": ("F", False, "hi"),
    "ch": ("F", False, "hi"),
    "th": ("F", False, "lo"),
    "ph": ("F", False, "lo"),
    "ng": ("N", True, ""),
    "ck": ("S", False, "hi"),
}
_TOKEN_RE = re.compile(r"\S+")
CORE_RE = re.compile(r"^[^\w']*(.*?)[^\w']*$")


@dataclass(frozen=True, slots=True)
class Segment:
    kind: str  # "V" vowel, "N" nasal, "L" liquid, "F" fricative, "C" stop closure, "B" burst, "P" pause
    ms: float
    table: str = "@"
    voiced: float = 0.0
    noise: float = 0.0
    band: str = "hi"
    pitch: float = 1.0  # multiplier of the voice's pitch at this segment's centre
    pitch_end: float | None = None  # phrase-final glide: the multiplier reached at the segment's end


def plan(text: str) -> tuple[list[Segment], list[tuple[str, int, int]]]:
    """Turn text into phone segments; return them and, per word, (token, first segment, last segment)."""
    segments: list[Segment] = []
    spans: list[tuple[str, int, int]] = []
    tokens = _TOKEN_RE.findall(text)
    phrase: list[int] = []  # indices of vowel segments in the current phrase, for the pitch contour
    for ti, token in enumerate(tokens):
        letters = _letters(token)
        if letters:
            first = len(segments)
            phrase.extend(_word_segments(letters, segments))
            spans.append((token, first, len(segments) - 1))
        end = token.rstrip("\"')]}”’")[-1:]
        last_token = ti == len(tokens) - 1
        if end in ".!?" and end:
            _contour(segments, phrase, question=end == "?")
            phrase = []
            if not last_token:
                segments.append(Segment("P", _SENTENCE_PAUSE_MS))
        elif end in ",;:" and end and not last_token:
            segments.append(Segment("P", _COMMA_PAUSE_MS))
        elif letters and not last_token:
            segments.append(Segment("P", _WORD_GAP_MS))
    _contour(segments, phrase, question=False)
    if segments:
        segments.append(Segment("P", _TAIL_MS))
    return segments, spans


def _letters(token: str) -> str:
    """Spell a token in a-z for the phone rules: digits as words, no accents, other scripts as syllables."""
    out = []
    for c in unicodedata.normalize("NFKD", token.lower()):
        if "a" <= c <= "z":
            out.append(c)
        elif "0" <= c <= "9":
            out.append(_DIGITS[int(c)])
        elif c.isalnum():
            # A letter of another script (or a non-ASCII digit): one stable consonant-vowel syllable each.
            code = ord(c)
            out.append("mnlrstkpd"[code % 9] + "aeiou"[code // 9 % 5])
    return "".join(out)


def _word_segments(letters: str, out: list[Segment]) -> list[int]:
    """Append the segments of one word; return the indices of its vowel segments."""
    # A final silent "e" ("make", "time") is not a syllable.
    if len(letters) > 2 and letters.endswith("e") and any(c in "aeiouy" for c in letters[:-2]):
        letters = letters[:-1]
    vowels: list[int] = []
    i = 0
    n_syllables = max(1, len(re.findall(r"[aeiouy]+", letters)))
    while i < len(letters):
        c = letters[i]
        is_vowel = c in "aeiou" or (c == "y" and i > 0)
        if is_vowel:
            j = i
            while j < len(letters) and (letters[j] in "aeiou" or letters[j] == "y"):
                j += 1
            stressed = not vowels
            ms = _VOWEL_MS + (_STRESS_EXTRA_MS if stressed else 0.0) + 15.0 * (j - i - 1)
            level = 1.0 if stressed or n_syllables == 1 else 0.75
            vowel_class = _VOWEL_CLASS.get(letters[i], "@") if stressed or n_syllables == 1 else "@"
            vowels.append(len(out))
            out.append(Segment("V", ms, table=vowel_class, voiced=level))
            i = j
            continue
        pair = letters[i : i + 2]
        if pair in _DIGRAPHS:
            spec = _DIGRAPHS[pair]
            i += 2
        elif c in _CONSONANTS:
            spec = _CONSONANTS[c]
            i += 1
            if i < len(letters) and letters[i] == c:  # "ll", "ss": one sound
                i += 1
        else:
            spec = ("L", True, "")
            i += 1
        kind, voiced, band = spec
        if kind == "N":
            out.append(Segment("N", _NASAL_MS, table="n", voiced=0.45))
        elif kind == "L":
            out.append(Segment("L", _LIQUID_MS, table="l", voiced=0.55))
        elif kind == "F":
            out.append(
                Segment("F", _FRICATIVE_MS, table="n", voiced=0.25 if voiced else 0.0, noise=1.0, band=band)
            )
        else:
            out.append(Segment("C", _CLOSURE_MS, table="n", voiced=0.12 if voiced else 0.0))
            out.append(Segment("B", _BURST_MS, noise=0.8, band=band))
    return vowels


def _contour(segments: list[Segment], vowels: list[int], *, question: bool) -> None:
    """Give the phrase's vowels a declining pitch (falling at the end, or rising for a question)."""
    count = len(vowels)
    for k, index in enumerate(vowels):
        position = k / max(1, count - 1)
        pitch = 1.1 - 0.2 * position
        if segments[index].voiced >= 1.0:
            pitch += 0.06  # stressed syllables stand out in pitch as well as loudness
        # The last syllable glides: up for a question, down to the phrase's floor otherwise.
        glide = (1.5 if question else 0.8) if k == count - 1 else None
        old = segments[index]
        segments[index] = Segment(old.kind, old.ms, old.table, old.voiced, old.noise, old.band, pitch, glide)


def breakpoints(
    levels: npt.NDArray[np.float64],
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    ramp: int,
    sharp: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Piecewise-linear envelope: each segment holds its level, with linear ramps across its edges.

    ``sharp`` segments (pauses) hold their level edge to edge, so their neighbours ramp inside themselves
    and a word's sound ends exactly where its timing says.
    """
    half = np.where(sharp, 0, np.minimum(ramp, lengths // 3))
    xs = np.empty(2 * len(levels))
    xs[0::2] = starts[:-1] + half
    xs[1::2] = starts[1:] - half - 1
    xs[1::2] = np.maximum(xs[1::2], xs[0::2])
    ys = np.repeat(levels, 2)
    return xs.astype(np.float64), ys
