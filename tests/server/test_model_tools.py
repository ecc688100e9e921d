"""Tests of the simulator's tool choice and schema-valid argument filling (rtwidget.server.tools)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from rtwidget.server.tools import arguments_for, choose_tool, tool_score

WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
}
TIMER: dict[str, Any] = {
    "type": "function",
    "name": "set_timer",
    "description": "Start a countdown timer that rings after some minutes.",
    "parameters": {
        "type": "object",
        "properties": {
            "minutes": {"type": "integer", "minimum": 1, "maximum": 120},
            "label": {"type": "string", "default": "timer"},
            "loud": {"type": "boolean", "default": False},
        },
        "required": ["minutes", "label", "loud"],
    },
}
SEARCH: dict[str, Any] = {
    "type": "function",
    "name": "searchDocs",
    "description": "Search the documentation pages for a query.",
    "parameters": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 2},
            "limit": {"type": "number", "default": 5},
        },
        "required": ["query"],
    },
}
BOOKING: dict[str, Any] = {
    "type": "function",
    "name": "book_flight",
    "description": "Book a flight between two airports.",
    "parameters": {
        "type": "object",
        "properties": {
            "origin": {"type": "string", "examples": ["LHR"]},
            "destination": {"type": "string"},
            "passengers": {"type": "integer", "minimum": 1, "maximum": 9},
            "price_limit": {"type": "number", "exclusiveMinimum": 0, "maximum": 5000.5},
            "seat": {"type": ["string", "null"], "enum": ["aisle", "window", "middle", None]},
            "extras": {
                "type": "array",
                "items": {"type": "string", "enum": ["bag", "meal", "wifi"]},
                "minItems": 1,
            },
            "traveller": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 20},
                    "age": {"type": "integer", "minimum": 0},
                    "frequent_flyer": {"type": "boolean"},
                },
                "required": ["name", "age", "frequent_flyer"],
                "additionalProperties": False,
            },
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 3},
        },
        "required": [
            "origin",
            "destination",
            "passengers",
            "price_limit",
            "seat",
            "extras",
            "traveller",
            "tags",
        ],
        "additionalProperties": False,
    },
}
TOOLS = [WEATHER, TIMER, SEARCH, BOOKING]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Please call get_weather for me", "get_weather"),
        ("get weather now", "get_weather"),
        ("What's the weather in Paris?", "get_weather"),
        ("Set a timer for 10 minutes", "set_timer"),
        ("search docs for websockets", "searchDocs"),
        ("Book a flight from London to Paris", "book_flight"),
    ],
)
def test_tool_named_or_described_is_chosen(text: str, expected: str) -> None:
    """The tool whose name, name words or description the text mentions is chosen under "auto"."""
    chosen = choose_tool(TOOLS, text, "auto")
    assert chosen is not None
    assert chosen["name"] == expected


@pytest.mark.parametrize("text", ["Hello there!", "Tell me a joke", ""])
def test_unrelated_text_calls_no_tool(text: str) -> None:
    """Under "auto", text that does not ask for a tool gets no tool."""
    assert choose_tool(TOOLS, text, "auto") is None


def test_tool_choice_none_never_calls() -> None:
    """tool_choice "none" answers in words even when a tool is named."""
    assert choose_tool(TOOLS, "call get_weather", "none") is None


def test_tool_choice_required_picks_best_or_first() -> None:
    """tool_choice required calls the best match, or the first tool when nothing matches."""
    assert choose_tool(TOOLS, "search the docs", "required")["name"] == "searchDocs"  # type: ignore[index]
    assert choose_tool(TOOLS, "Hello!", "required")["name"] == "get_weather"  # type: ignore[index]


def test_tool_choice_forces_a_named_function() -> None:
    """A GA or beta function tool_choice forces that tool; an unknown name gives None."""
    assert choose_tool(TOOLS, "hi", {"type": "function", "name": "set_timer"}) == TIMER
    assert choose_tool(TOOLS, "hi", {"type": "function", "function": {"name": "searchDocs"}}) == SEARCH
    assert choose_tool(TOOLS, "hi", {"type": "function", "name": "nope"}) is None


def test_non_function_tools_are_ignored() -> None:
    """MCP tools and tools without a name are never chosen as function calls."""
    mcp = {"type": "mcp", "server_label": "docs", "server_url": "https://example.com"}
    assert choose_tool([mcp], "docs please", "required") is None
    assert choose_tool([mcp, WEATHER], "docs please", "required") == WEATHER


def test_score_ranks_name_above_description() -> None:
    """Naming a tool outscores matching its description words."""
    assert tool_score(WEATHER, "get_weather") > tool_score(WEATHER, "current city weather") > 0
    assert tool_score(WEATHER, "bananas") == 0


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize(
    "text",
    [
        "",
        "What's the weather in New York in fahrenheit?",
        'Set a loud timer for 500 minutes called "tea"',
        "Book a flight from London to Paris for 3 passengers with a window seat and wifi, price 0",
        "search for -7 x 'é ü' 1e9 \u2603",
    ],
)
def test_arguments_validate_against_the_schema(tool: dict[str, Any], text: str) -> None:
    """Whatever the text, the arguments validate against the tool's JSON schema."""
    jsonschema.validate(arguments_for(tool, text), tool["parameters"])


def test_city_is_taken_from_the_text() -> None:
    """Capitalised words after "in" fill a location property; a mentioned enum value fills the enum."""
    args = arguments_for(WEATHER, "What's the weather in New York in fahrenheit?")
    assert args == {"city": "New York", "unit": "fahrenheit"}


def test_numbers_are_clamped_and_quotes_used() -> None:
    """Numbers from the text are clamped into range, quoted text fills strings, mentions set booleans."""
    args = arguments_for(TIMER, 'Set a loud timer for 500 minutes called "tea"')
    assert args == {"minutes": 120, "label": "tea", "loud": True}


def test_defaults_fill_what_the_text_lacks() -> None:
    """Without anything in the text, defaults and bounds give the values."""
    assert arguments_for(TIMER, "timer please") == {"minutes": 1, "label": "timer", "loud": False}


def test_free_text_property_gets_the_query() -> None:
    """A query property gets what follows "for" in the text."""
    assert arguments_for(SEARCH, "search docs for websocket close codes")["query"] == "websocket close codes"


def test_places_and_enums_fill_a_nested_schema() -> None:
    """Origin and destination come from the text in order; arrays and nested objects are filled."""
    args = arguments_for(
        BOOKING, "Book a flight from London to Paris for 3 passengers with a window seat and wifi"
    )
    assert (args["origin"], args["destination"]) == ("London", "Paris")
    assert args["passengers"] == 3
    assert args["seat"] == "window"
    assert args["extras"] == ["wifi"]
    assert set(args["traveller"]) == {"name", "age", "frequent_flyer"}


def test_examples_are_used_when_nothing_fits() -> None:
    """A string with examples and nothing in the text takes the first example."""
    assert arguments_for(BOOKING, "book it")["origin"] == "LHR"


def test_missing_parameters_give_empty_arguments() -> None:
    """A tool without a parameters schema gets {}."""
    assert arguments_for({"type": "function", "name": "ping"}, "ping it") == {}


def test_arguments_are_deterministic() -> None:
    """The same tool and text give the same arguments."""
    text = "Book a flight from London to Paris for 2 passengers"
    assert arguments_for(BOOKING, text) == arguments_for(BOOKING, text)
