"""The pool that runs the work after acks: bounded, urgent first, gated by waiting acks, drained at shutdown."""

from __future__ import annotations

import asyncio

import pytest

from commands.i18n import set_locale
from commands.slack.pacing import AckGate, AckPacer, busy_answer


class Log:
    """Jobs that note what they did, in order."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def job(self, name: str, *, steps: int = 1, wait: asyncio.Event | None = None):  # type: ignore[no-untyped-def]
        async def work() -> None:
            if wait is not None:
                await wait.wait()
            for step in range(steps):
                self.lines.append(f"{name} {step}")
                await asyncio.sleep(0)

        return work


async def test_work_waits_while_an_ack_is_pending_and_runs_once_answered() -> None:
    log = Log()
    pacer = AckPacer()
    pacer.gate.enter()  # a request is being answered
    assert pacer.submit(log.job("status"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert log.lines == [], "no step of the work runs while an ack waits"

    pacer.gate.leave()
    assert await pacer.join(2)
    assert log.lines == ["status 0"]


async def test_a_step_resumed_during_a_burst_waits_for_the_burst_acks() -> None:
    """Work already under way (a provider answer arriving) gives way too, not only work not yet started."""
    log = Log()
    answered = asyncio.Event()
    pacer = AckPacer()
    assert pacer.submit(log.job("status", wait=answered))
    await asyncio.sleep(0.01)  # the job started and waits for its "provider"
    pacer.gate.enter()  # a burst of requests arrives
    answered.set()  # ... and the provider answers during it
    for _ in range(20):
        await asyncio.sleep(0)
    assert log.lines == []

    pacer.gate.leave()
    assert await pacer.join(2)
    assert log.lines == ["status 0"]


async def test_urgent_work_runs_before_queued_normal_work() -> None:
    log = Log()
    pacer = AckPacer(workers=1)
    assert pacer.submit(log.job("first", steps=2))  # takes the only worker
    pacer.gate.enter()
    assert pacer.submit(log.job("normal"))
    assert pacer.submit(log.job("urgent"), urgent=True)
    pacer.gate.leave()
    assert await pacer.join(2)
    assert log.lines == ["first 0", "first 1", "urgent 0", "normal 0"]


async def test_released_steps_run_most_urgent_first() -> None:
    log = Log()
    pacer = AckPacer(workers=4)
    pacer.gate.enter()
    assert pacer.submit(log.job("normal"))
    assert pacer.submit(log.job("urgent"), urgent=True)
    await asyncio.sleep(0.01)  # both are running, both wait at the gate
    pacer.gate.leave()
    assert await pacer.join(2)
    assert log.lines == ["urgent 0", "normal 0"]


async def test_the_queue_is_bounded_and_refuses_when_full() -> None:
    log = Log()
    pacer = AckPacer(workers=2, capacity=3)
    pacer.gate.enter()
    accepted = [pacer.submit(log.job(f"job{i}")) for i in range(7)]
    assert accepted == [True] * 5 + [False] * 2, "workers + capacity jobs at most"
    assert (pacer.running, pacer.queued, pacer.refused) == (0, 5, 2), "no task is even started while an ack waits"
    pacer.gate.leave()
    assert await pacer.join(2)
    assert sorted(log.lines) == [f"job{i} 0" for i in range(5)], "every accepted job ran, none twice"


async def test_a_job_gives_way_only_until_its_deadline() -> None:
    log = Log()
    pacer = AckPacer(urgent_defer=0.05, defer=60)
    pacer.gate.enter()  # an ack that never ends (a flood)
    assert pacer.submit(log.job("modal"), urgent=True)
    assert pacer.submit(log.job("status"))
    await asyncio.sleep(0.3)
    assert log.lines == ["modal 0"], "a trigger_id cannot wait for the flood to end; a status answer can"
    pacer.gate.leave()
    assert await pacer.join(2)


async def test_a_failing_job_is_logged_and_the_pool_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    log = Log()
    pacer = AckPacer(workers=1)

    async def broken() -> None:
        raise RuntimeError("boom")

    assert pacer.submit(broken, name="broken job")
    assert pacer.submit(log.job("next"))
    assert await pacer.join(2)
    assert log.lines == ["next 0"]
    assert "work after the ack failed: broken job" in caplog.text


async def test_cancelling_a_job_reaches_the_awaited_work() -> None:
    cleaned: list[str] = []
    pacer = AckPacer()

    async def slow() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cleaned.append("cancelled inside")
            raise

    assert pacer.submit(slow)
    await asyncio.sleep(0.01)
    for task in pacer.tasks():
        task.cancel()
    assert await pacer.join(2)
    assert cleaned == ["cancelled inside"]


async def test_drain_waits_for_queued_and_running_work_and_refuses_new_work() -> None:
    log = Log()
    pacer = AckPacer(workers=1)
    pacer.gate.enter()  # acks pending when shutdown starts: draining runs the work anyway
    assert pacer.submit(log.job("running", steps=3))
    assert pacer.submit(log.job("queued"))

    assert await pacer.drain(2)
    assert log.lines == ["running 0", "running 1", "running 2", "queued 0"]
    assert not pacer.submit(log.job("late"))


async def test_drain_says_when_work_outlived_it() -> None:
    pacer = AckPacer()

    async def stuck() -> None:
        await asyncio.sleep(60)

    assert pacer.submit(stuck)
    assert not await pacer.drain(0.05)
    for task in pacer.tasks():
        task.cancel()


async def test_the_busy_answer_says_nothing_was_done_in_the_persons_language() -> None:
    set_locale("en")
    assert "nothing was done" in busy_answer()
    set_locale("ko")
    try:
        korean = busy_answer()
    finally:
        set_locale("en")
    assert korean != busy_answer() and any("\uac00" <= ch <= "\ud7a3" for ch in korean)


async def test_overdue_work_moves_on_one_step_per_turn_of_the_loop_while_acks_wait() -> None:
    """Past its deadline work no longer waits for the flood to end, but it never takes a turn of
    the loop from the acks: one overdue step per turn, whatever the number of overdue jobs."""
    loop = asyncio.get_running_loop()
    turn = 0
    ticking = True

    def tick() -> None:
        nonlocal turn
        turn += 1
        if ticking:
            loop.call_soon(tick)

    tick()
    turns: list[int] = []

    async def modal() -> None:
        for _ in range(3):
            turns.append(turn)
            await asyncio.sleep(0)

    pacer = AckPacer(urgent_defer=0.0)
    pacer.gate.enter()  # a flood that does not end
    for _ in range(4):
        assert pacer.submit(modal, urgent=True)
    assert await pacer.join(5), "overdue work finishes although the gate never opened"
    ticking = False
    pacer.gate.leave()
    assert len(turns) == 12
    assert len(set(turns)) == 12, "never two overdue steps in one turn of the loop"


async def test_a_long_flood_does_not_pile_up_released_waiters() -> None:
    pacer = AckPacer(urgent_defer=0.0)
    pacer.gate.enter()

    async def many_steps() -> None:
        for _ in range(3000):
            await asyncio.sleep(0)

    assert pacer.submit(many_steps, urgent=True)
    assert await pacer.join(30)
    assert len(pacer.gate._waiters) <= 2048
    pacer.gate.leave()


async def test_overdue_work_keeps_to_its_share_of_the_loop() -> None:
    """After an overdue step the loop is the acks' for that step's time x (1 - share) / share."""
    pacer = AckPacer(urgent_defer=0.0, gate=AckGate(overdue_share=0.25))
    pacer.gate.enter()  # a flood that does not end

    async def heavy() -> None:
        for _ in range(3):
            await asyncio.sleep(0)
            _busy(0.004)  # the last step too holds the loop for 4 ms

    assert pacer.submit(heavy, urgent=True)
    assert await pacer.join(5)
    pacer.gate.leave()
    # the delay follows the step's measured time (at least the 4 ms it held the loop): 3 x that
    assert pacer.gate.trickle_delay >= 3 * 0.004


def _busy(seconds: float) -> None:
    import time

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def test_work_waits_a_quiet_moment_after_the_last_answer_and_a_new_request_extends_it() -> None:
    """A burst arrives a few requests at a time: work woken in the gap between two of them would
    run while the next ones are already on the wire, so the gate opens only after `quiet`."""
    log = Log()
    pacer = AckPacer(gate=AckGate(quiet=0.05))
    pacer.gate.enter()
    assert pacer.submit(log.job("status"))
    pacer.gate.leave()  # the last answer so far
    await asyncio.sleep(0.03)
    assert log.lines == [] and not pacer.gate.idle(), "still within the quiet moment"
    pacer.gate.enter()  # the next request of the burst
    await asyncio.sleep(0.03)
    pacer.gate.leave()
    await asyncio.sleep(0.03)
    assert log.lines == [], "a request within the quiet moment starts it again from its answer"
    assert await pacer.join(2)
    assert log.lines == ["status 0"] and pacer.gate.idle()


async def test_shutting_down_ends_the_quiet_moment_at_once() -> None:
    log = Log()
    pacer = AckPacer(gate=AckGate(quiet=10.0))
    pacer.gate.enter()
    assert pacer.submit(log.job("status"))
    pacer.gate.leave()
    assert await pacer.drain(2), "drain does not wait out the quiet moment"
    assert log.lines == ["status 0"]


async def test_a_gated_job_runs_in_place_and_every_step_gives_way_to_waiting_acks() -> None:
    """Scheduled jobs (recovery every 5 s, expiry, sweeps) are not queued behind commands, but
    they do not take the loop from an ack either."""
    log = Log()
    pacer = AckPacer(gate=AckGate(quiet=0))
    pacer.gate.enter()
    running = asyncio.ensure_future(pacer.gated(log.job("recovery", steps=2)))
    for _ in range(20):
        await asyncio.sleep(0)
    assert log.lines == [] and not running.done(), "no step while an ack waits"
    pacer.gate.leave()
    await asyncio.wait_for(running, 2)
    assert log.lines == ["recovery 0", "recovery 1"]
    assert pacer.queued == 0 and pacer.running == 0, "run in place, not through the pool"


async def test_a_clicks_work_runs_in_place_when_the_queue_is_full_and_is_never_dropped() -> None:
    """The person already has their ack, so a full queue must not lose the work after it."""
    log = Log()
    release = asyncio.Event()
    pacer = AckPacer(workers=1, capacity=0)
    assert pacer.submit(log.job("occupying", wait=release))
    await pacer.run_or_now(log.job("approval click"), name="an approval click")
    assert log.lines == ["approval click 0"], "run at once, in the caller, while the one worker is busy"
    assert pacer.refused == 1
    release.set()
    assert await pacer.join(2)


async def test_a_clicks_work_is_queued_while_there_is_room() -> None:
    log = Log()
    pacer = AckPacer(gate=AckGate(quiet=0))
    pacer.gate.enter()
    await pacer.run_or_now(log.job("reject form"), urgent=True, name="a reject click")
    assert log.lines == [] and pacer.queued == 1, "queued behind the waiting ack, not run in the listener"
    pacer.gate.leave()
    assert await pacer.join(2)
    assert log.lines == ["reject form 0"]


async def test_jobs_queued_during_a_burst_start_a_few_per_turn_of_the_loop_once_it_is_answered() -> None:
    """A long queue does not start all at once when the gate opens: each started job's first step
    runs before the loop reads the next request, so hundreds of them held up the next acks."""
    loop = asyncio.get_running_loop()
    turn = 0

    def tick() -> None:
        nonlocal turn
        turn += 1
        loop.call_soon(tick)

    first_steps: list[int] = []

    async def job() -> None:
        first_steps.append(turn)

    pacer = AckPacer(gate=AckGate(quiet=0))
    pacer.gate.enter()
    for _ in range(40):
        assert pacer.submit(job)
    tick()
    pacer.gate.leave()
    assert await pacer.join(2)

    per_turn = {t: first_steps.count(t) for t in first_steps}
    assert len(first_steps) == 40
    assert max(per_turn.values()) <= pacer.gate.wake_batch, per_turn
