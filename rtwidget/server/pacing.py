"""Pacing for the adapter: one loop timer for every connection's next step, and the synthesis queue.

Both run many sessions from a few loop callbacks: a session's paced output is a deadline
(`SimSession.next_deadline`) and its deferred speech synthesis is work with a deadline
(`SimSession.work_deadline`); neither touches a socket (the connection does, in `advance`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol

__all__ = ["Paced", "SynthesisQueue", "Timers"]

# asyncio runs a timer up to the clock's resolution early (`BaseEventLoop._clock_resolution`); so does
# `Timers`, so a step is never put off by one more loop iteration than a timer of its own would be.
_CLOCK_RESOLUTION_S = time.get_clock_info("monotonic").resolution


class _Session(Protocol):
    def work_deadline(self) -> float | None: ...

    def work(self) -> None: ...


class Paced(Protocol):
    """What `Timers` and `SynthesisQueue` drive: a connection with a session (see `adapter._Connection`)."""

    #: The deadline `Timers` holds for this connection (None: none); only `Timers` writes it.
    timer_due: float | None
    closed: bool

    @property
    def session(self) -> _Session:
        """The connection's `SimSession`."""

    def advance(self) -> None:
        """Emit what is due now and ask for the next deadline and synthesis."""


class Timers:
    """Every connection's next deadline in one heap, behind one `loop.call_at`.

    With a timer per connection, each audio delta of each session costs a `TimerHandle` made, often
    cancelled, and ordered in asyncio's heap by a Python `__lt__` (in a profile of 200 sessions streaming
    10 deltas a second: ~340k `__lt__` calls; with `call_at`, `cancel` and the heap pops ~8 % of the
    time). Here a deadline is a tuple in a heap ordered in C, and the loop holds one handle, for the
    earliest. A connection has at most one live deadline: setting a new one leaves the old entry in the
    heap, skipped when it comes up (its time no longer matches).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.heap: list[tuple[float, int, Paced]] = []
        self.order = itertools.count()
        self.handle: asyncio.TimerHandle | None = None
        self.handle_due: float | None = None

    def set(self, conn: Paced, due: float | None) -> None:
        """Make `due` the connection's one deadline (None: it has none); `advance` runs at `due`."""
        if due == conn.timer_due:
            return
        conn.timer_due = due
        if due is None:
            return
        heapq.heappush(self.heap, (due, next(self.order), conn))
        if self.handle_due is None or due < self.handle_due:
            self._arm(due)

    def _arm(self, due: float) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.handle_due = due
        self.handle = self.loop.call_at(due, self._fire)

    def _fire(self) -> None:
        self.handle = self.handle_due = None
        heap = self.heap
        until = self.loop.time() + _CLOCK_RESOLUTION_S
        while heap and heap[0][0] <= until:
            due, _, conn = heapq.heappop(heap)
            if conn.timer_due != due or conn.closed:
                continue  # replaced by a later `set`, or gone
            conn.timer_due = None
            conn.advance()
        self._arm_for_next()

    def _arm_for_next(self) -> None:
        """Drop stale entries at the top, then make sure the handle fires for the earliest deadline."""
        heap = self.heap
        while heap and (heap[0][2].timer_due != heap[0][0] or heap[0][2].closed):
            heapq.heappop(heap)  # stale: drop it now rather than wake the loop for it
        # A connection advanced by `_fire` may have armed the handle for its own, later deadline.
        if heap and (self.handle_due is None or heap[0][0] < self.handle_due):
            self._arm(heap[0][0])


class SynthesisQueue:
    """Runs the sessions' deferred speech syntheses one per loop iteration, the most urgently needed first.

    A synthesis takes 1-5 ms. Done inside frame handling, 50 sessions asking at once would block the loop
    for their sum: every other session's due audio and even the arrival of the next frames would wait.
    One at a time via `call_soon`, the loop sends due deltas and reads sockets between two syntheses.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.heap: list[tuple[float, int, Paced]] = []
        self.queued: set[Paced] = set()
        self.order = itertools.count()
        self.running = False

    def want(self, conn: Paced) -> None:
        """Queue `conn` if its session has a synthesis to do (once; by when it is needed)."""
        if conn in self.queued:
            return
        due = conn.session.work_deadline()
        if due is None:
            return
        heapq.heappush(self.heap, (due, next(self.order), conn))
        self.queued.add(conn)
        if not self.running:
            self.running = True
            self.loop.call_soon(self.run_one)

    def run_one(self) -> None:
        self.running = False
        if not self.heap:
            return
        _, _, conn = heapq.heappop(self.heap)
        self.queued.discard(conn)
        if not conn.closed:
            conn.session.work()
            conn.advance()  # its audio may be due already; queues the session again if it has more work
        if self.heap and not self.running:
            self.running = True
            self.loop.call_soon(self.run_one)
