"""Function tools from Python: schema from a signature, argument checks, and calls the simulator makes."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal, TypedDict

import jsonschema
import pytest
from websockets.asyncio.server import ServerConnection, serve

from rtwidget.server import serve as serve_simulator
from rtwidget.server.tools import arguments_for
from rtwidget.widget import RealtimeWidget
from rtwidget.widget.log import LogEntry
from rtwidget.widget.tools import make_tool, merged_tools
from rtwidget.widget.toolschema import check_arguments, schema_for

FAST = 50.0
WAIT_S = 10.0  # the one unit every wait here is bounded by


# --- schema from a signature ---------------------------------------------------------------------


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Place(TypedDict):
    city: str
    country: str


@dataclasses.dataclass
class Range:
    low: int
    high: int = 10


def forecast(
    city: str,
    days: int,
    *,
    unit: Unit = Unit.CELSIUS,
    detail: Literal["short", "long"] = "short",
    hours: list[int] | None = None,
    extra: dict[str, float] | None = None,
    strict: bool = False,
    note: Annotated[str, "free text for the forecaster"] = "",
) -> dict[str, Any]:
    """Get a forecast for a city.

    More text that is not the description.

    Args:
        city: The city's name,
            as people write it.
        days (int): How many days ahead.

    Returns:
        The forecast.
    """
    return {}


def test_schema_from_signature() -> None:
    """Types, enums, optionals, defaults and Args: descriptions give the expected JSON schema."""
    assert schema_for(forecast) == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city's name, as people write it."},
            "days": {"type": "integer", "description": "How many days ahead."},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            "detail": {"type": "string", "enum": ["short", "long"], "default": "short"},
            "hours": {"type": ["array", "null"], "items": {"type": "integer"}, "default": None},
            "extra": {
                "type": ["object", "null"],
                "additionalProperties": {"type": "number"},
                "default": None,
            },
            "strict": {"type": "boolean", "default": False},
            "note": {"type": "string", "description": "free text for the forecaster", "default": ""},
        },
        "required": ["city", "days"],
        "additionalProperties": False,
    }
    jsonschema.Draft202012Validator.check_schema(schema_for(forecast))


def test_tool_description_is_the_docstrings_first_line() -> None:
    """make_tool takes the name from the function and the description from the docstring's first line."""
    tool = make_tool(forecast)
    assert (tool.name, tool.description) == ("forecast", "Get a forecast for a city.")
    assert tool.spec()["type"] == "function"


def test_optional_without_default_is_not_required_and_typed_dict_dataclass_nest() -> None:
    """Optional[T] with no default is not required; a TypedDict and a dataclass become nested objects."""

    def book(place: Place, nights: Range, guest: str | None) -> str:
        return ""

    schema = schema_for(book)
    assert schema["required"] == ["place", "nights"]
    assert schema["properties"]["place"] == {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
        "additionalProperties": False,
    }
    assert schema["properties"]["nights"]["required"] == ["low"]
    assert schema["properties"]["guest"] == {"type": ["string", "null"]}


def test_kwargs_allow_other_properties_and_unknown_types_are_refused() -> None:
    """**kwargs drops additionalProperties: false; a type with no JSON schema is a clear TypeError."""

    def loose(a: str, **rest: Any) -> None: ...

    def odd(when: complex) -> None: ...

    assert "additionalProperties" not in schema_for(loose)
    with pytest.raises(TypeError, match="no JSON schema for the type"):
        schema_for(odd)


def test_tool_names_are_checked() -> None:
    """A name outside 1-64 of [A-Za-z0-9_-] is refused at registration."""
    with pytest.raises(ValueError, match="tool name 'bad name'"):
        make_tool(forecast, name="bad name")


def test_simulator_arguments_fit_the_schema() -> None:
    """The simulator's arguments for a signature-made tool pass both our check and jsonschema."""
    spec = make_tool(forecast).spec()
    args = arguments_for(spec, "forecast for Paris for 3 days, long please")
    assert check_arguments(spec["parameters"], args) == []
    jsonschema.validate(args, spec["parameters"])
    assert args["city"] == "Paris"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"days": 2}, "$.city: required"),
        ({"city": "Oslo", "days": "2"}, "$.days: expected integer, got string"),
        ({"city": "Oslo", "days": True}, "$.days: expected integer, got boolean"),
        ({"city": "Oslo", "days": 2, "unit": "kelvin"}, "$.unit: 'kelvin' is not one of"),
        ({"city": "Oslo", "days": 2, "hours": [1, "x"]}, "$.hours[1]: expected integer"),
        ({"city": "Oslo", "days": 2, "colour": "red"}, "$.colour: not a parameter"),
        ({"city": "Oslo", "days": 2, "extra": {"a": "b"}}, "$.extra.a: expected number, got string"),
    ],
)
def test_bad_arguments_name_the_path(arguments: dict[str, Any], problem: str) -> None:
    """Each kind of mismatch is reported with the argument's path (and jsonschema agrees it is invalid)."""
    schema = schema_for(forecast)
    assert any(p.startswith(problem) for p in check_arguments(schema, arguments))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(arguments, schema)


def test_any_of_needs_one_fitting_option() -> None:
    """A value that fits no anyOf option is refused; one that fits an option passes."""
    schema = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "integer"}}]}
    assert check_arguments(schema, [1, 2]) == []
    assert check_arguments(schema, ["a"]) == ["$: fits none of the allowed shapes"]


def test_arguments_are_converted_to_the_hinted_types() -> None:
    """An Enum value becomes the member, a dataclass object the instance, 3.0 for an int the int 3."""

    def fn(unit: Unit, nights: Range, days: int) -> None: ...

    kwargs = make_tool(fn).call_kwargs('{"unit": "fahrenheit", "nights": {"low": 2}, "days": 3.0}')
    assert kwargs == {"unit": Unit.FAHRENHEIT, "nights": Range(low=2), "days": 3}
    assert type(kwargs["days"]) is int


def test_merge_keeps_hand_declared_tools() -> None:
    """Merging keeps the session's other tools (MCP too) and replaces those of registered names."""
    base = [
        {"type": "function", "name": "hand", "parameters": {}},
        {"type": "function", "name": "forecast", "parameters": {"old": True}},
        {"type": "mcp", "server_label": "x"},
    ]
    merged = merged_tools(base, [make_tool(forecast)], {"forecast"})
    assert [t.get("name", t["type"]) for t in merged] == ["hand", "mcp", "forecast"]
    assert merged[-1]["parameters"] == schema_for(forecast)


# --- calls the simulator makes -------------------------------------------------------------------


def weather(city: str) -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        city: The city.
    """
    return {"city": city, "temperature_c": 21, "sky": "clear"}


@pytest.fixture
async def widget() -> AsyncIterator[RealtimeWidget]:
    w = RealtimeWidget(simulator_speed=FAST)
    yield w
    await w.disconnect()
    w.close()


async def open_text_session(w: RealtimeWidget) -> None:
    """Connect, wait until the registered tools are in the session, and ask for text replies."""
    await w.connect()
    await w.wait_for("session.updated", timeout=WAIT_S, since=0)
    await w.update_session(output_modalities=["text"])
    await w.wait_for("session.updated", timeout=WAIT_S)


def server_events(w: RealtimeWidget, type_: str) -> list[LogEntry]:
    return [e for e in w.events if e.direction == "server" and e.type == type_]


def sent(w: RealtimeWidget, type_: str) -> list[dict[str, Any]]:
    return [e.data for e in w.events if e.direction == "client" and e.type == type_]


async def response_done(w: RealtimeWidget, n: int) -> dict[str, Any]:
    """The n-th response.done of the session (waiting for it)."""
    since = 0
    event = None
    for _ in range(n):
        event = await w.wait_for("response.done", timeout=WAIT_S, since=since)
        since = next(e.index for e in server_events(w, "response.done") if e.index >= since) + 1
    assert event is not None
    return dict(event.wire()["response"])


def outputs(w: RealtimeWidget) -> list[dict[str, Any]]:
    items = [d["item"] for d in sent(w, "conversation.item.create")]
    return [it for it in items if it["type"] == "function_call_output"]


async def wait(event: asyncio.Event) -> None:
    async with asyncio.timeout(WAIT_S):
        await event.wait()


def tool_rows(w: RealtimeWidget) -> list[LogEntry]:
    return [e for e in w.events if e.type == "local.tool"]


async def call_and_answer(w: RealtimeWidget, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send ``text``; return the response that called a tool and the follow-up after its output."""
    await w.send_text(text)
    first = await response_done(w, 1)
    final = await response_done(w, 2)
    return first, final


def only_call(response: dict[str, Any]) -> dict[str, Any]:
    calls = [it for it in response["output"] if it["type"] == "function_call"]
    assert len(calls) == 1
    return dict(calls[0])


async def test_sync_tool_is_called_and_its_output_answered(widget: RealtimeWidget) -> None:
    """The simulator calls a sync tool; its JSON result goes back by call_id; the reply completes."""
    widget.tool(weather)
    await open_text_session(widget)
    tools = sent(widget, "session.update")[0]["session"]["tools"]
    assert [t["name"] for t in tools] == ["weather"]
    first, final = await call_and_answer(widget, "What is the weather in Paris?")
    call = only_call(first)
    [output] = outputs(widget)
    assert output["call_id"] == call["call_id"]
    assert json.loads(output["output"]) == weather("Paris")
    assert final["status"] == "completed"
    assert len(sent(widget, "response.create")) == 2
    [row] = tool_rows(widget)
    assert (row.data["status"], row.data["name"]) == ("done", "weather")
    cause = widget._log.rows[row.row].cause
    assert widget._log.rows[cause].type == "response.function_call_arguments.done"


async def test_async_tool_runs_as_a_task(widget: RealtimeWidget) -> None:
    """A decorated async tool (with options) is awaited on the loop; its str result is sent as is."""
    ran_on: list[asyncio.AbstractEventLoop] = []

    @widget.tool(name="lookup_weather", description="Look up the weather for a city.")
    async def look(city: str) -> str:
        ran_on.append(asyncio.get_running_loop())
        await asyncio.sleep(0)
        return f"sunny in {city}"

    await open_text_session(widget)
    first, final = await call_and_answer(widget, "lookup weather in Rome")
    [output] = outputs(widget)
    assert output == {
        "type": "function_call_output",
        "call_id": only_call(first)["call_id"],
        "output": "sunny in Rome",
    }
    assert ran_on == [asyncio.get_running_loop()]
    assert final["status"] == "completed"


async def test_raising_tool_sends_an_error_object(widget: RealtimeWidget) -> None:
    """A raising tool sends {"error": "<Type>: <message>"}, logs a failed row and an error; the reply ends."""

    @widget.tool
    def weather(city: str) -> str:
        """Get the current weather for a city."""
        raise LookupError(f"no station in {city}")

    await open_text_session(widget)
    first, final = await call_and_answer(widget, "What is the weather in Oslo?")
    [output] = outputs(widget)
    assert output["call_id"] == only_call(first)["call_id"]
    assert json.loads(output["output"]) == {"error": "LookupError: no station in Oslo"}
    assert tool_rows(widget)[0].data["status"] == "failed"
    assert any(e["code"] == "tool_failed" and "weather" in e["message"] for e in widget.errors)
    assert final["status"] == "completed"


async def test_slow_sync_tool_shows_running_and_leaves_the_loop_free(widget: RealtimeWidget) -> None:
    """While a slow sync tool blocks its thread, its row says running and the connection still answers."""
    release = threading.Event()
    released: list[bool] = []

    @widget.tool
    def weather(city: str) -> dict[str, str]:
        """Get the current weather for a city."""
        released.append(release.wait(WAIT_S))  # on the kernel loop this would stall the whole test
        return {"city": city}

    await open_text_session(widget)
    await widget.send_text("What is the weather in Lima?")
    await response_done(widget, 1)
    [row] = tool_rows(widget)
    assert row.data["status"] == "running"
    # The loop is free: a round trip to the server completes while the tool still blocks.
    await widget.send_event({"type": "input_audio_buffer.clear"})
    await widget.wait_for("input_audio_buffer.cleared", timeout=WAIT_S)
    assert row.data["status"] == "running"
    assert not outputs(widget)
    release.set()
    final = await response_done(widget, 2)
    assert released == [True]
    assert row.data["status"] == "done"
    assert isinstance(row.data["duration_ms"], int)
    assert "done in" in widget._log.rows[row.row].summary
    assert final["status"] == "completed"


async def test_slow_async_tool_lets_other_coroutines_run(widget: RealtimeWidget) -> None:
    """While a slow async tool waits, another coroutine on the loop progresses; then the reply completes."""
    gate = asyncio.Event()
    ticked = asyncio.Event()
    ticks: list[int] = []

    @widget.tool
    async def weather(city: str) -> str:
        """Get the current weather for a city."""
        await gate.wait()
        return "rain"

    async def ticker() -> None:
        while not gate.is_set():
            ticks.append(len(ticks))
            if len(ticks) >= 3:
                ticked.set()
            await asyncio.sleep(0)

    await open_text_session(widget)
    await widget.send_text("weather in Bergen?")
    await response_done(widget, 1)
    assert tool_rows(widget)[0].data["status"] == "running"
    task = asyncio.ensure_future(ticker())
    await wait(ticked)
    assert tool_rows(widget)[0].data["status"] == "running"
    gate.set()
    await task
    final = await response_done(widget, 2)
    assert outputs(widget)[0]["output"] == "rain"
    assert final["status"] == "completed"


async def test_unserialisable_result_is_an_error_and_the_session_goes_on(widget: RealtimeWidget) -> None:
    """A result json cannot encode: an error naming the tool is sent and logged; the session goes on."""

    @widget.tool
    def weather(city: str) -> object:
        """Get the current weather for a city."""
        return {city, "sunny"}

    await open_text_session(widget)
    first, final = await call_and_answer(widget, "What is the weather in Cairo?")
    [output] = outputs(widget)
    assert output["call_id"] == only_call(first)["call_id"]
    error = json.loads(output["output"])["error"]
    assert "weather returned set, which is not JSON-serialisable" in error
    assert any(e["code"] == "tool_result" and "weather returned set" in e["message"] for e in widget.errors)
    assert final["status"] == "completed"
    await widget.send_text("thanks")
    assert (await response_done(widget, 3))["status"] == "completed"


async def test_respond_false_sends_the_output_without_a_response(widget: RealtimeWidget) -> None:
    """With tool_auto_respond off, the output is sent and no follow-up response.create goes out."""
    widget.tool_auto_respond = False
    widget.add_tool(weather)
    echoed = asyncio.Event()

    def on_item(event: Any) -> None:
        if event.wire()["item"]["type"] == "function_call_output":
            echoed.set()

    widget.on("conversation.item.done", on_item)
    await open_text_session(widget)
    await widget.send_text("What is the weather in Paris?")
    await response_done(widget, 1)
    await wait(echoed)  # the server has the output: a response.create would have gone out before it
    assert len(outputs(widget)) == 1
    await widget.send_event({"type": "input_audio_buffer.clear"})
    await widget.wait_for("input_audio_buffer.cleared", timeout=WAIT_S)
    assert len(sent(widget, "response.create")) == 1


async def test_hand_declared_tools_are_kept_and_removed_tools_leave(widget: RealtimeWidget) -> None:
    """update_session(tools=...) keeps the registered ones; remove_tool takes one out, keeping the rest."""
    hand = {
        "type": "function",
        "name": "hand_made",
        "description": "by hand",
        "parameters": {"type": "object"},
    }
    widget.add_tool(weather)
    await open_text_session(widget)
    await widget.update_session(tools=[hand])
    updated = await widget.wait_for("session.updated", timeout=WAIT_S)
    assert [t["name"] for t in updated.wire()["session"]["tools"]] == ["hand_made", "weather"]

    def clock() -> str:
        """The time."""
        return "noon"

    widget.add_tool(clock)
    widget.remove_tool("weather")
    await asyncio.sleep(0)  # the registry's session.update is sent by a task after this code
    updated = await widget.wait_for("session.updated", timeout=WAIT_S)
    assert [t["name"] for t in updated.wire()["session"]["tools"]] == ["hand_made", "clock"]
    assert [t["name"] for t in sent(widget, "session.update")[-1]["session"]["tools"]] == [
        "hand_made",
        "clock",
    ]
    again = {**hand, "name": "weather"}  # declared by hand after its registration was removed: kept
    await widget.update_session(tools=[hand, again])
    updated = await widget.wait_for("session.updated", timeout=WAIT_S)
    assert [t["name"] for t in updated.wire()["session"]["tools"]] == ["hand_made", "weather", "clock"]


async def test_tools_are_sent_again_after_a_reconnect(widget: RealtimeWidget) -> None:
    """Each new session (a reconnect) gets the registered tools in a session.update after session.created."""
    widget.add_tool(weather)
    await open_text_session(widget)
    await widget.disconnect()
    await widget.connect()
    second = server_events(widget, "session.created")[-1].index
    updated = await widget.wait_for("session.updated", timeout=WAIT_S, since=second)
    assert [t["name"] for t in updated.wire()["session"]["tools"]] == ["weather"]


async def test_beta_dialect_tool_call() -> None:
    """In the beta dialect the same tools list fits session.tools and the call is answered the same way."""
    async with serve_simulator(port=0, speed=FAST) as sim:
        w = RealtimeWidget(url=sim.url, dialect="beta")
        w.add_tool(weather)
        try:
            await w.connect()
            await w.wait_for("session.updated", timeout=WAIT_S, since=0)
            await w.update_session(modalities=["text"])
            await w.wait_for("session.updated", timeout=WAIT_S)
            first, final = await call_and_answer(w, "What is the weather in Paris?")
        finally:
            await w.disconnect()
            w.close()
    [output] = outputs(w)
    assert output["call_id"] == only_call(first)["call_id"]
    assert json.loads(output["output"])["city"] == "Paris"
    assert final["status"] == "completed"


# --- a hostile server --------------------------------------------------------------------------------

SESSION = {
    "type": "session.created",
    "event_id": "e0",
    "session": {"type": "realtime", "id": "s", "tools": []},
}


def response_frames(rid: str, output: list[dict[str, Any]]) -> list[dict[str, Any]]:
    created = {
        "type": "response.created",
        "event_id": f"{rid}c",
        "response": {"id": rid, "status": "in_progress"},
    }
    done = {
        "type": "response.done",
        "event_id": f"{rid}d",
        "response": {"id": rid, "status": "completed", "output": output},
    }
    return [created, done]


@asynccontextmanager
async def hostile(received: list[dict[str, Any]]) -> AsyncIterator[str]:
    """A server that answers the first response.create with calls to tools nobody registered."""
    calls = [
        {
            "type": "function_call",
            "id": "it1",
            "status": "completed",
            "name": "launch_missiles",
            "call_id": "call_x",
            "arguments": "{}",
        },
        {
            "type": "function_call",
            "id": "it2",
            "status": "completed",
            "name": "weather",
            "call_id": "call_y",
            "arguments": '{"town": 1}',
        },
    ]
    message = {"type": "message", "id": "it3", "role": "assistant", "status": "completed", "content": []}

    async def handler(ws: ServerConnection) -> None:
        await ws.send(json.dumps(SESSION))
        asked = 0
        async for raw in ws:
            event = json.loads(raw)
            received.append(event)
            if event["type"] == "response.create":
                asked += 1
                for frame in response_frames(f"r{asked}", calls if asked == 1 else [message]):
                    await ws.send(json.dumps(frame))

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime"


async def test_unknown_tool_and_bad_arguments_from_a_hostile_server() -> None:
    """An unregistered tool and arguments that miss the schema each get an error output; one follow-up."""
    received: list[dict[str, Any]] = []
    async with hostile(received) as url:
        w = RealtimeWidget(url=url)
        w.add_tool(weather)
        try:
            await w.connect()
            await w.send_event({"type": "response.create"})
            final = await response_done(w, 2)
        finally:
            await w.disconnect()
            w.close()
    outs = {
        e["item"]["call_id"]: json.loads(e["item"]["output"])["error"]
        for e in received
        if e["type"] == "conversation.item.create"
    }
    assert outs["call_x"].startswith(
        "UnknownTool: no tool named 'launch_missiles' is registered (registered: weather)"
    )
    assert "$.city: required" in outs["call_y"]
    assert "$.town: not a parameter" in outs["call_y"]
    assert [e["type"] for e in received].count("response.create") == 2
    assert final["status"] == "completed"
    codes = [e["code"] for e in w.errors]
    assert "tool_unknown" in codes
    assert "tool_arguments" in codes
    assert all(r.data["status"] == "failed" for r in tool_rows(w))


async def test_form_apply_with_no_tools_keeps_the_registered_ones(widget: RealtimeWidget) -> None:
    """The form sends tools: [] when its box is empty; the registered tools stay in the session."""
    widget.add_tool(weather)
    await open_text_session(widget)
    form = {"type": "realtime", "output_modalities": ["text"], "tool_choice": "auto", "tools": []}
    widget._handle_custom_msg({"type": "apply", "seq": 1, "session": form}, [])
    await asyncio.sleep(0)  # the form's session.update is sent by a task
    updated = await widget.wait_for("session.updated", timeout=WAIT_S)
    assert [t["name"] for t in updated.wire()["session"]["tools"]] == ["weather"]
    assert widget.form_notice == "applied"


def test_a_name_given_positionally_is_a_clear_error() -> None:
    """@w.tool("name") (a str where the function goes) says how to pass the name."""
    w = RealtimeWidget()
    with pytest.raises(TypeError, match=r"@w.tool\(name=\.\.\.\)"):
        w.tool("get_weather")
    w.close()
