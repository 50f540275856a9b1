"""The cyclic garbage collector held off while `serve` imports and starts the bot.

Starting the bot imports about 1,200 modules and makes about 190,000 objects. The collector
runs every 700 net allocations, so it ran about 270 times during a start (247 young, 22 middle
and 2 full collections, measured with `gc.callbacks`), 140-330 ms of a start of 1.0-1.5 s
(bench/start.py), mostly traversing modules, classes and tables that live as long as the
process. What it found (about 70,000 objects in the import machinery's and the libraries'
reference cycles) can as well be freed once, after the bot is ready: `bot.heap.settle_heap`
collects everything then anyway, before it freezes the started heap.

So `bot.cli` holds the automatic collector off for `serve` (`collector_held`), and `serve`
turns it back on (`resume`) right after that one collection, or `GRACE_SECONDS` after it is
ready at the latest, so that requests arriving from the first second on cannot keep it off
(CPython's own collection then resumes as before). Reference counting frees everything else
as usual in between: only cyclic garbage waits.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Iterator

__all__ = ["GRACE_SECONDS", "collector_held", "resume"]

#: the longest the collector stays off after `serve` is ready
GRACE_SECONDS = 5.0

log = logging.getLogger("invoicebot.startup_gc")

_held = False


@contextlib.contextmanager
def collector_held() -> Iterator[None]:
    """No automatic cyclic collection inside, until `resume()`; as it was, afterwards."""
    global _held
    was_enabled = gc.isenabled()
    gc.disable()
    _held = was_enabled
    try:
        yield
    finally:
        _held = False
        if was_enabled:
            gc.enable()


def resume() -> None:
    """Turn the automatic collector back on if `collector_held` turned it off (else nothing)."""
    global _held
    if _held:
        _held = False
        gc.enable()
        log.info("automatic garbage collection resumed after start-up")
