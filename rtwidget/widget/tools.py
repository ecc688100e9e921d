"""Function tools from Python: a JSON schema from a signature, the registry, and the runner of calls.

``@w.tool`` registers a function (see :meth:`RealtimeWidget.add_tool`); :class:`ToolRunner` keeps the
session's ``tools`` in step with the registry and answers the model's calls:

- the registered tools go out in ``session.update`` (``session.tools``: the flat ``{"type": "function",
  "name", "description", "parameters"}`` shape is the same in GA and beta) when one is registered or
  removed while a session is open, and after each ``session.created``; tools the user declared by hand
  (the form, or ``update_session(tools=...)``) are kept beside them;
- a call is run when its ``response.done`` arrives: the arguments are parsed, checked against the tool's
  schema (:mod:`rtwidget.widget.toolschema` checks them, and makes schemas from signatures) and passed as
  keyword arguments; a sync function runs in a worker thread (``asyncio.to_thread``) so the kernel loop
  never waits for it, an async one as a task on the kernel loop;
- its result (JSON; a str as is) or what went wrong (``{"error": "<Type>: <message>"}``) goes back as a
  ``function_call_output`` item, and once every call of that response has its output, one ``response.create``
  (``respond=`` per tool, else the widget's ``tool_auto_respond``);
- each call is one ``local.tool`` row in the log (running, then done or failed with its duration), linked
  to the row of the call (its ``response.function_call_arguments.done``, else the ``response.done``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rtwidget.widget.log import redact
from rtwidget.widget.toolschema import (
    check_arguments,
    convert_arguments,
    doc_summary,
    json_type_name,
    schema_for,
)

if TYPE_CHECKING:
    from rtwidget.widget.widget import RealtimeWidget

__all__ = [
    "Tool",
    "ToolArgumentsError",
    "ToolRunner",
    "check_arguments",
    "make_tool",
    "merged_tools",
    "schema_for",
]

JSON = dict[str, Any]

# "The name of the function to be called. Must be a-z, A-Z, 0-9, or contain underscores and dashes, with a
# maximum length of 64." (OpenAI function tool reference)
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ToolArgumentsError(ValueError):
    """The model's arguments for a tool do not parse or do not match its schema."""


# --- the registry ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Tool:
    """One registered function tool.

    Attributes:
        name: The name the model calls it by.
        fn: The Python function (sync or async) called with the arguments as keywords.
        description: What the tool does, for the model.
        parameters: The JSON schema of its arguments (an object).
        respond: Ask for a response after its output (None: the widget's ``tool_auto_respond``).
    """

    name: str
    fn: Callable[..., Any]
    description: str
    parameters: JSON
    respond: bool | None = None

    def spec(self) -> JSON:
        """The tool as ``session.tools`` lists it."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }

    def call_kwargs(self, arguments: Any) -> dict[str, Any]:
        """The keyword arguments for ``fn`` from the model's ``arguments`` (a JSON text, or an object).

        Raises:
            ToolArgumentsError: they do not parse as a JSON object or do not fit ``parameters``.
        """
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as exc:
                raise ToolArgumentsError(f"the arguments are not JSON ({exc})") from None
        if not isinstance(arguments, dict):
            raise ToolArgumentsError(f"the arguments are {json_type_name(arguments)}, not a JSON object")
        problems = check_arguments(self.parameters, arguments)
        if problems:
            raise ToolArgumentsError("; ".join(problems))
        return convert_arguments(self.fn, arguments)


def make_tool(
    fn: object,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    respond: bool | None = None,
) -> Tool:
    """A :class:`Tool` for ``fn``: name, description and schema from the function unless given.

    Raises:
        ValueError: the name is not 1-64 letters, digits, ``_`` or ``-``.
        TypeError: ``fn`` is not callable, or its schema cannot be made (see :func:`schema_for`).
    """
    if not callable(fn):
        hint = " (the name goes as a keyword: @w.tool(name=...))" if isinstance(fn, str) else ""
        raise TypeError(f"a tool is a function, not {type(fn).__name__}{hint}")
    tool_name = name if name is not None else getattr(fn, "__name__", "")
    if not _NAME_RE.match(tool_name):
        raise ValueError(f"tool name {tool_name!r}: use 1-64 letters, digits, '_' or '-'")
    if parameters is not None and not isinstance(parameters, Mapping):
        raise TypeError(f"parameters is a JSON schema object (a dict), not {type(parameters).__name__}")
    schema = dict(parameters) if parameters is not None else schema_for(fn)
    return Tool(
        name=tool_name,
        fn=fn,
        description=description if description is not None else doc_summary(fn),
        parameters=schema,
        respond=respond,
    )


def merged_tools(base: Iterable[Any], tools: Iterable[Tool], ours: Iterable[str]) -> list[JSON]:
    """``base`` (the session's tools) without the function tools named in ``ours``, then ``tools``."""
    names = set(ours)
    kept = [
        dict(t)
        for t in base
        if isinstance(t, Mapping) and not (t.get("type", "function") == "function" and t.get("name") in names)
    ]
    return kept + [t.spec() for t in tools]


# --- the runner --------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Batch:
    """The calls of one response: one ``response.create`` once every output is sent."""

    pending: int
    respond: bool = False


class ToolRunner:
    """A widget's registered tools, their place in the session, and the calls the model makes."""

    def __init__(self, widget: RealtimeWidget) -> None:
        """Serve ``widget`` (the runner reads its connection, console and log)."""
        self._w = widget
        self.tools: dict[str, Tool] = {}
        self._ours: set[str] = set()  # every name registered here: their old versions are replaced
        self._hand: list[JSON] | None = None  # tools the user last declared by hand this session
        self._sync_pending = False
        self._call_rows: dict[str, int] = {}
        self._seen_calls: set[str] = set()
        self.answering = True
        """Run the model's calls and send their outputs (off in a rerun: the recorded outputs are resent)."""

    # --- the registry in the session ---

    def add(self, tool: Tool) -> Tool:
        """Register ``tool`` (replacing one of that name) and update an open session."""
        self.tools[tool.name] = tool
        self._ours.add(tool.name)
        self._schedule_sync()
        return tool

    def remove(self, name: str) -> None:
        """Unregister the tool ``name`` and take it out of an open session.

        Raises:
            KeyError: no tool of that name is registered.
        """
        if name not in self.tools:
            raise KeyError(f"no tool named {name!r} is registered (registered: {', '.join(self.tools)})")
        del self.tools[name]
        self._schedule_sync()

    def session_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """A ``session.update`` body the user wrote, with the registered tools beside theirs.

        Only a body that sets ``tools`` is touched (one without leaves the session's tools as they are);
        a tool of a registered name is replaced by the registered one.
        """
        tools = body.get("tools")
        if not self._ours or not isinstance(tools, list):
            return body
        # What the user writes is theirs, a removed tool's name too; only registered names are replaced.
        self._hand = merged_tools(tools, (), self.tools)
        return {**body, "tools": merged_tools(tools, self.tools.values(), self.tools)}

    def _schedule_sync(self) -> None:
        # Several registrations in one cell make one session.update: the sync runs after the cell's code.
        if self._sync_pending or not self._session_open():
            return
        self._sync_pending = True
        self._w._spawn(self._sync())

    def _session_open(self) -> bool:
        # session_effective is emptied at each open and set by session.created.
        return self._w.connected and bool(self._w._console.session_effective)

    async def _sync(self) -> None:
        self._sync_pending = False
        if not self._session_open():
            return
        w = self._w
        effective = w._console.session_effective.get("tools")
        base = self._hand if self._hand is not None else (effective if isinstance(effective, list) else [])
        tools = merged_tools(base, self.tools.values(), self._ours)
        requested = w._console.session_requested
        if isinstance(requested.get("tools"), list):  # the asked-vs-effective diff asks for these now
            w._console.session_requested = {**requested, "tools": redact(tools, w._secrets())}
            w.session_requested = w._console.session_requested
        session: JSON = {"type": "realtime", "tools": tools} if w.dialect == "ga" else {"tools": tools}
        await w.send_event({"type": "session.update", "session": session})

    # --- server events ---

    def event(self, event: Any) -> None:
        """One received server event: a new session gets the tools, a finished response's calls run."""
        type_ = event.type
        if type_ == "session.created":
            self._hand = None
            self._call_rows.clear()
            self._seen_calls.clear()
            if self._ours:
                self._schedule_sync()
        elif type_ == "response.function_call_arguments.done":
            call_id = getattr(event, "call_id", None)
            if isinstance(call_id, str):
                self._call_rows[call_id] = self._last_row(type_)
        elif type_ == "response.done":
            # The calls are taken from response.done's output, not from function_call_arguments.done:
            # beta's arguments.done carries no `name` (GA added it), while response.done's function_call
            # items carry name, call_id and arguments in both dialects, and say the response's status.
            response = event.wire().get("response")
            if isinstance(response, dict):
                self._response_done(response)

    def _last_row(self, type_: str) -> int:
        entries = self._w._log.entries
        for entry in reversed(entries[-8:]):
            if entry.direction == "server" and entry.type == type_:
                return int(entry.row)
        return int(entries[-1].row) if entries else -1

    def _response_done(self, response: dict[str, Any]) -> None:
        if not self.answering:
            return
        if response.get("status") in ("cancelled", "failed"):
            return  # a stopped or failed response's calls are not the model's last word: not run
        found = response.get("output")
        output: list[Any] = found if isinstance(found, list) else []
        calls = [
            it
            for it in output
            if isinstance(it, dict)
            and it.get("type") == "function_call"
            and isinstance(it.get("call_id"), str)
            and it["call_id"] not in self._seen_calls
        ]
        if not calls:
            return
        done_row = self._last_row("response.done")
        batch = _Batch(
            pending=len(calls), respond=any(self._respond_after(str(c.get("name"))) for c in calls)
        )
        for call in calls:
            self._seen_calls.add(call["call_id"])
            # The row now, right after the response.done that asked for it; the call runs as a task.
            row = _ToolRow(
                self._w,
                str(call.get("name", "")),
                call["call_id"],
                self._call_rows.pop(call["call_id"], done_row),
            )
            self._w._spawn(self._run(call, row, batch))

    async def _run(self, call: dict[str, Any], row: _ToolRow, batch: _Batch) -> None:
        w = self._w
        name, call_id = str(call.get("name", "")), call["call_id"]
        tool = self.tools.get(name)
        output, failure = await self._outcome(tool, name, call.get("arguments", ""))
        row.finish(failure)
        if failure is not None:
            code, message = failure
            w._local_error(code, message, data={"tool": name, "call_id": call_id})
        try:
            await w.send_event(
                {
                    "type": "conversation.item.create",
                    "item": {"type": "function_call_output", "call_id": call_id, "output": output},
                }
            )
        except RuntimeError:
            w._local_error("tool_output", f"{name}: the connection closed before its output was sent")
            return
        batch.pending -= 1
        if batch.pending == 0 and batch.respond:
            await self._respond()

    def _respond_after(self, name: str) -> bool:
        tool = self.tools.get(name)
        return bool(
            tool.respond if tool is not None and tool.respond is not None else self._w.tool_auto_respond
        )

    async def _outcome(
        self, tool: Tool | None, name: str, arguments: Any
    ) -> tuple[str, tuple[str, str] | None]:
        """The output to send for one call, and (code, message) for the log when it is an error."""
        if tool is None:
            known = ", ".join(self.tools) or "none"
            message = f"no tool named {name!r} is registered (registered: {known})"
            return _error_output(f"UnknownTool: {message}"), ("tool_unknown", message)
        try:
            kwargs = tool.call_kwargs(arguments)
        except ToolArgumentsError as exc:
            message = f"invalid arguments for {name}: {exc}"
            return _error_output(f"ToolArgumentsError: {message}"), ("tool_arguments", message)
        try:
            if inspect.iscoroutinefunction(tool.fn):
                result = await tool.fn(**kwargs)
            else:  # in a worker thread: a slow sync tool must not hold the kernel loop
                result = await asyncio.to_thread(tool.fn, **kwargs)
                if inspect.isawaitable(result):  # a sync wrapper around a coroutine function
                    result = await result
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            return _error_output(text), ("tool_failed", f"{name} raised {text}")
        if isinstance(result, str):
            return result, None
        try:
            return json.dumps(result, ensure_ascii=False, allow_nan=False), None
        except (TypeError, ValueError) as exc:
            message = f"{name} returned {type(result).__name__}, which is not JSON-serialisable ({exc})"
            return _error_output(f"TypeError: {message}"), ("tool_result", message)

    async def _respond(self) -> None:
        w = self._w
        if w._responses.busy():  # another reply is under way: ours follows it (see rtwidget.widget.turns)
            w._responses.waiting = True
            return
        await w.send_event({"type": "response.create"})


def _error_output(text: str) -> str:
    return json.dumps({"error": text}, ensure_ascii=False)


class _ToolRow:
    """The ``local.tool`` row of one call: running, then done or failed with its duration."""

    def __init__(self, widget: RealtimeWidget, name: str, call_id: str, cause: int) -> None:
        self._w = widget
        self._start = time.monotonic()
        self.data: JSON = {"name": name, "call_id": call_id, "status": "running"}
        console = widget._console
        self.entry, self.row = console.log.add(
            "local",
            "local.tool",
            widget._now(),
            data=redact(self.data, console.secrets),
            summary=f"{name} · running",
            cause=cause if cause >= 0 else None,
        )
        widget._views.schedule_flush()

    def finish(self, failure: tuple[str, str] | None) -> None:
        """The call ended: its status, duration and (when it failed) why."""
        duration_ms = round((time.monotonic() - self._start) * 1000)
        status = "failed" if failure is not None else "done"
        self.entry.data.update({"status": status, "duration_ms": duration_ms})
        summary = f"{self.data['name']} · {status} in {duration_ms} ms"
        if failure is not None:
            self.entry.data["error"] = failure[1]
            summary = f"{summary} · {failure[1]}"
        self._w._log.revise(self.row.id, self._w._console.scrub(summary), "e" if failure else "")
        self._w._views.schedule_flush()


class ToolMethods:
    """RealtimeWidget's function-tool methods (the registry and the runner are :class:`ToolRunner`)."""

    _tools: ToolRunner

    def tool(self, fn: Any = None, **options: Any) -> Any:
        """Decorator form of :meth:`add_tool`: ``@w.tool`` or ``@w.tool(name=..., respond=False)``."""
        if fn is not None:
            self.add_tool(fn, **options)
            return fn
        return lambda f: self.tool(f, **options)

    def add_tool(
        self,
        fn: Any,
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        respond: bool | None = None,
    ) -> Tool:
        """Register a sync or async function the model may call; an open session gets it at once.

        Args:
            fn: Called with the model's arguments as keywords; a sync one runs in a worker thread.
            name: The tool's name (default ``fn.__name__``).
            description: For the model (default: the docstring's first line).
            parameters: Its JSON schema (default: from the signature, type hints and ``Args:``).
            respond: Send ``response.create`` after its output (default ``tool_auto_respond``).
        """
        tool = make_tool(fn, name=name, description=description, parameters=parameters, respond=respond)
        return self._tools.add(tool)

    def remove_tool(self, name: str) -> None:
        """Unregister a tool (and take it out of an open session); KeyError if there is none of that name."""
        self._tools.remove(name)

    @property
    def tools(self) -> dict[str, Tool]:
        """The registered tools by name (a copy)."""
        return dict(self._tools.tools)
