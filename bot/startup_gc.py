"""The older generations of the garbage collector held off while `serve` imports and starts the bot.

Starting the bot imports about 1,200 modules and makes about 190,000 objects. The collector ran
about 270 times during a start (247 young, 22 middle and 2 full collections, measured with
`gc.callbacks`): 140-330 ms of a start of 1.0-1.5 s under load (bench/start.py), most of it in
the middle and full collections that traverse every module, class and table made so far, all of
which live as long as the process. `bot.heap.settle_heap` collects everything once after the bot
is ready anyway, before it freezes the started heap.

So `bot.cli` holds the middle and full collections off for `serve` (`collector_held`): young
collections still run, so short-lived cycles are freed as before and the one collection after
readiness stays as long as it was (holding the whole collector off instead doubled that pause,
to 130-190 ms, for the same total). `serve` resumes them (`resume`) right after that collection,
or `GRACE_SECONDS` after it is ready at the latest, so requests arriving from the first second on
cannot keep them off.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Iterator

__all__ = ["GRACE_SECONDS", "collector_held", "resume"]

#: the longest the older generations stay uncollected after `serve` is ready
GRACE_SECONDS = 5.0

log = logging.getLogger("invoicebot.startup_gc")

#: the older generations' thresholds `collector_held` replaced (None: not held)
_held: tuple[int, int] | None = None
_NEVER = 1 << 30


@contextlib.contextmanager
def collector_held() -> Iterator[None]:
    """Only young collections inside, until `resume()`; the thresholds as they were, afterwards."""
    global _held
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, _NEVER, _NEVER)
    _held = (middle, old)
    try:
        yield
    finally:
        if _held is not None:
            _held = None
            gc.set_threshold(gc.get_threshold()[0], middle, old)


def resume() -> None:
    """The older generations collected again if `collector_held` stopped it (else nothing); the
    young generation's threshold stays what it is now (`bot.heap` sets its own)."""
    global _held
    if _held is not None:
        middle, old = _held
        _held = None
        gc.set_threshold(gc.get_threshold()[0], middle, old)
        log.info("automatic garbage collection resumed after start-up")
