"""The context: every approval move is one the ledger's transition table declares."""

from __future__ import annotations

import pytest

from commands.ledger import ApprovalState
from tests.commands.workflow.conftest import APPROVER, CHANNEL, REQUESTER, Env, make_draft


async def test_a_move_outside_the_transition_table_is_refused_before_the_database(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    ctx = env.service.context

    with pytest.raises(ValueError, match="has no move pending → succeeded"):
        await ctx.move(approval.id, expected=ApprovalState.PENDING, to=ApprovalState.SUCCEEDED)
    with pytest.raises(ValueError, match="has no move rejected → executing"):
        await ctx.move(approval.id, expected=(ApprovalState.FAILED, ApprovalState.REJECTED), to=ApprovalState.EXECUTING)

    assert (await env.service.get_approval(approval.id)).state is ApprovalState.PENDING


async def test_a_declared_move_is_a_compare_and_set(env: Env) -> None:
    approval = await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)
    ctx = env.service.context

    assert await ctx.move(approval.id, expected=ApprovalState.PENDING, to=ApprovalState.APPROVED, decider=APPROVER)
    assert not await ctx.move(approval.id, expected=ApprovalState.PENDING, to=ApprovalState.REJECTED)
    assert (await env.service.get_approval(approval.id)).state is ApprovalState.APPROVED


def test_unknown_approval_actions_are_a_configuration_error(env: Env) -> None:
    with pytest.raises(ValueError, match="unknown approval actions"):
        env.make_service(approval_actions={"issue", "refund"})
