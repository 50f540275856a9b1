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

__all__ = ["YOUNG_THRESHOLD", "settle_heap"]

#: allocations (net of deallocations) between two collections of the youngest generation
YOUNG_THRESHOLD = 50_000

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
