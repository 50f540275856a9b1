"""The workspace a request came from, and resends to an address the document was not issued to."""

from __future__ import annotations

import pytest

from commands.ledger import ApprovalAction, ApprovalState
from commands.workflow import NotAllowed
from commands.workflow.access import Workspace, bind_workspace, current_workspace, resends_elsewhere
from providers.models import ResendChannel, ResendRequest
from tests.commands.workflow.conftest import APPROVER, CHANNEL, REQUESTER, Env, issued, make_draft

HOME = Workspace("T_HOME")
GRID = Workspace("T_HOME", "E_GRID")


async def test_a_request_records_its_workspace_and_a_decision_from_another_is_refused(env: Env) -> None:
    with bind_workspace(HOME):
        pending = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    record = await env.store.approvals.get(pending.id)
    assert record is not None and (record.team_id, record.enterprise_id) == ("T_HOME", None)

    for elsewhere in (Workspace("T_OTHER"), GRID):
        with bind_workspace(elsewhere), pytest.raises(NotAllowed, match="another Slack workspace"):
            await env.service.decide(pending.id, APPROVER, approve=True)
    with bind_workspace(Workspace("T_OTHER")), pytest.raises(NotAllowed, match="another Slack workspace"):
        await env.service.check_decider(pending.id, APPROVER)

    assert (await env.service.get_approval(pending.id)).state is ApprovalState.PENDING
    with bind_workspace(HOME):
        decided = await env.service.decide(pending.id, APPROVER, approve=True)
    assert decided.approval.state is ApprovalState.SUCCEEDED
    assert current_workspace() is None


async def test_commands_on_a_document_from_another_workspace_are_refused(env: Env) -> None:
    with bind_workspace(HOME):
        await issued(env)
    with bind_workspace(Workspace("T_OTHER")):
        with pytest.raises(NotAllowed, match="another Slack workspace"):
            await env.service.request_destroy("INV-000001", "wrong", REQUESTER, CHANNEL)
        with pytest.raises(NotAllowed, match="another Slack workspace"):
            await env.service.request_resend("INV-000001", ResendRequest(), REQUESTER, CHANNEL)


async def test_the_bots_own_work_and_old_rows_are_not_checked(env: Env) -> None:
    pending = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)  # no workspace: an old row
    with bind_workspace(Workspace("T_OTHER")):
        assert (await env.service.check_decider(pending.id, APPROVER)).is_pending


async def test_a_resend_elsewhere_waits_for_approval_unless_an_admin_asks(env: Env) -> None:
    await issued(env)
    stranger = ResendRequest(channel=ResendChannel.EMAIL, address="attacker@evil.example")

    pending = await env.service.request_resend("INV-000001", stranger, "U_EVE", CHANNEL)

    assert pending.state is ApprovalState.PENDING and pending.action is ApprovalAction.RESEND
    assert env.popbill.resent == []
    decided = await env.service.decide(pending.id, APPROVER, approve=True)
    assert decided.approval.state is ApprovalState.SUCCEEDED and len(env.popbill.resent) == 1


@pytest.mark.parametrize(("channel", "address", "elsewhere"), [
    (ResendChannel.DEFAULT, None, False),
    (ResendChannel.EMAIL, "BUYER@example.com ", False),
    (ResendChannel.EMAIL, "buyer@example.co", True),
    (ResendChannel.SMS, "010-1234-5678", False),
    (ResendChannel.SMS, "010-9999-0000", True),
    (ResendChannel.FAX, "02-123-4567", True),
])
async def test_what_counts_as_elsewhere(env: Env, channel: ResendChannel, address: str | None,
                                        elsewhere: bool) -> None:
    await issued(env)
    doc = await env.store.documents.get(1)
    assert doc is not None
    doc = type(doc)(**{**{f: getattr(doc, f) for f in doc.__dataclass_fields__}, "buyer_phone": "01012345678"})

    assert resends_elsewhere(doc, ResendRequest(channel=channel, address=address)) is elsewhere
    assert resends_elsewhere(None, ResendRequest(channel=channel, address=address)) is (address is not None)
