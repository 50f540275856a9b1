"""ApprovalRepo: compare-and-set transitions along the declared state machine, searches, counts."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from commands.ledger import TRANSITIONS, ApprovalAction, ApprovalState, Store
from commands.ledger.approvals import check_moves
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


# --------------------------------------------------------------------------- the declared state machine

LEGAL = sorted((source, to) for source, targets in TRANSITIONS.items() for to in targets)
ILLEGAL = sorted((s, t) for s in ApprovalState for t in ApprovalState if t not in TRANSITIONS[s])


@pytest.mark.parametrize(("source", "to"), LEGAL, ids=[f"{s.value}->{t.value}" for s, t in LEGAL])
async def test_every_declared_move_still_works(store: Store, source: ApprovalState, to: ApprovalState) -> None:
    document_id = await new_document(store)
    approval = await store.approvals.create(
        action=ApprovalAction.ISSUE, document_id=document_id, requester="U_ALICE", state=source
    )

    assert await store.approvals.transition(approval.id, expected=source, to=to)

    current = await store.approvals.get(approval.id)
    assert current is not None and current.state is to


@pytest.mark.parametrize(("source", "to"), ILLEGAL, ids=[f"{s.value}->{t.value}" for s, t in ILLEGAL])
def test_every_undeclared_move_is_refused(source: ApprovalState, to: ApprovalState) -> None:
    with pytest.raises(ValueError, match=f"no move {source.value} → {to.value}"):
        check_moves(source, to)


async def test_an_undeclared_move_is_refused_and_the_row_is_untouched(store: Store) -> None:
    document_id = await new_document(store)
    approval = await store.approvals.create(
        action=ApprovalAction.ISSUE, document_id=document_id, requester="U_ALICE", state=ApprovalState.SUCCEEDED
    )

    with pytest.raises(ValueError, match="succeeded → executing"):
        await store.approvals.transition(approval.id, expected=ApprovalState.SUCCEEDED, to=ApprovalState.EXECUTING)
    # one bad source among good ones is enough to refuse the whole move
    with pytest.raises(ValueError, match="approved → failed"):
        await store.approvals.transition(
            approval.id, expected=(ApprovalState.EXECUTING, ApprovalState.APPROVED), to=ApprovalState.FAILED
        )

    current = await store.approvals.get(approval.id)
    assert current is not None
    assert (current.state, current.updated_at) == (ApprovalState.SUCCEEDED, approval.updated_at)


async def test_an_undeclared_move_is_refused_before_any_sql(store: Store) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", seen)
    try:
        with pytest.raises(ValueError, match="pending → executing"):
            await store.approvals.transition(1, expected=ApprovalState.PENDING, to=ApprovalState.EXECUTING)
        assert statements == []
        # a declared move does reach the database (and finds no such request)
        assert not await store.approvals.transition(1, expected=ApprovalState.PENDING, to=ApprovalState.APPROVED)
        assert any("UPDATE approval_requests" in s for s in statements)
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", seen)


async def test_votes_are_unique_per_approver_even_when_concurrent(store: Store) -> None:
    document_id = await new_document(store)
    approval = await store.approvals.create(action=ApprovalAction.ISSUE, document_id=document_id, requester="U_A",
                                            required_approvals=2, override_reason="reopened", now=T0)
    assert approval.required_approvals == 2 and approval.override_reason == "reopened"
    added = await asyncio.gather(*(store.approvals.add_vote(approval.id, "U_B", now=T0) for _ in range(10)))
    assert added.count(True) == 1
    assert await store.approvals.add_vote(approval.id, "U_C", now=T0)
    assert await store.approvals.voters(approval.id) == ["U_B", "U_C"]


async def test_moves_of_one_shape_share_one_statement_and_still_compare_their_own_values(store: Store) -> None:
    from commands.ledger.approvals import _transition_statement

    failed, unknown = [
        await store.approvals.create(action=ApprovalAction.ISSUE, document_id=await new_document(store),
                                     requester="U_ALICE", state=state, now=T0)
        for state in (ApprovalState.FAILED, ApprovalState.UNKNOWN)
    ]
    _transition_statement.cache_clear()
    retried = (ApprovalState.FAILED, ApprovalState.UNKNOWN)

    assert await store.approvals.transition(failed.id, expected=retried, to=ApprovalState.EXECUTING,
                                            outcome_code="retry", started_at=T0, now=T0)
    # the same shape: another row, other values, another set of expected states
    assert not await store.approvals.transition(unknown.id, expected=ApprovalState.FAILED, to=ApprovalState.EXECUTING,
                                                outcome_code="reconcile", started_at=T0, now=T0)
    assert await store.approvals.transition(unknown.id, expected=retried, to=ApprovalState.EXECUTING,
                                            outcome_code="reconcile", started_at=T0, now=T0)

    info = _transition_statement.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    one, two = await store.approvals.get(failed.id), await store.approvals.get(unknown.id)
    assert one is not None and (one.state, one.outcome_code) == (ApprovalState.EXECUTING, "retry")
    assert two is not None and (two.state, two.outcome_code) == (ApprovalState.EXECUTING, "reconcile")
