"""Every decision path refuses people who are not approvers and refuses the requester
(four eyes), whatever the surface the click comes from; a refusal changes nothing and
calls no provider.

U_ALICE requests, U_BOB and U_CAROL are approvers, U_DAVE approves through the
S_FINANCE_LEADS user group, U_EVE is neither.
"""

from __future__ import annotations

from pathlib import Path

from commands.ledger import ApprovalState
from commands.slack.blocks import build_reject_modal
from commands.slack.ids import APPROVE_ACTION_ID, REJECT_CALLBACK_ID
from providers.sandbox.base import FaultRule
from tests.app.harness import BotHarness, running_bot, text_of
from tests.faults.flows import (
    FAST,
    add_fault,
    approval,
    assert_no_traceback_shown,
    issue_approved,
    issue_calls,
    request_issue,
    requests_at,
)

#: the refusal of a decision names who may decide (issue 9: every refusal says who may do it)
DECIDERS = "Only approvers (<@U_BOB>, <@U_CAROL>, <!subteam^S_FINANCE_LEADS>) may approve or reject requests"


def told(bot: BotHarness, user: str) -> str:
    """Everything the app told `user` privately: ephemerals and DMs."""
    return "\n".join([text_of(m) for m in bot.ephemerals(user)] + [text_of(m) for m in bot.dms(user)])


async def assert_untouched(bot: BotHarness, approval_id: int = 1) -> None:
    record = await approval(bot, approval_id)
    assert record.state is ApprovalState.PENDING and record.decider is None
    assert issue_calls(bot, "popbill") == []


async def reject_submission(bot: BotHarness, approval_id: int, user: str) -> None:
    view = build_reject_modal(str(approval_id)).to_dict()
    view.update(id="V0REJECT", callback_id=REJECT_CALLBACK_ID)
    values = {"reason": {"reason_input": {"type": "plain_text_input", "value": "wrong amount"}}}
    response = await bot.send(bot.factory.view_submission(user_id=user, view=view, values=values))
    assert response.status_code == 200


async def test_the_approve_button_refuses_a_non_approver_and_the_requester(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        card = await request_issue(bot, "popbill", user="U_BOB")  # an approver asking for themself

        refused = [await bot.click(card, "approval_approve", user=u) for u in ("U_EVE", "U_BOB")]

        assert [r.status_code for r in refused] == [200, 200], "a refusal is an answer, not a failed click"
        assert DECIDERS in told(bot, "U_EVE")
        assert "someone else has to decide it (four-eyes rule)" in told(bot, "U_BOB")
        await assert_untouched(bot)
        refusals = [e for e in await bot.runtime.store.audit.search(approval_id=1) if e.operation == "refused"]
        assert [(e.actor, e.outcome) for e in refusals] == [("U_BOB", "own_request")]

        await bot.click(card, "approval_approve", user="U_DAVE")  # an approver through the user group
        assert (await approval(bot, 1)).state is ApprovalState.SUCCEEDED


async def test_the_reject_button_refuses_a_non_approver_and_the_requester(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        card = await request_issue(bot, "popbill", user="U_BOB")

        await bot.click(card, "approval_reject", user="U_EVE")
        await bot.click(card, "approval_reject", user="U_BOB")

        assert "Only approvers" in told(bot, "U_EVE")
        assert "four-eyes rule" in told(bot, "U_BOB")
        assert bot.calls("views.open")[-1].args.get("view", {}).get("callback_id") != REJECT_CALLBACK_ID
        await assert_untouched(bot)


async def test_a_forged_reject_modal_submission_is_refused_for_a_non_approver_and_the_requester(
    tmp_path: Path,
) -> None:
    """The reject modal's submission carries the request id in private_metadata; anyone can
    post one (it is only signed by Slack), so the service checks the decider again."""
    async with running_bot(tmp_path) as bot:
        await request_issue(bot, "popbill", user="U_BOB")

        await reject_submission(bot, 1, "U_EVE")
        await reject_submission(bot, 1, "U_BOB")

        assert DECIDERS in told(bot, "U_EVE")
        assert "four-eyes rule" in told(bot, "U_BOB")
        await assert_untouched(bot)

        await reject_submission(bot, 1, "U_CAROL")
        record = await approval(bot, 1)
        assert record.state is ApprovalState.REJECTED and record.reason == "wrong amount"


async def test_the_app_home_approve_button_refuses_a_non_approver_and_the_requester(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await request_issue(bot, "popbill", user="U_BOB")
        home = {"id": "V0HOME", "type": "home", "blocks": []}

        for user in ("U_EVE", "U_BOB"):
            click = bot.factory.block_action(user_id=user, action_id=APPROVE_ACTION_ID, value="1",
                                             block_id="home_approval_1", view=home)
            assert (await bot.send(click)).status_code == 200

        assert "Only approvers" in told(bot, "U_EVE")
        assert "four-eyes rule" in told(bot, "U_BOB")
        await assert_untouched(bot)


async def test_invoice_retry_is_for_the_requester_or_an_approver_only(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        card = await request_issue(bot, "popbill")
        add_fault(bot, "popbill", FaultRule(kind="503", path=r"^/Taxinvoice$", method="POST"))
        await bot.click(card, "approval_approve", user="U_BOB")
        assert (await approval(bot, 1)).state is ApprovalState.FAILED

        await bot.command("retry INV-000001", user="U_EVE")

        assert ("Only the requester (<@U_ALICE>) or approvers (<@U_BOB>, <@U_CAROL>, <!subteam^S_FINANCE_LEADS>) "
                "may retry this request") in text_of(bot.replies()[-1])
        assert (await approval(bot, 1)).state is ApprovalState.FAILED
        assert len(issue_calls(bot, "popbill")) == 1

        await bot.command("retry INV-000001", user="U_ALICE")
        assert (await approval(bot, 1)).state is ApprovalState.SUCCEEDED
        assert_no_traceback_shown(bot)


async def test_the_digest_reminder_resend_follows_the_resend_approval_rules(tmp_path: Path) -> None:
    """With resends needing approval, the digest's Resend button only asks for one: the person
    who clicked cannot approve it, nor can a non-approver; nothing is sent until an approver does."""
    async with running_bot(tmp_path, invoicebot_approval_actions="issue,destroy,resend") as bot:
        await issue_approved(bot, "payssam")
        reminder = {"channel": "C_FINANCE", "ts": "1700000000.000100", "blocks": [
            {"type": "actions", "block_id": "reminders",
             "elements": [{"type": "button", "action_id": "reminder_resend", "value": "INV-000001",
                           "text": {"type": "plain_text", "text": "Resend"}}]}]}

        await bot.click(reminder, "reminder_resend", user="U_EVE")

        resend_card = bot.cards()[-1]
        assert "resend" in text_of(resend_card).lower() and "approval_approve" in text_of(resend_card)
        for user in ("U_EVE", "U_FRANK"):
            await bot.click(resend_card, "approval_approve", user=user)
        assert "Only approvers" in told(bot, "U_EVE") and "Only approvers" in told(bot, "U_FRANK")
        resends = [r for r in requests_at(bot, "payssam") if r["path"].endswith("/bill/resend")]
        assert resends == []

        await bot.command("resend INV-000001 talk", user="U_BOB")  # an approver asking: still four eyes
        own_card = bot.cards()[-1]
        await bot.click(own_card, "approval_approve", user="U_BOB")
        assert "four-eyes rule" in told(bot, "U_BOB")
        assert [r for r in requests_at(bot, "payssam") if r["path"].endswith("/bill/resend")] == []

        await bot.click(resend_card, "approval_approve", user="U_CAROL")
        assert len([r for r in requests_at(bot, "payssam") if r["path"].endswith("/bill/resend")]) == 1
