"""`SlackDoubleThread`: the double on its own event loop in a daemon thread.

The console and synchronous tests (and subprocess tests, whose bot runs elsewhere) need the
double to keep answering while their own thread blocks; `run` hands it a coroutine.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from bot.console.slack_double.records import RecordedCall
from bot.console.slack_double.server import SlackWebApiDouble

__all__ = ["SlackDoubleThread"]

T = TypeVar("T")


class SlackDoubleThread:
    """Runs a :class:`SlackWebApiDouble` on its own event loop in a daemon thread, for sync
    callers (the console, sync tests). `run` executes a coroutine on that loop."""

    def __init__(self, double: SlackWebApiDouble | None = None) -> None:
        self.double = double or SlackWebApiDouble()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="slack-double", daemon=True)
        self._started = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._started.set()
        self.loop.run_forever()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving; returns the double's `base_url`."""
        self._thread.start()
        self._started.wait()
        return self.run(self.double.start(host, port))

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def wait_for(self, method: str, count: int = 1, timeout: float = 2.0) -> list[RecordedCall]:
        return self.run(self.double.wait_for(method, count, timeout), timeout + 1)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.run(self.double.stop(), timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
