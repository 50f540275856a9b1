"""Executing approved requests: unknown outcomes, refusals, destroy and resend."""

from __future__ import annotations

import pytest

from commands.ledger import ApprovalAction, ApprovalState, IdempotencyState, Lifecycle
from commands.workflow import Conflict
from providers.errors import (
    NotSupported,
    ProviderProtocolError,
    ProviderRejected,
)
from providers.models import DocumentState, ResendChannel, ResendRequest
from tests.commands.workflow.conftest import (
    APPROVER,
    CHANNEL,
    REQUESTER,
    Env,
    approve,
    issued,
    make_draft,
    unknown,
)


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


async def test_resend_runs_at_once_by_default(env: Env) -> None:
    await issued(env)


    result = await env.service.request_resend(
        "INV-000001", ResendRequest(channel=ResendChannel.EMAIL, address="buyer@example.com"), REQUESTER, CHANNEL
    )


    assert result.state is ApprovalState.SUCCEEDED
    assert result.outcome_message == "INV-000001 resent by email to buyer@example.com"
    sent = ResendRequest(channel=ResendChannel.EMAIL, address="buyer@example.com")
    assert env.popbill.resent == [("INV-000001", sent)]


async def test_resend_can_require_approval(env: Env) -> None:
    service = env.make_service(approval_actions={"issue", "destroy", "resend"})
    await issued(env)


    pending = await service.request_resend("INV-000001", ResendRequest(), REQUESTER, CHANNEL)


    assert pending.state is ApprovalState.PENDING
    assert env.popbill.resent == []
    done = await service.decide(pending.id, APPROVER, approve=True)
    assert done.approval.state is ApprovalState.SUCCEEDED
    assert len(env.popbill.resent) == 1


async def test_resend_with_unknown_outcome_can_be_sent_again(env: Env) -> None:
    await issued(env)
    env.popbill.fail("resend", unknown(), commit=True)


    result = await env.service.request_resend("INV-000001", ResendRequest(), REQUESTER, CHANNEL)


    assert result.state is ApprovalState.UNKNOWN and result.retryable
    retried = await env.service.retry(result.id, REQUESTER)
    assert retried.ok
    assert len(env.popbill.resent) == 2


async def test_an_unexpected_error_while_executing_leaves_the_request_unknown(env: Env) -> None:
    env.popbill.fail("issue", RuntimeError("a bug"))  # type: ignore[arg-type]

    approval = await approve(env, await env.service.request_issue(make_draft(), REQUESTER, CHANNEL))

    assert approval.state is ApprovalState.UNKNOWN and approval.retryable
    assert approval.outcome_code == "internal"
