"""The heap the bot starts with, set aside from the garbage collector once it is loaded.

A started bot holds about 150,000 container objects (modules, Bolt's listeners, SQLAlchemy's
tables and compiled statements, pydantic's validators, the translation catalogs) that live as
long as the process. CPython's cyclic collector traverses all of them in every full (generation
2) collection: 30-90 ms on this machine, during which no request is read or answered. A burst
of commands starts such collections by itself (each queued job keeps its request's objects
alive, and a full collection follows once those reach a quarter of the long-lived heap), so a
pause landed in the middle of the acks a bare Bolt app answers without one.

`gc.freeze()` (the standard library's answer to exactly this) moves everything alive at that
moment into a permanent generation the collector no longer visits; objects made later are
collected as before. Freezing alone is not enough: with so little left in the old generation,
a quarter of it (the condition for a full collection) is soon reached again, and the queued
jobs of a burst were still fully collected about every 7,000 allocations (21 full collections in
a benchmark round, 12-140 ms each). So the youngest generation is also collected every
`YOUNG_THRESHOLD` allocations instead of 700 (the older two keep their ratios): each young
collection looks at more objects, but full collections become rare (2 in the same round, both at
start). Cycles that only the collector frees wait a little longer for it: memory, not latency.
Called once, when `serve` has started everything and serves, as soon as no
request waits for its ack (the full collection first, so that nothing collectable is frozen,
takes as long as the pauses it prevents: it is not worth delaying readiness for).
"""

from __future__ import annotations

import gc
import logging

__all__ = ["HELD_LIMIT", "YOUNG_THRESHOLD", "CollectorPacing", "settle_heap"]

#: allocations (net of deallocations) between two collections of the youngest generation
YOUNG_THRESHOLD = 50_000
#: young allocations past which the collector runs even while acks wait (a flood that never pauses)
HELD_LIMIT = 4 * YOUNG_THRESHOLD

log = logging.getLogger("invoicebot.heap")


def settle_heap() -> int:
    """Collect once, freeze what is left, collect the young generation less often; returns the
    number of objects frozen."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    frozen = gc.get_freeze_count()
    log.info("set %d objects of the started bot aside from the garbage collector (gc.freeze)", frozen)
    return frozen


class CollectorPacing:
    """The collector off while requests wait for their acks, on again as soon as none does.

    Even young collections pause the loop: a closed loop of 1,000 status commands keeps every
    queued job's request objects alive, so the collection that comes once per 50,000 allocations
    finds them all still young and traverses them: 17-80 ms measured with `gc.callbacks` in the
    middle of the loop's acks (`python -m bench --only ack`), once a round. Held off, the same
    collection runs once the acks are answered, before the work after them, which is when
    `commands.slack.pacing` runs everything else that is not an ack. A flood that never leaves a
    pause cannot grow the heap without bound: past `limit` young allocations the collector runs
    again as usual until the acks are answered. Only the cyclic collector is held: reference
    counting frees everything else as it always does.

    Wired to the ack gate (`AckGate.watch`) by `serve` after `settle_heap`; inert before
    `start()`, so tests and the console that never start it keep the collector as it is.
    """

    def __init__(self, limit: int = HELD_LIMIT) -> None:
        self.limit = limit
        self.active = False
        self.held = False

    def start(self) -> None:
        self.active = True
        log.info("the garbage collector waits while requests wait for their acks (up to %d young allocations)",
                 self.limit)

    def arrived(self) -> None:
        """A request waits for its ack: hold the collector off, unless held too long already."""
        if not self.active:
            return
        if gc.get_count()[0] < self.limit:
            if not self.held:
                self.held = True
                gc.disable()
        elif self.held:
            self.held = False
            gc.enable()

    def opened(self) -> None:
        """No request waits any more: the collector as usual (it collects at its next allocation)."""
        if self.held:
            self.held = False
            gc.enable()
