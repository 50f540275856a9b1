"""Slack answers 429 with Retry-After: the Web API client waits that long and tries again,
so the approval card and its update still reach the channel, and nothing is issued twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.ledger import ApprovalState
from tests.app.harness import running_bot, text_of
from tests.faults.flows import FAST, approval, card_now, issue_calls, request_issue, sandbox_documents

pytestmark = pytest.mark.slow  # waits out Slack's Retry-After


async def test_a_rate_limited_card_is_posted_after_retry_after(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        bot.slack.fail_next("chat.postMessage", 1, error="ratelimited", retry_after=1)

        card = await request_issue(bot, "popbill")

        attempts = bot.calls("chat.postMessage")
        refused, posted = attempts[0], attempts[1]
        assert refused.status == 429 and refused.response.get("error") == "ratelimited"
        assert posted.ok and posted.args["channel"] == card["channel"]
        assert posted.at - refused.at >= 1.0, "the client waited for Retry-After: 1"
        assert len(bot.cards()) == 1
        record = await approval(bot, 1)
        assert record.message_ts == card["ts"], "the card that finally went out is the one the bot updates"


async def test_a_rate_limited_card_update_still_shows_the_outcome_and_issues_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        card = await request_issue(bot, "payssam")
        bot.slack.fail_next("chat.update", 1, error="ratelimited", retry_after=1)

        await bot.click(card, "approval_approve", user="U_BOB")

        updates = bot.calls("chat.update")
        assert updates[0].status == 429 and updates[1].ok
        assert updates[1].at - updates[0].at >= 1.0
        assert "✅ Approved and done" in text_of(card_now(bot, card))
        assert (await approval(bot, 1)).state is ApprovalState.SUCCEEDED
        assert len(issue_calls(bot, "payssam")) == 1
        assert sandbox_documents(bot, "payssam", "INV-000001") == 1
