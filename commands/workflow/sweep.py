"""The status sweep: refresh every open document from its provider, and buyers' closure status.

`sweep(store, providers, concurrency=...)` walks the open documents (lifecycle issued or
being destroyed, provider state issued/sent/filing/unpaid/unknown) a page at a time, in
id order, so memory stays flat whatever the table size. Each page goes to the provider's
`statuses(refs)`, which batches where the provider can (Popbill getInfos, 1,000 keys a
call) and bounds its own parallel reads where it cannot (Payssam, Hiworks, Abillify).

* A changed state is written with its raw code and time, and recorded as an audit event
  (one transaction per page); the changes are returned so the caller can post updates
  in each document's thread. Unchanged documents only get ``state_checked_at``, one
  UPDATE per page.
* A provider that cannot be reached (`ProviderUnavailable`, `ProviderProtocolError`, or
  any other provider error on a read) stops *that provider's* sweep and is reported in
  `SweepReport.unreachable`; the other providers carry on. The report is also stored
  as an audit event (operation ``sweep``) so the digest, possibly posted by another
  instance, can say which provider could not be reached.
* Closure: the business numbers of buyers with open documents are checked in pages of
  1,000 through the first provider that offers a closure check (Popbill's checkCorpNums
  takes 1,000 a call), and a row is added to `closure_checks` only for numbers seen for
  the first time or whose state changed, which keeps the history small and makes every
  row after the first a real change.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from commands.ledger import AuditKind, AuditOperation, DocumentRecord, Store, utc_now
from commands.ledger import digest_queries as q
from providers.base import InvoiceProvider
from providers.bizno import InvalidBizno, normalize_bizno
from providers.errors import ProviderError
from providers.models import BusinessStatus, DocumentState, DocumentStatus, Provider

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "ClosureUpdate",
    "StateChange",
    "SweepProgress",
    "SweepReport",
    "sweep",
]

log = logging.getLogger("invoicebot.sweep")

DEFAULT_PAGE_SIZE = 1000
ACTOR = "sweep"


@dataclass(frozen=True, slots=True)
class StateChange:
    """A document whose provider state moved during the sweep."""

    document_id: int
    ref: str
    provider: Provider
    provider_id: str
    sandbox: bool
    previous: DocumentState | None
    current: DocumentState
    raw_state: str
    detail: str | None
    channel_id: str | None
    thread_ts: str | None


@dataclass(frozen=True, slots=True)
class ClosureUpdate:
    """A buyer whose closure state differs from the last recorded check."""

    bizno: str
    previous: str | None
    current: str
    detail: str | None


@dataclass(frozen=True, slots=True)
class SweepProgress:
    provider: Provider
    checked: int  # documents of this provider done so far
    changed: int


@dataclass
class SweepReport:
    """What one sweep did."""

    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    checked: dict[Provider, int] = field(default_factory=dict)
    missing: dict[Provider, int] = field(default_factory=dict)  # the provider does not know them
    changes: list[StateChange] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)  # provider -> what went wrong
    closure_checked: int = 0
    closure_changes: list[ClosureUpdate] = field(default_factory=list)

    @property
    def total_checked(self) -> int:
        return sum(self.checked.values())

    def as_detail(self) -> dict[str, object]:
        """The audit-event detail the digest reads back (`commands.ledger.digest_queries.last_sweep`)."""
        return {
            "checked": self.total_checked,
            "changed": len(self.changes),
            "missing": sum(self.missing.values()),
            "by_provider": {p.value: n for p, n in self.checked.items()},
            "unreachable": dict(self.unreachable),
            "closure_checked": self.closure_checked,
            "closure_changes": len(self.closure_changes),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


ProgressCallback = Callable[[SweepProgress], Awaitable[None] | None]


def _provider_failure(exc: BaseException) -> ProviderError | None:
    """The provider error inside `exc`, also when a TaskGroup wrapped it in an ExceptionGroup."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _provider_failure(inner)
            if found is not None:
                return found
    return None


def _describe(exc: ProviderError) -> str:
    kind = type(exc).__name__
    return f"{kind}: {exc}"[:300]


async def _notify(progress: ProgressCallback | None, update: SweepProgress) -> None:
    if progress is None:
        return
    result = progress(update)
    if inspect.isawaitable(result):
        await result


async def _apply_page(
    store: Store, page: Sequence[DocumentRecord], found: Mapping[str, DocumentStatus], now: dt.datetime
) -> tuple[list[StateChange], list[int], int]:
    """Write one page's answers: changes (with audit events) in one transaction, the rest touched."""
    changes: list[StateChange] = []
    unchanged: list[int] = []
    missing = 0
    changed_pairs: list[tuple[DocumentRecord, DocumentStatus]] = []
    for doc in page:
        status = found.get(doc.provider_id or "")
        if status is None:
            missing += 1
            continue
        if status.state is doc.state and status.raw_state[:64] == (doc.raw_state or ""):
            unchanged.append(doc.id)
        else:
            changed_pairs.append((doc, status))
    if changed_pairs:
        async with store.transaction() as tx:
            for doc, status in changed_pairs:
                moved = await tx.documents.record_status(
                    doc.id, status, expected=store.documents.SWEPT_LIFECYCLES, now=now)
                if not moved:
                    continue  # destroyed or reconciled meanwhile: their writer records it
                await tx.audit.record(
                    actor=ACTOR, action=AuditKind.SYSTEM, operation=AuditOperation.STATUS_CHANGE, document_id=doc.id,
                    document_ref=doc.ref, outcome=status.state.value, now=now,
                    detail={"from": doc.state.value if doc.state else None, "to": status.state.value,
                            "raw_state": status.raw_state, "detail": status.detail},
                )
                changes.append(StateChange(
                    document_id=doc.id, ref=doc.ref, provider=doc.provider, provider_id=status.ref.provider_id,
                    sandbox=doc.sandbox,
                    previous=doc.state, current=status.state, raw_state=status.raw_state, detail=status.detail,
                    channel_id=doc.channel_id, thread_ts=doc.thread_ts,
                ))
    await q.touch_checked(store, unchanged, now)
    return changes, unchanged, missing


async def _sweep_provider(
    store: Store,
    provider: Provider,
    service: InvoiceProvider,
    report: SweepReport,
    *,
    limit: asyncio.Semaphore,
    page_size: int,
    clock: Callable[[], dt.datetime],
    progress: ProgressCallback | None,
) -> None:
    after_id = 0
    checked = changed = 0
    while True:
        page = await store.documents.list_open(provider=provider, after_id=after_id, limit=page_size)
        if not page:
            break
        after_id = page[-1].id
        refs = [ref for doc in page if (ref := doc.document_ref) is not None]
        try:
            async with limit:
                found = await service.statuses(refs)
        except Exception as exc:  # a provider error may arrive wrapped in an ExceptionGroup
            failure = _provider_failure(exc)
            if failure is None:
                raise
            report.unreachable[provider.value] = _describe(failure)
            log.warning("sweep: %s could not be reached after %d documents (%s); its other documents are "
                        "left as they were", provider.value, checked, _describe(failure))
            break
        page_changes, _unchanged, missing = await _apply_page(store, page, found, clock())
        report.changes.extend(page_changes)
        report.missing[provider] = report.missing.get(provider, 0) + missing
        checked += len(page)
        changed += len(page_changes)
        report.checked[provider] = checked
        log.info("sweep: %s %d documents checked, %d changed", provider.value, checked, changed)
        await _notify(progress, SweepProgress(provider=provider, checked=checked, changed=changed))
        if len(page) < page_size:
            break


def _closure_provider(providers: Mapping[Provider, InvoiceProvider]) -> tuple[Provider, InvoiceProvider] | None:
    """The provider to check closure with: a batch-capable one first (Popbill: 1,000 a call)."""
    able = [(p, s) for p, s in providers.items() if s.capabilities.closure_check]
    able.sort(key=lambda ps: (not ps[1].capabilities.batch_status, -ps[1].capabilities.batch_size))
    return able[0] if able else None


async def _sweep_closure(
    store: Store, providers: Mapping[Provider, InvoiceProvider], report: SweepReport, *,
    page_size: int, clock: Callable[[], dt.datetime],
) -> None:
    chosen = _closure_provider(providers)
    if chosen is None:
        return
    provider, service = chosen
    if provider.value in report.unreachable:
        return  # already down for documents: do not knock again
    after = ""
    while True:
        page = await q.open_buyer_biznos(store, after=after, limit=page_size)
        if not page:
            return
        after = page[-1]
        numbers = []
        for text in page:
            try:
                numbers.append(normalize_bizno(text))
            except InvalidBizno:
                log.debug("sweep: skipping malformed buyer business number in closure check")
        numbers = list(dict.fromkeys(numbers))
        if numbers:
            try:
                statuses = await service.check_closure(numbers)
            except Exception as exc:
                failure = _provider_failure(exc)
                if failure is None:
                    raise
                report.unreachable[provider.value] = _describe(failure)
                log.warning("sweep: closure check through %s failed (%s)", provider.value, _describe(failure))
                return
            await _record_closure(store, provider, statuses, report, clock())
        if len(page) < page_size:
            return


async def _record_closure(
    store: Store, provider: Provider, statuses: Sequence[BusinessStatus], report: SweepReport, now: dt.datetime
) -> None:
    report.closure_checked += len(statuses)
    latest = await store.closures.latest([s.bizno for s in statuses])
    fresh: list[BusinessStatus] = []
    for status in statuses:
        before = latest.get(status.bizno)
        if before is not None and (before.state, before.raw_state) == (status.state.value, status.raw_state):
            continue
        # stamp our own check time: Popbill's checkDate is a date (midnight KST), which would put
        # a change checked at 10:00 before a digest window that starts at 09:00 the same day
        fresh.append(status.model_copy(update={"checked_at": now}))
        if before is not None:
            report.closure_changes.append(ClosureUpdate(bizno=status.bizno, previous=before.state,
                                                        current=status.state.value, detail=status.detail))
    if fresh:
        await store.closures.record(fresh, provider=provider, checked_by=ACTOR, now=now)


async def sweep(
    store: Store,
    providers: Mapping[Provider, InvoiceProvider],
    *,
    concurrency: int = 4,
    progress: ProgressCallback | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    closure: bool = True,
    clock: Callable[[], dt.datetime] = utc_now,
) -> SweepReport:
    """Refresh every open document and (optionally) the closure status of their buyers.

    Args:
        store: the database.
        providers: the provider services, by provider.
        concurrency: how many `statuses()` calls may run at once across providers (each
            provider's pages run one after the other; each service also bounds its own reads).
        progress: called after each page (may be a coroutine function).
        page_size: documents per page (and per Popbill getInfos call, at most 1,000).
        closure: also refresh closure status of buyers with open documents.
        clock: aware "now" (tests freeze it).

    Example::

        report = await sweep(store, runtime.services, concurrency=settings.invoicebot_sweep_concurrency)
        for change in report.changes:
            ...  # post in change.channel_id / change.thread_ts
    """
    report = SweepReport(started_at=clock())
    limit = asyncio.Semaphore(max(1, concurrency))
    jobs = [
        _sweep_provider(store, provider, service, report, limit=limit, page_size=page_size, clock=clock,
                        progress=progress)
        for provider, service in providers.items()
    ]
    await asyncio.gather(*jobs)
    if closure:
        await _sweep_closure(store, providers, report, page_size=page_size, clock=clock)
    report.finished_at = clock()
    await store.audit.record(actor=ACTOR, action=AuditKind.SYSTEM, operation=AuditOperation.SWEEP,
                             outcome="partial" if report.unreachable else "ok", detail=report.as_detail(),
                             now=report.finished_at)
    log.info("sweep done: %d documents checked, %d changed, %d closure checks; unreachable: %s",
             report.total_checked, len(report.changes), report.closure_checked,
             ", ".join(sorted(report.unreachable)) or "none")
    return report
