"""Decisions: approve, reject, expire. Exactly one decision per request.

A request may need several distinct approvers (N of M: above the amount threshold, or after a
closure override): each approval is a vote row, unique per (request, approver), and only when the
votes suffice does the row move. A decision moves the approval row by compare-and-set (``pending → approved | rejected |
expired``, see `commands.ledger.vocabulary.TRANSITIONS`): a hundred clicks produce one
winner and ninety-nine "already approved by ..." answers. Authorisation is checked here, on
every call, not in the button that called it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from commands.i18n import _
from commands.ledger import ApprovalAction, ApprovalRecord, ApprovalState, AuditKind, AuditOperation, Lifecycle
from commands.workflow.context import SYSTEM_ACTOR, WorkflowContext, mention
from commands.workflow.errors import NotAllowed, invalid
from commands.workflow.views import ApprovalView, DecisionOutcome, DecisionResult, ExecutionResult

__all__ = ["Executor", "already_decided", "check_decider", "decide", "expire", "expire_stale"]

#: runs an approved request (`commands.workflow.execution.execute` bound to a context)
Executor = Callable[[int], Awaitable[ExecutionResult]]


async def decide(
    ctx: WorkflowContext,
    approval_id: int,
    decider: str,
    approve: bool,
    reason: str | None,
    *,
    execute: Executor | None,
) -> DecisionResult:
    """Approve or reject a pending request; approving runs `execute` when one is given."""
    approval = await ctx.approval(approval_id)
    await _authorise(ctx, approval, decider)
    reason = (reason or "").strip() or None
    if not approve and reason is None:
        raise invalid(_("a reason is required to reject a request"),
                      user_hint=_("say why, so the requester can fix it"))
    now = ctx.clock()
    if approval.state is ApprovalState.PENDING and approval.expires_at is not None and approval.expires_at <= now:
        await expire(ctx, approval, now)
        approval = await ctx.approval(approval_id)
    if approval.state is not ApprovalState.PENDING:
        return await already_decided(ctx, approval)
    if approve and approval.required_approvals > 1:
        waiting = await _count_vote(ctx, approval, decider, now)
        if waiting is not None:
            return waiting
    if not await _record_decision(ctx, approval, decider, approve, reason, now):
        current = await ctx.approval(approval_id)
        if current.state is ApprovalState.PENDING:  # it expired between our read and the update
            await expire(ctx, current, now)
            current = await ctx.approval(approval_id)
        return await already_decided(ctx, current)
    if not approve:
        return DecisionResult(
            outcome=DecisionOutcome.REJECTED,
            message=_("rejected by {user}: {reason}").format(user=mention(decider), reason=reason),
            approval=await ctx.approval_view(approval_id),
        )
    message = _("approved by {user}").format(user=mention(decider))
    if execute is None:
        approved = await ctx.approval_view(approval_id)
        return DecisionResult(outcome=DecisionOutcome.APPROVED, message=message, approval=approved)
    execution = await execute(approval_id)
    return DecisionResult(
        outcome=DecisionOutcome.APPROVED, message=message, approval=execution.approval, execution=execution
    )


async def _count_vote(
    ctx: WorkflowContext, approval: ApprovalRecord, decider: str, now: dt.datetime
) -> DecisionResult | None:
    """Record `decider`'s approval of an N-of-M request; None when the votes now suffice (the caller
    then moves the row by compare-and-set, so however many clicks arrive it runs once).

    The vote's unique (request, approver) key makes a repeated click by one person count once.
    """
    added = await ctx.store.approvals.add_vote(approval.id, decider, now=now)
    voters = await ctx.store.approvals.voters(approval.id)
    needed = approval.required_approvals
    if added:
        await ctx.audit_approval(approval, actor=decider, kind=AuditKind.DECISION, operation=AuditOperation.APPROVE,
                                 outcome="vote", detail={"votes": len(voters), "required": needed}, now=now)
    if len(voters) >= needed:
        return None
    still = needed - len(voters)
    if added:
        message = _("approved by {who}; {n} more approval(s) needed from other approvers").format(
            who=mention(decider), n=still)
    else:
        message = _("you already approved this request; {n} more approval(s) needed from other approvers").format(
            n=still)
    return DecisionResult(outcome=DecisionOutcome.VOTED, message=message,
                          approval=await ctx.approval_view(approval.id))


async def check_decider(ctx: WorkflowContext, approval_id: int, decider: str) -> ApprovalView:
    """The request, when `decider` may decide it; raises `NotAllowed` (and audits it) otherwise.

    Asked before a reject form opens, so nobody types a reason for a decision they cannot make.
    """
    approval = await ctx.approval(approval_id)
    await _authorise(ctx, approval, decider)
    return await ctx.approval_view(approval_id)


async def _authorise(ctx: WorkflowContext, approval: ApprovalRecord, decider: str) -> None:
    """Only an approver decides, and (four eyes) never their own request; refusals are audited."""
    if not await ctx.policy.is_approver(decider):
        await _audit_refusal(ctx, approval, decider, "not_approver")
        raise NotAllowed(
            _("only approvers can approve or reject requests"),
            user_hint=_("ask an approver, or an admin to add you to the approvers"),
        )
    if ctx.policy.four_eyes and decider == approval.requester:
        await _audit_refusal(ctx, approval, decider, "own_request")
        raise NotAllowed(
            _("you made this request, so someone else has to decide it (four-eyes rule)"),
            user_hint=_("ask another approver to look at it"),
        )


async def _record_decision(
    ctx: WorkflowContext, approval: ApprovalRecord, decider: str, approve: bool, reason: str | None, now: dt.datetime
) -> bool:
    """Move the row out of pending (unless it expired or someone else won); True when this call did."""
    to = ApprovalState.APPROVED if approve else ApprovalState.REJECTED
    changes: dict[str, Any] = {"decider": decider, "decided_at": now}
    if not approve:
        changes.update(reason=reason, finished_at=now)
    moved = await ctx.move(approval.id, expected=ApprovalState.PENDING, to=to, now=now, unexpired_at=now, **changes)
    if not moved:
        return False
    await ctx.audit_approval(
        approval, actor=decider, kind=AuditKind.DECISION,
        operation=AuditOperation.APPROVE if approve else AuditOperation.REJECT,
        outcome=to.value, detail={"reason": reason} if reason else None, now=now,
    )
    if not approve and approval.action in (ApprovalAction.ISSUE, ApprovalAction.BULK_ISSUE):
        await _close_documents(ctx, approval, Lifecycle.REJECTED, reason, now)
    if not approve and approval.action is ApprovalAction.AMEND:
        from commands.workflow.amend_exec import close_amendment  # on first use (idle memory)

        await close_amendment(ctx.store, approval, Lifecycle.REJECTED, now)
    return True


async def _close_documents(ctx: WorkflowContext, approval: ApprovalRecord, to: Lifecycle, reason: str | None,
                           now: dt.datetime) -> None:
    """A rejected or expired issue request's documents (a batch's: every row's) will never be issued."""
    ids = [approval.document_id]
    if approval.action is ApprovalAction.BULK_ISSUE:
        ids = await ctx.store.bulk.document_ids(approval.id) or ids
    for document_id in ids:
        await ctx.store.documents.set_lifecycle(document_id, to, expected=Lifecycle.PENDING_APPROVAL, error=reason,
                                                now=now)


async def already_decided(ctx: WorkflowContext, approval: ApprovalRecord) -> DecisionResult:
    """The answer to a click on a request someone already decided (or that expired)."""
    view = await ctx.approval_view(approval)
    if approval.state is ApprovalState.EXPIRED:
        return DecisionResult(
            outcome=DecisionOutcome.EXPIRED,
            message=_("this request expired at {when}; ask the requester to make it again").format(
                when=ctx.policy.local(approval.expires_at)),
            approval=view,
        )
    if approval.state is ApprovalState.REJECTED:
        message = _("already rejected by {user}").format(user=mention(approval.decider))
    else:
        message = _("already approved by {user}").format(user=mention(approval.decider))
    if approval.state not in (ApprovalState.APPROVED, ApprovalState.REJECTED):
        message += f" ({approval.state.value})"
    return DecisionResult(outcome=DecisionOutcome.ALREADY_DECIDED, message=message, approval=view)


async def _audit_refusal(ctx: WorkflowContext, approval: ApprovalRecord, actor: str, why: str) -> None:
    await ctx.audit_approval(approval, actor=actor, kind=AuditKind.DECISION, operation=AuditOperation.REFUSED,
                             outcome=why)


async def expire_stale(ctx: WorkflowContext) -> list[ApprovalView]:
    """Expire pending requests past their deadline; returns them so their cards can be updated."""
    now = ctx.clock()
    expired = []
    for approval in await ctx.store.approvals.search(states=ApprovalState.PENDING, expired_at=now, limit=500):
        if await expire(ctx, approval, now):
            expired.append(await ctx.approval_view(approval.id))
    return expired


async def expire(ctx: WorkflowContext, approval: ApprovalRecord, now: dt.datetime) -> bool:
    """Move a pending request past its deadline to expired; True when this call did."""
    message = _("expired at {when} without a decision").format(when=ctx.policy.local(approval.expires_at))
    moved = await ctx.move(
        approval.id, expected=ApprovalState.PENDING, to=ApprovalState.EXPIRED,
        now=now, finished_at=now, outcome_code="expired", outcome_message=message,
    )
    if not moved:
        return False
    if approval.action in (ApprovalAction.ISSUE, ApprovalAction.BULK_ISSUE):
        await _close_documents(ctx, approval, Lifecycle.EXPIRED, None, now)
    if approval.action is ApprovalAction.AMEND:
        from commands.workflow.amend_exec import close_amendment  # on first use (idle memory)

        await close_amendment(ctx.store, approval, Lifecycle.EXPIRED, now)
    await ctx.audit_approval(approval, actor=SYSTEM_ACTOR, kind=AuditKind.SYSTEM,
                             operation=AuditOperation.of(approval.action, "expire"), outcome="expired", now=now)
    return True

