"""ApprovalRepo: compare-and-set transitions along the declared state machine, searches, counts."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from commands.ledger import ApprovalAction, ApprovalState, Store
from tests.commands.ledger.factories import T0, new_document


async def test_approval_transitions_are_compare_and_set(store: Store) -> None:
    document_id = await new_document(store)
    approval = await store.approvals.create(
        action=ApprovalAction.ISSUE, document_id=document_id, requester="U_ALICE",
        expires_at=T0 + dt.timedelta(hours=24), now=T0,
    )
    assert approval.state is ApprovalState.PENDING

    moved = await asyncio.gather(
        *(
            store.approvals.transition(approval.id, expected=ApprovalState.PENDING, to=ApprovalState.APPROVED,
                                       decider=f"U{i}", unexpired_at=T0)
            for i in range(20)
        )
    )

    assert moved.count(True) == 1
    current = await store.approvals.get(approval.id)
    assert current is not None and current.state is ApprovalState.APPROVED
    assert current.decider == f"U{moved.index(True)}"
    with pytest.raises(TypeError):
        await store.approvals.transition(approval.id, expected=ApprovalState.APPROVED, to=ApprovalState.EXECUTING,
                                         requester="U_EVE")


async def test_an_expired_request_cannot_be_approved(store: Store) -> None:
    document_id = await new_document(store)
    approval = await store.approvals.create(
        action=ApprovalAction.ISSUE, document_id=document_id, requester="U_ALICE",
        expires_at=T0 + dt.timedelta(hours=1), now=T0,
    )
    late = T0 + dt.timedelta(hours=2)

    assert not await store.approvals.transition(
        approval.id, expected=ApprovalState.PENDING, to=ApprovalState.APPROVED, unexpired_at=late
    )
    assert [a.id for a in await store.approvals.search(states=ApprovalState.PENDING, expired_at=late)] == [approval.id]
    assert await store.approvals.search(states=ApprovalState.PENDING, expired_at=T0) == []


async def test_taking_over_a_stuck_execution_happens_once(store: Store) -> None:
    document_id = await new_document(store)
    approval = await store.approvals.create(
        action=ApprovalAction.ISSUE, document_id=document_id, requester="U_ALICE", state=ApprovalState.APPROVED
    )
    assert await store.approvals.transition(approval.id, expected=ApprovalState.APPROVED,
                                            to=ApprovalState.EXECUTING, count_attempt=True)

    takeovers = await asyncio.gather(
        *(
            store.approvals.transition(approval.id, expected=ApprovalState.EXECUTING, to=ApprovalState.EXECUTING,
                                       attempts_seen=1, count_attempt=True)
            for _ in range(10)
        )
    )

    assert takeovers.count(True) == 1
    current = await store.approvals.get(approval.id)
    assert current is not None and current.attempts == 2


async def test_pending_list_for_an_approver_leaves_out_their_requests(store: Store) -> None:
    document_id = await new_document(store)
    mine = await store.approvals.create(action=ApprovalAction.ISSUE, document_id=document_id, requester="U_ALICE")
    theirs = await store.approvals.create(action=ApprovalAction.DESTROY, document_id=document_id, requester="U_BOB")

    assert [a.id for a in await store.approvals.search(states=ApprovalState.PENDING)] == [mine.id, theirs.id]
    assert [a.id for a in await store.approvals.search(states=ApprovalState.PENDING, exclude_requester="U_ALICE")] == [
        theirs.id
    ]
    assert await store.approvals.count(ApprovalState.PENDING) == 2
