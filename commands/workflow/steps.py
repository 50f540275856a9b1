"""Workflow Builder custom steps, Slack-free: which request a step waits on, and what a
request's outcome means for the step (complete with outputs, fail with a message, or wait).

The Slack side (`commands.slack.features.steps`) receives ``function_executed``, goes
through the same service calls as `/invoice`, and completes the step with what these
functions return. Every message here is one a workflow's author reads in Workflow Builder's
activity, so it says what happened and what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from commands.i18n import _
from commands.ledger import ApprovalAction, ApprovalState
from commands.workflow.access import check_workspace
from commands.workflow.context import WorkflowContext
from commands.workflow.errors import NotFound
from commands.workflow.queries import lookup, parse
from commands.workflow.views import ApprovalView, ClosureResult

__all__ = [
    "REQUEST_STEP",
    "STATUS_STEP",
    "WAIT_STEP",
    "StepOutcome",
    "closure_outcome",
    "find_request",
    "request_outcome",
    "wait_outcome",
]

#: the callback ids declared under ``functions`` in manifest.yml
REQUEST_STEP = "request_invoice"
STATUS_STEP = "check_business_status"
WAIT_STEP = "wait_for_approval"

#: a request still on its way: the step keeps waiting (an unknown outcome is reconciled by recovery)
_IN_FLIGHT = frozenset({ApprovalState.PENDING, ApprovalState.APPROVED, ApprovalState.EXECUTING,
                        ApprovalState.UNKNOWN})


@dataclass(frozen=True)
class StepOutcome:
    """How a step ends: `outputs` on success, else `error` (the message Slack shows)."""

    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _request_outputs(approval: ApprovalView) -> dict[str, Any]:
    doc = approval.document
    outputs: dict[str, Any] = {"reference": doc.ref, "approval_id": str(approval.id)}
    if doc.provider_ref:
        outputs["provider_reference"] = doc.provider_ref
    if doc.provider_id:
        outputs["provider_document_id"] = doc.provider_id
    return outputs


def request_outcome(approval: ApprovalView) -> StepOutcome | None:
    """"Request an invoice": success once issued, an error once rejected, expired or failed,
    None while it waits for approval or runs."""
    ref = approval.document.ref
    state = approval.state
    if state in _IN_FLIGHT:
        return None
    if state is ApprovalState.SUCCEEDED:
        return StepOutcome(outputs=_request_outputs(approval))
    if state is ApprovalState.REJECTED:
        reason = f": {approval.reason}" if approval.reason else ""
        return StepOutcome(error=_("{ref} was rejected by {decider}{reason}").format(
            ref=ref, decider=approval.decider or _("an approver"), reason=reason))
    if state is ApprovalState.EXPIRED:
        return StepOutcome(error=_("{ref} expired: nobody approved it in time. Run the workflow again.").format(
            ref=ref))
    detail = approval.outcome_message or _("the provider refused it")
    hint = f" {approval.user_hint}" if approval.user_hint else ""
    return StepOutcome(error=_("{ref} was approved but not issued: {detail}.{hint}").format(
        ref=ref, detail=detail.rstrip("."), hint=hint))


def wait_outcome(approval: ApprovalView) -> StepOutcome | None:
    """"Wait for approval": the decision and who made it, once the request is decided."""
    if approval.state is ApprovalState.PENDING:
        return None
    decision = {ApprovalState.REJECTED: "rejected", ApprovalState.EXPIRED: "expired"}.get(approval.state, "approved")
    outputs: dict[str, Any] = {"decision": decision, "reference": approval.document.ref,
                               "approval_id": str(approval.id)}
    decider = approval.decider or (approval.approved_by[-1] if approval.approved_by else None)
    if decider:
        outputs["decider"] = decider
    if approval.reason and decision == "rejected":
        outputs["reason"] = approval.reason
    return StepOutcome(outputs=outputs)


def closure_outcome(result: ClosureResult) -> StepOutcome:
    """"Check a business's status": the one number's state, tax type and dates."""
    if result.error:
        hint = f" {result.error_hint}" if result.error_hint else ""
        return StepOutcome(error=_("The status check failed: {error}.{hint}").format(
            error=result.error.rstrip("."), hint=hint))
    item = result.items[0] if result.items else None
    if item is None or item.status is None:
        problem = (item.error if item is not None else None) or _("no answer for that number")
        return StepOutcome(error=_("The status check failed: {error}.").format(error=problem.rstrip(".")))
    status = item.status
    outputs: dict[str, Any] = {"business_number": status.bizno, "state": status.state.value}
    if status.tax_type:
        outputs["tax_type"] = status.tax_type
    if status.state_date:
        outputs["state_date"] = status.state_date.isoformat()
    if status.type_date:
        outputs["tax_type_date"] = status.type_date.isoformat()
    if status.checked_at:
        outputs["checked_at"] = status.checked_at.date().isoformat()
    return StepOutcome(outputs=outputs)


async def find_request(ctx: WorkflowContext, text: str, actor: str) -> ApprovalView:
    """The request a step names: ``42`` / ``#42`` (a request id) or a document ref (its latest
    issue request, else its latest request); `NotFound`, or `NotAllowed` from another workspace."""
    cleaned = text.strip()
    number = re.fullmatch(r"#?(\d{1,18})", cleaned)
    if number:
        approval = await ctx.approval(int(number.group(1)))
    else:
        doc = await lookup(ctx, parse(cleaned))
        if doc is None:
            raise NotFound(_("No request for {ref} was made here.").format(ref=cleaned))
        requests = await ctx.store.approvals.search(document_id=doc.id)
        if not requests:
            raise NotFound(_("No request for {ref} was made here.").format(ref=cleaned))
        issues = [a for a in requests if a.action is ApprovalAction.ISSUE]
        approval = (issues or requests)[-1]
    await check_workspace(ctx, approval, actor)
    return await ctx.approval_view(approval)
