"""Shared data for protocol tests: the official schemas, schema-built sample events, the recorded corpus."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

DATA = Path(__file__).resolve().parent.parent / "data"
SCHEMA_PATH = DATA / "realtime-events.schema.json"
CORPUS_DIR = DATA / "corpus"


@cache
def schema_doc() -> dict[str, Any]:
    """The official Realtime event schemas (tests/data/realtime-events.schema.json)."""
    doc: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return doc


def event_index(kind: str) -> dict[str, str]:
    """``x-event-index[kind]``: wire type -> ``$defs`` name (kind: ga_client, ga_server, beta_client...)."""
    index: dict[str, str] = schema_doc()["x-event-index"][kind]
    return index


@cache
def validator(def_name: str) -> Draft202012Validator:
    """A cached validator for one ``$defs`` schema."""
    return Draft202012Validator({"$ref": f"#/$defs/{def_name}", "$defs": schema_doc()["$defs"]})


def schema_errors(def_name: str, instance: dict[str, Any]) -> list[str]:
    """Messages of every schema violation of ``instance`` against ``$defs[def_name]``."""
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator(def_name).iter_errors(instance)]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = schema_doc()["$defs"][schema["$ref"].split("/")[-1]]
    return schema


def sample(schema: dict[str, Any], *, full: bool, branch: int = 0, depth: int = 0) -> Any:
    """Build an instance of a JSON schema: required properties only, or every property (``full``).

    Unions take their ``branch``-th non-null branch (the last one if they have fewer), so a few
    values of ``branch`` cover every item, tool, format and turn-detection variant; enums take their
    first value; numbers their minimum.
    """
    schema = _resolve(schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [b for b in schema[key] if _resolve(b).get("type") != "null"]
            return sample(branches[min(branch, len(branches) - 1)], full=full, branch=branch, depth=depth)
    if "allOf" in schema:
        return sample(schema["allOf"][0], full=full, branch=branch, depth=depth)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "string":
        return "x"
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 0.5))
    if kind == "boolean":
        return True
    if kind == "array":
        count = max(1 if full and depth < 8 else 0, schema.get("minItems", 0))
        return [
            sample(schema.get("items", {}), full=full, branch=branch, depth=depth + 1) for _ in range(count)
        ]
    if kind == "object" or "properties" in schema:
        props: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        names = [n for n in props if n in required or (full and depth < 8)]
        return {name: sample(props[name], full=full, branch=branch, depth=depth + 1) for name in names}
    return {}


def schema_sample(def_name: str, *, full: bool, branch: int = 0) -> dict[str, Any]:
    """A sample instance of ``$defs[def_name]`` (see :func:`sample`)."""
    result: dict[str, Any] = sample(schema_doc()["$defs"][def_name], full=full, branch=branch)
    return result


def corpus_lines() -> list[tuple[str, int, str, dict[str, Any]]]:
    """Every recorded frame: (file name, line number, direction, event)."""
    lines = []
    for path in sorted(CORPUS_DIR.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            record = json.loads(line)
            lines.append((path.name, number, record["dir"], record["event"]))
    return lines


@pytest.fixture(scope="session")
def corpus() -> list[tuple[str, int, str, dict[str, Any]]]:
    """Every recorded frame of tests/data/corpus."""
    return corpus_lines()
