from __future__ import annotations

import asyncio
import datetime as dt

from commands.ledger import Store


async def test_a_key_is_claimed_once_however_many_ask_at_once(store: Store) -> None:
    results = await asyncio.gather(*(store.replays.claim("view:V1:abc", "view") for _ in range(20)))
    assert results.count(True) == 1


async def test_a_released_key_may_be_claimed_again(store: Store) -> None:
    assert await store.replays.claim("command:T1:trig", "command")
    await store.replays.release("command:T1:trig")
    assert await store.replays.claim("command:T1:trig", "command")
    assert not await store.replays.claim("command:T1:trig", "command")


async def test_prune_forgets_only_old_keys(store: Store) -> None:
    now = dt.datetime(2026, 5, 4, 12, tzinfo=dt.UTC)
    await store.replays.claim("old", "action", now=now - dt.timedelta(days=2))
    await store.replays.claim("new", "action", now=now)
    assert await store.replays.prune(now - dt.timedelta(days=1)) == 1
    assert await store.replays.claim("old", "action", now=now)
    assert not await store.replays.claim("new", "action", now=now)
