"""Acknowledgements first, always: the work after an ack runs only when no ack is waiting.

Slack gives every command and click 3 seconds for its acknowledgement, and everything here runs
on one event loop, so any CPU the work after an ack takes (reading the ledger, provider calls
and their HTTP bookkeeping, building a modal) is CPU the acknowledgements of the next requests
wait for. Two pieces keep them apart:

* `AckGate` (`commands.slack.ack_gate`) counts the requests being answered right now: `bot.server` holds it shut from a
  request's arrival until Bolt has its answer (with Bolt's 10 ms poll for `ack()`, that is most
  of a burst), and for a quiet moment (`QUIET_SECONDS`) after the last answer: a burst's requests
  reach the loop a few at a time, and work woken in the gap between two of them (a modal's JSON,
  a provider answer's parsing) ran while the next ones were already waiting to be read. Socket
  Mode and the console do not shut it: their work runs at once, as before.
  Small things the ack path would otherwise do (the request's log line) wait for it too (`later`).
* `AckPacer` runs the work after the ack: a bounded priority queue feeding at most `workers`
  tasks. Every step of a job (each stretch of code between two awaits) first waits until the
  gate is idle, so a provider answer that arrives during a burst is handled after the burst's
  acks, not between them. A job waits at most `defer` seconds in all (`urgent_defer` for a
  modal whose trigger_id dies 3 s after the click): past that it runs as the listener used to.
  Tasks a job starts itself (`asyncio.gather` of coroutines) are not gated, only their parent.

Why in-process and not a worker process fed through the database: the work needs the request's
Bolt objects (`respond`, the workspace's client, the person's language), a second process would
share the same two cores with the acks anyway, and the gate gives the acks strict priority, which
an operating-system scheduler does not (`python -m bench --only ack` measures the acks against a
bare Bolt app).

Back-pressure: when `capacity` jobs are queued, `submit` refuses; the caller answers in the ack
that the bot is busy and did nothing (`busy_answer`), before anything is recorded. Memory stays
bounded by `workers` running plus `capacity` queued jobs. `drain` (graceful shutdown) refuses new
work and waits for the queued and running jobs.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import logging
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass, field
from typing import Any

from commands.i18n import _
from commands.slack.ack_gate import QUIET_SECONDS, AckGate

__all__ = ["QUIET_SECONDS", "URGENT", "AckGate", "AckPacer", "Job", "busy_answer"]

log = logging.getLogger("invoicebot.pacing")

#: priority of work with a deadline of its own (a modal's trigger_id); lower runs first
URGENT = 0
NORMAL = 1

Job = Callable[[], Coroutine[Any, Any, None]]


def busy_answer() -> str:
    """What the ack says when the queue is full (in the person's language: settle it first)."""
    return _("⏳ The bot is too busy to take your command right now, so nothing was done. Please try again in a "
             "minute.")


@types.coroutine
def _gated(coro: Coroutine[Any, Any, None], gate: AckGate, priority: int, until: float) -> Generator[Any, Any, None]:
    """Drive `coro` step by step, letting every step wait for the gate first.

    The asyncio task sees the futures `coro` awaits exactly as if it awaited them itself
    (cancellation and exceptions are passed through); only the moment a step resumes changes.
    """
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            overdue = False
            if error is None and gate.must_wait():
                try:
                    overdue = yield from gate.wait(priority, until)
                except BaseException as exc:  # cancelled while waiting: the job itself is cancelled
                    error = exc
            started = time.perf_counter()
            try:
                signal = coro.send(value) if error is None else coro.throw(error)
            except StopIteration:
                return
            finally:
                if overdue:
                    gate.overdue_step_took(time.perf_counter() - started)
                gate.wake(1)  # this step is over: let the next waiting one run
            value, error = None, None
            try:
                value = yield signal
            except BaseException as exc:
                error = exc
    finally:
        coro.close()


@dataclass(order=True)
class _Queued:
    priority: int
    seq: int
    job: Job = field(compare=False)
    name: str = field(compare=False)
    until: float = field(compare=False)
    context: contextvars.Context = field(compare=False)


class AckPacer:
    """The bounded pool that runs the work after the acks (see the module docstring).

    Args:
        workers: jobs running at once (they mostly wait for providers and Slack).
        capacity: jobs waiting for a worker before `submit` refuses (back-pressure).
        defer: the longest a job gives way to acks in all, in seconds.
        urgent_defer: the same for `urgent` jobs (a modal must open within 3 s of the click).
    """

    def __init__(self, *, workers: int = 256, capacity: int = 1024, defer: float = 10.0,
                 urgent_defer: float = 1.0, gate: AckGate | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.workers = workers
        self.capacity = capacity
        self.defer = defer
        self.urgent_defer = urgent_defer
        self.gate = gate if gate is not None else AckGate(monotonic=monotonic)
        self._monotonic = monotonic
        self._queue: list[_Queued] = []
        self._running: set[asyncio.Task[None]] = set()
        self._seq = itertools.count()
        self._closed = False
        self._idle: asyncio.Event | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._turn_starts = 0  # jobs started in this turn of the loop
        self._pump_deferred = False
        self.refused = 0

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def running(self) -> int:
        return len(self._running)

    def submit(self, job: Job, *, urgent: bool = False, name: str = "work") -> bool:
        """Queue `job` (run in a copy of the caller's context); False when full or shutting down."""
        if self._closed or len(self._queue) + len(self._running) >= self.capacity + self.workers:
            self.refused += 1
            log.warning("refused %s: %s (%d queued, %d running)", name,
                        "shutting down" if self._closed else "the work queue is full", self.queued, self.running)
            return False
        until = self._monotonic() + (self.urgent_defer if urgent else self.defer)
        heapq.heappush(self._queue, _Queued(URGENT if urgent else NORMAL, next(self._seq), job, name, until,
                                            contextvars.copy_context()))
        self._pump()
        return True

    async def gated(self, job: Callable[[], Awaitable[object]]) -> None:
        """Run `job` here and now, every step giving way to waiting acks like queued work (for at
        most `defer` seconds in all): for scheduled jobs, which are neither refused nor queued
        behind commands but must not take the loop from an ack either."""
        async def run() -> None:
            await job()

        await _gated(run(), self.gate, NORMAL, self._monotonic() + self.defer)

    async def run_or_now(self, job: Job, *, urgent: bool = False, name: str = "work") -> None:
        """Queue `job`, or run it here when the queue is full: for work that must not be lost
        because what it follows up on is already recorded (a decision's card update), or because
        the person already had their ack (a click's work: the click itself is not refused)."""
        if not self.submit(job, urgent=urgent, name=name):
            await job()

    def _pump(self) -> None:
        """Start queued jobs while workers are free, only once no ack waits (or a job's time is up).

        At most `gate.wake_batch` in a turn of the loop, the rest on the next turns: a started
        job's first step runs on the next turn without waiting (nothing is queued at the gate
        yet), and the 256 jobs started at once when the gate opened in a short pause of a closed
        loop ran back to back, 30-70 ms before the loop read the next request.
        """
        while self._queue and len(self._running) < self.workers:
            if not self.gate.idle() and self._queue[0].until > self._monotonic():
                self._wake_at(self._queue[0].until)  # not even a task is created during a burst
                return
            if self._turn_starts >= self.gate.wake_batch:
                self._pump_deferred = True  # `_next_turn` pumps again
                return
            if not self._turn_starts:
                asyncio.get_running_loop().call_soon(self._next_turn)
            self._turn_starts += 1
            item = heapq.heappop(self._queue)
            task = asyncio.get_running_loop().create_task(self._run(item), name=f"after-ack {item.name}",
                                                          context=item.context)
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _next_turn(self) -> None:
        self._turn_starts = 0
        if self._pump_deferred:
            self._pump_deferred = False
            self._pump()

    def _wake_at(self, until: float) -> None:
        """Pump again when the gate opens, or at `until` (a monotonic time) if it stays shut."""
        self.gate.when_idle(self._pump)
        loop = asyncio.get_running_loop()
        if self._timer is not None and self._timer_at <= until:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = until
        self._timer = loop.call_later(max(0.0, until - self._monotonic()), self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        self._pump()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._pump()
        if not self._queue and not self._running and self._idle is not None:
            self._idle.set()

    async def _run(self, item: _Queued) -> None:
        try:
            await _gated(item.job(), self.gate, item.priority, item.until)
        except Exception:
            log.exception("work after the ack failed: %s", item.name)

    async def join(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or running (tests, the console); False on `timeout`."""
        if not self._queue and not self._running:
            return True
        if self._idle is None or self._idle.is_set():
            self._idle = asyncio.Event()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def drain(self, timeout: float) -> bool:
        """Refuse new jobs and wait up to `timeout` s for queued and running ones; False when some were left."""
        self._closed = True
        self.gate.release_all()
        self._pump()
        log.info("waiting up to %.0fs for %d queued and %d running job(s) after acks", timeout, self.queued,
                 self.running)
        if await self.join(timeout):
            return True
        log.warning("shutting down with %d queued and %d running job(s) after acks", self.queued, self.running)
        return False

    def tasks(self) -> set[asyncio.Task[None]]:
        """The running jobs (for whoever waits for in-flight work)."""
        return set(self._running)
