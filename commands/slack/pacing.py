"""Acknowledgements first: slow work waits while Slack requests are still arriving.

Slack gives every command and click 3 seconds for its acknowledgement, and Bolt answers the
HTTP request from a loop that checks every 10 ms whether `ack()` was called. Everything runs
on one event loop, so work that starts right after an ack (database reads, provider calls,
building a modal) queues the acknowledgements of the requests arriving just after it. During
a burst, `AckPacer.wait()` holds the slow work back until requests stop arriving for a
moment (at most `max_wait`), so the whole burst is acknowledged first; the ack benchmark in
docs/benchmarks.md measures the effect. Nobody notices tens of milliseconds on an answer that
waits for a provider anyway, and a trigger_id lives for 3 s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["AckPacer"]


class AckPacer:
    """Holds slow work back while a burst of requests is being acknowledged.

    Args:
        min_wait: always wait this long (longer than Bolt's 10 ms poll).
        quiet: start once no request has arrived for this long.
        max_wait: never wait longer than this.
        monotonic: seconds on a monotonic clock (tests pass a clock they move).
        sleep: how to wait (tests pass one that moves their clock).
    """

    def __init__(self, *, min_wait: float = 0.015, quiet: float = 0.02, max_wait: float = 0.4,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.min_wait = min_wait
        self.quiet = quiet
        self.max_wait = max_wait
        self._monotonic = monotonic
        self._sleep = sleep
        self._last_arrival = 0.0

    def arrived(self) -> None:
        """A Slack request came in (called by middleware before any listener)."""
        self._last_arrival = self._monotonic()

    async def wait(self) -> None:
        """Return once no request arrived for `quiet` seconds, or after `max_wait`."""
        started = self._monotonic()
        await self._sleep(self.min_wait)
        while True:
            now = self._monotonic()
            idle = now - self._last_arrival
            if idle >= self.quiet or now - started >= self.max_wait:
                return
            await self._sleep(min(self.quiet - idle, self.max_wait - (now - started)))
