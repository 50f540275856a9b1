"""Slow work waits while a burst of Slack requests is still being acknowledged."""

from __future__ import annotations

import asyncio
import time

from commands.slack.pacing import AckPacer


async def test_work_starts_after_the_minimum_when_nothing_else_arrives() -> None:
    pacer = AckPacer(min_wait=0.02, quiet=0.02, max_wait=0.5)
    started = time.monotonic()
    await pacer.wait()
    assert 0.02 <= time.monotonic() - started < 0.2


async def test_work_waits_while_requests_keep_arriving() -> None:
    pacer = AckPacer(min_wait=0.01, quiet=0.03, max_wait=1.0)

    async def burst() -> None:
        for _ in range(10):
            pacer.arrived()
            await asyncio.sleep(0.01)

    started = time.monotonic()
    await asyncio.gather(burst(), pacer.wait())
    # the last request arrives at about 0.09 s; then 0.03 s without one
    assert time.monotonic() - started >= 0.09 + 0.03 - 0.005


async def test_work_never_waits_longer_than_the_maximum() -> None:
    pacer = AckPacer(min_wait=0.01, quiet=0.05, max_wait=0.1)
    stop = False

    async def endless() -> None:
        while not stop:
            pacer.arrived()
            await asyncio.sleep(0.005)

    task = asyncio.create_task(endless())
    started = time.monotonic()
    await pacer.wait()
    waited = time.monotonic() - started
    stop = True
    await task
    assert 0.1 <= waited < 0.3


class FakeMonotonic:
    """A monotonic clock that only moves when the pacer sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0  # binary-exact steps below, so the sums are exact
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_the_pacer_reads_time_only_through_its_injected_clock() -> None:
    clock = FakeMonotonic()
    pacer = AckPacer(min_wait=0.25, quiet=0.5, max_wait=4.0, monotonic=clock, sleep=clock.sleep)
    pacer.arrived()  # at 0
    await pacer.wait()
    # the minimum, then until `quiet` passed since the arrival
    assert clock.sleeps == [0.25, 0.25]


async def test_the_pacer_stops_at_its_maximum_on_the_injected_clock() -> None:
    clock = FakeMonotonic()

    async def arriving_sleep(seconds: float) -> None:
        await clock.sleep(seconds)
        pacer.arrived()  # a request arrives during every wait

    pacer = AckPacer(min_wait=0.25, quiet=1.0, max_wait=2.0, monotonic=clock, sleep=arriving_sleep)
    await pacer.wait()
    assert clock.now == 2.0
