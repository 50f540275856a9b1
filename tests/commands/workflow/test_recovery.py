"""Retry and recovery: a person asking again, and the bot finishing what a crash interrupted."""

from __future__ import annotations

import asyncio

import pytest

from commands.ledger import ApprovalState, Lifecycle
from commands.workflow import ApprovalView, NotAllowed
from commands.workflow.access import Workspace, bind_workspace
from commands.workflow.errors import Conflict
from providers.errors import (
    ProviderUnavailable,
)
from tests.commands.workflow.conftest import (
    APPROVER,
    CHANNEL,
    OUTSIDER,
    REQUESTER,
    Env,
    approve,
    make_draft,
)


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
    env.clock.advance(seconds=10)  # may still be running in another process (stale after 20 s by default)


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


async def test_a_retry_by_ref_from_one_workspace_never_runs_anothers_request(env: Env) -> None:
    """A document older than workspaces (no team) is visible to both; its failed destroy belongs to
    the workspace that asked for it, and a retry from another one finds nothing to retry."""
    issued = await approve(env, await env.service.request_issue(make_draft(), REQUESTER, CHANNEL))
    ref = issued.document.ref
    env.popbill.fail("destroy", ProviderUnavailable("503 maintenance", provider="popbill", status=503))
    with bind_workspace(Workspace("T_ALPHA")):
        destroy = await approve(env, await env.service.request_destroy(ref, "wrong buyer", REQUESTER, CHANNEL))
    assert destroy.state is ApprovalState.FAILED and destroy.retryable

    with bind_workspace(Workspace("T_BETA")), pytest.raises(Conflict):
        await env.service.retry_document(ref, APPROVER)
    assert (await env.service.get_approval(destroy.id)).state is ApprovalState.FAILED
    with bind_workspace(Workspace("T_ALPHA")):
        result = await env.service.retry_document(ref, REQUESTER)
    assert result.ok and (await env.service.get_approval(destroy.id)).state is ApprovalState.SUCCEEDED
