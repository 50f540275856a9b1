"""`issued_hourly` (kept by the 0005_speed triggers) agrees with the documents on both databases.

The digest's chart reads KRW issued per hour from it instead of two weeks of documents; these
tests write documents in every way the repositories do (insert, state and lifecycle changes,
amount, time and channel edits, deletes) and check the chart's numbers read both ways agree.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from commands.ledger import Store
from commands.ledger import digest_queries as q
from commands.ledger.db import write_engine
from commands.ledger.schema import documents, issued_hourly

NOW = dt.datetime(2026, 12, 1, 3, 17, tzinfo=dt.UTC)
STATES = (None, "issued", "filed", "unpaid", "paid", "canceled", "deleted", "destroyed")
LIFECYCLES = ("issued", "destroying", "destroyed", "failed", "pending_approval", "outcome_unknown")


def _days(tz: dt.tzinfo, count: int = 14) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    today = NOW.astimezone(tz).date()
    out = []
    for back in range(count - 1, -1, -1):
        day = today - dt.timedelta(days=back)
        start = dt.datetime.combine(day, dt.time(), tz)
        out.append((day, start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz)))
    return out


def _row(i: int, rng: random.Random) -> dict[str, Any]:
    at = NOW - dt.timedelta(seconds=rng.randrange(16 * 86400))
    return {"id": i, "ref": f"INV-{i:06d}", "provider": rng.choice(["popbill", "payssam", "hiworks"]),
            "kind": "tax_invoice", "lifecycle": rng.choice(LIFECYCLES), "state": rng.choice(STATES),
            "currency": rng.choice(["KRW", "KRW", "EUR"]), "total": rng.choice([None, 0, rng.randrange(1, 10**7)]),
            "issued_at": None if rng.random() < 0.1 else at, "channel_id": rng.choice([None, "C1", "C2"]),
            "created_at": at, "updated_at": at}


async def _both_ways(store: Store, days: list[tuple[dt.date, dt.datetime, dt.datetime]]) -> None:
    for channel in (None, "C1", "C2"):
        fast = await q.daily_issued_krw(store, days, channel=channel)
        slow = await q.daily_issued_krw_from_documents(store, days, channel=channel)
        assert fast == slow, channel
        assert fast or channel is not None  # the seed issues KRW on some day


async def test_hourly_totals_follow_every_kind_of_write(store: Store) -> None:
    rng = random.Random(14)
    engine = write_engine(store.engine)
    async with engine.begin() as conn:
        await conn.execute(sa.insert(documents), [_row(i, rng) for i in range(1, 301)])
    days = _days(ZoneInfo("Asia/Seoul"))
    await _both_ways(store, days)

    c = documents.c
    async with engine.begin() as conn:
        for i in rng.sample(range(1, 301), 120):
            change = rng.choice([
                {"state": "canceled"}, {"lifecycle": "destroyed"}, {"lifecycle": "issued", "state": "issued"},
                {"total": rng.randrange(1, 10**6)}, {"total": None}, {"channel_id": "C2"}, {"channel_id": None},
                {"issued_at": NOW - dt.timedelta(hours=rng.randrange(300))}, {"issued_at": None},
                {"currency": "EUR"}, {"provider": "abillify"}, {"buyer_name": "only a name"},
            ])
            await conn.execute(sa.update(documents).where(c.id == i).values(**change))
        await conn.execute(sa.delete(documents).where(c.id.in_(rng.sample(range(1, 301), 30))))
    await _both_ways(store, days)
    await _both_ways(store, _days(dt.UTC, 16))


async def test_half_hour_zones_read_the_documents(store: Store) -> None:
    # India's days start at :30 UTC, between two hourly buckets: the chart falls back to the rows
    rng = random.Random(5)
    async with write_engine(store.engine).begin() as conn:
        await conn.execute(sa.insert(documents), [_row(i, rng) for i in range(1, 120)])
        await conn.execute(sa.delete(issued_hourly))  # were the hours read, the chart would be empty
    days = _days(ZoneInfo("Asia/Kolkata"))
    assert await q.daily_issued_krw(store, days) == await q.daily_issued_krw_from_documents(store, days)
    assert await q.daily_issued_krw(store, days)
