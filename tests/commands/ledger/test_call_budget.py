"""Calls spent per provider day: reservations never exceed the limit, whoever asks and however often."""

from __future__ import annotations

import asyncio
import datetime as dt

from commands.ledger import Store

DAY = dt.date(2026, 11, 30)


async def test_a_reservation_grants_what_is_left_and_give_back_returns_it(store: Store) -> None:
    assert await store.call_budget.reserve("hiworks", "", DAY, want=600, limit=900) == 600
    assert await store.call_budget.reserve("hiworks", "", DAY, want=600, limit=900) == 300
    assert await store.call_budget.reserve("hiworks", "", DAY, want=1, limit=900) == 0
    await store.call_budget.give_back("hiworks", "", DAY, 50)
    assert await store.call_budget.spent("hiworks", "", DAY) == 850
    assert await store.call_budget.spent("hiworks", "", DAY + dt.timedelta(days=1)) == 0  # a new day
    assert await store.call_budget.spent("hiworks", "T2", DAY) == 0  # another office


async def test_concurrent_reservations_from_two_processes_never_overspend(store: Store, database_url: str) -> None:
    other = await Store.open(database_url, migrate=False)  # a replica
    try:
        grants = await asyncio.gather(*(
            (store if i % 2 else other).call_budget.reserve("hiworks", "", DAY, want=3, limit=10) for i in range(8)))
    finally:
        await other.close()
    assert sum(grants) == 10
    assert await store.call_budget.spent("hiworks", "", DAY) == 10
