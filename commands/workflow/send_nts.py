"""Sending an issued tax invoice to the NTS now (즉시전송), instead of waiting for the provider's batch.

Only Popbill offers it (``sendToNTS``); a document that is not a Popbill tax invoice, or is
filing or filed already, is refused when asked, with what to do instead. It needs approval when
``send_nts`` is among `INVOICEBOT_APPROVAL_ACTIONS`; otherwise it runs at once for a requester.
The provider can be asked whether it happened (the document reads as filing or filed), so an
unanswered send is looked up before anything is sent again.
"""

from __future__ import annotations

from commands.i18n import _
from commands.ledger import ApprovalAction, ApprovalState, AuditKind, AuditOperation, Lifecycle
from commands.workflow.context import WorkflowContext
from commands.workflow.errors import Conflict, invalid
from commands.workflow.execution import execute
from commands.workflow.nts_action import FILING_OR_FILED, TAX_KINDS, NtsFiler
from commands.workflow.requests import document_for_action
from commands.workflow.views import ApprovalView
from providers.errors import NotSupported

__all__ = ["request_send_nts"]

_OPEN_STATES = (ApprovalState.PENDING, ApprovalState.APPROVED, ApprovalState.EXECUTING, ApprovalState.UNKNOWN)


async def request_send_nts(ctx: WorkflowContext, ref_text: str, requester: str, channel_id: str,
                           thread_ts: str | None) -> ApprovalView:
    """Ask to file an issued, not yet filed tax invoice now (runs at once unless it needs approval)."""
    doc = await document_for_action(ctx, ref_text, requester)
    if doc.kind not in TAX_KINDS or not isinstance(ctx.provider(doc.provider), NtsFiler):
        raise NotSupported(
            _("{ref} is a {provider} {kind}: only Popbill tax invoices can be sent to the NTS now").format(
                ref=doc.ref, provider=doc.provider.value, kind=doc.kind.value.replace("_", " ")),
            provider=doc.provider.value, code="send_nts",
            user_hint=_("Other documents are filed by their provider on its own schedule; "
                        "`/invoice status {ref}` shows where it stands.").format(ref=doc.ref),
        )
    if doc.lifecycle is not Lifecycle.ISSUED:
        raise Conflict(_("{ref} is not issued ({lifecycle}): only an issued invoice can be sent to the NTS").format(
            ref=doc.ref, lifecycle=doc.lifecycle.value.replace("_", " ")))
    if doc.state in FILING_OR_FILED:
        raise Conflict(_("{ref} is already {state} with the NTS: there is nothing to send").format(
            ref=doc.ref, state=doc.state.value if doc.state else ""),
            user_hint=_("Check the result with `/invoice status {ref}`.").format(ref=doc.ref))
    if doc.state is not None and not doc.state.is_open:
        raise invalid(_("{ref} is {state} at the provider and cannot be sent to the NTS").format(
            ref=doc.ref, state=doc.state.value))
    if await ctx.store.approvals.search(states=_OPEN_STATES, document_id=doc.id, action=ApprovalAction.SEND_NTS):
        raise Conflict(_("sending {ref} to the NTS is already requested").format(ref=doc.ref))
    needs_approval = ctx.policy.needs_approval(ApprovalAction.SEND_NTS)
    now = ctx.clock()
    opening = ({"state": ApprovalState.PENDING, "expires_at": now + ctx.policy.approval_ttl} if needs_approval
               else {"state": ApprovalState.APPROVED, "expires_at": None})
    async with ctx.store.transaction() as tx:
        approval = await tx.approvals.create(
            action=ApprovalAction.SEND_NTS, document_id=doc.id, requester=requester, **opening, payload={},
            origin_channel_id=channel_id, origin_thread_ts=thread_ts, now=now,
        )
        await tx.audit.record(
            actor=requester, action=AuditKind.COMMAND, operation=AuditOperation.SEND_NTS_REQUEST, document_id=doc.id,
            document_ref=doc.ref, approval_id=approval.id, outcome="pending" if needs_approval else "auto_approved",
            detail={"channel": channel_id}, now=now,
        )
    if not needs_approval:
        return (await execute(ctx, approval.id)).approval
    return await ctx.approval_view(approval.id)
