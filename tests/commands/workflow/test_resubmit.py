"""Edit and resubmit: reopened by its requester only, once, and linked to the request it replaces."""

from __future__ import annotations

import pytest

from commands.ledger import ApprovalState
from commands.workflow import Conflict, NotAllowed
from tests.commands.workflow.conftest import APPROVER, CHANNEL, REQUESTER, Env, issued, make_draft


async def test_a_rejected_request_is_reopened_prefilled_and_resubmitted_once(env: Env) -> None:
    first = await env.service.request_issue(make_draft(buyer_name="Typo Corp"), REQUESTER, CHANNEL)
    await env.service.decide(first.id, APPROVER, approve=False, reason="buyer name")

    with pytest.raises(NotAllowed, match=r"Only the requester \(<@U_ALICE>\)"):
        await env.service.reopen_issue(first.id, APPROVER)
    draft = await env.service.reopen_issue(first.id, REQUESTER)
    assert draft.buyer.name == "Typo Corp"

    fixed = draft.model_copy(update={"buyer": draft.buyer.model_copy(update={"name": "Right Corp"})})
    second = await env.service.resubmit_issue(first.id, fixed, REQUESTER, CHANNEL)

    assert second.is_pending and second.resubmits_request_id == first.id and second.resubmits_ref == "INV-000001"
    assert second.document.ref == "INV-000002" and second.document.buyer_name == "Right Corp"
    with pytest.raises(Conflict, match="already resubmitted as request #2"):
        await env.service.resubmit_issue(first.id, fixed, REQUESTER, CHANNEL)


async def test_only_requests_that_ended_without_a_document_are_reopened(env: Env) -> None:
    done = await issued(env)
    pending = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)

    for approval_id in (done.id, pending.id):
        with pytest.raises(Conflict, match="only a rejected, expired or failed request"):
            await env.service.reopen_issue(approval_id, REQUESTER)
    assert (await env.service.get_approval(pending.id)).state is ApprovalState.PENDING
