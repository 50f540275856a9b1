"""The sweep's closure check: buyers' business status, a page of numbers per call.

The business numbers of buyers with open documents are checked in pages of 1,000 through the
first provider that offers a closure check (Popbill's checkCorpNums takes 1,000 a call), and a
row is added to `closure_checks` only for numbers seen for the first time or whose state
changed, which keeps the history small and makes every row after the first a real change.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

from commands.ledger import Store
from commands.ledger import digest_queries as q
from commands.workflow.sweep_report import ClosureUpdate, SweepReport
from commands.workflow.sweep_run import ACTOR, describe, provider_failure
from providers.base import InvoiceProvider
from providers.bizno import InvalidBizno, normalize_bizno
from providers.limits import ProviderLimits, limits_for
from providers.models import BusinessStatus, Provider

__all__ = ["closure_provider", "sweep_closure"]

log = logging.getLogger("invoicebot.sweep")


def closure_provider(providers: Mapping[Provider, InvoiceProvider]) -> tuple[Provider, InvoiceProvider] | None:
    """The provider to check closure with: a batch-capable one first (Popbill: 1,000 a call)."""
    able = [(p, s) for p, s in providers.items() if s.capabilities.closure_check]
    able.sort(key=lambda ps: (not ps[1].capabilities.batch_status, -ps[1].capabilities.batch_size))
    return able[0] if able else None


def _numbers(page: Sequence[str]) -> list[str]:
    numbers = []
    for text in page:
        try:
            numbers.append(normalize_bizno(text))
        except InvalidBizno:
            log.debug("sweep: skipping malformed buyer business number in closure check")
    return list(dict.fromkeys(numbers))


async def sweep_closure(
    store: Store, providers: Mapping[Provider, InvoiceProvider], report: SweepReport, *,
    page_size: int, clock: Callable[[], dt.datetime],
    limits: Callable[[Provider, InvoiceProvider], ProviderLimits] = limits_for,
) -> None:
    chosen = closure_provider(providers)
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
        numbers = _numbers(page)
        limit = limits(provider, service)
        if numbers and limit.bulk_daily_calls is not None:
            numbers = await _within_budget(store, provider, limit, numbers, clock())
        if numbers:
            try:
                statuses = await service.check_closure(numbers)
            except Exception as exc:
                failure = provider_failure(exc)
                if failure is None:
                    raise
                report.unreachable[provider.value] = describe(failure)
                log.warning("sweep: closure check through %s failed (%s)", provider.value, describe(failure))
                return
            await _record_closure(store, provider, statuses, report, clock())
        if len(page) < page_size:
            return


async def _within_budget(store: Store, provider: Provider, limit: ProviderLimits, numbers: list[str],
                         now: dt.datetime) -> list[str]:
    """The numbers today's budget of a metered provider still covers (calls reserved for them)."""
    assert limit.bulk_daily_calls is not None
    batch = max(1, limit.batch_size)
    day = now.astimezone(ZoneInfo(limit.day_zone)).date()
    granted = await store.call_budget.reserve(provider.value, "", day, want=math.ceil(len(numbers) / batch),
                                              limit=limit.bulk_daily_calls, now=now)
    if granted * batch < len(numbers):
        log.info("sweep: closure check through %s: %d of %d business numbers left for tomorrow (daily budget)",
                 provider.value, len(numbers) - granted * batch, len(numbers))
    return numbers[:granted * batch]


async def _record_closure(
    store: Store, provider: Provider, statuses: Sequence[BusinessStatus], report: SweepReport, now: dt.datetime
) -> None:
    report.closure_checked += len(statuses)
    latest = await store.sweeps.closure_states([s.bizno for s in statuses])
    fresh: list[BusinessStatus] = []
    for status in statuses:
        before = latest.get(status.bizno)
        if before == (status.state.value, status.raw_state):
            continue
        # stamp our own check time: Popbill's checkDate is a date (midnight KST), which would put
        # a change checked at 10:00 before a digest window that starts at 09:00 the same day
        fresh.append(status.model_copy(update={"checked_at": now}))
        if before is not None:
            report.closure_changes.append(ClosureUpdate(bizno=status.bizno, previous=before[0],
                                                        current=status.state.value, detail=status.detail))
    if fresh:
        await store.sweeps.record_closures(fresh, provider=provider, checked_by=ACTOR, now=now)
