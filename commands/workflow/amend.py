"""Amendments (수정세금계산서): what each NTS reason produces, checked and stored under one approval.

The six reasons (Popbill ``modifyCode``, Hiworks ``modifyType``) and what the law asks of each:

====  ==========================  ===============================================================
1     기재사항 착오정정              a negative invoice cancelling the original, and a corrected one
2     공급가액 변동                  one invoice for the difference (positive or negative)
3     환입                          a negative invoice for the returned part
4     계약의 해제                    a negative invoice for the whole
5     내국신용장 사후개설             a negative invoice for the whole, and a zero-rated one
6     착오에 의한 이중발급            a negative invoice for the duplicate (the whole)
====  ==========================  ===============================================================

Every produced document carries the reason and the original's NTS confirmation number, so an
original that is not filed yet is refused now (before approval), with what to do instead. The
documents are stored with `amends_document_id` pointing at the original, and one ``amend``
approval request (on the original) covers the set; `commands.workflow.amend_exec` issues them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from commands.i18n import N_, _
from commands.ledger import (
    GONE_STATES,
    ApprovalAction,
    ApprovalState,
    AuditKind,
    AuditOperation,
    DocumentRecord,
    Lifecycle,
)
from commands.workflow.context import WorkflowContext
from commands.workflow.errors import Conflict, invalid
from commands.workflow.execution import execute
from commands.workflow.queries import status as refresh_status
from commands.workflow.requests import document_for_action
from commands.workflow.views import ApprovalView
from commands.workflow.workspaces import row_scope
from providers.models import (
    DocumentKind,
    DocumentState,
    IssueRequest,
    LineItem,
    Party,
    Provider,
    TaxType,
    compute_line_vat,
)

__all__ = ["AMENDABLE_KINDS", "AMENDABLE_PROVIDERS", "REASONS", "AmendDraft", "plan_amendment", "request_amend"]

#: the reason codes and their names (Korean as the NTS names them)
REASONS: Mapping[int, str] = {
    1: N_("clerical error (기재사항 착오정정)"),
    2: N_("supply amount changed (공급가액 변동)"),
    3: N_("goods returned (환입)"),
    4: N_("contract cancelled (계약의 해제)"),
    5: N_("local L/C opened later (내국신용장 사후개설)"),
    6: N_("issued twice by mistake (착오에 의한 이중발급)"),
}

#: providers whose amendments the bot drives (Popbill modifyCode, Hiworks amendment endpoint)
AMENDABLE_PROVIDERS = frozenset({Provider.POPBILL, Provider.HIWORKS})
AMENDABLE_KINDS = frozenset({DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE, DocumentKind.EXEMPT_INVOICE})

_OPEN_STATES = (ApprovalState.PENDING, ApprovalState.APPROVED, ApprovalState.EXECUTING, ApprovalState.UNKNOWN)


class AmendDraft(BaseModel):
    """What a person asked for: the reason and, per reason, what it needs.

    `supply` is the corrected supply total (1, optional: the original's lines are kept when
    omitted), the signed change (2) or the returned part (3); `write_date` is when the change
    happened (2, 3, 4; today by default) or the corrected write date (1); `note` is the memo of
    the produced documents (5: the L/C number and date).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: int = Field(ge=1, le=6)
    supply: int | None = None
    write_date: dt.date | None = None
    note: str | None = Field(default=None, max_length=200)


def _original_request(doc: DocumentRecord) -> IssueRequest:
    """The original as a request: the stored one, or (adopted documents) one line of its amounts."""
    stored = doc.issue_request()
    if stored is not None:
        return stored
    supply, vat = doc.supply or 0, doc.vat or 0
    return IssueRequest(
        provider=doc.provider, kind=doc.kind, key=doc.ref,
        buyer=Party(name=doc.buyer_name or "-", bizno=doc.buyer_bizno, email=doc.buyer_email, phone=doc.buyer_phone),
        items=[LineItem(name="공급가액", unit_price=abs(supply), supply=supply, vat=vat)],
        write_date=doc.write_date or doc.created_at.date(),
    )


def _negated(original: IssueRequest) -> list[LineItem]:
    """The original's lines with their amounts negated (unit price and quantity kept, as printed)."""
    return [item.model_copy(update={"supply": -item.supply_amount(), "vat": -item.vat_amount(original.tax_type)})
            for item in original.items]


def _one_line(original: IssueRequest, supply: int, tax_type: TaxType, label: str) -> list[LineItem]:
    vat = compute_line_vat(abs(supply), tax_type)
    return [LineItem(name=f"{original.items[0].name} ({label})"[:100], unit_price=abs(supply), supply=supply,
                     vat=vat if supply >= 0 else -vat)]


def _need_supply(draft: AmendDraft, what: str) -> int:
    if draft.supply is None or draft.supply == 0:
        raise invalid(_("reason {reason} needs {what}").format(reason=draft.reason, what=what))
    return draft.supply


def plan_amendment(original: IssueRequest, draft: AmendDraft, confirm_number: str, today: dt.date
                   ) -> list[IssueRequest]:
    """The documents reason `draft.reason` produces for `original` (keys are placeholders)."""
    code = draft.reason
    base = original.model_copy(update={"key": "PENDING", "modify_code": code, "original_confirm_number": confirm_number,
                                       "memo": draft.note or original.memo, "callback_url": None})
    when = draft.write_date or today
    negative = base.model_copy(update={"items": _negated(original)})
    if code == 1:
        items = original.items if draft.supply is None else _one_line(
            original, _need_supply(draft, _("the corrected supply amount")), original.tax_type, "정정")
        if sum(i.supply_amount() for i in items) <= 0:
            raise invalid(_("the corrected supply amount must be more than zero"))
        corrected = base.model_copy(update={"items": items, "write_date": draft.write_date or original.write_date})
        return [negative, corrected]
    if code == 2:
        change = _need_supply(draft, _("the change of the supply amount (e.g. -50000 or 20000)"))
        return [base.model_copy(update={"items": _one_line(original, change, original.tax_type, "공급가액 변동"),
                                        "write_date": when})]
    if code == 3:
        returned = abs(_need_supply(draft, _("the supply amount of the returned goods")))
        whole = original.amounts().supply
        if returned > whole:
            raise invalid(_("the returned part ({returned:,}) is more than the original's supply amount ({whole:,})")
                          .format(returned=returned, whole=whole))
        return [base.model_copy(update={"items": _one_line(original, -returned, original.tax_type, "환입"),
                                        "write_date": when})]
    if code == 5:
        if original.kind is not DocumentKind.TAX_INVOICE:
            raise invalid(_("reason 5 turns a taxable tax invoice into a zero-rated one; this is not a taxable one"))
        zero = [item.model_copy(update={"vat": 0}) for item in original.items]
        return [negative, base.model_copy(update={"kind": DocumentKind.ZERO_RATED_INVOICE, "items": zero})]
    # 4: the whole, dated when the contract was cancelled; 6: the duplicate, on its own date
    return [negative.model_copy(update={"write_date": when})] if code == 4 else [negative]


async def _filed_original(ctx: WorkflowContext, ref_text: str, requester: str) -> DocumentRecord:
    """The original, refreshed from the provider, when it can be amended; refuses with what to do."""
    doc = await document_for_action(ctx, ref_text, requester)
    if doc.provider not in AMENDABLE_PROVIDERS or doc.kind not in AMENDABLE_KINDS:
        raise invalid(_("{ref} is a {provider} {kind}: amendments (수정세금계산서) are for Popbill and Hiworks tax "
                        "invoices").format(ref=doc.ref, provider=doc.provider.value, kind=doc.kind.value))
    if doc.lifecycle is not Lifecycle.ISSUED or doc.state in GONE_STATES:
        raise Conflict(_("{ref} is not a live issued document, so there is nothing to amend").format(ref=doc.ref))
    if doc.state is not DocumentState.FILED or not doc.confirm_number:
        await refresh_status(ctx, doc.ref)
        doc = await ctx.document(doc.id)
    if doc.state is not DocumentState.FILED or not doc.confirm_number:
        state = doc.state.value if doc.state else "not filed"
        raise Conflict(
            _("{ref} is not filed with the NTS yet ({state}): an amendment needs the original's NTS confirmation "
              "number").format(ref=doc.ref, state=state),
            user_hint=_("Wait for the filing (check with `/invoice status {ref}`), then amend it. Until it is filed "
                        "you can also destroy it and issue a new one.").format(ref=doc.ref),
        )
    return doc


def _summary(code: int, docs: list[DocumentRecord]) -> str:
    parts = [f"{d.ref} {d.kind.value.replace('_', ' ')} {d.total or 0:,} {d.currency}" for d in docs]
    return _("Amendment, reason {code} ({name}): {docs}").format(code=code, name=_(REASONS[code]),
                                                                 docs="; ".join(parts))


async def request_amend(ctx: WorkflowContext, ref_text: str, draft: AmendDraft, requester: str, channel_id: str,
                        thread_ts: str | None) -> ApprovalView:
    """Store the documents `draft.reason` produces and one approval request for the set."""
    original = await _filed_original(ctx, ref_text, requester)
    open_ones = await ctx.store.approvals.search(states=_OPEN_STATES, document_id=original.id,
                                                 action=ApprovalAction.AMEND)
    if open_ones:
        raise Conflict(_("an amendment of {ref} is already open (#{id}, {state})").format(
            ref=original.ref, id=open_ones[0].id, state=open_ones[0].state.value))
    provider = ctx.provider(original.provider)
    assert original.confirm_number is not None
    now = ctx.clock()
    planned = plan_amendment(_original_request(original), draft, original.confirm_number,
                             now.astimezone(ctx.policy.timezone).date())
    for request in planned:
        provider.capabilities.require_kind(request.kind)
        provider.capabilities.require_currency(request.currency)
    needs_approval = ctx.policy.needs_approval(ApprovalAction.ISSUE) or ctx.policy.needs_approval(ApprovalAction.AMEND)
    opening = ({"state": ApprovalState.PENDING, "expires_at": now + ctx.policy.approval_ttl} if needs_approval
               else {"state": ApprovalState.APPROVED, "expires_at": None})
    async with ctx.store.transaction() as tx:
        docs = [await tx.documents.create(
            provider=r.provider, kind=r.kind, lifecycle=Lifecycle.PENDING_APPROVAL, request=r, sandbox=provider.sandbox,
            requested_by=requester, channel_id=original.channel_id or channel_id,
            thread_ts=original.thread_ts if original.channel_id else thread_ts, now=now,
            amends_document_id=original.id, modify_code=draft.reason,
            workspace=row_scope(original.team_id, original.enterprise_id)) for r in planned]
        summary = _summary(draft.reason, docs)
        reason = f"{summary}. {draft.note}" if draft.note else summary
        approval = await tx.approvals.create(
            action=ApprovalAction.AMEND, document_id=original.id, requester=requester, **opening,
            payload={"documents": [d.id for d in docs], "modify_code": draft.reason}, reason=reason,
            origin_channel_id=channel_id, origin_thread_ts=thread_ts, now=now,
        )
        await tx.audit.record(
            actor=requester, action=AuditKind.COMMAND, operation=AuditOperation.AMEND_REQUEST,
            document_id=original.id, document_ref=original.ref, approval_id=approval.id,
            outcome="pending" if needs_approval else "auto_approved",
            detail={"modify_code": draft.reason, "documents": [d.ref for d in docs], "channel": channel_id},
            now=now,
        )
    if not needs_approval:
        return (await execute(ctx, approval.id)).approval
    return await ctx.approval_view(approval.id)
