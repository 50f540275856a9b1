"""Retry and recovery: run a request again, always reconciling with the provider first.

`retry` is a person asking again after a failure or an unknown outcome; `recover` is the
bot finishing what a crash interrupted (at start-up, then periodically). Both take the
approval back to ``executing`` by compare-and-set, so two instances never run it twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from commands.i18n import _
from commands.ledger import ApprovalAction, ApprovalRecord, ApprovalState, AuditKind, AuditOperation
from commands.workflow.context import SYSTEM_ACTOR, WorkflowContext
from commands.workflow.errors import Conflict, NotAllowed
from commands.workflow.execution import drive, execute, not_executed
from commands.workflow.queries import stored_document
from commands.workflow.views import ExecutionResult
from commands.workflow.workspaces import current_scope, visible

__all__ = ["recover", "retry", "retry_document"]

#: requests `recover` drives at once after a crash
_RECOVER_CONCURRENCY = 8


async def retry(ctx: WorkflowContext, approval_id: int, actor: str) -> ExecutionResult:
    """Try a failed-but-retryable or unknown request again, reconciling with the provider first."""
    approval = await ctx.approval(approval_id)
    if actor != approval.requester and not await ctx.policy.is_approver(actor):
        raise NotAllowed(_("only the requester or an approver can retry a request"))
    if approval.state in (ApprovalState.EXECUTING, ApprovalState.SUCCEEDED):
        # a double click on "Retry", or someone else's retry: report it, do not fail
        return await not_executed(ctx, approval)
    if approval.state not in (ApprovalState.FAILED, ApprovalState.UNKNOWN) or not approval.retryable:
        hint = None
        if approval.action is ApprovalAction.ISSUE and approval.state is ApprovalState.FAILED:
            hint = _("the provider refused it: fix the request and issue a new document")
        raise Conflict(
            _("{action} request #{id} is {state} and cannot be retried").format(
                action=approval.action.value, id=approval.id, state=approval.state.value),
            user_hint=hint,
        )
    now = ctx.clock()
    moved = await ctx.move(
        approval_id, expected=(ApprovalState.FAILED, ApprovalState.UNKNOWN), to=ApprovalState.EXECUTING,
        now=now, retryable_only=True, count_attempt=True, started_at=now,
    )
    if not moved:
        return await not_executed(ctx, await ctx.approval(approval_id))
    await ctx.audit_approval(approval, actor=actor, kind=AuditKind.COMMAND,
                             operation=AuditOperation.of(approval.action, "retry"), now=now)
    return await drive(ctx, approval_id, mode="retry")


async def retry_document(ctx: WorkflowContext, ref_text: str, actor: str) -> ExecutionResult:
    """`retry` the latest retryable request of a document."""
    doc = await stored_document(ctx, ref_text)
    candidates = await ctx.store.approvals.search(
        states=(ApprovalState.FAILED, ApprovalState.UNKNOWN), document_id=doc.id
    )
    scope = current_scope()  # a retry from one workspace never runs another's request on the document
    retryable = [a for a in candidates if a.retryable and visible(a.team_id, scope)]
    if not retryable:
        raise Conflict(_("{ref} has no failed request that can be retried").format(ref=doc.ref))
    return await retry(ctx, retryable[-1].id, actor)


async def recover(ctx: WorkflowContext) -> list[ExecutionResult]:
    """Execute approved requests, then take over executions older than `executing_stale_after`."""
    slots = asyncio.Semaphore(_RECOVER_CONCURRENCY)  # each request is its own provider round trip

    async def run_approved(approval: ApprovalRecord) -> ExecutionResult:
        async with slots:
            return await execute(ctx, approval.id)

    async def run_stuck(approval: ApprovalRecord, now: dt.datetime) -> ExecutionResult | None:
        async with slots:
            return await _take_over(ctx, approval, now)

    approved = await ctx.store.approvals.search(states=ApprovalState.APPROVED, limit=500)
    results = list(await asyncio.gather(*(run_approved(a) for a in approved)))
    now = ctx.clock()
    stuck = await ctx.store.approvals.search(
        states=ApprovalState.EXECUTING, started_before=now - ctx.policy.executing_stale_after, limit=500
    )
    taken_over = await asyncio.gather(*(run_stuck(a, now) for a in stuck))
    results.extend(r for r in taken_over if r is not None)
    return results


async def _take_over(ctx: WorkflowContext, approval: ApprovalRecord, now: dt.datetime) -> ExecutionResult | None:
    """Drive a stale execution whose process died; None when another instance took it first.

    The take-over is a compare-and-set on the attempt count, so it happens exactly once, and
    the run reconciles with the provider before anything is sent again.
    """
    taken = await ctx.move(
        approval.id, expected=ApprovalState.EXECUTING, to=ApprovalState.EXECUTING,
        now=now, attempts_seen=approval.attempts, count_attempt=True, started_at=now,
    )
    if not taken:
        return None
    await ctx.audit_approval(approval, actor=SYSTEM_ACTOR, kind=AuditKind.SYSTEM,
                             operation=AuditOperation.of(approval.action, "recover"),
                             detail={"started_at": approval.started_at, "attempts": approval.attempts}, now=now)
    return await drive(ctx, approval.id, mode="recover")
