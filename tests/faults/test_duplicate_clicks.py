"""A thousand concurrent Approve clicks on fifty requests (several approvers at once, and
the same signed payload sent again, as a double submit or a retried delivery would) end
in exactly fifty provider issuances: decisions are compare-and-set rows, not messages."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from bot.console.app import settle_tasks
from commands.ledger import ApprovalState
from tests.app.harness import running_bot
from tests.faults.flows import FAST, create_requests, issue_calls, sandbox_documents

pytestmark = pytest.mark.slow  # a thousand duplicate clicks through the app

REQUESTS = 50
CLICKS = 1000
APPROVERS = ("U_BOB", "U_CAROL", "U_DAVE")  # U_DAVE approves through the S_FINANCE_LEADS group


async def test_a_thousand_duplicate_approvals_issue_each_document_exactly_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        cards = await create_requests(bot, REQUESTS, "popbill")
        # one signed click per (card, approver); each is then delivered several times verbatim
        signed = []
        for card, approver in itertools.product(cards, APPROVERS):
            signed.append(bot.factory.block_action(
                user_id=approver, action_id="approval_approve", value=str(_approval_id(card)),
                block_id="approval_actions", channel_id=str(card["channel"]), message=card,
                response_url=bot.slack.response_url(channel=str(card["channel"]), ts=str(card["ts"]))))
        deliveries = [signed[i % len(signed)] for i in range(CLICKS)]

        responses = await asyncio.gather(*(bot.send(request, settle=False) for request in deliveries))
        await settle_tasks(120)

        assert [r.status_code for r in responses] == [200] * CLICKS
        approvals = await bot.runtime.store.approvals.search(limit=REQUESTS + 1)
        assert len(approvals) == REQUESTS
        assert {a.state for a in approvals} == {ApprovalState.SUCCEEDED}
        assert all(a.attempts == 1 for a in approvals), "each request was executed once"
        assert len(issue_calls(bot, "popbill")) == REQUESTS, "exactly one registIssue per request"
        for number in range(1, REQUESTS + 1):
            assert sandbox_documents(bot, "popbill", f"INV-{number:06d}") == 1
        decisions = await bot.runtime.store.audit.search(action="decision", limit=10_000)
        assert sum(1 for e in decisions if e.operation == "approve") == REQUESTS
        # the losers were told the request was already decided, not shown an error
        told = [e["text"] for e in bot.ephemerals()]
        # (a click delivered again verbatim is a replay: "Already handled", and nothing is recorded)
        assert told and all("already approved by" in t or "Already handled" in t for t in told), told[:5]


def _approval_id(card: dict[str, object]) -> int:
    from commands.slack.ids import APPROVE_ACTION_ID
    from tests.app.harness import find_button

    return int(str(find_button(card.get("blocks") or [], APPROVE_ACTION_ID)["value"]))  # type: ignore[arg-type]
