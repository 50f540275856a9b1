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


async def test_many_keys_are_claimed_as_one_claim_each_would_be(store: Store) -> None:
    await store.idempotency.claim("issue:FAILED", "issue", "hf")
    await store.idempotency.fail("issue:FAILED", {"error": "refused"})
    await store.idempotency.claim("issue:DONE", "issue", "hd")
    await store.idempotency.complete("issue:DONE", {"provider_id": "D"})
    await store.idempotency.claim("issue:FLYING", "issue", "hi")

    await store.idempotency.claim_many([("issue:NEW", "hn"), ("issue:FAILED", "hf"), ("issue:DONE", "hd"),
                                        ("issue:FLYING", "hi")], "issue")

    new = await store.idempotency.get("issue:NEW")
    assert new is not None and new.state is IdempotencyState.IN_FLIGHT and new.attempts == 1
    assert new.operation == "issue" and new.request_hash == "hn"
    again = await store.idempotency.get("issue:FAILED")  # a definite failure frees its key for the same request
    assert again is not None and again.state is IdempotencyState.IN_FLIGHT and again.attempts == 2
    done = await store.idempotency.get("issue:DONE")  # never taken again once done
    assert done is not None and done.state is IdempotencyState.DONE and done.result == {"provider_id": "D"}
    flying = await store.idempotency.get("issue:FLYING")  # nor while its first write may still land
    assert flying is not None and flying.state is IdempotencyState.IN_FLIGHT and flying.attempts == 1


async def test_a_key_used_for_a_different_request_is_refused_and_nothing_of_the_submission_is_kept(
        store: Store) -> None:
    await store.idempotency.claim("issue:USED", "issue", "first request")

    with pytest.raises(IdempotencyConflict):
        async with store.transaction() as tx:  # as bulk_run claims: in the submission's transaction
            await tx.idempotency.claim_many([("issue:OTHER", "h"), ("issue:USED", "another request")], "issue")

    assert await store.idempotency.get("issue:OTHER") is None
    used = await store.idempotency.get("issue:USED")
    assert used is not None and used.request_hash == "first request"
