"""Requests: issue, destroy and resend, checked and stored with their approval request.

A request is validated before anything is stored, then the document (for an issue) and its
approval request are written in one transaction with an audit row. An action that needs no
approval starts as approved and is executed at once.

Bad input is `providers.errors.RequestInvalid` and what a provider cannot do is
`providers.errors.NotSupported` (see `commands.workflow.errors`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError

from commands.i18n import _
from commands.ledger import (
    GONE_STATES,
    ApprovalAction,
    ApprovalState,
    AuditKind,
    AuditOperation,
    DocumentRecord,
    Lifecycle,
)
from commands.workflow.access import request_columns
from commands.workflow.checks import (
    buyer_closure,
    closure_applies,
    closure_verdict,
    require_destroyable,
    require_issue,
    required_approvals,
)
from commands.workflow.context import WorkflowContext
from commands.workflow.drafts import IssueDraft
from commands.workflow.errors import Conflict, NotFound, WorkflowError, invalid
from commands.workflow.execution import execute
from commands.workflow.queries import lookup, parse
from commands.workflow.refs import ExternalRef
from commands.workflow.views import ApprovalView
from commands.workflow.workspaces import current_scope
from providers.base import InvoiceProvider
from providers.bizno import InvalidBizno, check_bizno
from providers.errors import DocumentNotFound, ProviderError
from providers.models import IssueRequest, Party, ResendRequest, TaxType

__all__ = ["document_for_action", "request_destroy", "request_issue", "request_resend", "validate_issue"]

#: approval states in which a request is still open (a second one for the document waits)
_OPEN_STATES = (ApprovalState.PENDING, ApprovalState.APPROVED, ApprovalState.EXECUTING, ApprovalState.UNKNOWN)


def validate_issue(provider: InvoiceProvider, draft: IssueDraft | IssueRequest) -> tuple[IssueRequest, list[str]]:
    """The request to store (buyer number normalised) and its warnings; refuses what cannot be issued."""
    provider.capabilities.require_kind(draft.kind)
    require_issue(provider.capabilities, draft)  # required fields, quantity decimals, line limits
    warnings: list[str] = []
    buyer = draft.buyer
    if buyer.bizno:
        try:
            check = check_bizno(buyer.bizno)
        except InvalidBizno as exc:
            raise invalid(f"buyer business number: {exc}") from exc
        if check.warning:
            warnings.append(check.warning)
        buyer = buyer.model_copy(update={"bizno": check.number})
    provider.capabilities.require_currency(draft.currency)
    fields = draft.model_dump(exclude={"key", "override_reason"})
    fields["buyer"] = buyer.model_dump()
    # the document's ref replaces this placeholder when the row is created
    request = IssueRequest(key="PENDING", **fields)
    amounts = request.amounts()
    if amounts.total <= 0:
        raise invalid(f"the total must be more than zero (it is {amounts.total:,} {amounts.currency})")
    if request.tax_type is not TaxType.TAXABLE and amounts.vat != 0:
        kind = request.kind.value.replace("_", " ")
        raise invalid(f"a {kind} carries no VAT, but the lines add {amounts.vat:,}")
    # the provider's own limits, checked now so an approver never approves a request bound to fail
    provider.capabilities.require_total(amounts.total, amounts.currency)
    provider.capabilities.require_mobile(request.kind, request.buyer.phone)
    return request, warnings


def _opening(ctx: WorkflowContext, needs_approval: bool, now: dt.datetime) -> dict[str, Any]:
    """How a new approval request starts: pending with a deadline, or approved at once."""
    if needs_approval:
        return {"state": ApprovalState.PENDING, "expires_at": now + ctx.policy.approval_ttl}
    return {"state": ApprovalState.APPROVED, "expires_at": None}


async def _started(ctx: WorkflowContext, approval_id: int, needs_approval: bool) -> ApprovalView:
    if not needs_approval:
        return (await execute(ctx, approval_id)).approval
    return await ctx.approval_view(approval_id)


async def _closure_screen(
    ctx: WorkflowContext, provider: InvoiceProvider, request: IssueRequest, requester: str, override: str | None
) -> tuple[list[str], bool]:
    """(warnings, overridden): the buyer's closure (휴폐업) status where the provider can check it.

    Closed or unregistered refuses (`ChecksFailed` on the override field) unless `override` says why."""
    if not closure_applies(provider.capabilities, request) or request.buyer.bizno is None:
        return [], False
    found = await buyer_closure(ctx, provider, request.buyer.bizno, requester)
    return closure_verdict(found, override)


async def request_issue(
    ctx: WorkflowContext, draft: IssueDraft | IssueRequest, requester: str, channel_id: str, thread_ts: str | None,
    *, resubmits: int | None = None, override_reason: str | None = None,
) -> ApprovalView:
    """Create the document (ref ``INV-…``) and an approval request for issuing it, once every check
    knowable now passed (`commands.workflow.checks`). `resubmits`: the rejected, expired or failed
    request this one replaces (`commands.workflow.resubmit`)."""
    provider = ctx.provider(draft.provider)
    request, warnings = validate_issue(provider, draft)
    override = (override_reason or getattr(draft, "override_reason", None) or "").strip() or None
    closure_warnings, overridden = await _closure_screen(ctx, provider, request, requester, override)
    warnings = [*warnings, *closure_warnings]
    required = required_approvals(await ctx.current_policy(), request.amounts().total, overridden=overridden)
    needs_approval = ctx.policy.needs_approval(ApprovalAction.ISSUE) or overridden
    now = ctx.clock()
    opening = _opening(ctx, needs_approval, now)
    async with ctx.store.transaction() as tx:
        doc = await tx.documents.create(
            provider=request.provider, kind=request.kind, lifecycle=Lifecycle.PENDING_APPROVAL, request=request,
            sandbox=provider.sandbox, requested_by=requester, channel_id=channel_id, thread_ts=thread_ts, now=now,
            workspace=current_scope(),
        )
        approval = await tx.approvals.create(
            action=ApprovalAction.ISSUE, document_id=doc.id, requester=requester, **opening,
            idempotency_key=f"issue:{doc.ref}", payload={"warnings": warnings},
            origin_channel_id=channel_id, origin_thread_ts=thread_ts, now=now,
            resubmits_request_id=resubmits, **request_columns(),
            required_approvals=required if needs_approval else 1, override_reason=override if overridden else None,
        )
        await tx.audit.record(
            actor=requester,
            action=AuditKind.COMMAND,
            operation=AuditOperation.ISSUE_REQUEST,
            document_id=doc.id,
            document_ref=doc.ref,
            approval_id=approval.id,
            outcome="pending" if needs_approval else "auto_approved",
            detail={
                "provider": request.provider.value,
                "kind": request.kind.value,
                "total": doc.total,
                "buyer": request.buyer.name,
                "channel": channel_id,
            },
            now=now,
        )
    return await _started(ctx, approval.id, needs_approval)


async def request_destroy(
    ctx: WorkflowContext, ref_text: str, reason: str | None, requester: str, channel_id: str, thread_ts: str | None
) -> ApprovalView:
    """Ask to cancel/void/destroy an issued document (ours, or a provider ref we adopt)."""
    reason = (reason or "").strip() or None
    doc = await _document_for_action(ctx, ref_text, requester)
    ctx.provider(doc.provider).capabilities.require_destroy()
    _require_issued(doc, "destroyed")
    existing = await ctx.store.approvals.search(states=_OPEN_STATES, document_id=doc.id, action=ApprovalAction.DESTROY)
    if existing:
        open_one = existing[0]
        raise Conflict(f"a destroy request for {doc.ref} is already open (#{open_one.id}, {open_one.state.value})")
    warnings = await _destroyable_now(ctx, doc)
    payload = {"reason": reason, "warnings": warnings}
    return await _request_action(ctx, ApprovalAction.DESTROY, doc, requester, channel_id, thread_ts, payload, reason,
                                 required=required_approvals(await ctx.current_policy(), doc.total))


async def _destroyable_now(ctx: WorkflowContext, doc: DocumentRecord) -> list[str]:
    """Read the document's current state at its provider and refuse a destroy that state makes
    impossible (filed with the NTS: an amendment is the way); warnings when it could not be read."""
    provider = ctx.provider(doc.provider)
    ref = doc.document_ref
    if ref is None:
        return []
    try:
        status = await provider.status(ref)
    except ProviderError as exc:
        return [_("The document's current state at {provider} could not be read ({why}); "
                  "the destroy may be refused after approval.").format(provider=doc.provider.value, why=exc.message)]
    await ctx.store.documents.record_status(doc.id, status, now=ctx.clock())
    if status.state in GONE_STATES:
        raise Conflict(f"{doc.ref} is already {status.state.value} at {doc.provider.value}")
    require_destroyable(provider.capabilities, doc.ref, status)
    return []


async def request_resend(
    ctx: WorkflowContext, ref_text: str, request: ResendRequest, requester: str, channel_id: str, thread_ts: str | None
) -> ApprovalView:
    """Resend an issued document's notification (runs at once unless "resend" needs approval)."""
    doc = await _document_for_action(ctx, ref_text, requester)
    ctx.provider(doc.provider).capabilities.require_resend(request.channel)
    _require_issued(doc, "resent")
    payload = request.model_dump(mode="json")
    return await _request_action(ctx, ApprovalAction.RESEND, doc, requester, channel_id, thread_ts, payload, None)


async def _request_action(
    ctx: WorkflowContext,
    action: ApprovalAction,
    doc: DocumentRecord,
    requester: str,
    channel_id: str,
    thread_ts: str | None,
    payload: Mapping[str, Any],
    reason: str | None,
    *,
    required: int = 1,
) -> ApprovalView:
    """An approval request for an action on a stored document (`required`: distinct approvers needed)."""
    needs_approval = ctx.policy.needs_approval(action)
    now = ctx.clock()
    opening = _opening(ctx, needs_approval, now)
    async with ctx.store.transaction() as tx:
        approval = await tx.approvals.create(
            action=action, document_id=doc.id, requester=requester, **opening, payload=payload, reason=reason,
            origin_channel_id=channel_id, origin_thread_ts=thread_ts, now=now, **request_columns(),
            required_approvals=required if needs_approval else 1,
        )
        await tx.audit.record(
            actor=requester,
            action=AuditKind.COMMAND,
            operation=AuditOperation.of(action, "request"),
            document_id=doc.id,
            document_ref=doc.ref,
            approval_id=approval.id,
            outcome="pending" if needs_approval else "auto_approved",
            detail={"payload": dict(payload), "channel": channel_id},
            now=now,
        )
    return await _started(ctx, approval.id, needs_approval)


def _require_issued(doc: DocumentRecord, verb: str) -> None:
    if doc.lifecycle is not Lifecycle.ISSUED:
        raise Conflict(f"{doc.ref} is {doc.lifecycle.value.replace('_', ' ')}: only issued documents can be {verb}")
    if doc.state in GONE_STATES:
        raise Conflict(f"{doc.ref} is already {doc.state.value} at {doc.provider.value}")


async def _document_for_action(ctx: WorkflowContext, ref_text: str, actor: str) -> DocumentRecord:
    """The stored document, or, for a provider ref we do not store, the document adopted:
    looked up at the provider and stored (origin "external") so it gets a ref, approvals and
    an audit trail like any other."""
    parsed = parse(ref_text)
    doc = await lookup(ctx, parsed)
    if doc is not None:
        return doc
    assert isinstance(parsed, ExternalRef)
    return await _adopt(ctx, parsed, actor)


async def _adopt(ctx: WorkflowContext, parsed: ExternalRef, actor: str) -> DocumentRecord:
    provider = ctx.provider(parsed.provider)
    try:
        status = await provider.status(parsed.document_ref)
    except DocumentNotFound as exc:
        raise NotFound(f"{parsed} does not exist at {parsed.provider.value}") from exc
    except ProviderError as exc:
        raise WorkflowError(
            f"could not look {parsed} up at {parsed.provider.value}: {exc.message}",
            user_hint=exc.user_hint or "try again in a moment",
        ) from exc
    now = ctx.clock()
    buyer = Party(name=status.buyer_name, bizno=status.buyer_bizno) if status.buyer_name else None
    try:
        async with ctx.store.transaction() as tx:
            adopted = await tx.documents.create(
                provider=parsed.provider, kind=parsed.kind, lifecycle=Lifecycle.ISSUED, origin="external",
                provider_id=parsed.provider_id, sandbox=provider.sandbox, buyer=buyer, amounts=status.amounts,
                due_date=status.due_date, requested_by=actor, now=now, workspace=current_scope(),
            )
            await tx.documents.record_status(adopted.id, status, now=now)
            await tx.audit.record(
                actor=actor, action=AuditKind.COMMAND, operation=AuditOperation.ADOPT, document_id=adopted.id,
                document_ref=adopted.ref, outcome="ok", detail={"provider_ref": str(parsed)}, now=now,
            )
    except IntegrityError:
        # two people adopting the same document at once: the other insert won
        existing = await ctx.store.documents.get_by_provider_id(parsed.provider, parsed.provider_id)
        if existing is None:
            raise
        return existing
    return await ctx.document(adopted.id)


#: the stored (or adopted) document an action names, for actions defined in their own modules (amend, send-nts)
document_for_action = _document_for_action
