"""The sweep's plan: Hiworks' daily call budget shared across sweeps and restarts, and workspaces' own clients."""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

import pytest

from commands.ledger import Store
from commands.workflow.provider_directory import CredentialsUnavailable
from commands.workflow.sweep import sweep
from providers.base import InvoiceProvider
from providers.hiworks.models import RateLimit
from providers.limits import LIMITS, ProviderLimits
from providers.models import DocumentState, Provider
from tests.commands.workflow.sweep_fakes import CountingProvider, seed_open

#: a small budget: 10 calls a day, 2 kept for people, so a sweep may spend 8
HIWORKS = ProviderLimits(max_concurrent=3, daily_calls=10, reserve_for_people=2)
MORNING = dt.datetime(2026, 11, 30, 0, 30, tzinfo=dt.UTC)  # 09:30 in Seoul


def _limits(provider: Provider, _service: InvoiceProvider) -> ProviderLimits:
    return HIWORKS if provider is Provider.HIWORKS else LIMITS[provider]


async def test_hiworks_is_swept_within_its_daily_budget_across_sweeps_and_restarts(
    store: Store, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [f"H{i:02d}" for i in range(13)]
    await seed_open(store, Provider.HIWORKS, ids, state=DocumentState.SENT, raw="R")
    fake = CountingProvider(Provider.HIWORKS, state=DocumentState.SENT, raw="R")
    caplog.set_level(logging.INFO, logger="invoicebot.sweep")

    first = await sweep(store, {Provider.HIWORKS: fake}, limits=_limits, clock=lambda: MORNING,  # type: ignore[dict-item]
                        closure=False)

    assert fake.calls == 8
    assert sorted(fake.seen) == ids[:8]  # never checked: the oldest first
    assert first.deferred == {Provider.HIWORKS: 5}
    assert "5 left for tomorrow" in caplog.text
    assert first.leftover_text() is not None and "5" in (first.leftover_text() or "")
    assert first.as_detail()["deferred"] == {"hiworks": 5}

    # a restart (a new process, a new Store) the same day, or a replica: the budget is spent
    restarted = await Store.open(database_url, migrate=False)
    try:
        again = await sweep(restarted, {Provider.HIWORKS: fake}, limits=_limits,  # type: ignore[dict-item]
                            clock=lambda: MORNING + dt.timedelta(hours=5), closure=False)
    finally:
        await restarted.close()
    assert fake.calls == 8
    assert again.deferred == {Provider.HIWORKS: 13}
    assert again.budgets[0].spent_before == 8

    # the next Korean day: the five left yesterday go first
    fake.seen.clear()
    tomorrow = await sweep(store, {Provider.HIWORKS: fake}, limits=_limits,  # type: ignore[dict-item]
                           clock=lambda: MORNING + dt.timedelta(days=1), closure=False)
    assert set(ids[8:]) <= set(fake.seen) and len(fake.seen) == 8
    assert tomorrow.deferred == {Provider.HIWORKS: 5}


async def test_calls_already_made_today_count_against_the_sweep(store: Store) -> None:
    await seed_open(store, Provider.HIWORKS, [f"H{i}" for i in range(6)])
    day = MORNING.astimezone(dt.timezone(dt.timedelta(hours=9))).date()
    await store.call_budget.record("hiworks", "", day, 5)  # people's status and issue commands this morning
    fake = CountingProvider(Provider.HIWORKS)

    report = await sweep(store, {Provider.HIWORKS: fake}, limits=_limits, clock=lambda: MORNING,  # type: ignore[dict-item]
                         closure=False)

    assert fake.calls == 3  # 8 for the sweep, 5 already spent
    assert report.deferred == {Provider.HIWORKS: 3}
    assert await store.call_budget.spent("hiworks", "", day) == 8


async def test_calls_the_provider_itself_counted_today_are_taken_into_account(store: Store) -> None:
    await seed_open(store, Provider.HIWORKS, [f"H{i}" for i in range(6)])
    fake = CountingProvider(Provider.HIWORKS)
    # the last answer Hiworks gave this office's client said 4 of 10 calls were left today
    fake.client = SimpleNamespace(rate_limit=RateLimit(limit=10, remaining=4, seen_at=MORNING))  # type: ignore[attr-defined]

    report = await sweep(store, {Provider.HIWORKS: fake}, limits=_limits, clock=lambda: MORNING,  # type: ignore[dict-item]
                         closure=False)

    assert fake.calls == 2  # 8 for the sweep, 6 spent by people or other tools
    assert report.budgets[0].spent_before == 6 and report.deferred == {Provider.HIWORKS: 4}
    fake.client.rate_limit = RateLimit(limit=10, remaining=0, seen_at=MORNING - dt.timedelta(days=1))  # type: ignore[attr-defined]
    tomorrow = await sweep(store, {Provider.HIWORKS: fake}, limits=_limits,  # type: ignore[dict-item]
                           clock=lambda: MORNING + dt.timedelta(days=1), closure=False)
    assert tomorrow.budgets[0].spent_before == 0  # yesterday's headers say nothing about today


async def test_unmetered_providers_have_no_budget_and_nothing_is_deferred(store: Store) -> None:
    await seed_open(store, Provider.PAYSSAM, [f"S{i}" for i in range(30)])
    fake = CountingProvider(Provider.PAYSSAM)

    report = await sweep(store, {Provider.PAYSSAM: fake}, limits=_limits, closure=False)  # type: ignore[dict-item]

    assert fake.calls == 30 and report.deferred == {} and report.leftover_text() is None


async def test_documents_are_grouped_by_workspace_and_read_through_the_injected_resolver(store: Store) -> None:
    await seed_open(store, Provider.PAYSSAM, ["T1-a", "T1-b"], team_id="T1")
    await seed_open(store, Provider.PAYSSAM, ["T2-a"], team_id="T2")
    await seed_open(store, Provider.PAYSSAM, ["old-a"], team_id=None)
    await seed_open(store, Provider.HIWORKS, ["T2-h"], team_id="T2")
    own = {team: {Provider.PAYSSAM: CountingProvider(Provider.PAYSSAM), Provider.HIWORKS: CountingProvider(
        Provider.HIWORKS)} for team in ("T1", "T2", None)}
    asked: list[str | None] = []

    def providers_for(team: str | None) -> dict[Provider, InvoiceProvider]:
        asked.append(team)
        return own[team]  # type: ignore[return-value]

    report = await sweep(store, own[None], providers_for=providers_for, limits=_limits,  # type: ignore[arg-type]
                         clock=lambda: MORNING, closure=False)

    assert set(asked) >= {None, "T1", "T2"}
    assert sorted(own["T1"][Provider.PAYSSAM].seen) == ["T1-a", "T1-b"]
    assert own["T2"][Provider.PAYSSAM].seen == ["T2-a"]
    assert own[None][Provider.PAYSSAM].seen == ["old-a"]
    assert own["T2"][Provider.HIWORKS].seen == ["T2-h"]
    assert report.checked == {Provider.PAYSSAM: 4, Provider.HIWORKS: 1}
    # T2's Hiworks client is its own (its own office): its calls count against T2's budget, not the bot's
    assert [(b.scope, b.granted) for b in report.budgets] == [("T2", 1)]
    day = MORNING.astimezone(dt.timezone(dt.timedelta(hours=9))).date()
    assert await store.call_budget.spent("hiworks", "T2", day) == 1
    assert await store.call_budget.spent("hiworks", "", day) == 0


async def test_an_async_resolver_is_awaited_and_a_workspace_with_unreadable_credentials_is_skipped(
    store: Store,
) -> None:
    await seed_open(store, Provider.PAYSSAM, ["T1-a"], team_id="T1")
    await seed_open(store, Provider.PAYSSAM, ["T3-a"], team_id="T3")
    environment = CountingProvider(Provider.PAYSSAM)
    t1 = CountingProvider(Provider.PAYSSAM)

    async def providers_for(team: str | None) -> dict[Provider, InvoiceProvider]:  # as InvoiceService's
        if team == "T3":
            raise CredentialsUnavailable("This workspace's provider credentials cannot be read")
        return {Provider.PAYSSAM: t1 if team == "T1" else environment}  # type: ignore[dict-item]

    report = await sweep(store, {Provider.PAYSSAM: environment}, providers_for=providers_for,  # type: ignore[dict-item]
                         limits=_limits, clock=lambda: MORNING, closure=False)

    assert t1.seen == ["T1-a"]
    assert environment.seen == []  # T3's documents are never asked of the environment's account
    assert list(report.skipped_workspaces) == ["T3"]
    assert report.as_detail()["skipped_workspaces"] == {"T3": "This workspace's provider credentials cannot be read"}
