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
collected as before. Called once, when `serve` has started everything and serves, as soon as no
request waits for its ack (the full collection first, so that nothing collectable is frozen,
takes as long as the pauses it prevents: it is not worth delaying readiness for).
"""

from __future__ import annotations

import gc
import logging

__all__ = ["settle_heap"]

log = logging.getLogger("invoicebot.heap")


def settle_heap() -> int:
    """Collect once, then freeze what is left; returns the number of objects frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("set %d objects of the started bot aside from the garbage collector (gc.freeze)", frozen)
    return frozen
