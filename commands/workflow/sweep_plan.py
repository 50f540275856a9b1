"""Which documents today's sweep reads: groups by (workspace, provider), within each provider's limits.

Documents are grouped by the workspace they belong to and their provider; each workspace's
provider client comes from an injected resolver (`ProvidersFor`), so per-workspace
credentials plug in without the sweep knowing where they live. Groups that resolve to the
same client share its concurrency (`Gate`).

A provider with a daily call budget (Hiworks: 1,000 calls a day per office) is planned
before any call: the sweep reserves, in the database, at most what is left today of the
share a bulk job may spend (`ProviderLimits.bulk_daily_calls`), reads the documents checked
longest ago first (never-checked first, then the oldest), so every open document gets its
turn over the days, and reports the rest as left for tomorrow. The budget's scope is the
credentials: "" for the bot's own client, the workspace's team id when it has its own.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from functools import partial
from zoneinfo import ZoneInfo

from commands.ledger import Store
from commands.ledger.sweep_rows import OpenGroup, SweepRow
from commands.workflow.provider_directory import CredentialsUnavailable
from commands.workflow.sweep_report import BudgetUse, SweepReport
from commands.workflow.sweep_run import ChunkSource, Gate, GroupRun
from providers.base import InvoiceProvider
from providers.limits import ProviderLimits, calls_spent_seen, limits_for
from providers.models import Provider

__all__ = ["LimitsFor", "ProvidersFor", "Registry", "give_back_unused", "plan_groups"]

log = logging.getLogger("invoicebot.sweep")

#: the provider services of a workspace (team id; None: documents of no workspace, and the bot's own),
#: e.g. `InvoiceService.providers_for` (a coroutine function) or a plain function
Registry = Mapping[Provider, InvoiceProvider]
ProvidersFor = Callable[[str | None], Registry | Awaitable[Registry]]
LimitsFor = Callable[[Provider, InvoiceProvider], ProviderLimits]


async def plan_groups(
    store: Store, providers_for: ProvidersFor, report: SweepReport, *, limits: LimitsFor = limits_for,
    concurrency: int | None, page_size: int, clock: Callable[[], dt.datetime],
) -> list[GroupRun]:
    """One `GroupRun` per (workspace, provider) with open documents and a service to read them."""
    resolved: dict[str | None, Registry | None] = {}
    default = await _resolve(providers_for, None, report) or {}
    gates: dict[int, Gate] = {}
    runs: list[GroupRun] = []
    for group in await store.sweeps.open_groups():
        if group.team_id not in resolved:
            resolved[group.team_id] = await _resolve(providers_for, group.team_id, report)
        registry = resolved[group.team_id]
        if registry is None:
            continue  # its credentials cannot be read: never ask another account about its documents
        service = registry.get(group.provider)
        if service is None:
            log.info("sweep: no %s client for workspace %s; its %d open documents are skipped",
                     group.provider.value, group.team_id or "-", group.count)
            continue
        limit = limits(group.provider, service)
        if concurrency is not None:  # an operator's cap (INVOICEBOT_SWEEP_CONCURRENCY) below the provider's
            limit = _capped(limit, concurrency)
        gate = gates.setdefault(id(service), Gate.of(limit))
        run = GroupRun(team_id=group.team_id, provider=group.provider, service=service, gate=gate,
                       source=ChunkSource(), workers=gate.limits.max_concurrent)
        if limit.bulk_daily_calls is None:
            run.source = ChunkSource(partial(_page, store, group, page_size), page_size=page_size)
        else:
            scope = "" if default.get(group.provider) is service else (group.team_id or "")
            await _plan_budget(store, run, group, limit, scope, report, clock())
        runs.append(run)
    return runs


async def _resolve(providers_for: ProvidersFor, team_id: str | None,
                   report: SweepReport) -> Registry | None:
    """The workspace's services, or None (and why, in the report) when its credentials are unusable."""
    try:
        found = providers_for(team_id)
        return await found if inspect.isawaitable(found) else found
    except CredentialsUnavailable as exc:
        report.skipped_workspaces[team_id or "-"] = str(exc)
        log.warning("sweep: workspace %s skipped: %s", team_id or "-", exc)
        return None


def _capped(limit: ProviderLimits, concurrency: int) -> ProviderLimits:
    return replace(limit, max_concurrent=max(1, min(limit.max_concurrent, concurrency)))


async def _page(store: Store, group: OpenGroup, page_size: int, after_id: int) -> list[SweepRow]:
    return await store.sweeps.page(group.provider, group.team_id, after_id=after_id, limit=page_size)


async def _plan_budget(store: Store, run: GroupRun, group: OpenGroup, limit: ProviderLimits, scope: str,
                       report: SweepReport, now: dt.datetime) -> None:
    """Reserve today's calls for the group and choose the documents they read; report the rest."""
    assert limit.bulk_daily_calls is not None
    batch = max(1, limit.batch_size)
    day = now.astimezone(ZoneInfo(limit.day_zone)).date()
    provider = group.provider.value
    spent = await store.call_budget.spent(provider, scope, day)
    seen = calls_spent_seen(run.service, limit, now)
    if seen is not None and seen > spent:  # calls we did not count (people's commands, other tools)
        await store.call_budget.record(provider, scope, day, seen - spent, now=now)
        spent = seen
    granted = await store.call_budget.reserve(provider, scope, day, want=math.ceil(group.count / batch),
                                              limit=limit.bulk_daily_calls, now=now)
    rows = await store.sweeps.stalest(group.provider, group.team_id, limit=granted * batch)
    needed = math.ceil(len(rows) / batch)
    await store.call_budget.give_back(provider, scope, day, granted - needed, now=now)  # fewer documents than asked
    run.source = ChunkSource(rows=rows)
    run.budget_scope, run.budget_day, run.granted = scope, day, needed
    deferred = group.count - len(rows)
    report.deferred[group.provider] = report.deferred.get(group.provider, 0) + deferred
    report.budgets.append(BudgetUse(provider=group.provider, scope=scope, day=day, limit=limit.bulk_daily_calls,
                                    spent_before=spent, granted=needed, deferred=deferred))
    log.info("sweep: %s (workspace %s) daily budget %d calls, %d spent before this sweep, %d reserved now: "
             "%d of %d open documents read today, %d left for tomorrow", provider, group.team_id or "-",
             limit.bulk_daily_calls, spent, needed, len(rows), group.count, deferred)


async def give_back_unused(store: Store, runs: list[GroupRun], now: dt.datetime) -> None:
    """Return the reserved calls a group did not make (its provider failed midway)."""
    for run in runs:
        if run.budget_day is not None and run.budget_scope is not None and run.granted > run.calls:
            await store.call_budget.give_back(run.provider.value, run.budget_scope, run.budget_day,
                                              run.granted - run.calls, now=now)
