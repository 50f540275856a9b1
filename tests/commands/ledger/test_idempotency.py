"""IdempotencyRepo: a key is claimed once, freed only by a definite failure, and tied to one request."""

from __future__ import annotations

import asyncio

import pytest

from commands.ledger import IdempotencyConflict, IdempotencyState, Store


async def test_idempotency_key_is_claimed_once(store: Store) -> None:
    claims = await asyncio.gather(*(store.idempotency.claim("issue:INV-000001", "issue", "h1") for _ in range(20)))

    assert [c.claimed for c in claims].count(True) == 1
    assert all(c.record.state is IdempotencyState.IN_FLIGHT for c in claims)


async def test_idempotency_key_lifecycle(store: Store) -> None:
    assert (await store.idempotency.claim("k", "issue", "h1")).claimed
    await store.idempotency.fail("k", {"error": "unavailable"})
    again = await store.idempotency.claim("k", "issue", "h1")  # nothing happened: may be claimed again
    assert again.claimed and again.record.attempts == 2
    await store.idempotency.complete("k", {"provider_id": "INV-000001"})

    done = await store.idempotency.claim("k", "issue", "h1")

    assert not done.claimed
    assert done.record.state is IdempotencyState.DONE
    assert done.record.result == {"provider_id": "INV-000001"}
    with pytest.raises(IdempotencyConflict):
        await store.idempotency.claim("k", "issue", "another request")
