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

__all__ = ["AckPacer"]


class AckPacer:
    """Args:
    min_wait: always wait this long (longer than Bolt's 10 ms poll).
    quiet: start once no request has arrived for this long.
    max_wait: never wait longer than this.
    """

    def __init__(self, *, min_wait: float = 0.015, quiet: float = 0.02, max_wait: float = 0.4) -> None:
        self.min_wait = min_wait
        self.quiet = quiet
        self.max_wait = max_wait
        self._last_arrival = 0.0

    def arrived(self) -> None:
        """A Slack request came in (called by middleware before any listener)."""
        self._last_arrival = time.monotonic()

    async def wait(self) -> None:
        started = time.monotonic()
        await asyncio.sleep(self.min_wait)
        while True:
            now = time.monotonic()
            idle = now - self._last_arrival
            if idle >= self.quiet or now - started >= self.max_wait:
                return
            await asyncio.sleep(min(self.quiet - idle, self.max_wait - (now - started)))
