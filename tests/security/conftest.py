from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.app.harness import BotHarness, running_bot
from tests.faults.flows import FAST

T = TypeVar("T")


class BotOnThread:
    """The harness's running bot on its own event loop, for synchronous (hypothesis) tests:
    `run(coro)` executes a coroutine there and waits for its result."""

    def __init__(self, tmp_path: Path, **overrides: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="bot-under-fuzz", daemon=True)
        self._thread.start()
        self._context: AbstractAsyncContextManager[BotHarness] = running_bot(tmp_path, **overrides)
        self.bot: BotHarness = self.run(self._context.__aenter__())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        try:
            self.run(self._context.__aexit__(None, None, None))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)


@pytest.fixture(scope="module")
def bot_on_thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotOnThread]:
    running = BotOnThread(tmp_path_factory.mktemp("fuzz"), **FAST)
    try:
        yield running
    finally:
        running.close()
