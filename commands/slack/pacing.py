"""Acknowledgements first, always: the work after an ack runs only when no ack is waiting.

Slack gives every command and click 3 seconds for its acknowledgement, and everything here runs
on one event loop, so any CPU the work after an ack takes (reading the ledger, provider calls
and their HTTP bookkeeping, building a modal) is CPU the acknowledgements of the next requests
wait for. Two pieces keep them apart:

* `AckGate` counts the requests being answered right now: `bot.server` holds it shut from a
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
import collections
import contextvars
import heapq
import itertools
import logging
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from commands.i18n import _

__all__ = ["URGENT", "AckGate", "AckPacer", "Job", "busy_answer"]

log = logging.getLogger("invoicebot.pacing")

#: seconds before the next overdue step when the released one never reported how long it took
_TRICKLE_FALLBACK = 0.05
#: seconds the gate stays shut after the last answer: a burst's requests arrive a few at a time, and
#: work woken in the gap between two of them ran while the next ones were already on the wire
QUIET_SECONDS = 0.005
#: priority of work with a deadline of its own (a modal's trigger_id); lower runs first
URGENT = 0
NORMAL = 1

Job = Callable[[], Coroutine[Any, Any, None]]


def busy_answer() -> str:
    """What the ack says when the queue is full (in the person's language: settle it first)."""
    return _("⏳ The bot is too busy to take your command right now, so nothing was done. Please try again in a "
             "minute.")


class AckGate:
    """How many requests are waiting for their answer; work steps wait until there are none.

    Waiters wake in priority order, at most `wake_batch` at once and one more each time a
    woken step yields, so a backlog of steps released at the end of a burst cannot hold up
    the first request of the next one for longer than a few steps.
    """

    def __init__(self, *, wake_batch: int = 4, later_limit: int = 10_000, overdue_share: float = 0.1,
                 quiet: float = QUIET_SECONDS, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.pending = 0
        self.quiet = quiet
        self._settling: asyncio.TimerHandle | None = None
        self._last_answer = 0.0
        self.wake_batch = wake_batch
        self.open = False  # draining: nothing to give way to any more
        self._monotonic = monotonic
        self._waiters: list[tuple[int, int, asyncio.Future[bool | None]]] = []
        self._order = itertools.count()
        self._later: collections.deque[Callable[[], object]] = collections.deque()
        self._later_limit = later_limit
        self._flushing = False
        self._idle_hooks: list[Callable[[], None]] = []
        self._overdue: collections.deque[asyncio.Future[bool | None]] = collections.deque()
        self._trickle_timer: asyncio.TimerHandle | None = None
        self.overdue_share = overdue_share
        self.trickle_delay = 0.0
        self._compact_at = 1024
        self._watchers: list[tuple[Callable[[], None], Callable[[], None]]] = []

    def watch(self, arrived: Callable[[], None], opened: Callable[[], None]) -> None:
        """Call `arrived` whenever a request starts waiting for its answer and `opened` whenever
        no request waits any more (after the quiet moment): for whatever else should stay out of
        the acks' way (`bot.heap` holds the garbage collector off in between)."""
        self._watchers.append((arrived, opened))

    def enter(self) -> None:
        self.pending += 1
        for arrived, _opened in self._watchers:
            arrived()

    def leave(self) -> None:
        self.pending = max(0, self.pending - 1)
        if self.pending:
            return
        if self.quiet > 0 and not self.open:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a synchronous caller): nothing to wait on
                loop = None
            if loop is not None:
                self._last_answer = self._monotonic()
                if self._settling is None:
                    self._settling = loop.call_later(self.quiet, self._settled)
                return
        self._opened()

    def _settled(self) -> None:
        """The quiet period after the last answer is over, unless a request came meanwhile."""
        self._settling = None
        if self.pending:
            return  # its own `leave` starts the next quiet period
        remaining = self._last_answer + self.quiet - self._monotonic()
        if remaining > 0:
            self._settling = asyncio.get_running_loop().call_later(remaining, self._settled)
            return
        self._opened()

    def _opened(self) -> None:
        """No request waits for its answer: wake waiting steps, idle hooks and deferred callbacks."""
        if self.idle():
            for _arrived, opened in self._watchers:
                opened()
            self.wake(self.wake_batch)
            hooks, self._idle_hooks = self._idle_hooks, []
            for hook in hooks:
                asyncio.get_running_loop().call_soon(hook)
            if self._later and not self._flushing:
                self._flushing = True
                asyncio.get_running_loop().call_soon(self._flush)

    def when_idle(self, hook: Callable[[], None]) -> None:
        """Call `hook` once, soon after no request waits for its answer any more."""
        if hook not in self._idle_hooks:
            self._idle_hooks.append(hook)

    def later(self, callback: Callable[[], object]) -> None:
        """Run `callback` (a log line) once no request waits for its answer; now when none does.

        Past `later_limit` waiting callbacks it runs at once rather than grow without bound.
        """
        if self.idle() or len(self._later) >= self._later_limit:
            callback()
        else:
            self._later.append(callback)

    def _flush(self, batch: int = 16) -> None:
        """A few deferred callbacks per loop turn, so a new request is read between them."""
        for _done in range(batch):
            if not self._later or not self.idle():
                break
            self._later.popleft()()
        if self._later and self.idle():
            asyncio.get_running_loop().call_soon(self._flush)
        else:
            self._flushing = False

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Hold the gate shut while a request is being answered."""
        self.enter()
        try:
            yield
        finally:
            self.leave()

    def idle(self) -> bool:
        return self.open or (self.pending == 0 and self._settling is None)

    def must_wait(self) -> bool:
        """True when a step should give way: acks (or steps queued before it) are waiting."""
        return not self.open and (self.pending > 0 or self._settling is not None or bool(self._waiters))

    def release_all(self) -> None:
        """Shutting down: no more acks to give way to, every waiting step runs."""
        self.open = True
        if self._settling is not None:
            self._settling.cancel()
            self._settling = None
        self.wake(len(self._waiters))
        self._opened()

    def wake(self, count: int) -> None:
        """Release up to `count` waiting steps, most urgent first."""
        while count > 0 and self._waiters and self.idle():
            _prio, _n, waiter = heapq.heappop(self._waiters)
            if not waiter.done():
                waiter.set_result(None)
                count -= 1

    def wait(self, priority: int, until: float) -> Generator[Any, None, bool]:
        """Yield to the loop until the gate lets this step run.

        Past `until` (a monotonic time) the step no longer waits for the gate to open: it is
        released by a trickle of one overdue step at a time, each followed by a pause that keeps
        overdue work to `overdue_share` of the loop, so it moves on while the acks of a flood are
        still read and answered between its steps. Returns True when released that way.
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool | None] = loop.create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), waiter))
        if len(self._waiters) > self._compact_at:  # steps released by the trickle leave their entries
            self._waiters = [entry for entry in self._waiters if not entry[2].done()]
            heapq.heapify(self._waiters)
            self._compact_at = max(1024, 2 * len(self._waiters))
        timer = loop.call_later(max(0.0, until - self._monotonic()), self._overdue_add, waiter)
        if self.idle():
            self.wake(1)
        try:
            return (yield from waiter) is True
        finally:
            timer.cancel()
            if not waiter.done():
                waiter.cancel()

    def _overdue_add(self, waiter: asyncio.Future[bool | None]) -> None:
        if waiter.done():
            return
        self._overdue.append(waiter)
        if self._trickle_timer is None:
            self._schedule_trickle(0.0)

    def _schedule_trickle(self, delay: float) -> None:
        if self._trickle_timer is not None:
            self._trickle_timer.cancel()
        self._trickle_timer = asyncio.get_running_loop().call_later(delay, self._trickle)

    def _trickle(self) -> None:
        """Release one overdue step; the next follows once this one has had its share of the loop."""
        self._trickle_timer = None
        while self._overdue:
            waiter = self._overdue.popleft()
            if not waiter.done():
                waiter.set_result(True)  # True: released overdue (`overdue_step_took` follows)
                break
        if self._overdue:
            self._schedule_trickle(_TRICKLE_FALLBACK)  # if that step never reports back

    def overdue_step_took(self, seconds: float) -> None:
        """An overdue step ran for `seconds`: the loop is the acks' for the next `seconds` x (1 - share) / share."""
        self.trickle_delay = seconds * (1.0 - self.overdue_share) / self.overdue_share
        if self._overdue:
            self._schedule_trickle(self.trickle_delay)


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
