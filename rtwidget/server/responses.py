"""Responses: `response.create` / `response.cancel`, the reply's context, and its planned steps."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from functools import partial

from rtwidget.server.sessionconfig import SessionError, check_output_modalities
from rtwidget.server.state import (
    JSON,
    TEXT_TOKEN_MS,
    ResponseRun,
    Step,
    json_copy,
    split_pieces,
    split_sentences,
    text_tokens,
)
from rtwidget.server.streaming import StreamingMixin, _chunks

__all__ = ["ResponsesMixin"]


class ResponsesMixin(StreamingMixin):
    """Responses: `response.create` / `response.cancel`, the reply's context, and its planned steps."""

    def _on_output_audio_buffer_clear(self, ev: JSON) -> None:
        self._error(
            "invalid_value",
            "output_audio_buffer.clear is only supported for WebRTC and SIP sessions.",
            param="type",
            event_id=ev.get("event_id"),
        )

    # ------------------------------------------------------------------ responses

    def _on_response_create(self, ev: JSON) -> None:
        if self.session["type"] != "realtime":
            self._error(
                "invalid_value",
                "Responses are not supported in transcription sessions.",
                param="type",
                event_id=ev.get("event_id"),
            )
            return
        params = ev.get("response") or {}
        if "output_modalities" in params:
            try:
                check_output_modalities(params["output_modalities"], "response.output_modalities")
            except SessionError as exc:
                self._error(exc.code, exc.message, param=exc.param, event_id=ev.get("event_id"))
                return
        if params.get("conversation", "auto") != "none" and self._active is not None:
            self._error(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self._active.id}. "
                "Wait until the response is finished before creating a new one.",
                event_id=ev.get("event_id"),
            )
            return
        self._start_response(params)

    def _on_response_cancel(self, ev: JSON) -> None:
        wanted = ev.get("response_id")
        target = None
        for r in self._running:
            if (wanted is None and r is self._active) or r.id == wanted:
                target = r
        if target is None:
            self._error(
                "response_cancel_not_active",
                "Cancellation failed: no active response found",
                event_id=ev.get("event_id"),
            )
            return
        self._cancel(target, "client_cancelled")

    def _context(self, params: JSON) -> list[JSON]:
        if "input" in params:
            items = []
            for raw in params["input"]:
                if raw.get("type") == "item_reference":
                    idx = self._index(raw.get("id", ""))
                    if idx is not None:
                        items.append(self.items[idx])
                else:
                    items.append(self._normalize_item(raw))
            return items
        return list(self.items) if params.get("conversation", "auto") != "none" else []

    def _start_response(self, params: JSON, after_created: Callable[[], None] | None = None) -> None:
        from rtwidget.server import responder, tools

        now = self._now
        sess = self.session
        conversation = params.get("conversation", "auto")
        modalities = params.get("output_modalities") or sess["output_modalities"]
        instructions: str = params.get("instructions", sess["instructions"]) or ""
        tool_defs: list[JSON] = params.get("tools", sess["tools"]) or []
        tool_choice = params.get("tool_choice", sess["tool_choice"])
        max_tokens = params.get("max_output_tokens", sess["max_output_tokens"])
        out_cfg = dict(sess["audio"]["output"])
        out_cfg.update((params.get("audio") or {}).get("output") or {})
        context = self._context(params)

        resp_obj: JSON = {
            "object": "realtime.response",
            "id": self._ids.new("resp"),
            "status": "in_progress",
            "status_details": None,
            "output": [],
            "conversation_id": self._conversation_id if conversation == "auto" else None,
            "output_modalities": list(modalities),
            "max_output_tokens": max_tokens,
            "audio": {"output": {"format": out_cfg["format"], "voice": out_cfg["voice"]}},
            "usage": None,
            "metadata": params.get("metadata"),
        }
        resp = ResponseRun(id=resp_obj["id"], conversation=conversation, obj=resp_obj)
        resp.usage_in = self._input_usage(instructions, tool_defs, context, conversation)
        self._running.append(resp)
        if conversation == "auto":
            self._active = resp
        self._emit({"type": "response.created", "response": json_copy(resp_obj)})
        if after_created is not None:
            after_created()

        user_items = [it for it in context if it.get("type") == "message" and it.get("role") == "user"]
        user_text = self._user_text(user_items[-1]) if user_items else ""
        last = context[-1] if context else None
        turn = self._turn
        self._turn += 1
        function_tools = [t for t in tool_defs if t.get("type", "function") == "function"]
        if last is not None and last.get("type") == "function_call_output":
            call = next(
                (
                    it
                    for it in context
                    if it.get("type") == "function_call" and it.get("call_id") == last.get("call_id")
                ),
                None,
            )
            text = responder.reply(
                user_text,
                instructions=instructions,
                turn=turn,
                tool_output=str(last.get("output", "")),
                tool_name=call.get("name") if call else None,
            )
            chosen = None
        else:
            chosen = (
                tools.choose_tool(function_tools, user_text, tool_choice)
                if function_tools and tool_choice != "none"
                else None
            )
            text = "" if chosen else responder.reply(user_text, instructions=instructions, turn=turn)

        t = now
        token_s = TEXT_TOKEN_MS / 1000.0 / self.speed
        # The model's time to first output: the item is announced with the response, its first delta later.
        first_s = self.first_audio_ms / 1000.0 / self.speed
        if chosen is not None:
            args = json.dumps(tools.arguments_for(chosen, user_text))
            item = {
                "id": self._ids.new("item"),
                "type": "function_call",
                "status": "in_progress",
                "name": chosen["name"],
                "call_id": self._ids.new("call"),
                "arguments": "",
            }
            self._open_item(resp, item, t)
            t += first_s
            for piece in _chunks(args, 6):
                t += token_s
                resp.steps.append(Step(t, partial(self._args_delta, resp, piece)))
            resp.text_tokens = text_tokens(args)
            resp.steps.append(Step(t, partial(self._finish, resp)))
            return

        item = {
            "id": self._ids.new("item"),
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        pieces = split_pieces(text)
        limit = max_tokens if isinstance(max_tokens, int) else None
        if modalities == ["text"]:
            if limit is not None and len(pieces) > limit:
                pieces = pieces[:limit]
                resp.final_status = "incomplete"
            resp.text_tokens = len(pieces)
            self._open_item(resp, item, t, part="text")
            t += first_s
            for piece in pieces:
                t += token_s
                resp.steps.append(Step(t, partial(self._text_delta, resp, piece)))
            resp.steps.append(Step(t, partial(self._finish, resp)))
            return

        resp.text_tokens = resp.audio_tokens = 0
        voice = out_cfg["voice"]
        # A custom voice object `{"id": ...}` is spoken as a voice of that name.
        voice_name = voice if isinstance(voice, str) else str(voice.get("id"))
        resp.voice = (voice_name, float(out_cfg.get("speed", 1.0)), out_cfg["format"]["type"])
        resp.sentences = deque(split_sentences(text))
        resp.limit = limit
        self._open_item(resp, item, t, part="audio")
        resp.next_due = resp.last_due = t + first_s
        self._then_speak(resp)
