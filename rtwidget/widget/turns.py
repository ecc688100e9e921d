"""Replies asked for while one is in flight: the server refuses a second ``response.create`` during a
response (``conversation_already_has_active_response``), so the console holds it until the current one ends
and says so, instead of leaving a message unanswered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtwidget.widget.loop import reported

if TYPE_CHECKING:
    from rtwidget.widget.widget import RealtimeWidget

__all__ = ["BUSY_CODE", "QUEUED_NOTICE", "ResponseQueue", "TextMethods", "send_text"]

BUSY_CODE = "conversation_already_has_active_response"
"""The server's error code for a ``response.create`` sent while a response is in flight."""
QUEUED_NOTICE = "a reply is in progress: yours starts when it ends (Stop cancels both)"


class ResponseQueue:
    """Whether a response is in flight, and whether a reply waits for it to end."""

    def __init__(self) -> None:
        """Nothing in flight, nothing waiting."""
        self.in_flight = False
        self.waiting = False
        self._asked: str | None = None  # event_id of the response.create not yet answered

    def busy(self) -> bool:
        """A response was asked for or is streaming: a new ``response.create`` would be refused."""
        return self.in_flight or self._asked is not None

    def sent(self, event: dict[str, Any]) -> None:
        """A client event went out."""
        if event.get("type") == "response.create":
            self._asked = str(event.get("event_id"))

    def received(self, event: Any) -> bool:
        """A server event arrived; True when the waiting reply should be asked for now."""
        type_ = event.type
        if type_ == "response.created":
            self.in_flight, self._asked = True, None
        elif type_ == "response.done":
            self.in_flight = False
            if self.waiting and self._asked is None:
                self.waiting = False
                return True
        elif type_ == "error" and self._asked is not None:
            err = event.wire().get("error")
            if isinstance(err, dict) and err.get("event_id") == self._asked and err.get("code") != BUSY_CODE:
                self._asked = None  # refused for another reason: nothing is coming
        return False

    def reset(self) -> None:
        """The connection ended, or Stop: nothing in flight, nothing waiting."""
        self.in_flight = self.waiting = False
        self._asked = None


async def send_text(w: RealtimeWidget, text: str, respond: bool) -> None:
    """See :meth:`TextMethods.send_text`."""
    given: object = text  # typed str, but a notebook passes anything
    if not isinstance(given, str):
        from rtwidget.protocol import ValidationError

        message = f"send_text takes a str, not {type(given).__name__}"
        w._local_error("refused", message)
        raise reported(ValidationError(message, "$.item.content[0].text", "invalid_type")) from None
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    await w.send_event({"type": "conversation.item.create", "item": item})
    if respond and w._responses.busy():
        w._responses.waiting = True
        w.talk_notice = QUEUED_NOTICE
        w._local("local.queued", {"message": QUEUED_NOTICE})
    elif respond:
        await w.send_event({"type": "response.create"})


class TextMethods:
    """RealtimeWidget's ``send_text``."""

    async def send_text(self, text: str, respond: bool = True) -> None:
        """Send a user message (``conversation.item.create``), then ``response.create`` if ``respond``.

        While a response is in flight the server would refuse a second one, so the ``response.create`` waits
        for it to end (``talk_notice`` and a ``local.queued`` row say so; ``stop()`` cancels both).
        """
        await send_text(self, text, respond)  # type: ignore[arg-type]  # self is the RealtimeWidget
