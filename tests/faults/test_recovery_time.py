"""A request left behind is picked up within 30 s by default: one approved but never run (the
card update that used to run first failed), and one whose executing process died mid-call.
A provider call that is merely slow renews its claim and is not taken over."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import pytest

from commands.ledger import ApprovalState, utc_now
from providers.sandbox.base import FaultRule
from tests.app.harness import BotHarness, running_bot
from tests.faults.flows import FAST, add_fault, approval, audit, issue_calls, request_issue

pytestmark = pytest.mark.slow  # waits for the recovery job in real time

#: what "under 30 s" is measured against
RECOVERY_BUDGET = 30.0
#: how long before the test starts waiting the dead execution last renewed its claim (less than
#: the default 20 s stale age, so the takeover is still ahead and still timed)
DIED_AGO = 15.0


async def _seconds_until_done(bot: BotHarness, approval_id: int, budget: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < budget:
        if (await approval(bot, approval_id)).state is ApprovalState.SUCCEEDED:
            return time.monotonic() - started
        await asyncio.sleep(0.25)
    raise AssertionError(f"request {approval_id} still {(await approval(bot, approval_id)).state} after {budget} s")


async def test_an_approved_request_nobody_ran_is_run_within_seconds(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        await request_issue(bot, "popbill")
        store = bot.runtime.store
        assert await store.approvals.transition(1, expected=ApprovalState.PENDING, to=ApprovalState.APPROVED,
                                                decider="U_BOB", decided_at=utc_now())

        took = await _seconds_until_done(bot, 1, RECOVERY_BUDGET)

        assert took < 10, f"took {took:.1f} s"
        assert len(issue_calls(bot, "popbill")) == 1


async def test_an_execution_whose_process_died_is_taken_over_within_30_s(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **FAST) as bot:  # the default INVOICEBOT_EXECUTING_STALE_SECONDS
        await request_issue(bot, "popbill")
        store = bot.runtime.store
        # the process died DIED_AGO before the test looks: the clock of "within 30 s" starts at
        # its last claim (started_at), which is all the recovery job reads, so the test waits the rest only
        now = utc_now() - dt.timedelta(seconds=DIED_AGO)
        assert await store.approvals.transition(1, expected=ApprovalState.PENDING, to=ApprovalState.APPROVED,
                                                decider="U_BOB", decided_at=now)
        # what a process killed mid-call leaves: executing, attempt 1, nobody renewing the claim
        assert await store.approvals.transition(1, expected=ApprovalState.APPROVED, to=ApprovalState.EXECUTING,
                                                count_attempt=True, started_at=now)

        took = DIED_AGO + await _seconds_until_done(bot, 1, RECOVERY_BUDGET + 10 - DIED_AGO)

        print(f"stuck execution recovered {took:.1f} s after its process died")
        assert took < RECOVERY_BUDGET, f"took {took:.1f} s"
        assert len(issue_calls(bot, "popbill")) == 1


async def test_a_slow_provider_call_renews_its_claim_and_is_not_taken_over(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **{**FAST, "provider_read_timeout": 15.0},
                           invoicebot_executing_stale_seconds=3.0) as bot:
        card = await request_issue(bot, "popbill")
        add_fault(bot, "popbill", FaultRule(kind="latency", path=r"^/Taxinvoice$", method="POST", ms=9000))

        await bot.click(card, "approval_approve", user="U_BOB")

        assert (await approval(bot, 1)).state is ApprovalState.SUCCEEDED
        assert len(issue_calls(bot, "popbill")) == 1
        assert not [e for e in await audit(bot, 1) if "recover" in str(e.operation)], "a live call was taken over"
