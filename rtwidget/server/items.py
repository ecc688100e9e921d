"""Conversation items: create, retrieve, delete, truncate, and their order."""

from __future__ import annotations

import base64
import binascii

from rtwidget.server.state import JSON, SessionState, json_copy

__all__ = ["ItemsMixin"]


class ItemsMixin(SessionState):
    """Conversation items: create, retrieve, delete, truncate, and their order."""

    def _index(self, item_id: str) -> int | None:
        """Position of an item in the conversation (None: no such item).

        Membership is a dict lookup and the last item (where new items go) is checked first, so creating
        items one after another stays linear in their number; only a lookup in the middle scans.
        """
        if item_id not in self._item_ids:
            return None
        if self.items and self.items[-1]["id"] == item_id:
            return len(self.items) - 1
        for i, it in enumerate(self.items):
            if it["id"] == item_id:
                return i
        return None

    def _insert(self, item: JSON, after: str | None = None, *, notify: bool = True) -> None:
        """Insert after item `after` ("root": first; None: at the end, as the reference says)."""
        if after is None:
            pos = len(self.items)
        elif after == "root":
            pos = 0
        else:
            idx = self._index(after)
            pos = len(self.items) if idx is None else idx + 1
        self.items.insert(pos, item)
        self._item_ids.add(item["id"])
        prev = self.items[pos - 1]["id"] if pos > 0 else None
        if notify:
            self._emit({"type": "conversation.item.added", "previous_item_id": prev, "item": json_copy(item)})
            self._emit({"type": "conversation.item.done", "previous_item_id": prev, "item": json_copy(item)})

    def _normalize_item(self, raw: JSON) -> JSON:
        item = json_copy(raw)
        item.setdefault("id", self._ids.new("item"))
        kind = item.get("type", "message")
        out: JSON = {"id": item["id"], "type": kind}
        if kind == "message":
            out["status"] = item.get("status", "completed")
            out["role"] = item.get("role")
            content = []
            for part in item.get("content", []):
                p = dict(part)
                if p.get("type") == "input_audio" and "audio" in p:
                    pcm = self._decode_input(base64.b64decode(p.pop("audio")))
                    self._item_audio[item["id"]] = pcm
                    self._item_audio_ms[item["id"]] = self._ms(len(pcm))
                    p.setdefault("transcript", None)
                content.append(p)
            out["content"] = content
        elif kind == "function_call":
            out["status"] = item.get("status", "completed")
            for key in ("name", "call_id", "arguments"):
                out[key] = item.get(key, "")
        elif kind == "function_call_output":
            out["call_id"] = item.get("call_id")
            out["output"] = item.get("output", "")
        else:
            out.update({k: v for k, v in item.items() if k not in out})
        return out

    def _on_conversation_item_create(self, ev: JSON) -> None:
        raw = ev.get("item", {})
        eid = ev.get("event_id")
        if isinstance(raw.get("id"), str) and raw["id"] in self._item_ids:
            self._error(
                "item_create_duplicate_item_id",
                f"Item with id '{raw['id']}' already exists.",
                param="item.id",
                event_id=eid,
            )
            return
        if raw.get("type", "message") == "message" and raw.get("role") not in ("user", "assistant", "system"):
            self._error(
                "invalid_value",
                f"Invalid value: '{raw.get('role')}'. Supported values are: 'user', 'assistant', 'system'.",
                param="item.role",
                event_id=eid,
            )
            return
        if raw.get("type") == "function_call_output" and not any(
            it.get("type") == "function_call" and it.get("call_id") == raw.get("call_id") for it in self.items
        ):
            self._error(
                "invalid_value",
                f"No tool call found for function call output with call_id {raw.get('call_id')}.",
                param="item.call_id",
                event_id=eid,
            )
            return
        prev = ev.get("previous_item_id")
        if prev not in (None, "root") and prev not in self._item_ids:
            self._error(
                "item_create_invalid_previous_item_id",
                f"Previous item with id '{prev}' not found.",
                param="previous_item_id",
                event_id=eid,
            )
            return
        try:
            item = self._normalize_item(raw)
        except (binascii.Error, ValueError):
            self._error(
                "invalid_value", "Invalid base64 audio in item content.", param="item.content", event_id=eid
            )
            return
        self._insert(item, prev)

    def _on_conversation_item_retrieve(self, ev: JSON) -> None:
        idx = self._index(ev.get("item_id", ""))
        if idx is None:
            self._error(
                "item_retrieve_invalid_item_id",
                f"Item with item_id not found: {ev.get('item_id')}",
                param="item_id",
                event_id=ev.get("event_id"),
            )
            return
        item = json_copy(self.items[idx])
        audio = self._item_audio.get(item["id"])
        if audio is not None and item.get("role") == "user":
            for part in item.get("content", []):
                if part.get("type") == "input_audio":
                    part["audio"] = base64.b64encode(audio).decode("ascii")
        self._emit({"type": "conversation.item.retrieved", "item": item})

    def _on_conversation_item_delete(self, ev: JSON) -> None:
        idx = self._index(ev.get("item_id", ""))
        if idx is None:
            self._error(
                "item_delete_invalid_item_id",
                f"Item with item_id not found: {ev.get('item_id')}",
                param="item_id",
                event_id=ev.get("event_id"),
            )
            return
        del self.items[idx]
        self._item_ids.discard(ev["item_id"])
        self._emit({"type": "conversation.item.deleted", "item_id": ev["item_id"]})

    def _on_conversation_item_truncate(self, ev: JSON) -> None:
        eid = ev.get("event_id")
        idx = self._index(ev.get("item_id", ""))
        if idx is None:
            self._error(
                "item_truncate_invalid_item_id",
                f"Item with item_id not found: {ev.get('item_id')}",
                param="item_id",
                event_id=eid,
            )
            return
        item = self.items[idx]
        ci = ev.get("content_index", 0)
        content = item.get("content") or []
        if (
            item.get("role") != "assistant"
            or not (0 <= ci < len(content))
            or content[ci].get("type") != "output_audio"
        ):
            self._error(
                "invalid_value",
                "Only assistant messages with audio content can be truncated.",
                param="content_index",
                event_id=eid,
            )
            return
        have_ms = self._item_audio_ms.get(item["id"], 0.0)
        end_ms = ev.get("audio_end_ms", 0)
        if end_ms > have_ms + 0.5:
            self._error(
                "invalid_value",
                f"Audio content of {round(have_ms)}ms is already shorter than {end_ms}ms",
                param="audio_end_ms",
                event_id=eid,
            )
            return
        self._item_audio_ms[item["id"]] = float(end_ms)
        # Reference: truncation "will delete the server-side text transcript to ensure there is not text in
        # the context that hasn't been heard by the user".
        content[ci]["transcript"] = ""
        self._emit(
            {
                "type": "conversation.item.truncated",
                "item_id": item["id"],
                "content_index": ci,
                "audio_end_ms": end_ms,
            }
        )

    def _user_text(self, item: JSON) -> str:
        if item["id"] in self._item_text_for_model:
            return self._item_text_for_model[item["id"]]
        texts = [part.get("text") or part.get("transcript") or "" for part in item.get("content", [])]
        return " ".join(t for t in texts if t)

    def _prev_id(self, item_id: str) -> str | None:
        idx = self._index(item_id)
        return self.items[idx - 1]["id"] if idx else None
