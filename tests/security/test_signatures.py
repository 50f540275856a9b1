"""Requests that do not carry a valid Slack signature are refused with 401 before any
listener runs: no Slack call, no database change, no provider call.

Slack signs ``v0:<timestamp>:<body>`` with the signing secret and the bot accepts a
timestamp within five minutes either way. Inside that window an exact replay carries a
valid signature, and Slack's scheme accepts it by design; Bolt does not deduplicate, but the
bot does: every state-changing request claims a replay key in the database before its work
(`tests/security/test_replays.py`), and behind that the state machine still holds:

* a replayed decision click does nothing and is told where the request stands ("already
  approved"); even without the key, compare-and-set allows no second provider call;
* a replayed slash command (destroy) or issue-form submission is "already handled".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.console.slack_requests import SignedRequest, SlackRequestFactory
from commands.ledger import ApprovalState
from tests.app.harness import APPROVALS, FINANCE, BotHarness, running_bot, text_of
from tests.faults.flows import BUYER, issue_approved, issue_calls, request_issue, requests_at

FIVE_MINUTES = 300


async def footprint(bot: BotHarness) -> tuple[int, int, int, int]:
    """(Slack calls, approval rows, audit rows, provider requests): what any effect would change."""
    store = bot.runtime.store
    provider_requests = sum(len(requests_at(bot, p)) for p in ("popbill", "payssam", "hiworks", "abillify"))
    return (len(bot.slack.calls()), len(await store.approvals.search(limit=10_000)),
            len(await store.audit.search(limit=100_000)), provider_requests)


def forged(bot: BotHarness, card: dict[str, object], factory: SlackRequestFactory,
           timestamp: int | None) -> dict[str, Callable[[], SignedRequest]]:
    """One builder per kind of Slack request, signed by `factory` at `timestamp`."""
    from bot.console.render import build_view_state, modal_to_prompts

    modal = bot.last_modal()
    return {
        "slash command": lambda: factory.slash_command(
            "destroy INV-000001 wrong buyer", user_id="U_ALICE", channel_id=FINANCE,
            response_url=bot.slack.response_url(channel=FINANCE), timestamp=timestamp),
        "approve click": lambda: factory.block_action(
            user_id="U_BOB", action_id="approval_approve", value="2", block_id="approval_actions",
            channel_id=APPROVALS, message=card, response_url=bot.slack.response_url(channel=APPROVALS),
            timestamp=timestamp),
        "issue form": lambda: factory.view_submission(
            user_id="U_ALICE", view=modal, values=build_view_state(modal_to_prompts(modal), BUYER),
            timestamp=timestamp),
        "event": lambda: factory.app_home_opened("U_BOB", timestamp=timestamp),
    }


WRONG_SECRET = SlackRequestFactory("not-the-signing-secret-0123456789")
#: case -> (factory to sign with, None: the bot's; timestamp offset from now in seconds)
CASES: dict[str, tuple[SlackRequestFactory | None, int]] = {
    "unsigned": (None, 0),
    "signed with another secret": (WRONG_SECRET, 0),
    "stale (5 min 10 s old)": (None, -FIVE_MINUTES - 10),
    "from the future (5 min 10 s ahead)": (None, FIVE_MINUTES + 10),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_request_without_a_valid_signature_is_refused_and_has_no_effect(tmp_path: Path, case: str) -> None:
    async with running_bot(tmp_path) as bot:
        await issue_approved(bot, "popbill")  # INV-000001 issued, so a destroy would do something
        card = await request_issue(bot, "popbill")  # request #2 waits for approval
        factory, offset = CASES[case]
        before = await footprint(bot)

        for name, build in forged(bot, card, factory or bot.factory, int(time.time()) + offset).items():
            request = build()
            headers = {"Content-Type": request.content_type} if case == "unsigned" else request.headers
            response = await bot.send(SignedRequest(request.body, headers, request.content_type))
            assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"

        assert await footprint(bot) == before
        waiting = await bot.runtime.store.approvals.get(2)
        assert waiting is not None and waiting.state is ApprovalState.PENDING


async def test_the_signature_window_is_five_minutes_either_way(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        for offset in (-FIVE_MINUTES + 5, FIVE_MINUTES - 5):
            request = bot.factory.slash_command("help", user_id="U_ALICE", channel_id=FINANCE,
                                                response_url=bot.slack.response_url(channel=FINANCE),
                                                timestamp=int(time.time()) + offset)
            assert (await bot.send(request)).status_code == 200


async def test_a_replayed_approve_click_cannot_cause_a_second_provider_call(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        card = await request_issue(bot, "popbill")
        click = bot.factory.block_action(
            user_id="U_BOB", action_id="approval_approve", value="1", block_id="approval_actions",
            channel_id=APPROVALS, message=card, response_url=bot.slack.response_url(channel=APPROVALS))

        first = await bot.send(click)
        replay = await bot.send(click)

        assert (first.status_code, replay.status_code) == (200, 200)
        assert len(issue_calls(bot, "popbill")) == 1
        assert "already approved by <@U_BOB>" in text_of(bot.ephemerals("U_BOB")[-1])
        record = await bot.runtime.store.approvals.get(1)
        assert record is not None and record.state is ApprovalState.SUCCEEDED and record.attempts == 1


async def test_a_replayed_destroy_command_is_refused_while_the_first_is_open(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await issue_approved(bot, "popbill")
        command = bot.factory.slash_command("destroy INV-000001 wrong buyer", user_id="U_ALICE",
                                            channel_id=FINANCE, response_url=bot.slack.response_url(channel=FINANCE))

        await bot.send(command)
        await bot.send(command)

        destroys = [a for a in await bot.runtime.store.approvals.search(document_id=1) if a.action.value == "destroy"]
        assert len(destroys) == 1
        assert "already handled" in text_of(bot.replies()[-1])


async def test_a_replayed_issue_form_adds_no_request(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.command("issue popbill tax")
        modal = bot.last_modal()
        from bot.console.render import build_view_state, modal_to_prompts

        submission = bot.factory.view_submission(user_id="U_ALICE", view=modal,
                                                 values=build_view_state(modal_to_prompts(modal), BUYER))
        await bot.send(submission)
        await bot.send(submission)

        approvals = await bot.runtime.store.approvals.search()
        assert [a.state for a in approvals] == [ApprovalState.PENDING]
        assert issue_calls(bot, "popbill") == [], "nothing is sent without an approver's click"
