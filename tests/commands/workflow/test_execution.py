"""Executing approved requests: unknown outcomes, crashes, retries, destroy and resend."""

from __future__ import annotations

import asyncio

import pytest

from commands.ledger import ApprovalAction, ApprovalState, IdempotencyState, Lifecycle
from commands.workflow import ApprovalView, Conflict, DecisionOutcome, NotAllowed
from providers.errors import (
    NotSupported,
    OutcomeUnknown,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
)
from providers.models import DocumentState, ResendChannel, ResendRequest
from tests.commands.workflow.conftest import APPROVER, CHANNEL, OUTSIDER, REQUESTER, Env, make_draft


def unknown() -> OutcomeUnknown:
    return OutcomeUnknown("read timeout after sending", provider="popbill")


async def approve(env: Env, approval: ApprovalView) -> ApprovalView:
    result = await env.service.decide(approval.id, APPROVER, approve=True)
    assert result.outcome is DecisionOutcome.APPROVED
    return result.approval


async def issued(env: Env) -> ApprovalView:
    approval = await approve(env, await env.service.request_issue(make_draft(), REQUESTER, CHANNEL))
    assert approval.state is ApprovalState.SUCCEEDED
    return approval


# --------------------------------------------------------------------------- unknown outcomes


async def test_unknown_outcome_but_issued_is_found_not_sent_again(env: Env) -> None:
    env.popbill.fail("issue", unknown(), commit=True)

    approval = await approve(env, await env.service.request_issue(make_draft(), REQUESTER, CHANNEL))

    assert approval.state is ApprovalState.SUCCEEDED
    assert approval.document.lifecycle is Lifecycle.ISSUED
    assert approval.document.provider_id == "INV-000001"
    assert env.popbill.issue_calls == 1
    assert env.popbill.calls["find"] == 1
    key = await env.store.idempotency.get("issue:INV-000001")
    assert key is not None and key.state is IdempotencyState.DONE
    calls = await env.store.audit.search(approval_id=approval.id, action="provider_call")
    assert [(c.operation, c.outcome) for c in calls] == [("issue", "unknown"), ("issue.find", "found"), ("issue", "ok")]


async def test_unknown_outcome_and_not_issued_is_retried_once_with_the_same_key(env: Env) -> None:
    env.popbill.fail("issue", unknown())

    approval = await approve(env, await env.service.request_issue(make_draft(), REQUESTER, CHANNEL))

    assert approval.state is ApprovalState.SUCCEEDED
    assert env.popbill.issue_calls == 2
    assert env.popbill.calls["issued"] == 1
    assert list(env.popbill.documents) == ["INV-000001"]


async def test_unknown_twice_and_still_absent_fails_retryably(env: Env) -> None:
    env.popbill.fail("issue", unknown(), times=2)

    approval = await approve(env, await env.service.request_issue(make_draft(), REQUESTER, CHANNEL))

    assert approval.state is ApprovalState.FAILED
    assert approval.retryable
    assert "nothing was issued" in (approval.outcome_message or "")
    assert env.popbill.issue_calls == 2 and env.popbill.documents == {}
    retried = await env.service.retry(approval.id, REQUESTER)
    assert retried.ok and retried.approval.attempts == 2
    assert env.popbill.calls["issued"] == 1


async def test_unknown_outcome_that_cannot_be_checked_is_left_unknown_with_instructions(env: Env) -> None:
    env.popbill.fail("issue", unknown(), commit=True)
    env.popbill.fail("find", NotSupported("cannot look documents up", provider="popbill"))

    approval = await approve(env, await env.service.request_issue(make_draft(), REQUESTER, CHANNEL))

    assert approval.state is ApprovalState.UNKNOWN
    assert approval.retryable
    assert approval.document.lifecycle is Lifecycle.OUTCOME_UNKNOWN
    assert "INV-000001" in (approval.user_hint or "") and "before doing anything" in (approval.user_hint or "")
    assert env.popbill.issue_calls == 1

    retried = await env.service.retry(approval.id, APPROVER)  # the provider can be asked now

    assert retried.ok
    assert retried.approval.document.lifecycle is Lifecycle.ISSUED
    assert env.popbill.issue_calls == 1  # found, never sent again


async def test_an_unreadable_answer_is_reconciled_like_an_unknown_outcome(env: Env) -> None:
    env.popbill.fail("issue", ProviderProtocolError("HTML error page", provider="popbill", status=502), commit=True)

    approval = await approve(env, await env.service.request_issue(make_draft(), REQUESTER, CHANNEL))

    assert approval.state is ApprovalState.SUCCEEDED
    assert env.popbill.issue_calls == 1


async def test_provider_rejection_fails_for_good(env: Env) -> None:
    env.popbill.fail("issue", ProviderRejected("invalid buyer", provider="popbill", code="-99999999"))

    approval = await approve(env, await env.service.request_issue(make_draft(), REQUESTER, CHANNEL))

    assert approval.state is ApprovalState.FAILED
    assert not approval.retryable
    assert approval.outcome_code == "rejected:-99999999"
    assert approval.document.lifecycle is Lifecycle.FAILED
    assert "invalid buyer" in (approval.document.last_error or "")
    with pytest.raises(Conflict, match="cannot be retried"):
        await env.service.retry(approval.id, REQUESTER)


async def test_provider_unavailable_can_be_retried_and_issues_once(env: Env) -> None:
    env.popbill.fail("issue", ProviderUnavailable("503 maintenance", provider="popbill", status=503))

    approval = await approve(env, await env.service.request_issue(make_draft(), REQUESTER, CHANNEL))

    assert approval.state is ApprovalState.FAILED and approval.retryable
    with pytest.raises(NotAllowed):
        await env.service.retry(approval.id, OUTSIDER)
    first, second = await asyncio.gather(
        env.service.retry(approval.id, REQUESTER), env.service.retry(approval.id, APPROVER)
    )
    assert sorted([first.executed, second.executed]) == [False, True]
    assert (await env.service.get_approval(approval.id)).state is ApprovalState.SUCCEEDED
    assert env.popbill.calls["issued"] == 1


async def test_retry_document_finds_the_retryable_request_by_ref(env: Env) -> None:
    env.popbill.fail("issue", ProviderUnavailable("timeout connecting", provider="popbill"))
    await approve(env, await env.service.request_issue(make_draft(), REQUESTER, CHANNEL))

    result = await env.service.retry_document("inv-1", REQUESTER)

    assert result.ok


# --------------------------------------------------------------------------- crash recovery


async def test_recover_after_a_crash_when_the_provider_had_issued(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    await _crash_executing(env, approval, provider_has_it=True)
    env.clock.advance(minutes=5)

    results = await env.service.recover()

    assert len(results) == 1 and results[0].ok
    assert env.popbill.calls["find"] == 1
    assert env.popbill.issue_calls == 0  # found: never sent again
    final = await env.service.get_approval(approval.id)
    assert final.state is ApprovalState.SUCCEEDED and final.attempts == 2
    assert final.document.lifecycle is Lifecycle.ISSUED
    assert await env.service.recover() == []  # nothing left


async def test_recover_after_a_crash_before_the_provider_acted(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    await _crash_executing(env, approval, provider_has_it=False)
    env.clock.advance(minutes=5)

    results = await env.service.recover()

    assert len(results) == 1 and results[0].ok
    assert env.popbill.calls["find"] == 1
    assert env.popbill.issue_calls == 1
    assert env.popbill.calls["issued"] == 1


async def test_recover_leaves_recent_executions_alone(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    await _crash_executing(env, approval, provider_has_it=False)
    env.clock.advance(seconds=30)  # may still be running in another process

    assert await env.service.recover() == []
    assert (await env.service.get_approval(approval.id)).state is ApprovalState.EXECUTING


async def test_recover_executes_requests_approved_before_a_crash(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    assert await env.store.approvals.transition(
        approval.id, expected=ApprovalState.PENDING, to=ApprovalState.APPROVED, decider=APPROVER
    )

    results = await env.service.recover()

    assert [r.ok for r in results] == [True]
    assert env.popbill.issue_calls == 1


async def test_two_instances_recovering_at_once_issue_once(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    await _crash_executing(env, approval, provider_has_it=False)
    env.clock.advance(minutes=5)
    other_instance = env.make_service()

    first, second = await asyncio.gather(env.service.recover(), other_instance.recover())

    assert len(first) + len(second) == 1
    assert env.popbill.calls["issued"] == 1
    assert (await env.service.get_approval(approval.id)).state is ApprovalState.SUCCEEDED


async def _crash_executing(env: Env, approval: ApprovalView, *, provider_has_it: bool) -> None:
    """What a process killed inside `provider.issue` leaves behind."""
    approvals = env.store.approvals
    assert await approvals.transition(approval.id, expected=ApprovalState.PENDING, to=ApprovalState.APPROVED,
                                      decider=APPROVER, decided_at=env.clock.now, now=env.clock.now)
    assert await approvals.transition(approval.id, expected=ApprovalState.APPROVED, to=ApprovalState.EXECUTING,
                                      count_attempt=True, started_at=env.clock.now, now=env.clock.now)
    doc = await env.store.documents.get_by_ref(approval.document.ref)
    assert doc is not None
    assert await env.store.documents.set_lifecycle(doc.id, Lifecycle.ISSUING, expected=Lifecycle.PENDING_APPROVAL)
    request = doc.issue_request()
    assert request is not None
    from commands.workflow.run import request_digest as _digest

    claim = await env.store.idempotency.claim(f"issue:{doc.ref}", "issue", _digest(request.model_dump(mode="json")))
    assert claim.claimed
    if provider_has_it:
        await env.popbill.issue(request)
        env.popbill.calls.clear()


# --------------------------------------------------------------------------- destroy


async def test_destroy_after_approval(env: Env) -> None:
    await issued(env)

    request = await env.service.request_destroy("INV-000001", "wrong amount", REQUESTER, CHANNEL)
    assert request.action is ApprovalAction.DESTROY and request.state is ApprovalState.PENDING
    assert request.reason == "wrong amount"
    assert env.popbill.calls["destroy"] == 0
    result = await env.service.decide(request.id, APPROVER, approve=True)

    assert result.execution is not None and result.execution.ok
    doc = result.approval.document
    assert doc.lifecycle is Lifecycle.DESTROYED
    assert doc.state is DocumentState.CANCELED and doc.raw_state == "600"
    assert env.popbill.calls["destroyed"] == 1
    with pytest.raises(Conflict, match="only issued documents"):
        await env.service.request_destroy("INV-000001", None, REQUESTER, CHANNEL)


async def test_destroy_refused_by_the_provider_leaves_the_document_issued(env: Env) -> None:
    await issued(env)
    env.popbill.fail("destroy", ProviderRejected("already filed with NTS", provider="popbill", code="-11000003"))
    request = await env.service.request_destroy("popbill:INV-000001", None, REQUESTER, CHANNEL)

    result = await env.service.decide(request.id, APPROVER, approve=True)

    assert result.approval.state is ApprovalState.FAILED and not result.approval.retryable
    assert result.approval.document.lifecycle is Lifecycle.ISSUED
    assert "already filed" in (result.approval.outcome_message or "")


async def test_destroy_with_unknown_outcome_is_checked_at_the_provider(env: Env) -> None:
    await issued(env)
    env.popbill.fail("destroy", unknown(), commit=True)
    request = await env.service.request_destroy("INV-000001", "duplicate", REQUESTER, CHANNEL)

    result = await env.service.decide(request.id, APPROVER, approve=True)

    assert result.approval.state is ApprovalState.SUCCEEDED
    assert result.approval.document.lifecycle is Lifecycle.DESTROYED
    assert env.popbill.calls["destroy"] == 1


async def test_only_one_destroy_request_at_a_time(env: Env) -> None:
    await issued(env)
    await env.service.request_destroy("INV-000001", None, REQUESTER, CHANNEL)

    with pytest.raises(Conflict, match="already open"):
        await env.service.request_destroy("INV-000001", None, APPROVER, CHANNEL)


async def test_a_pending_document_cannot_be_destroyed(env: Env) -> None:
    await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)

    with pytest.raises(Conflict, match="pending approval"):
        await env.service.request_destroy("INV-000001", None, REQUESTER, CHANNEL)


async def test_destroying_a_document_issued_elsewhere_adopts_it(env: Env) -> None:
    env.popbill.add_document("EXT-2024-0001")

    request = await env.service.request_destroy("popbill:EXT-2024-0001", "issued by mistake", REQUESTER, CHANNEL)

    assert request.document.origin == "external"
    assert request.document.ref == "INV-000001"
    assert request.document.provider_ref == "popbill:EXT-2024-0001"
    assert request.document.total == 11000
    result = await env.service.decide(request.id, APPROVER, approve=True)
    assert result.approval.document.lifecycle is Lifecycle.DESTROYED
    again = await env.service.status("popbill:EXT-2024-0001")
    assert again.id == request.document.id  # adopted once


async def test_destroy_is_refused_where_the_provider_cannot(env: Env) -> None:
    no_destroy = env.make_service()
    env.popbill.capabilities = env.popbill.capabilities.model_copy(update={"destroy": False})
    await issued(env)

    with pytest.raises(NotSupported):
        await no_destroy.request_destroy("INV-000001", None, REQUESTER, CHANNEL)


# --------------------------------------------------------------------------- resend


async def test_resend_runs_at_once_by_default(env: Env) -> None:
    await issued(env)

    result = await env.service.request_resend(
        "INV-000001", ResendRequest(channel=ResendChannel.EMAIL, address="ap@example.com"), REQUESTER, CHANNEL
    )

    assert result.state is ApprovalState.SUCCEEDED
    assert result.outcome_message == "INV-000001 resent by email to ap@example.com"
    assert env.popbill.resent == [("INV-000001", ResendRequest(channel=ResendChannel.EMAIL, address="ap@example.com"))]


async def test_resend_can_require_approval(env: Env) -> None:
    service = env.make_service(approval_actions={"issue", "destroy", "resend"})
    await issued(env)

    pending = await service.request_resend("INV-000001", ResendRequest(), REQUESTER, CHANNEL)

    assert pending.state is ApprovalState.PENDING
    assert env.popbill.resent == []
    done = await service.decide(pending.id, APPROVER, approve=True)
    assert done.approval.state is ApprovalState.SUCCEEDED
    assert len(env.popbill.resent) == 1


async def test_resend_by_an_unsupported_channel_is_refused(env: Env) -> None:
    await issued(env)

    with pytest.raises(NotSupported, match="cannot resend by sms"):
        await env.service.request_resend("INV-000001", ResendRequest(channel=ResendChannel.SMS), REQUESTER, CHANNEL)


async def test_resend_with_unknown_outcome_can_be_sent_again(env: Env) -> None:
    await issued(env)
    env.popbill.fail("resend", unknown(), commit=True)

    result = await env.service.request_resend("INV-000001", ResendRequest(), REQUESTER, CHANNEL)

    assert result.state is ApprovalState.UNKNOWN and result.retryable
    retried = await env.service.retry(result.id, REQUESTER)
    assert retried.ok
    assert len(env.popbill.resent) == 2
