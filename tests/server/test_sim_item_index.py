"""Item creates stay linear in the number of items (counted list accesses, not time)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sim_testing import Driver

N_ITEMS = 20_000


class CountingList(list[Any]):
    """A list that counts every element it hands out (by index or by iteration)."""

    visits = 0

    def __getitem__(self, index: Any) -> Any:
        self.visits += 1
        return super().__getitem__(index)

    def __iter__(self) -> Iterator[Any]:
        for value in super().__iter__():
            self.visits += 1
            yield value


def test_creates_with_own_ids_stay_linear():
    """20k creates with their own ids (each after the previous) touch the item list O(1) times each."""
    d = Driver()
    items = CountingList()
    d.session.items = items
    previous = None
    for n in range(N_ITEMS):
        item = {"id": f"item_{n:06d}", "type": "message", "role": "user", "content": []}
        event: dict[str, Any] = {"type": "conversation.item.create", "item": item}
        if previous is not None:
            event["previous_item_id"] = previous
        d.send(event)
        previous = item["id"]
    assert len(items) == N_ITEMS
    assert items.visits <= 4 * N_ITEMS


def test_duplicate_id_still_refused():
    """A create reusing an existing id is still refused with item_create_duplicate_item_id."""
    d = Driver()
    item = {"id": "item_dup", "type": "message", "role": "user", "content": []}
    d.send({"type": "conversation.item.create", "item": item})
    errors = [e for e in d.send({"type": "conversation.item.create", "item": item}) if e["type"] == "error"]
    assert errors[0]["error"]["code"] == "item_create_duplicate_item_id"
