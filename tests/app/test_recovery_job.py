"""Every replica looks for executions a dead replica left, on `INVOICEBOT_RECOVER_INTERVAL_SECONDS`.

Before, a survivor only took a dead replica's execution over at the next expiry sweep (every
five minutes) or its own restart; with replicas behind a load balancer nobody restarts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import httpx
from sqlalchemy import update

from bot.runtime import RECOVERY_JOB_ID
from commands.ledger import ApprovalState
from commands.ledger.schema import approval_requests
from tests.app.harness import running_bot
from tests.app.test_flows import issue


async def test_an_execution_left_by_a_dead_replica_is_taken_over_on_the_interval(tmp_path: Path) -> None:
    async with running_bot(tmp_path, invoicebot_recover_interval_seconds=0.3,
                           invoicebot_executing_stale_seconds=0.5) as bot:
        assert RECOVERY_JOB_ID in {job.id for job in bot.runtime.scheduler.jobs()}  # type: ignore[union-attr]
        card = await issue(bot, "popbill", "tax_invoice")
        await bot.click(card, "approval_approve", user="U_BOB")
        (approval,) = await bot.runtime.store.approvals.search(states=ApprovalState.SUCCEEDED)
        # what a replica killed mid-call leaves behind: executing, started long ago
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        async with bot.runtime.store.engine.begin() as conn:
            await conn.execute(update(approval_requests).where(approval_requests.c.id == approval.id)
                               .values(state=ApprovalState.EXECUTING.value, started_at=long_ago))
        for _ in range(50):
            current = await bot.runtime.store.approvals.get(approval.id)
            if current is not None and current.state is ApprovalState.SUCCEEDED:
                break
            await asyncio.sleep(0.1)
        assert current is not None and current.state is ApprovalState.SUCCEEDED
        assert current.attempts == approval.attempts + 1, "taken over once, by compare-and-set"
        async with httpx.AsyncClient(timeout=10) as http:
            state = (await http.get(bot.sandbox("popbill").base_url + "/_sandbox/state")).json()
        ours = [d for d in state["documents"] if str(d["mgtKey"]).startswith("INV-")]
        assert len(ours) == 1, "the provider was asked before sending again"
