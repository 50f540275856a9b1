"""Readiness and graceful shutdown for `serve`: what a load balancer and an orchestrator need.

* ``/health`` says the process is up (`Runtime.health`); ``/ready`` says it should be sent
  traffic: the database answers and is migrated to the head revision this code expects, the
  providers are started, and the process is not shutting down. A replica started against a
  database another version migrated further (or not yet) is alive but not ready.
* Graceful shutdown: on SIGTERM the `Drain` starts, ``/ready`` turns 503 and new Slack requests
  get 503 (Slack retries them, and the load balancer sends them to another replica), while work
  the requests already started keeps running: Bolt acknowledges first and runs the listener (an
  approval's provider call) in a task of its own, which nothing else waits for. Those tasks are
  found with a task factory that marks every task created while a request is handled; `serve`
  waits for them, then for the work queued after acks (`commands.slack.pacing.AckPacer`, queued
  or running), up to ``INVOICEBOT_SHUTDOWN_GRACE_SECONDS`` in all before closing the runtime. What
  outlives the grace period is cancelled; its approval stays ``executing`` and a surviving
  replica's recovery takes it over (compare-and-set, reconciling with the provider first).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine, Generator
from functools import cache
from typing import Any

from aiohttp import web

from commands.ledger import head_revision

__all__ = ["Drain", "readiness"]

log = logging.getLogger("invoicebot.lifecycle")

#: set while an HTTP request is handled: tasks created then belong to that request's work
_IN_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("invoicebot_in_request", default=False)

_UNTRACKED_PATHS = frozenset({"/health", "/ready"})


class Drain:
    """The in-flight work of one `serve` process, and whether it is shutting down."""

    def __init__(self) -> None:
        self.draining = False
        self._inflight: set[asyncio.Task[Any]] = set()

    @property
    def inflight(self) -> int:
        return sum(1 for task in self._inflight if not task.done())

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Track every task created while a request is handled (Bolt's listener tasks among them)."""
        previous = loop.get_task_factory()

        def factory(loop: asyncio.AbstractEventLoop, coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
                    **kwargs: Any) -> asyncio.Future[Any]:
            task = previous(loop, coro, **kwargs) if previous is not None else asyncio.Task(coro, loop=loop, **kwargs)
            if _IN_REQUEST.get() and isinstance(task, asyncio.Task):
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            return task

        loop.set_task_factory(factory)

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        """Refuse new work while draining (503); mark the tasks a request starts as in flight."""
        if request.path in _UNTRACKED_PATHS:
            return await handler(request)
        if self.draining:
            return web.json_response({"error": "shutting down"}, status=503, headers={"Connection": "close"})
        token = _IN_REQUEST.set(True)
        try:
            return await handler(request)
        finally:
            _IN_REQUEST.reset(token)

    async def drain(self, timeout: float, extra: Callable[[], set[asyncio.Task[Any]]] | None = None,
                    after_acks: Callable[[float], Awaitable[bool]] | None = None) -> bool:
        """Stop taking requests and wait up to `timeout` s for in-flight work; False when some was left.

        `after_acks` drains the queued and running work after acks (`AckPacer.drain`) with what is
        left of `timeout` once the listener tasks (which may still queue some) have finished.
        """
        self.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        finished = await self._wait_inflight(timeout, extra)
        if after_acks is not None:
            finished = await after_acks(max(0.0, deadline - loop.time())) and finished
        return finished

    async def _wait_inflight(self, timeout: float, extra: Callable[[], set[asyncio.Task[Any]]] | None) -> bool:
        current = asyncio.current_task()
        pending = {t for t in self._inflight | (extra() if extra is not None else set())
                   if not t.done() and t is not current}
        log.info("shutting down: waiting up to %.0fs for %d in-flight task(s)", timeout, len(pending))
        if not pending:
            return True
        _done, left = await asyncio.wait(pending, timeout=timeout)
        if left:
            log.warning("shutting down with %d task(s) still running after %.0fs; a surviving replica's "
                        "recovery takes over their executions", len(left), timeout)
        return not left


@cache
def _head() -> str:
    """The head revision of the migrations shipped with this code (read once)."""
    return head_revision()


async def readiness(ping: Callable[[], Awaitable[str | None]], *, drain: Drain,
                    providers: int) -> dict[str, object]:
    """The `/ready` report: ``ok`` only when migrated to head, providers started and not draining.

    Args:
        ping: the database's current revision (raises when it cannot be reached).
        providers: how many provider services are started.
    """
    report: dict[str, object] = {"draining": drain.draining, "inflight": drain.inflight}
    expected = _head()
    try:
        current = await ping()
        report["database"] = "ok" if current == expected else f"at {current}, expected {expected}"
    except Exception as exc:
        report["database"] = f"unreachable: {type(exc).__name__}"
    report["providers"] = "started" if providers > 0 else "none"
    report["ok"] = report["database"] == "ok" and providers > 0 and not drain.draining
    return report
