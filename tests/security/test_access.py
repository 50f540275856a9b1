"""Access and policy (issue 9), through the running app with signed requests.

U_ALICE requests (a member of C_FINANCE when requesters are configured), U_BOB and U_CAROL
approve (U_DAVE through S_FINANCE_LEADS), U_ADA is an admin, U_EVE is a workspace member
with no role, and T_OTHER is another Slack workspace.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from commands.ledger import ApprovalAction, ApprovalState
from tests.app.harness import FINANCE, BotHarness, find_button, running_bot, text_of
from tests.faults.flows import approval, issue_approved, issue_calls, request_issue, requests_at

APPROVERS = "approvers (<@U_BOB>, <@U_CAROL>, <!subteam^S_FINANCE_LEADS>)"
ADMINS = "admins (<@U_ADA>)"


def told(bot: BotHarness, user: str) -> str:
    """Everything the app told `user` privately: ephemerals, DMs and command answers."""
    replies = [text_of(c.args) for c in bot.slack.calls("response_url")]
    return "\n".join([text_of(m) for m in bot.ephemerals(user)] + [text_of(m) for m in bot.dms(user)] + replies)


def resends(bot: BotHarness) -> list[dict[str, object]]:
    """Popbill resend writes (e-mail) the sandbox received."""
    return [r for r in requests_at(bot, "popbill")
            if str(r["path"]).startswith("/Taxinvoice/SELL/") and r["method"] == "POST"
            and any(str(v) == "EMAIL" for k, v in dict(r.get("headers") or {}).items()
                    if k.lower() == "x-http-method-override")]


async def test_a_plain_member_cannot_resend_to_a_new_address_without_an_approval(tmp_path: Path) -> None:
    async with running_bot(tmp_path, invoicebot_admins="U_ADA") as bot:
        await issue_approved(bot, "popbill")

        await bot.command("resend INV-000001 email attacker@evil.example", user="U_EVE")

        assert resends(bot) == [], "the resend to a stranger reached the provider"
        pending = (await bot.runtime.store.approvals.search(action=ApprovalAction.RESEND))[-1]
        assert pending.state is ApprovalState.PENDING and pending.requester == "U_EVE"
        assert "resend" in text_of(bot.cards()[-1]).lower() and "attacker@evil.example" in text_of(bot.cards()[-1])
        assert "not the one the document was issued to" in told(bot, "U_EVE")

        await bot.command("resend INV-000001 email buyer@example.com", user="U_EVE")  # the address issued to
        assert len(resends(bot)) == 1
        await bot.command("resend INV-000001 email ap@another.example", user="U_ADA")  # an admin may
        assert len(resends(bot)) == 2

        await bot.click(_card_of(bot, pending.id), "approval_approve", user="U_BOB")
        assert len(resends(bot)) == 3 and (await approval(bot, pending.id)).state is ApprovalState.SUCCEEDED


def _card_of(bot: BotHarness, approval_id: int) -> dict[str, object]:
    for card in bot.cards():
        try:
            if find_button(card.get("blocks") or [], "approval_approve").get("value") == str(approval_id):
                return card
        except AssertionError:
            continue
    raise AssertionError(f"no card for request #{approval_id}")


async def test_export_is_for_approvers_and_admins_and_says_who_may(tmp_path: Path) -> None:
    async with running_bot(tmp_path, invoicebot_admins="U_ADA") as bot:
        await bot.command("export", user="U_EVE")

        assert f"Only {APPROVERS} or {ADMINS} may export documents." in told(bot, "U_EVE")
        assert bot.slack.calls("files.getUploadURLExternal") == []

        await bot.command("export", user="U_ADA")
        upload = bot.slack.calls("files.completeUploadExternal")[-1]
        assert upload.args.get("channel_id") == "D_ADA"


async def test_configured_requesters_are_channel_members_and_group_members(tmp_path: Path) -> None:
    async with running_bot(tmp_path, invoicebot_requesters=f"{FINANCE},S_SALES") as bot:
        bot.slack.set_channel_members(FINANCE, ["U_ALICE", "U_ZED"])
        bot.slack.set_group_members("S_SALES", ["U_SAM"])
        await issue_approved(bot, "popbill")  # U_ALICE, a member of #finance

        await bot.command("destroy INV-000001 wrong buyer", user="U_EVE")
        await bot.command("digest now", user="U_EVE")

        refusal = (f"Only requesters (<!subteam^S_SALES>, members of <#{FINANCE}>), {APPROVERS} or admins "
                   "(nobody yet: set INVOICEBOT_ADMINS) may ask to destroy documents.")
        assert refusal in told(bot, "U_EVE")
        assert "may post a digest" in told(bot, "U_EVE")
        assert await bot.runtime.store.approvals.search(action=ApprovalAction.DESTROY) == []

        await bot.command("destroy INV-000001 wrong buyer", user="U_SAM")  # through the user group
        assert len(await bot.runtime.store.approvals.search(action=ApprovalAction.DESTROY)) == 1


async def test_a_decision_from_another_workspace_is_refused(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        card = await request_issue(bot, "popbill")
        recorded = await approval(bot, 1)
        assert (recorded.team_id, recorded.enterprise_id) == (bot.slack.team_id, None)

        home_factory = bot.factory
        bot.factory = dataclasses.replace(home_factory, team_id="T_OTHER")
        await bot.click(card, "approval_approve", user="U_CAROL")
        await bot.command("retry 1", user="U_CAROL")

        assert "made in another Slack workspace" in told(bot, "U_CAROL")
        assert (await approval(bot, 1)).state is ApprovalState.PENDING and issue_calls(bot, "popbill") == []
        refusals = [e for e in await bot.runtime.store.audit.search(approval_id=1) if e.operation == "refused"]
        assert [(e.actor, e.outcome) for e in refusals] == [("U_CAROL", "other_workspace")] * 2

        bot.factory = home_factory
        await bot.click(card, "approval_approve", user="U_CAROL")
        assert (await approval(bot, 1)).state is ApprovalState.SUCCEEDED


async def test_a_rejected_request_is_edited_and_resubmitted_by_its_requester_only(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        card = await request_issue(bot, "popbill", answers={"buyer_name": "주식회사 오타"})
        await bot.click(card, "approval_reject", user="U_BOB")
        await bot.submit(bot.last_modal(), {"reason": "wrong buyer name"}, user="U_BOB")
        outcome = next(m for m in reversed(bot.dms("U_ALICE")) if "request_resubmit" in text_of(m))
        outcome = {**outcome, "channel": outcome.get("channel") or "D_ALICE"}
        opened = len(bot.slack.calls("views.open"))

        await bot.click(outcome, "request_resubmit", user="U_EVE")
        assert "Only the requester (<@U_ALICE>) may edit and resubmit this request." in told(bot, "U_EVE")
        assert len(bot.slack.calls("views.open")) == opened

        await bot.click(outcome, "request_resubmit", user="U_ALICE")
        form = bot.last_modal()
        assert form["callback_id"] == "invoice_resubmit" and "주식회사 오타" in text_of(form)
        response = await bot.submit(form, {"buyer_name": "주식회사 구매자"}, user="U_ALICE")
        assert response.status_code == 200 and not response.text, response.text

        new = await approval(bot, 2)
        assert new.resubmits_request_id == 1 and new.state is ApprovalState.PENDING and new.requester == "U_ALICE"
        assert "Replaces request #1 (INV-000001)" in text_of(bot.cards()[-1])
        assert "주식회사 구매자" in text_of(bot.cards()[-1])

        await bot.click(outcome, "request_resubmit", user="U_ALICE")
        assert "already resubmitted as request #2" in told(bot, "U_ALICE")
