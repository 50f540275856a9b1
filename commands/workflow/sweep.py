"""The status sweep: refresh every open document from its provider, and buyers' closure status.

`sweep(store, providers)` reads the open documents (lifecycle issued or being destroyed,
provider state issued/sent/filing/unpaid/unknown) and records what moved. It is built to run
at the providers' I/O bound, within what each provider permits (`providers.limits`):

* Grouped by (workspace, provider) (`sweep_plan`); each workspace's clients come from the
  injected `providers_for(team_id)` (default: the one registry for everyone). Providers run in
  parallel with each other; each provider service runs at its declared `max_concurrent`
  calls (Popbill batches 1,000 documents a call), paced to `per_second` when one is declared.
* A provider with a daily call budget (Hiworks, 1,000 calls a day per office) is planned
  within what is left today, counted in the database so restarts and replicas share it; the
  documents checked longest ago go first, and the rest are reported as left for tomorrow
  (`SweepReport.deferred`, the log, and the sweep's audit event).
* Answers are written in batches (`sweep_run.BatchWriter`): one transaction per batch of
  documents, while the next calls are in flight; a changed state is written with its raw
  code and an audit event, unchanged documents only get ``state_checked_at``.
* A provider that cannot be reached (`ProviderUnavailable`, `ProviderProtocolError`, or any
  other provider error on a read) stops *that provider's* sweep and is reported in
  `SweepReport.unreachable`; the others carry on. The report is stored as an audit event
  (operation ``sweep``) so the digest, possibly posted by another instance, can say so.
* Closure: see `sweep_closure`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping

from commands.ledger import AuditKind, AuditOperation, Store, utc_now
from commands.workflow.sweep_closure import sweep_closure
from commands.workflow.sweep_plan import LimitsFor, ProvidersFor, give_back_unused, plan_groups
from commands.workflow.sweep_report import BudgetUse, ClosureUpdate, StateChange, SweepProgress, SweepReport
from commands.workflow.sweep_run import ACTOR, BatchWriter, ProgressCallback, run_group
from providers.base import InvoiceProvider
from providers.limits import limits_for
from providers.models import Provider

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_WRITE_BATCH",
    "BudgetUse",
    "ClosureUpdate",
    "ProvidersFor",
    "StateChange",
    "SweepProgress",
    "SweepReport",
    "sweep",
]

log = logging.getLogger("invoicebot.sweep")

DEFAULT_PAGE_SIZE = 1000
#: documents per write transaction: large enough that commits cost nothing per document, small
#: enough that a batch's changes reach the database within seconds on a slow provider
DEFAULT_WRITE_BATCH = 1000


async def sweep(
    store: Store,
    providers: Mapping[Provider, InvoiceProvider],
    *,
    providers_for: ProvidersFor | None = None,
    concurrency: int | None = None,
    limits: LimitsFor = limits_for,
    progress: ProgressCallback | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    write_batch: int = DEFAULT_WRITE_BATCH,
    closure: bool = True,
    clock: Callable[[], dt.datetime] = utc_now,
) -> SweepReport:
    """Refresh every open document and (optionally) the closure status of their buyers.

    Args:
        store: the database.
        providers: the bot's own provider services (documents of no workspace, the closure check).
        providers_for: the services of a workspace by team id (None: `providers`); per-workspace
            credentials plug in here.
        concurrency: an operator's cap on each provider's calls in flight (never above what
            `limits` permits); None: the declared limits.
        limits: each provider's limits (`providers.limits.limits_for`; tests and benchmarks vary them).
        progress: called after each written batch, per provider (may be a coroutine function).
        page_size: documents read from the database at a time.
        write_batch: documents per write transaction.
        closure: also refresh closure status of buyers with open documents.
        clock: aware "now" (tests freeze it).

    Example::

        report = await sweep(store, runtime.services)
        for change in report.changes:
            ...  # post in change.channel_id / change.thread_ts
        if report.deferred:
            log.info(report.leftover_text())
    """
    report = SweepReport(started_at=clock())
    resolve: ProvidersFor = providers_for or (lambda _team: providers)
    runs = await plan_groups(store, resolve, report, limits=limits, concurrency=concurrency, page_size=page_size,
                             clock=clock)
    writer = BatchWriter(store, report, batch_size=write_batch, clock=clock, progress=progress)
    try:
        await asyncio.gather(*(run_group(run, writer, report) for run in runs))
    finally:
        await writer.close()
        await give_back_unused(store, runs, clock())
    for run in runs:
        report.calls[run.provider] = report.calls.get(run.provider, 0) + run.calls
    if closure:
        await sweep_closure(store, providers, report, page_size=page_size, clock=clock, limits=limits)
    report.finished_at = clock()
    await store.audit.record(actor=ACTOR, action=AuditKind.SYSTEM, operation=AuditOperation.SWEEP,
                             outcome="partial" if report.unreachable else "ok", detail=report.as_detail(),
                             now=report.finished_at)
    log.info("sweep done: %d documents checked, %d changed, %d closure checks, %d write batches; unreachable: %s; "
             "left for tomorrow: %s", report.total_checked, len(report.changes), report.closure_checked,
             report.batches, ", ".join(sorted(report.unreachable)) or "none",
             ", ".join(f"{p.value} {n}" for p, n in sorted(report.deferred.items()) if n) or "none")
    return report
