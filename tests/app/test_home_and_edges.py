"""App Home buttons, the digest's reminder, and the edges of Slack itself: an upload refused,
a trigger that expired, a retry by approval id."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from commands.ledger import utc_now
from commands.ledger.schema import approval_requests
from commands.slack.ids import CLOSURE_BLOCK_ID
from providers.sandbox.base import FaultRule
from tests.app.harness import BotHarness, text_of
from tests.app.test_flows import BUYER, issue, last_reply


async def click_home(bot: BotHarness, user: str, action_id: str) -> None:
    await bot.send(bot.factory.app_home_opened(user))
    view = bot.slack.calls("views.publish")[-1].response["view"]
    button = next(e for b in view["blocks"] for e in b.get("elements", []) or [] if e.get("action_id") == action_id)
    await bot.send(bot.factory.block_action(user_id=user, action_id=action_id, value=button.get("value"),
                                            view=view))


async def test_the_home_issue_button_opens_the_issue_form(bot: BotHarness) -> None:
    await click_home(bot, "U_ALICE", "home_issue")
    modal = bot.last_modal()
    assert modal["callback_id"] == "invoice_issue"
    await bot.submit(modal, {**BUYER, "provider": "payssam", "kind": "bill"}, user="U_ALICE")
    assert "INV-000001" in text_of(bot.cards()[-1])


async def test_the_home_closure_button_checks_numbers_and_answers_in_a_dm(bot: BotHarness) -> None:
    await click_home(bot, "U_ALICE", "home_closure")
    modal = bot.last_modal()
    assert modal["callback_id"] == "closure_check_modal"
    refused = await bot.submit(modal, {CLOSURE_BLOCK_ID: "not a number"}, user="U_ALICE")
    assert refused.json()["response_action"] == "errors"
    await bot.submit(modal, {CLOSURE_BLOCK_ID: "123-12-12312\n679-87-00433"}, user="U_ALICE")
    answer = "\n".join(text_of(m) for m in bot.dms("U_ALICE"))
    assert "closed" in answer and "123-12-12312" in answer and "active" in answer


async def test_the_approve_button_in_the_app_home_issues(bot: BotHarness) -> None:
    await issue(bot, "popbill", "tax_invoice")
    await click_home(bot, "U_BOB", "approval_approve")
    assert "Approved and done" in text_of(bot.cards()[-1])
    assert len(bot.sandbox("popbill").requests_to(r"^/Taxinvoice$", "POST")) == 1


async def test_the_digest_reminder_resends_an_overdue_bill(bot: BotHarness) -> None:
    card = await issue(bot, "payssam", "bill")
    await bot.click(card, "approval_approve", user="U_BOB")
    reminder = {"channel": "C_FINANCE", "ts": "1.0", "blocks": [{"type": "actions", "block_id": "r", "elements": [
        {"type": "button", "action_id": "reminder_resend", "value": "INV-000001",
         "text": {"type": "plain_text", "text": "Resend"}}]}]}
    await bot.click(reminder, "reminder_resend", user="U_CAROL")
    assert len(bot.sandbox("payssam").requests_to(r"/bill/resend$", "POST")) == 1
    assert any("resent" in text_of(e) for e in bot.ephemerals(user="U_CAROL"))


async def test_an_export_slack_refuses_to_upload_says_what_to_do(bot: BotHarness) -> None:
    bot.slack.fail_next("files.getUploadURLExternal", error="not_in_channel")
    await bot.command("export", user="U_BOB")
    reply = last_reply(bot)
    assert "could not be uploaded" in reply and "not_in_channel" in reply and "direct messages" in reply


async def test_an_expired_trigger_tells_the_user_to_type_the_command_again(bot: BotHarness) -> None:
    bot.slack.fail_next("views.open", error="expired_trigger_id")
    await bot.command("issue popbill")
    reply = last_reply(bot)
    assert "expired_trigger_id" in reply and "Type the command again" in reply


async def test_retry_by_approval_id_and_by_a_stranger(bot: BotHarness) -> None:
    card = await issue(bot, "payssam", "bill")
    bot.slack.fail_next("chat.update", error="ratelimited", retry_after=1)  # Slack hiccups: still updated
    payssam = bot.sandbox("payssam")
    assert bot.runtime.providers.thread is not None
    bot.runtime.providers.thread.call(lambda: payssam.add_fault(FaultRule(kind="503", path=r"/bill$", count=5)))
    await bot.click(card, "approval_approve", user="U_BOB")
    assert "failed" in text_of(bot.cards()[-1])
    bot.runtime.providers.thread.call(payssam.clear_faults)
    await bot.command("retry 1", user="U_MALLORY")
    assert "Only the requester (<@U_ALICE>) or approvers" in last_reply(bot)
    await bot.command("retry 1", user="U_ALICE")
    assert last_reply(bot).startswith("✅") or "✅" in last_reply(bot)
    assert "Approved and done" in text_of(bot.cards()[-1])


async def test_an_expired_request_cannot_be_approved(bot: BotHarness) -> None:
    card = await issue(bot, "popbill", "tax_invoice")
    past = utc_now() - dt.timedelta(minutes=1)
    async with bot.runtime.store.engine.begin() as conn:  # a day went by without a decision
        await conn.execute(sa.update(approval_requests).where(approval_requests.c.id == 1).values(expires_at=past))
    await bot.click(card, "approval_approve", user="U_BOB")
    assert "expired" in text_of(bot.ephemerals(user="U_BOB")[-1])
    assert bot.sandbox("popbill").requests_to(r"^/Taxinvoice$", "POST") == []
    assert "approval_approve" not in text_of(bot.cards()[-1])  # the card says expired, without buttons
