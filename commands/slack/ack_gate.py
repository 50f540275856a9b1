"""The gate between acknowledgements and the work after them (`commands.slack.pacing`).

`AckGate` counts the requests being answered right now: `bot.server` holds it shut from a
request's arrival until Bolt has its answer, and for a quiet moment (`QUIET_SECONDS`) after the
last answer: a burst's requests reach the loop a few at a time, and work woken in the gap between
two of them (a modal's JSON, a provider answer's parsing) ran while the next ones were already
waiting to be read. Work steps (`AckPacer`'s jobs, scheduled jobs) wait at the gate until it is
open; small things the ack path would otherwise do (the request's log line) wait for it too
(`later`), and so does anything else that watches it (`watch`: the garbage collector). Socket
Mode and the console do not shut it: their work runs at once.
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
import time
from collections.abc import Callable, Generator
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

__all__ = ["QUIET_SECONDS", "AckGate"]

#: seconds before the next overdue step when the released one never reported how long it took
_TRICKLE_FALLBACK = 0.05
#: seconds the gate stays shut after the last answer: a burst's requests arrive a few at a time, and
#: work woken in the gap between two of them ran while the next ones were already on the wire
QUIET_SECONDS = 0.005


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
        self._answering = _Answering(self)
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

    def answering(self) -> AbstractContextManager[None]:
        """Hold the gate shut while a request is being answered (``with gate.answering(): ...``).

        One stateless context manager per gate, not a generator-based one per request: this runs
        on every ack, where `contextlib.contextmanager`'s generator cost more than entering the gate.
        """
        return self._answering

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


class _Answering(AbstractContextManager[None]):
    """`AckGate.answering`: shut while inside (entries nest; the gate counts them)."""

    __slots__ = ("_gate",)

    def __init__(self, gate: AckGate) -> None:
        self._gate = gate

    def __enter__(self) -> None:
        self._gate.enter()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._gate.leave()
