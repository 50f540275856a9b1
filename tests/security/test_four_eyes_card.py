"""The card states the four-eyes rule only where it holds: with INVOICEBOT_FOUR_EYES=false a
requester may approve their own request, and the card must not say otherwise."""

from __future__ import annotations

from pathlib import Path

from commands.ledger import ApprovalState
from tests.app.harness import running_bot, text_of
from tests.faults.flows import approval, request_issue

OWN_REQUEST_NOTE = "You cannot approve your own request"


async def test_without_four_eyes_the_card_does_not_forbid_approving_your_own_request(tmp_path: Path) -> None:
    async with running_bot(tmp_path, invoicebot_four_eyes=False, invoicebot_approvers="U_ALICE") as bot:
        card = await request_issue(bot, "popbill")

        assert OWN_REQUEST_NOTE not in text_of(card)
        await bot.click(card, "approval_approve", user="U_ALICE")
        assert (await approval(bot, 1)).state is ApprovalState.SUCCEEDED


async def test_with_four_eyes_the_card_says_so(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        assert OWN_REQUEST_NOTE in text_of(await request_issue(bot, "popbill"))
