"""Execution: one send-and-reconcile loop for issue, destroy and resend.

Every provider write first claims an idempotency key in the database. When a write's
outcome is unknown (a timeout after sending, an answer we cannot read), the provider is
asked whether the action happened (`Action.look`) before anything is sent again, and a
retry reuses the same key, which providers use as the document id; at most `MAX_SENDS`
writes go out per execution. When the provider cannot tell, the request is left
``unknown`` with instructions, never silently retried. What differs per action lives in
`commands.workflow.actions`.

While a run is executing it renews its claim (`started_at`) every third of
`executing_stale_after`, so `recover` can treat an execution as dead after a short silence
(20 s by default) without taking over a provider call that is merely slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from enum import Enum

from commands.i18n import _
from commands.ledger import ApprovalAction, ApprovalRecord, ApprovalState, DocumentRecord, IdempotencyState
from commands.workflow.actions import Action, LookableAction, action_for
from commands.workflow.context import WorkflowContext
from commands.workflow.nts_action import SendNtsAction
from commands.workflow.provider_directory import CredentialsUnavailable
from commands.workflow.run import MAX_SENDS, Mode, Run, request_digest
from commands.workflow.views import ExecutionResult
from commands.workflow.workspaces import row_scope
from providers.errors import (
    OutcomeUnknown,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    RequestInvalid,
)
from providers.models import DocumentStatus

__all__ = ["drive", "execute", "not_executed", "send_and_reconcile"]

log = logging.getLogger("invoicebot.service")


class _Answer(Enum):
    UNANSWERED = "unanswered"  # sent, and no answer we can read: it may have happened
    UNAVAILABLE = "unavailable"  # nothing happened; retryable
    REFUSED = "refused"  # the provider (or our own check) said no; final


def _classify(exc: ProviderError, action: Action) -> _Answer:
    if isinstance(exc, (OutcomeUnknown, ProviderProtocolError)):
        return _Answer.UNANSWERED
    if isinstance(exc, ProviderUnavailable):
        return _Answer.UNAVAILABLE
    if isinstance(exc, (RequestInvalid, ProviderRejected)):
        return _Answer.REFUSED
    # an error nobody classified: look before deciding when we can; otherwise do not guess it went out
    return _Answer.UNANSWERED if action.can_look else _Answer.REFUSED


async def execute(ctx: WorkflowContext, approval_id: int) -> ExecutionResult:
    """Run an approved request (exactly once, whoever else calls this at the same time)."""
    now = ctx.clock()
    await ctx.approval(approval_id)  # NotFound for an id that does not exist
    moved = await ctx.move(
        approval_id, expected=ApprovalState.APPROVED, to=ApprovalState.EXECUTING,
        now=now, count_attempt=True, started_at=now,
    )
    if not moved:
        return await not_executed(ctx, await ctx.approval(approval_id))
    return await drive(ctx, approval_id, mode="first")


async def not_executed(ctx: WorkflowContext, current: ApprovalRecord) -> ExecutionResult:
    """Someone else is executing (or has executed) this request: say where it stands."""
    ok = current.state is ApprovalState.SUCCEEDED
    return ExecutionResult(
        approval=await ctx.approval_view(current),
        executed=False,
        ok=ok,
        error_code=None if ok else current.outcome_code,
        message=current.outcome_message or _("this {action} request is {state}").format(
            action=current.action.value, state=current.state.value),
        user_hint=current.user_hint,
    )


async def _keep_claim(ctx: WorkflowContext, approval: ApprovalRecord) -> None:
    """Renew this run's claim on an executing approval until cancelled, or until another
    instance took it over (the attempt count moved on)."""
    every = max(ctx.policy.executing_stale_after / 3, dt.timedelta(seconds=1)).total_seconds()
    while True:
        await asyncio.sleep(every)
        try:
            renewed = await ctx.move(approval.id, expected=ApprovalState.EXECUTING, to=ApprovalState.EXECUTING,
                                     attempts_seen=approval.attempts, started_at=ctx.clock())
        except Exception as exc:  # a busy database: try again next period, the run goes on
            log.warning("could not renew the claim on approval %s: %s", approval.id, type(exc).__name__)
            continue
        if not renewed:
            return


async def drive(ctx: WorkflowContext, approval_id: int, *, mode: Mode) -> ExecutionResult:
    """Carry an approval this caller owns (state executing) to its end."""
    approval = await ctx.approval(approval_id)
    lease = asyncio.get_running_loop().create_task(_keep_claim(ctx, approval))
    try:
        doc = await ctx.document(approval.document_id)
        # the accounts of the document's workspace (where it lives at the provider), whoever drives it:
        # a decision, a retry, recovery; a document from before workspaces were recorded: the environment's
        async with ctx.providers_of(row_scope(doc.team_id, doc.enterprise_id)):
            return await _drive(ctx, approval, doc, mode)
    finally:
        lease.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lease


async def _drive(ctx: WorkflowContext, approval: ApprovalRecord, doc: DocumentRecord, mode: Mode) -> ExecutionResult:
    approval_id = approval.id
    run = Run(ctx, approval, doc, mode)
    try:
        # a batch or an amendment imports its loop on first use: an idle bot does not hold them (idle memory)
        if approval.action is ApprovalAction.BULK_ISSUE:  # a batch: many documents, one approval
            from commands.workflow.bulk_run import drive_bulk

            return await drive_bulk(run, send_and_reconcile)
        if approval.action is ApprovalAction.AMEND:  # several documents under one approval
            from commands.workflow.amend_exec import execute_amendment

            return await execute_amendment(run, send_and_reconcile)
        return await send_and_reconcile(_strategy(run))
    except CredentialsUnavailable as exc:
        # the workspace's own account cannot be used: nothing was sent, and never under another account
        return await run.finish(ApprovalState.FAILED, code=exc.code, message=exc.message, hint=exc.user_hint,
                                retryable=True)
    except Exception as exc:
        # a bug must not leave the request "executing" for ever, nor be retried blindly
        log.exception("executing %s request %s failed unexpectedly", approval.action.value, approval_id)
        return await run.finish(
            ApprovalState.UNKNOWN,
            code="internal",
            message=_("internal error while executing ({error}); the provider may or may not have acted").format(
                error=type(exc).__name__),
            hint=_("retrying checks with the provider first; if it fails again, tell an administrator"),
            retryable=True,
        )


def _strategy(run: Run) -> Action:
    """The action's strategy; send-nts lives in its own module."""
    if run.approval.action is ApprovalAction.SEND_NTS:
        return SendNtsAction(run)
    return action_for(run)


async def send_and_reconcile(action: Action) -> ExecutionResult:
    """Claim the key, look before any resend, send at most `MAX_SENDS` times, and record the outcome."""
    run = action.run
    remembered = request_digest(dict(await action.prepare()))
    claim = await run.store.idempotency.claim(run.key, action.operation.value, remembered, now=run.now())
    if not claim.claimed and claim.record.state is IdempotencyState.DONE:
        done = await action.already_done(claim.record.result)
        if done is not None:
            return done
    if not claim.claimed and run.mode == "recover" and not action.can_look:
        return await action.unknown(None, None)  # interrupted, and nothing says whether it went out
    # a write may already have been sent (crash, unknown outcome, explicit retry): look before sending
    reconcile = run.mode != "first" or not claim.claimed
    sends = 0
    last_error: ProviderError | None = None
    while True:
        if reconcile and isinstance(action, LookableAction):
            try:
                found = await action.look()
            except ProviderError as exc:
                await run.audit(action.look_operation, exc.outcome_code, {"error": str(exc)})
                return await action.unknown(last_error or exc, exc)
            if found is not None:
                return await action.succeeded(found, how=action.found_how)
            if sends >= MAX_SENDS:
                why, message = action.exhausted(sends)
                await run.fail_key(why)
                no_answer = last_error or OutcomeUnknown("no answer", provider=run.doc.provider.value)
                return await action.failed(no_answer, retryable=True, message=message)
        sends += 1
        try:
            status = await action.send()
        except ProviderError as exc:
            await run.audit(action.operation, exc.outcome_code, {"error": str(exc)})
            answer = _classify(exc, action)
            if answer is _Answer.UNANSWERED:
                if not action.can_look:
                    return await action.unknown(exc, None)
                last_error, reconcile = exc, True
                continue
            if (answer is _Answer.REFUSED and reconcile and isinstance(action, LookableAction)
                    and action.recheck_after_refusal):
                found = await _look_quietly(action)
                if found is not None:
                    return await action.succeeded(found, how=action.found_how)
            await run.fail_key(exc.outcome_code)
            return await action.failed(exc, retryable=answer is _Answer.UNAVAILABLE)
        return await action.succeeded(status, how=action.sent_how)


async def _look_quietly(action: LookableAction) -> DocumentStatus | None:
    """A second look after a refusal; a failure to look just means the refusal stands."""
    try:
        return await action.look(audit=False)
    except ProviderError:
        return None
