"""Popbill's token service (LinkHub) answering 5xx is a temporary outage, not bad credentials.

Before, a LinkHub 500 became `ProviderRejected` with the hint "Check the Popbill LinkID and
SecretKey", the request failed for good, and `/invoice retry` said there was nothing to retry.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.ledger import ApprovalState
from providers.sandbox.base import FaultRule
from tests.app.harness import BotHarness, running_bot, text_of
from tests.faults.flows import FAST, add_fault, approval, card_now, issue_calls, request_issue

TOKEN_PATH = r"/Token$"


def shown_since(bot: BotHarness, since: int) -> str:
    return "\n".join(text_of(c.args) for c in bot.slack.calls()[since:]
                     if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url"))


@pytest.mark.parametrize("kind", ["500", "html"])
async def test_a_token_service_outage_is_retryable_and_retry_issues_once_it_is_back(tmp_path: Path,
                                                                                  kind: str) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        card = await request_issue(bot, "popbill")
        add_fault(bot, "popbill", FaultRule(kind=kind, path=TOKEN_PATH, count=10))
        since = len(bot.slack.calls())

        await bot.click(card, "approval_approve", user="U_BOB")

        failed = await approval(bot, 1)
        assert failed.state is ApprovalState.FAILED and failed.retryable, (failed.state, failed.retryable)
        told = shown_since(bot, since) + text_of(card_now(bot, card))
        assert "LinkID" not in told and "SecretKey" not in told, told
        assert "temporarily unavailable" in told, told
        assert issue_calls(bot, "popbill") == []

        thread = bot.runtime.providers.thread
        assert thread is not None
        thread.call(bot.sandbox("popbill").clear_faults)
        await bot.command("retry INV-000001", user="U_ALICE")

        done = await approval(bot, 1)
        assert done.state is ApprovalState.SUCCEEDED, (done.state, text_of(bot.replies()[-1]))
        assert len(issue_calls(bot, "popbill")) == 1
