"""Requests: what is checked before anything is stored, and what a request stores."""

from __future__ import annotations

import pytest

from commands.ledger import ApprovalState, Lifecycle
from commands.workflow import Conflict
from providers.errors import (
    NotSupported,
    RequestInvalid,
)
from providers.models import DocumentKind, Provider, ResendChannel, ResendRequest
from tests.commands.workflow.conftest import (
    APPROVER,
    CHANNEL,
    REQUESTER,
    Env,
    issued,
    make_draft,
)


async def test_request_issue_creates_a_pending_document_with_our_ref(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL, thread_ts="111.222")


    assert approval.state is ApprovalState.PENDING
    assert approval.requester == REQUESTER
    assert approval.expires_at == env.clock.now + env.service.context.policy.approval_ttl
    doc = approval.document
    assert doc.ref == "INV-000001"
    assert doc.lifecycle is Lifecycle.PENDING_APPROVAL
    assert (doc.supply, doc.vat, doc.total) == (100_000, 10_000, 110_000)
    assert doc.buyer_bizno == "6798700433"  # normalised
    assert doc.sandbox is True
    assert doc.thread_ts == "111.222"
    stored = await env.store.documents.get_by_ref("INV-000001")
    assert stored is not None
    request = stored.issue_request()
    assert request is not None and request.key == "INV-000001"  # the provider sees our ref as the key
    assert env.popbill.issue_calls == 0  # nothing is sent before approval
    events = await env.store.audit.search(approval_id=approval.id)
    assert [(e.action, e.operation, e.actor) for e in events] == [("command", "issue.request", REQUESTER)]


async def test_issue_without_approval_runs_at_once(env: Env) -> None:
    service = env.make_service(approval_actions={"destroy"})


    approval = await service.request_issue(make_draft(), REQUESTER, CHANNEL)


    assert approval.state is ApprovalState.SUCCEEDED
    assert approval.decider is None
    assert approval.document.lifecycle is Lifecycle.ISSUED
    assert env.popbill.issue_calls == 1


async def test_validation_refuses_before_anything_is_stored(env: Env) -> None:
    with pytest.raises(NotSupported, match="cannot issue a cash receipt"):
        await env.service.request_issue(make_draft(kind=DocumentKind.CASH_RECEIPT), REQUESTER, CHANNEL)
    with pytest.raises(RequestInvalid, match="business number"):
        await env.service.request_issue(make_draft(bizno="12-34"), REQUESTER, CHANNEL)
    with pytest.raises(RequestInvalid, match="more than zero"):
        await env.service.request_issue(make_draft(unit_price=0), REQUESTER, CHANNEL)
    with pytest.raises(NotSupported, match="not configured"):
        await env.service.request_issue(make_draft(provider=Provider.ABILLIFY), REQUESTER, CHANNEL)


    assert await env.store.documents.search() == []


async def test_a_check_digit_mismatch_is_a_warning_on_the_card(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(bizno="123-12-12310"), REQUESTER, CHANNEL)


    assert approval.document.buyer_bizno == "1231212310"
    assert len(approval.warnings) == 1 and "check digit" in approval.warnings[0]


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


async def test_resend_by_an_unsupported_channel_is_refused(env: Env) -> None:
    await issued(env)


    with pytest.raises(NotSupported, match="cannot resend by sms"):
        await env.service.request_resend("INV-000001", ResendRequest(channel=ResendChannel.SMS), REQUESTER, CHANNEL)


async def test_a_currency_the_provider_does_not_take_is_refused_before_approval(env: Env) -> None:
    draft = make_draft().model_copy(update={"currency": "USD"})

    with pytest.raises(NotSupported, match="KRW only, not USD") as refused:
        await env.service.request_issue(draft, REQUESTER, CHANNEL)

    assert refused.value.code == "currency"  # the provider's declared capability, checked at request time
    assert await env.service.pending_approvals() == []  # nothing reached an approver
    assert await env.store.documents.search() == []

