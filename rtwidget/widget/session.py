"""Session helpers for the console: form values to a dialect's session shape, and asked-vs-got differences."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["audio_format_of", "ga_session_to_beta", "session_diff"]


def ga_session_to_beta(session: Mapping[str, Any]) -> dict[str, Any]:
    """Map a GA ``session.update.session`` onto the beta shape (PROTOCOL.md §3.4)."""
    out: dict[str, Any] = {}
    for key, value in session.items():
        if key == "type":
            continue
        if key == "output_modalities":
            # Beta audio responses always carry their transcript as text too.
            out["modalities"] = ["text", "audio"] if "audio" in value else list(value)
        elif key == "max_output_tokens":
            out["max_response_output_tokens"] = value
        elif key == "audio" and isinstance(value, Mapping):
            inp = value.get("input") or {}
            outp = value.get("output") or {}
            if "turn_detection" in inp:
                out["turn_detection"] = inp["turn_detection"]
            if "transcription" in inp:
                out["input_audio_transcription"] = inp["transcription"]
            if "noise_reduction" in inp:
                out["input_audio_noise_reduction"] = inp["noise_reduction"]
            if "format" in inp:
                out["input_audio_format"] = _beta_format(inp["format"])
            if "voice" in outp:
                out["voice"] = outp["voice"]
            if "speed" in outp:
                out["speed"] = outp["speed"]
            if "format" in outp:
                out["output_audio_format"] = _beta_format(outp["format"])
        else:
            out[key] = value
    return out


def _beta_format(fmt: Any) -> Any:
    if isinstance(fmt, Mapping):
        names = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}
        return names.get(str(fmt.get("type")), fmt)
    return fmt


def audio_format_of(session: Mapping[str, Any]) -> str:
    """The output audio encoding of an effective session: ``"pcm16"``, ``"g711_ulaw"`` or ``"g711_alaw"``."""
    audio = session.get("audio")
    if isinstance(audio, Mapping):
        fmt = (audio.get("output") or {}).get("format")
        if isinstance(fmt, Mapping):
            return {"audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}.get(str(fmt.get("type")), "pcm16")
    beta = session.get("output_audio_format")
    if beta in ("g711_ulaw", "g711_alaw"):
        return str(beta)
    return "pcm16"


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    else:
        yield path, value


_MISSING = object()


def _lookup(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, Mapping) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def session_diff(asked: Mapping[str, Any], got: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every leaf the client asked for that the effective session does not hold as asked.

    Returns:
        ``[{"path": "audio.output.voice", "asked": "marin", "got": "alloy"}, ...]``; a field the server
        leaves out is reported with ``got: None`` and ``missing: True``.
    """
    out: list[dict[str, Any]] = []
    for path, want in _leaves(asked, ""):
        have = _lookup(got, path)
        if have is _MISSING:
            # Servers echo the whole session; an absent leaf asked as null/empty is no difference.
            if want in (None, [], {}):
                continue
            out.append({"path": path, "asked": want, "got": None, "missing": True})
        elif not _same(want, have):
            out.append({"path": path, "asked": want, "got": have})
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    return bool(a == b)
