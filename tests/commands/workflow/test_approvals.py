"""Decisions: four eyes, one winner per request, rejection reasons, expiry."""

from __future__ import annotations

import asyncio

import pytest

from commands.ledger import ApprovalState, Lifecycle
from commands.workflow import DecisionOutcome, NotAllowed
from providers.errors import (
    RequestInvalid,
)
from tests.commands.workflow.conftest import (
    APPROVER,
    CHANNEL,
    OUTSIDER,
    REQUESTER,
    Env,
    make_draft,
)


async def test_approval_by_another_approver_issues_once(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)


    result = await env.service.decide(approval.id, APPROVER, approve=True)


    assert result.outcome is DecisionOutcome.APPROVED
    assert result.execution is not None and result.execution.ok
    assert result.approval.state is ApprovalState.SUCCEEDED
    assert result.approval.decider == APPROVER
    doc = result.approval.document
    assert doc.lifecycle is Lifecycle.ISSUED
    assert doc.provider_ref == "popbill:INV-000001"
    assert doc.raw_state == "300"
    assert doc.confirm_number == "NTS-INV-000001"
    assert doc.links == {"popup": "https://sandbox.invalid/INV-000001"}
    assert env.popbill.issue_calls == 1


async def test_requester_cannot_approve_their_own_request(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)


    with pytest.raises(NotAllowed, match="four-eyes"):
        await env.service.decide(approval.id, REQUESTER, approve=True)


    assert (await env.service.get_approval(approval.id)).state is ApprovalState.PENDING
    refusals = await env.store.audit.search(approval_id=approval.id, action="decision")
    assert [(r.actor, r.outcome) for r in refusals] == [(REQUESTER, "own_request")]
    assert env.popbill.issue_calls == 0


async def test_who_may_decide_is_known_before_any_reason_is_typed(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)

    allowed = await env.service.check_decider(approval.id, APPROVER)
    with pytest.raises(NotAllowed, match="four-eyes"):
        await env.service.check_decider(approval.id, REQUESTER)
    with pytest.raises(NotAllowed, match="Only approvers"):
        await env.service.check_decider(approval.id, OUTSIDER)

    assert allowed.is_pending  # asking decided nothing
    assert (await env.service.get_approval(approval.id)).state is ApprovalState.PENDING
    refusals = await env.store.audit.search(approval_id=approval.id, action="decision")
    expected = [(OUTSIDER, "not_approver"), (REQUESTER, "own_request")]
    assert sorted((r.actor, r.outcome) for r in refusals) == sorted(expected)


async def test_non_approver_is_refused(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)


    with pytest.raises(NotAllowed, match="Only approvers"):
        await env.service.decide(approval.id, OUTSIDER, approve=True)
    with pytest.raises(NotAllowed):
        await env.service.decide(approval.id, OUTSIDER, approve=False, reason="no")


    assert (await env.service.get_approval(approval.id)).state is ApprovalState.PENDING


async def test_four_eyes_off_lets_the_requester_approve(env: Env) -> None:
    service = env.make_service(four_eyes=False)
    approval = await service.request_issue(make_draft(), REQUESTER, CHANNEL)


    result = await service.decide(approval.id, REQUESTER, approve=True)


    assert result.outcome is DecisionOutcome.APPROVED
    assert env.popbill.issue_calls == 1


async def test_rejection_needs_a_reason_and_closes_the_document(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)


    with pytest.raises(RequestInvalid, match="reason"):
        await env.service.decide(approval.id, APPROVER, approve=False)
    with pytest.raises(RequestInvalid):
        await env.service.decide(approval.id, APPROVER, approve=False, reason="   ")
    result = await env.service.decide(approval.id, APPROVER, approve=False, reason="wrong buyer")


    assert result.outcome is DecisionOutcome.REJECTED
    assert result.approval.state is ApprovalState.REJECTED
    assert result.approval.reason == "wrong buyer"
    assert result.approval.document.lifecycle is Lifecycle.REJECTED
    assert env.popbill.issue_calls == 0
    again = await env.service.decide(approval.id, "U_CAROL", approve=True)
    assert again.outcome is DecisionOutcome.ALREADY_DECIDED
    assert again.message == f"already rejected by <@{APPROVER}>"
    assert env.popbill.issue_calls == 0


async def test_a_repeated_click_gets_already_approved(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    await env.service.decide(approval.id, APPROVER, approve=True)


    again = await env.service.decide(approval.id, "U_CAROL", approve=True)


    assert again.outcome is DecisionOutcome.ALREADY_DECIDED
    assert not again.won
    assert again.message == f"already approved by <@{APPROVER}> (succeeded)"
    assert env.popbill.issue_calls == 1


async def test_a_hundred_concurrent_approvals_issue_exactly_once(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    deciders = [f"U_APPROVER{i:03d}" for i in range(100)]


    results = await asyncio.gather(*(env.service.decide(approval.id, d, approve=True) for d in deciders))


    winners = [r for r in results if r.outcome is DecisionOutcome.APPROVED]
    assert len(winners) == 1
    assert all(r.outcome is DecisionOutcome.ALREADY_DECIDED for r in results if r is not winners[0])
    assert env.popbill.issue_calls == 1
    final = await env.service.get_approval(approval.id)
    assert final.state is ApprovalState.SUCCEEDED
    assert final.decider == winners[0].approval.decider
    decisions = await env.store.audit.search(approval_id=approval.id, action="decision")
    assert len(decisions) == 1


async def test_concurrent_approve_and_reject_have_one_winner(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)


    approve, reject = await asyncio.gather(
        env.service.decide(approval.id, APPROVER, approve=True),
        env.service.decide(approval.id, "U_CAROL", approve=False, reason="duplicate"),
    )


    assert sorted([approve.won, reject.won]) == [False, True]
    final = await env.service.get_approval(approval.id)
    assert env.popbill.issue_calls == (1 if final.state is ApprovalState.SUCCEEDED else 0)


async def test_an_expired_request_refuses_decisions(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    env.clock.advance(hours=24, seconds=1)


    result = await env.service.decide(approval.id, APPROVER, approve=True)


    assert result.outcome is DecisionOutcome.EXPIRED
    assert result.message.startswith("this request expired at 2024-05-02 09:00 KST")
    assert result.approval.state is ApprovalState.EXPIRED
    assert result.approval.document.lifecycle is Lifecycle.EXPIRED
    assert env.popbill.issue_calls == 0


async def test_expire_stale_returns_the_cards_to_update(env: Env) -> None:
    old = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    await env.service.attach_card(old.id, "C_APPROVALS", "1714521600.000100")
    env.clock.advance(hours=23)
    fresh = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    env.clock.advance(hours=2)


    expired = await env.service.expire_stale()


    assert [(a.id, a.channel_id, a.message_ts) for a in expired] == [(old.id, "C_APPROVALS", "1714521600.000100")]
    assert expired[0].state is ApprovalState.EXPIRED
    assert (await env.service.get_approval(fresh.id)).state is ApprovalState.PENDING
    assert await env.service.expire_stale() == []  # once only


async def test_pending_approvals_for_an_approver_leave_out_their_own(env: Env) -> None:
    mine = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    theirs = await env.service.request_issue(make_draft(), APPROVER, CHANNEL)


    for_alice = await env.service.pending_approvals(REQUESTER)
    everyone = await env.service.pending_approvals()


    assert [a.id for a in for_alice] == [theirs.id]
    assert [a.id for a in everyone] == [mine.id, theirs.id]
