"""`unpaid_daily` (kept by the 0011_digestagg triggers) agrees with the documents on both databases.

The digest's unpaid, expiring and overdue totals read it instead of every unpaid document; these
tests write documents in every way the repositories do (insert, state and lifecycle changes,
amount, due date, currency, provider and channel edits, deletes) and check that every total read
from it equals the same total counted from the documents, after each kind of write.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import sqlalchemy as sa

from commands.ledger import Store
from commands.ledger import digest_queries as q
from commands.ledger.db import write_engine
from commands.ledger.documents import DocumentRepo
from commands.ledger.schema import documents, unpaid_daily
from providers.models import DocumentState, Provider

TODAY = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 1, 3, 17, tzinfo=dt.UTC)
STATES = (None, "unpaid", "unpaid", "paid", "issued", "canceled", "expired")
LIFECYCLES = ("issued", "issued", "destroying", "destroyed", "failed", "pending_approval")
PROVIDERS = ("payssam", "abillify", "popbill")


def _row(i: int, rng: random.Random) -> dict[str, Any]:
    due = None if rng.random() < 0.15 else TODAY + dt.timedelta(days=rng.randrange(-20, 20))
    return {"id": i, "ref": f"INV-{i:06d}", "provider": rng.choice(PROVIDERS), "kind": "bill",
            "lifecycle": rng.choice(LIFECYCLES), "state": rng.choice(STATES), "due_date": due,
            "currency": rng.choice(["KRW", "KRW", "EUR"]), "total": rng.choice([None, 0, rng.randrange(1, 10**7)]),
            "channel_id": rng.choice([None, "C1", "C2"]), "created_at": NOW, "updated_at": NOW}


async def _agree(store: Store) -> int:
    """Every total the digest asks for, read both ways; returns how many documents are unpaid."""
    everything = None
    for channel in (None, "C1", "C2"):
        for provider in (None, Provider.PAYSSAM, Provider.ABILLIFY, Provider.POPBILL):
            for bounds in ({}, {"due_before": TODAY}, {"due_from": TODAY, "due_until": TODAY + dt.timedelta(days=3)},
                           {"due_from": TODAY - dt.timedelta(days=30)}):
                fast = await q.unpaid_totals(store, provider=provider, channel=channel, **bounds)  # type: ignore[arg-type]
                slow = await q.unpaid_totals(store, provider=provider, channel=channel, from_documents=True,
                                             **bounds)  # type: ignore[arg-type]
                assert fast == slow, (channel, provider, bounds)
                if channel is None and provider is None and not bounds:
                    everything = fast[0]
    assert everything is not None
    return everything


async def test_unpaid_totals_follow_every_kind_of_write(store: Store) -> None:
    rng = random.Random(11)
    engine = write_engine(store.engine)
    async with engine.begin() as conn:
        await conn.execute(sa.insert(documents), [_row(i, rng) for i in range(1, 301)])
    assert await _agree(store) > 20  # the seed leaves documents unpaid

    c = documents.c
    changes: list[dict[str, Any]] = [
        {"state": "paid"}, {"state": "unpaid"}, {"state": None}, {"lifecycle": "destroyed"},
        {"lifecycle": "issued", "state": "unpaid"}, {"lifecycle": "destroying"}, {"total": rng.randrange(1, 10**6)},
        {"total": None}, {"due_date": None}, {"due_date": TODAY - dt.timedelta(days=2)}, {"currency": "EUR"},
        {"provider": "abillify"}, {"channel_id": "C2"}, {"channel_id": None}, {"buyer_name": "only a name"},
    ]
    for change in changes:  # each kind of write alone, then checked
        async with engine.begin() as conn:
            for i in rng.sample(range(1, 301), 25):
                await conn.execute(sa.update(documents).where(c.id == i).values(**change))
        await _agree(store)
    async with engine.begin() as conn:  # a bulk update, as the sweep's batched writes do
        await conn.execute(sa.update(documents).where(c.id.in_(rng.sample(range(1, 301), 60)))
                           .values(state="unpaid", lifecycle="issued"))
    await _agree(store)
    async with engine.begin() as conn:
        await conn.execute(sa.delete(documents).where(c.id.in_(rng.sample(range(1, 301), 40))))
    await _agree(store)


async def test_the_digest_lists_read_their_totals_from_unpaid_daily(store: Store) -> None:
    rng = random.Random(3)
    async with write_engine(store.engine).begin() as conn:
        await conn.execute(sa.insert(documents), [_row(i, rng) for i in range(1, 200)])
    before = await q.overdue(store, TODAY, limit=3)
    assert before.count > 0 and len(before.rows) == 3
    async with write_engine(store.engine).begin() as conn:
        await conn.execute(sa.delete(unpaid_daily))  # were the documents counted, nothing would change
    assert await q.overdue(store, TODAY, limit=3) == q.Listing()
    assert await q.unpaid(store, Provider.PAYSSAM, limit=0) == q.Listing()


def test_the_triggers_count_what_the_lists_show() -> None:
    """The migration's SQL says 'unpaid' and the swept lifecycles as literals: they must be the lists' own."""
    from importlib import import_module

    migration = import_module("commands.ledger.migrations.versions.0011_digestagg")
    assert DocumentState.UNPAID.value == "unpaid"
    assert "lifecycle IN ('issued', 'destroying')" in migration._unpaid("NEW")
    assert tuple(lc.value for lc in DocumentRepo.SWEPT_LIFECYCLES) == ("issued", "destroying")
