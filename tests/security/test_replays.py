"""An exact, validly signed request replayed inside Slack's five-minute window has no second
effect: the issue form, `/invoice resend`, an approve click, a reject form, and an event Slack
redelivers (``X-Slack-Retry-Num``). The replay key is in the database, so it holds for every
replica sharing it."""

from __future__ import annotations

from pathlib import Path

from bot.console.render import build_view_state, modal_to_prompts
from commands.ledger import ApprovalAction, ApprovalState
from commands.slack.ids import REJECT_CALLBACK_ID, REJECT_REASON_ACTION_ID, REJECT_REASON_BLOCK_ID
from tests.app.harness import APPROVALS, FINANCE, running_bot, text_of
from tests.faults.flows import BUYER, FAST, issue_approved, issue_calls, request_issue, requests_at


async def test_a_replayed_issue_form_creates_one_request_and_one_card(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.command("issue popbill tax")
        modal = bot.last_modal()
        submission = bot.factory.view_submission(user_id="U_ALICE", view=modal,
                                                 values=build_view_state(modal_to_prompts(modal), BUYER))

        first = await bot.send(submission)
        replay = await bot.send(submission)

        assert (first.status_code, replay.status_code) == (200, 200)
        assert len(await bot.runtime.store.approvals.search()) == 1
        assert len(await bot.runtime.store.documents.search()) == 1
        assert len(bot.cards()) == 1


async def test_the_same_form_with_other_values_is_a_new_request(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.command("issue popbill tax")
        modal = bot.last_modal()
        for name in ("주식회사 하나", "주식회사 둘"):
            values = build_view_state(modal_to_prompts(modal), {**BUYER, "buyer_name": name})
            await bot.send(bot.factory.view_submission(user_id="U_ALICE", view=modal, values=values))

        assert len(await bot.runtime.store.approvals.search()) == 2


async def test_a_replayed_resend_command_resends_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        await issue_approved(bot, "popbill")
        before = len(requests_at(bot, "popbill"))
        command = bot.factory.slash_command("resend INV-000001 email buyer@example.com", user_id="U_ALICE",
                                            channel_id=FINANCE, response_url=bot.slack.response_url(channel=FINANCE))

        await bot.send(command)
        sent = len(requests_at(bot, "popbill")) - before
        await bot.send(command)

        resends = [a for a in await bot.runtime.store.approvals.search(document_id=1)
                   if a.action is ApprovalAction.RESEND]
        assert len(resends) == 1 and resends[0].state is ApprovalState.SUCCEEDED
        assert sent >= 1 and len(requests_at(bot, "popbill")) - before == sent, "the replay reached the provider"
        assert "already handled" in text_of(bot.replies()[-1])


async def test_a_replayed_approve_click_is_answered_and_does_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        card = await request_issue(bot, "popbill")
        click = bot.factory.block_action(
            user_id="U_BOB", action_id="approval_approve", value="1", block_id="approval_actions",
            channel_id=APPROVALS, message=card, response_url=bot.slack.response_url(channel=APPROVALS))
        await bot.send(click)
        audit_rows = len(await bot.runtime.store.audit.search(limit=10_000))

        await bot.send(click)

        assert len(issue_calls(bot, "popbill")) == 1
        assert len(await bot.runtime.store.audit.search(limit=10_000)) == audit_rows, "the replay was recorded"
        answer = text_of(bot.ephemerals("U_BOB")[-1])
        assert "Already handled" in answer and "already approved by <@U_BOB>" in answer


async def test_a_replayed_reject_form_decides_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await request_issue(bot, "popbill")
        view = {"id": "V_REJECT_1", "type": "modal", "callback_id": REJECT_CALLBACK_ID, "private_metadata": "1",
                "blocks": []}
        values = {REJECT_REASON_BLOCK_ID: {REJECT_REASON_ACTION_ID: {"type": "plain_text_input",
                                                                    "value": "wrong amount"}}}
        submission = bot.factory.view_submission(user_id="U_BOB", view=view, values=values)

        await bot.send(submission)
        updates = len(bot.calls("chat.update"))
        await bot.send(submission)

        record = await bot.runtime.store.approvals.get(1)
        assert record is not None and record.state is ApprovalState.REJECTED
        assert len(bot.calls("chat.update")) == updates


async def test_slack_retrying_an_event_is_handled_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        first = bot.factory.app_home_opened("U_BOB", event_id="Ev0000RETRY")
        retry = bot.factory.app_home_opened("U_BOB", event_id="Ev0000RETRY", retry_num=1)

        await bot.send(first)
        published = len(bot.calls("views.publish"))
        response = await bot.send(retry)

        assert response.status_code == 200
        assert published == 1 and len(bot.calls("views.publish")) == 1
