"""How the sweep reads one (workspace, provider) group and writes what it learns.

* `Gate`: one per provider *service* (groups that share a client share its limits): a
  semaphore of the provider's `max_concurrent` and, when declared, a pacer for `per_second`.
* `ChunkSource`: the group's open documents handed to workers a chunk at a time (a chunk is
  what one status call reads: 1,000 at Popbill, one elsewhere), fetched a page at a time so
  memory stays flat, or a fixed list when a daily budget chose the documents.
* `run_group`: `max_concurrent` workers, each taking a chunk, calling the provider, and
  passing the answer to the writer, so the provider always has that many calls in flight
  and no task is created per document.
* `BatchWriter`: answers accumulate and are written `batch_size` documents at a time in ONE
  transaction (the unchanged marked checked in one UPDATE, the changes with their audit
  events), in the background, one batch at a time, while the workers keep reading; a group
  that finishes writes its remainder at once rather than waiting for the slowest provider.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from commands.ledger import Store
from commands.ledger.sweep_rows import SweepRow
from commands.workflow.sweep_report import StateChange, SweepProgress, SweepReport
from providers.base import InvoiceProvider
from providers.errors import ProviderError
from providers.limits import ProviderLimits
from providers.models import DocumentStatus, Provider

__all__ = ["ACTOR", "BatchWriter", "ChunkSource", "Gate", "GroupRun", "Pacer", "ProgressCallback",
           "provider_failure", "run_group"]

log = logging.getLogger("invoicebot.sweep")

ACTOR = "sweep"
ProgressCallback = Callable[[SweepProgress], Awaitable[None] | None]


class Pacer:
    """Start calls at most `per_second` a second (no wait at all when None)."""

    def __init__(self, per_second: float | None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await self._sleep(slot - now)


@dataclass
class Gate:
    """The limits of one provider service, shared by every group that uses it."""

    limits: ProviderLimits
    semaphore: asyncio.Semaphore
    pacer: Pacer

    @classmethod
    def of(cls, limits: ProviderLimits) -> Gate:
        return cls(limits, asyncio.Semaphore(max(1, limits.max_concurrent)), Pacer(limits.per_second))


class ChunkSource:
    """A group's documents, handed out `take(n)` at a time; pages are fetched on demand."""

    def __init__(self, fetch: Callable[[int], Awaitable[list[SweepRow]]] | None = None,
                 rows: Sequence[SweepRow] = (), *, page_size: int | None = None) -> None:
        self._fetch = fetch  # after_id -> the next page (empty at the end)
        #: a page shorter than this is the last one: no query only to find the next one empty
        #: (documents issued after it was read wait for the next sweep)
        self._page_size = page_size
        self._buffer: deque[SweepRow] = deque(rows)
        self._after = 0
        self._done = fetch is None
        self._lock = asyncio.Lock()

    def stop(self) -> None:
        self._buffer.clear()
        self._done = True

    async def take(self, n: int) -> list[SweepRow]:
        if len(self._buffer) >= n or self._done:
            return self._pop(n)  # no await: workers never queue behind each other for rows in memory
        async with self._lock:  # one page fetch at a time; workers wait for it instead of racing
            while len(self._buffer) < n and not self._done and self._fetch is not None:
                page = await self._fetch(self._after)
                if not page:
                    self._done = True
                    break
                self._after = page[-1].id
                self._buffer.extend(page)
                if self._page_size is not None and len(page) < self._page_size:
                    self._done = True
            return self._pop(n)

    def _pop(self, n: int) -> list[SweepRow]:
        count = min(n, len(self._buffer))
        return [self._buffer.popleft() for _ in range(count)]


@dataclass
class GroupRun:
    """One (workspace, provider) group as planned: its service, limits, documents and budget."""

    team_id: str | None
    provider: Provider
    service: InvoiceProvider
    gate: Gate
    source: ChunkSource
    workers: int
    calls: int = 0
    failed: bool = False
    budget_scope: str | None = None  # set when the provider has a daily budget
    budget_day: dt.date | None = None
    granted: int = 0


def provider_failure(exc: BaseException) -> ProviderError | None:
    """The provider error inside `exc`, also when a TaskGroup wrapped it in an ExceptionGroup."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = provider_failure(inner)
            if found is not None:
                return found
    return None


def describe(exc: ProviderError) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


class BatchWriter:
    """Writes answers `batch_size` documents at a time, one transaction per batch, in the background."""

    def __init__(self, store: Store, report: SweepReport, *, batch_size: int, clock: Callable[[], dt.datetime],
                 progress: ProgressCallback | None) -> None:
        self.store = store
        self.report = report
        self.batch_size = max(1, batch_size)
        self.clock = clock
        self.progress = progress
        self._pending: list[tuple[Sequence[SweepRow], Mapping[str, DocumentStatus]]] = []
        self._pending_docs = 0
        self._lock = asyncio.Lock()
        self._flushes: deque[asyncio.Task[None]] = deque()
        self._changed: dict[Provider, int] = {}

    async def add(self, rows: Sequence[SweepRow], found: Mapping[str, DocumentStatus]) -> None:
        self._pending.append((rows, found))
        self._pending_docs += len(rows)
        if self._pending_docs >= self.batch_size:
            self._start_flush()
            while len(self._flushes) > 2:  # back-pressure: the database sets the pace if it is the slower
                await self._flushes.popleft()

    def flush_soon(self) -> None:
        """Start writing what is pending now (a group finished: its last answers need not wait for
        the slowest provider to fill a batch)."""
        self._start_flush()

    def _start_flush(self) -> None:
        batch, self._pending, self._pending_docs = self._pending, [], 0
        if batch:
            self._flushes.append(asyncio.ensure_future(self._flush(batch)))

    async def close(self) -> None:
        """Write what is left and wait for every batch."""
        self._start_flush()
        while self._flushes:
            await self._flushes.popleft()

    async def _flush(self, batch: list[tuple[Sequence[SweepRow], Mapping[str, DocumentStatus]]]) -> None:
        async with self._lock:
            await self._write(batch)

    async def _write(self, batch: list[tuple[Sequence[SweepRow], Mapping[str, DocumentStatus]]]) -> None:
        now = self.clock()
        unchanged: list[int] = []
        moved: list[tuple[SweepRow, DocumentStatus]] = []
        checked: dict[Provider, int] = {}
        missing: dict[Provider, int] = {}
        for rows, found in batch:
            for row in rows:
                checked[row.provider] = checked.get(row.provider, 0) + 1
                status = found.get(row.provider_id)
                if status is None:
                    missing[row.provider] = missing.get(row.provider, 0) + 1
                elif status.state is row.state and status.raw_state[:64] == row.raw_state:
                    unchanged.append(row.id)
                else:
                    moved.append((row, status))
        written = await self.store.sweeps.write_answers(unchanged, moved, now, actor=ACTOR)
        changes = [_change(row, status) for row, status in moved if row.id in written]
        self.report.batches += 1
        self.report.changes.extend(changes)
        for change in changes:
            self._changed[change.provider] = self._changed.get(change.provider, 0) + 1
        for provider, count in missing.items():
            self.report.missing[provider] = self.report.missing.get(provider, 0) + count
        for provider, count in checked.items():
            self.report.checked[provider] = total = self.report.checked.get(provider, 0) + count
            log.info("sweep: %s %d documents checked, %d changed", provider.value, total,
                     self._changed.get(provider, 0))
            await _notify(self.progress, SweepProgress(provider=provider, checked=total,
                                                       changed=self._changed.get(provider, 0)))


def _change(row: SweepRow, status: DocumentStatus) -> StateChange:
    return StateChange(
        document_id=row.id, ref=row.ref, provider=row.provider, provider_id=status.ref.provider_id,
        sandbox=row.sandbox, previous=row.state, current=status.state, raw_state=status.raw_state,
        detail=status.detail, channel_id=row.channel_id, thread_ts=row.thread_ts, team_id=row.team_id,
    )


async def _notify(progress: ProgressCallback | None, update: SweepProgress) -> None:
    if progress is None:
        return
    result = progress(update)
    if inspect.isawaitable(result):
        await result


async def run_group(group: GroupRun, writer: BatchWriter, report: SweepReport) -> None:
    """Read the group's documents with `group.workers` calls in flight, handing answers to `writer`."""
    chunk = max(1, group.gate.limits.batch_size)

    async def worker() -> None:
        while not group.failed:
            rows = await group.source.take(chunk)
            if not rows:
                return
            refs = [row.document_ref for row in rows]
            try:
                await group.gate.pacer.wait()
                async with group.gate.semaphore:
                    group.calls += 1
                    found = await group.service.statuses(refs)
            except Exception as exc:  # a provider error may arrive wrapped in an ExceptionGroup
                failure = provider_failure(exc)
                if failure is None:
                    raise
                _fail(group, report, failure)
                return
            await writer.add(rows, found)

    async with asyncio.TaskGroup() as workers:
        for _ in range(max(1, group.workers)):
            workers.create_task(worker())
    writer.flush_soon()


def _fail(group: GroupRun, report: SweepReport, failure: ProviderError) -> None:
    if group.failed:
        return
    group.failed = True
    group.source.stop()
    report.unreachable[group.provider.value] = describe(failure)
    log.warning("sweep: %s could not be reached after %d calls (%s); its other documents are left as they were",
                group.provider.value, group.calls, describe(failure))
