"""Waiting for the app's background work, so the console (and tests) read a settled world.

Bolt acks first and runs the listener after; the runtime starts its own tasks. Before the
console prints what happened, and before a test asserts on it, every such task must be done.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["settle_tasks"]

#: Coroutines that serve connections rather than do the app's work.
_SERVING = ("RequestHandler.", "Server.", "BaseProtocol.", "_SelectorSocketTransport")


async def settle_tasks(timeout: float = 120.0, *, poll: float = 0.01) -> None:
    """Wait until every task on this loop that is doing the app's work has finished.

    Servers' connection handlers and the scheduler's own bookkeeping are not work; Bolt's
    listener tasks (still running after their ack) and the runtime's background tasks are.
    Three quiet rounds in a row are needed, since finishing work may start more; `poll` is the
    pause before each look (the test harness, settling after every request, uses a shorter one:
    all the app's work is in tasks, so a round only has to let the loop run once more).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    current = asyncio.current_task()
    quiet_rounds = 0
    while loop.time() < deadline and quiet_rounds < 3:
        await asyncio.sleep(poll)
        busy = [t for t in asyncio.all_tasks() if t is not current and not t.done() and _is_work(t)]
        if busy:
            quiet_rounds = 0
            await asyncio.wait(busy, timeout=max(0.0, deadline - loop.time()))
        else:
            quiet_rounds += 1


def _is_work(task: asyncio.Task[Any]) -> bool:
    if task.get_name().startswith(("scheduler", "recover")):
        return False
    qualname = getattr(task.get_coro(), "__qualname__", "")
    return not qualname.startswith(_SERVING)
