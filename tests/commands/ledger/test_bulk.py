"""BulkRepo's writes for many rows at once: the keys of a submission claimed as `IdempotencyRepo.claim`
claims one (same states, same refusal of a different request), and the rows' results set together."""

from __future__ import annotations

import pytest

from commands.ledger import IdempotencyConflict, IdempotencyState, Store


async def test_a_submissions_keys_are_claimed_as_one_claim_each_would_be(store: Store) -> None:
    await store.idempotency.claim("issue:FAILED", "issue", "hf")
    await store.idempotency.fail("issue:FAILED", {"error": "refused"})
    await store.idempotency.claim("issue:DONE", "issue", "hd")
    await store.idempotency.complete("issue:DONE", {"provider_id": "D"})
    await store.idempotency.claim("issue:FLYING", "issue", "hi")

    await store.bulk.claim_keys([("issue:NEW", "hn"), ("issue:FAILED", "hf"), ("issue:DONE", "hd"),
                                 ("issue:FLYING", "hi")], operation="issue")

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
            await tx.bulk.claim_keys([("issue:OTHER", "h"), ("issue:USED", "another request")], operation="issue")

    assert await store.idempotency.get("issue:OTHER") is None
    used = await store.idempotency.get("issue:USED")
    assert used is not None and used.request_hash == "first request"
