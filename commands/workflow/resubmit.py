"""Edit and resubmit: a rejected, expired or failed issue request reopened by its requester.

`reopen` hands back what was asked (as an `IssueDraft`, to prefill the form) once it has
checked that the asker made the request, that it ended without a document, and that it was
not resubmitted already; `resubmit` checks the same again (the form's submission is a new
request and may come from anyone) and stores a new issue request linked to the old one
(``resubmits_request_id``), so the new card can say which request it replaces.

A failure that can still be retried (nothing happened at the provider) is not reopened: a
retry of the old request and the edited new one would issue two documents.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from commands.i18n import _
from commands.ledger import ApprovalAction, ApprovalRecord, ApprovalState
from commands.workflow import requests
from commands.workflow.access import check_workspace
from commands.workflow.context import WorkflowContext
from commands.workflow.drafts import IssueDraft
from commands.workflow.errors import Conflict
from commands.workflow.roles import Guarded, RoleDirectory, require
from commands.workflow.views import ApprovalView
from providers.models import IssueRequest

__all__ = ["REOPENABLE", "reopen", "resubmit"]

#: the states an issue request can be reopened from (it ended without a document)
REOPENABLE = (ApprovalState.REJECTED, ApprovalState.EXPIRED, ApprovalState.FAILED)


async def _reopenable(ctx: WorkflowContext, roles: RoleDirectory, approval_id: int, user: str) -> ApprovalRecord:
    approval = await ctx.approval(approval_id)
    await check_workspace(ctx, approval, user)
    await require(roles, user, Guarded.RESUBMIT, requester=approval.requester)
    if approval.action is not ApprovalAction.ISSUE:
        raise Conflict(_("Only issue requests can be edited and resubmitted."))
    if approval.state not in REOPENABLE or (approval.state is ApprovalState.FAILED and approval.retryable):
        raise Conflict(
            _("Request #{id} is {state}: only a rejected, expired or failed request can be edited and resubmitted.")
            .format(id=approval.id, state=approval.state.value),
            user_hint=_("a failure that can be retried is retried with /invoice retry") if approval.retryable else None,
        )
    again = await ctx.store.approvals.resubmission_of(approval.id)
    if again is not None:
        raise Conflict(_("Request #{id} was already resubmitted as request #{new}.").format(id=approval.id,
                                                                                          new=again.id))
    return approval


async def reopen(ctx: WorkflowContext, roles: RoleDirectory, approval_id: int, user: str) -> IssueDraft:
    """What request `approval_id` asked for, to prefill the form; refuses anyone but its requester."""
    approval = await _reopenable(ctx, roles, approval_id, user)
    doc = await ctx.document(approval.document_id)
    if not doc.request:
        raise Conflict(_("Request #{id} has no stored form to reopen.").format(id=approval.id))
    stored = IssueRequest.model_validate(doc.request)
    fields = stored.model_dump(exclude={"key"})
    return IssueDraft.model_validate({k: v for k, v in fields.items() if k in IssueDraft.model_fields})


async def resubmit(
    ctx: WorkflowContext,
    roles: RoleDirectory,
    approval_id: int,
    draft: IssueDraft,
    requester: str,
    channel_id: str,
    thread_ts: str | None,
) -> ApprovalView:
    """A new issue request from the edited `draft`, linked to the request it replaces."""
    await _reopenable(ctx, roles, approval_id, requester)
    try:
        return await requests.request_issue(ctx, draft, requester, channel_id, thread_ts, resubmits=approval_id)
    except IntegrityError as exc:  # the same form submitted twice at once: the unique link let one in
        again = await ctx.store.approvals.resubmission_of(approval_id)
        if again is None:
            raise
        raise Conflict(_("Request #{id} was already resubmitted as request #{new}.").format(id=approval_id,
                                                                                          new=again.id)) from exc
