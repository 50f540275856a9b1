"""StepRepo: a step execution is claimed once per delivery and finished once across processes."""

from __future__ import annotations

import asyncio

from commands.ledger import ApprovalAction, Store
from tests.commands.ledger.factories import new_document


async def test_an_execution_is_claimed_once_and_finished_once(store: Store) -> None:
    claims = await asyncio.gather(*(store.steps.claim("Fx1", "request_invoice", bot_token="xwfp-1", team_id="T1",
                                                      enterprise_id=None) for _ in range(5)))
    assert claims.count(True) == 1
    approval = await store.approvals.create(action=ApprovalAction.ISSUE, document_id=await new_document(store),
                                            requester="U_ALICE")
    await store.steps.attach("Fx1", approval.id)
    assert [r.function_execution_id for r in await store.steps.open_for(approval.id)] == ["Fx1"]
    assert [r.function_execution_id for r in await store.steps.open_waiting()] == ["Fx1"]

    winners = await asyncio.gather(*(store.steps.finish("Fx1") for _ in range(5)))
    won = [w for w in winners if w is not None]
    assert len(won) == 1 and won[0].bot_token == "xwfp-1"  # the winner gets the token to complete with
    after = await store.steps.get("Fx1")
    assert after is not None and after.state == "done" and after.bot_token is None and after.completed_at
    assert await store.steps.open_for(approval.id) == []


async def test_a_completion_slack_did_not_take_is_reopened_with_its_token(store: Store) -> None:
    await store.steps.claim("Fx2", "wait_for_approval", bot_token="xwfp-2", team_id=None, enterprise_id=None)
    record = await store.steps.finish("Fx2")
    assert record is not None
    await store.steps.reopen(record)
    again = await store.steps.get("Fx2")
    assert again is not None and again.is_open and again.bot_token == "xwfp-2"
    assert await store.steps.open_waiting() == []  # not attached to a request: nothing to sweep
