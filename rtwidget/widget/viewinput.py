"""Messages from the views: checked and routed to the widget (the protocol is described in
:mod:`rtwidget.widget.view`, its one owner; this module is the kernel's side of the browser -> kernel half).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtwidget.protocol.sessions import ga_session_to_beta
from rtwidget.widget.view import WINDOW_LIMIT_MAX

if TYPE_CHECKING:
    from rtwidget.widget.widget import RealtimeWidget

__all__ = ["ViewMessageError", "apply_form", "apply_outcome", "route_view_message", "view_int"]


class ViewMessageError(ValueError):
    """A view message with a missing or malformed field (view messages are input too)."""


def view_int(
    content: dict[str, Any],
    name: str,
    default: int | None = None,
    low: int | None = None,
    high: int | None = None,
) -> int:
    """The integer field ``name`` of a view message, clamped to ``[low, high]``; ``default`` when absent.

    Raises:
        ViewMessageError: the field is missing without a default, or is not an integer.
    """
    value = content.get(name)
    if value is None:
        if default is None:
            raise ViewMessageError(f"`{name}` is missing")
        value = default
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # noqa: PLR0124 - NaN
        raise ViewMessageError(f"`{name}` must be an integer, got {type(value).__name__} {value!r:.40}")
    number = int(value)
    if low is not None:
        number = max(low, number)
    if high is not None:
        number = min(high, number)
    return number


def _number(value: Any) -> float | None:
    """A view message's number field, or None when it is not a number."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def route_view_message(
    widget: RealtimeWidget, kind: Any, view: Any, content: dict[str, Any], buffers: list[Any] | None = None
) -> None:
    """Do what one view message asks (the shell has acknowledged it and handed it to the kernel loop)."""
    from rtwidget.widget import composer, voice

    if kind == "mic":  # the hot path of capture: ~20 a second while the microphone streams
        voice.mic_chunk(widget, content, buffers or [])
        return
    limit = view_int(content, "limit", 300, 1, WINDOW_LIMIT_MAX)
    log = widget._log
    console = widget._console
    if kind == "ready":
        widget._ready = True
        widget._presence.joined(str(view))
        widget._views.post({"type": "log.window", "view": view, **log.tail(limit)})
        widget._views.hello(view)
        widget._views.schedule_flush()
    elif isinstance(kind, str) and kind.startswith("conv."):
        widget._views.conversation.route(kind, view, content)
    elif kind == "bye":
        widget._presence.left(str(view))
    elif kind == "log.window":
        widget._views.post({"type": "log.window", "view": view, **log.tail(limit)})
    elif kind == "log.page":
        if content.get("before") is not None:
            page = log.before(view_int(content, "before"), limit)
            widget._views.post({"type": "log.page", "view": view, "dir": "older", **page, "tail": False})
        else:
            after = view_int(content, "after", -1)
            widget._views.post({"type": "log.page", "view": view, "dir": "newer", **log.after(after, limit)})
    elif kind == "log.around":
        widget._views.post(
            {"type": "log.window", "view": view, **log.around(view_int(content, "row"), limit)}
        )
    elif kind == "log.detail":
        row, member = view_int(content, "row"), view_int(content, "member", 0)
        widget._views.post({"type": "log.detail", "view": view, **log.detail(row, member, widget._secrets())})
    elif kind in composer.KINDS:
        composer.handle(widget, kind, view, content)
    elif kind == "played":
        items = content.get("items")
        console.played(
            items if isinstance(items, dict) else {}, flushed_ms=_number(content.get("flushed_ms"))
        )
    elif kind == "audio.started":
        keys = ("at_ms", "arrived_ms", "noticed_ms", "rendered_ms")
        at_ms, arrived, noticed, rendered = (_number(content.get(k)) for k in keys)
        if at_ms is not None:
            console.audio_started(str(content.get("item")), at_ms, arrived, noticed, rendered)
    elif kind == "clear":
        widget.clear_log()
    elif kind == "connect":
        widget._spawn(widget.connect())
    elif kind == "disconnect":
        widget._spawn(widget.disconnect())
    elif kind == "send_text":
        widget._spawn(widget.send_text(str(content.get("text", "")), bool(content.get("respond", True))))
    elif kind == "apply":
        apply_form(widget, content.get("session"))
    elif kind in ("ptt.start", "ptt.end"):
        played = content.get("played")
        if isinstance(played, dict):  # what the view had rendered when it flushed for the press
            console.played(played, replace=True)
        voice.push_to_talk(widget, pressed=kind == "ptt.start")
    elif kind == "mode":
        voice.set_mode(widget, str(content.get("mode")))
    elif kind == "stop":
        played = content.get("played")
        console.played(played if isinstance(played, dict) else {}, replace=True)
        widget._spawn(widget.stop())


def apply_form(widget: RealtimeWidget, session: Any) -> None:
    """Apply the session form: validate with the protocol core (refusal -> ``form_error``), then send."""
    from rtwidget.protocol import ProtocolError, validate_client_event

    if not isinstance(session, dict):
        widget.form_error = "the form sent no session object"
        return
    body = ga_session_to_beta(session) if widget.dialect == "beta" else session
    event = {"type": "session.update", "session": body}
    try:
        validate_client_event(event, dialect=widget._wire_dialect)
    except ProtocolError as exc:
        message = widget._scrub(str(exc))
        widget.form_error = message
        widget._local_error("refused", f"session.update: {message}", data={"refused": message})
        return
    if not widget.connected:
        widget.form_error = "not connected"
        return
    widget.form_error = ""
    widget.form_notice = "sent, waiting for session.updated"
    widget._apply_id = event_id = f"evt_rtw_apply_{next(widget._event_ids)}"
    widget._spawn(widget.update_session(body, event_id=event_id))


def apply_outcome(widget: RealtimeWidget, event: Any) -> None:
    """Show an Apply's outcome under the form: the server's refusal (an error naming the form's event) or
    the ``session.updated`` that answers it."""
    if widget._apply_id is None or event.type not in ("error", "session.updated"):
        return
    if event.type == "session.updated":
        widget.form_error, widget.form_notice, widget._apply_id = "", "applied", None
        return
    err = event.wire().get("error")
    if isinstance(err, dict) and err.get("event_id") == widget._apply_id:
        why = err.get("message") or err.get("code") or "no reason given"
        widget.form_error = widget._scrub(f"the server refused it: {why}")
        widget.form_notice, widget._apply_id = "", None
