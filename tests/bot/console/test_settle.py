"""`settle_tasks` waits for the app's work however short its pause between looks: the test
harness settles after every request with a 2 ms pause instead of the console's 10 ms."""

from __future__ import annotations

import asyncio
import time

from bot.console.settle import settle_tasks


async def test_a_short_poll_still_waits_for_work_that_starts_more_work() -> None:
    done: list[int] = []

    async def step(n: int) -> None:
        await asyncio.sleep(0.02)
        done.append(n)
        if n < 4:
            asyncio.get_running_loop().create_task(step(n + 1), name=f"step {n + 1}")

    asyncio.get_running_loop().create_task(step(0), name="step 0")
    await settle_tasks(5, poll=0.002)
    assert done == [0, 1, 2, 3, 4]


async def test_a_short_poll_returns_sooner_when_nothing_runs() -> None:
    started = time.perf_counter()
    for _ in range(10):
        await settle_tasks(5, poll=0.0)
    quick = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(10):
        await settle_tasks(5)
    assert quick < time.perf_counter() - started  # ten settles: 30 ms each at the default 10 ms
