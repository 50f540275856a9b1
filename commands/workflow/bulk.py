"""Bulk issuance from a file: every row checked as one issue request would be, then ONE approval.

A file's rows arrive as drafts (`RowDraft`, validated by the issue form's own parser on the Slack
side). `check_bulk` runs the workflow's authority on each (`requests.validate_issue`: capabilities,
business number, currency, ceilings, mobile numbers) and the buyer's closure (휴폐업) check, and
answers a `BulkPreview`: the problems by row and column, or the count, total, first rows and the
closure results. `request_bulk` stores the documents (one per row, each with its own ref and so
its own idempotency key and provider key) and one approval request (action ``bulk_issue``) under
the same approval rules as one issue: the batch total decides N of M, a closure override adds one.
Nothing is requested while any row has a problem. Execution is `commands.workflow.bulk_run`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from commands.i18n import _
from commands.ledger import ApprovalAction, ApprovalState, AuditKind, AuditOperation, Lifecycle
from commands.workflow.access import request_columns
from commands.workflow.bulk_parse import RowProblem
from commands.workflow.checks import (
    OVERRIDE_FIELD,
    BuyerClosure,
    ChecksFailed,
    FieldProblem,
    buyer_closure,
    closure_applies,
    closure_verdict,
    required_approvals,
)
from commands.workflow.context import WorkflowContext
from commands.workflow.drafts import IssueDraft
from commands.workflow.errors import Conflict
from commands.workflow.execution import execute
from commands.workflow.requests import validate_issue
from commands.workflow.views import ApprovalView
from providers.errors import ProviderError
from providers.models import BusinessState, IssueRequest, Provider

__all__ = ["PREVIEW_ROWS", "BulkPreview", "RowCheck", "RowDraft", "check_bulk", "request_bulk"]

#: rows shown in the preview and on the approval card
PREVIEW_ROWS = 5
#: closure checks run at once for a file's buyers
_CLOSURE_CONCURRENCY = 8
#: a check's field → the file's column
_FIELD_COLUMNS = {"kind": "kind", "buyer.bizno": "buyer_bizno", "buyer.name": "buyer_name",
                  "buyer.ceo_name": "buyer_ceo", "buyer.email": "buyer_email", "buyer.phone": "buyer_phone",
                  "items": "quantity", OVERRIDE_FIELD: "override_reason"}

#: a refusal that names no field (`requests.validate_issue`), placed by what it is about
_MESSAGE_COLUMNS = ((("business number",), "buyer_bizno"), (("mobile", "phone"), "buyer_phone"),
                    (("total", "vat", "bills at most"), "unit_price"), (("currency",), "provider"))


@dataclass(frozen=True)
class RowDraft:
    """One row of the file as the issue form read it."""

    number: int
    draft: IssueDraft
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowCheck:
    """A row that passed every check: the request to store and what the approver should know."""

    number: int
    request: IssueRequest
    override: str | None
    overridden: bool
    closure: BusinessState | None
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class BulkPreview:
    """What a file would request: its good rows, or every problem by row and column."""

    provider: Provider | None
    rows: tuple[RowCheck, ...]
    problems: tuple[RowProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)

    @property
    def total(self) -> int:
        return sum(r.request.amounts().total for r in self.rows)

    @property
    def currency(self) -> str:
        return self.rows[0].request.currency if self.rows else "KRW"

    @property
    def overridden(self) -> bool:
        return any(r.overridden for r in self.rows)

    def flagged(self) -> list[RowCheck]:
        """Rows whose buyer is closed, suspended or unregistered."""
        return [r for r in self.rows if r.closure in (BusinessState.CLOSED, BusinessState.SUSPENDED,
                                                      BusinessState.UNREGISTERED)]


def _problems(number: int, exc: Exception) -> list[RowProblem]:
    if isinstance(exc, ChecksFailed):
        return [RowProblem(number, _FIELD_COLUMNS.get(p.field, "provider"), p.message) for p in exc.problems]
    message = getattr(exc, "message", None) or str(exc)
    lowered = message.lower()
    column = next((c for words, c in _MESSAGE_COLUMNS if any(w in lowered for w in words)), "provider")
    return [RowProblem(number, column, message)]


async def _closures(ctx: WorkflowContext, provider: Provider, requests: Sequence[IssueRequest],
                    actor: str) -> dict[str, BuyerClosure]:
    """The closure status of every distinct buyer the provider checks (cached answers reused)."""
    service = ctx.provider(provider)
    biznos = sorted({r.buyer.bizno for r in requests if r.buyer.bizno and closure_applies(service.capabilities, r)})
    slots = asyncio.Semaphore(_CLOSURE_CONCURRENCY)

    async def one(bizno: str) -> BuyerClosure:
        async with slots:
            return await buyer_closure(ctx, service, bizno, actor)

    return {c.bizno: c for c in await asyncio.gather(*(one(b) for b in biznos))}


def _row_check(row: RowDraft, request: IssueRequest, warnings: list[str],
               closure: BuyerClosure | None) -> RowCheck:
    """The row with its closure verdict; raises `ChecksFailed` for a closed buyer without an override."""
    override = (row.draft.override_reason or "").strip() or None
    overridden = False
    if closure is not None:
        closure_warnings, overridden = closure_verdict(closure, override)
        warnings = [*warnings, *closure_warnings]
    state = closure.status.state if closure is not None and closure.status is not None else None
    return RowCheck(row.number, request, override if overridden else None, overridden, state,
                    tuple([*row.warnings, *warnings]))


async def check_bulk(ctx: WorkflowContext, rows: Sequence[RowDraft], requester: str) -> BulkPreview:
    """Every row through the workflow's checks and the closure check; problems by row and column."""
    problems: list[RowProblem] = []
    if not rows:
        return BulkPreview(None, (), (RowProblem(None, None, _("The file has no rows to issue.")),))
    provider = rows[0].draft.provider
    validated: list[tuple[RowDraft, IssueRequest, list[str]]] = []
    for row in rows:
        if row.draft.provider is not provider:
            problems.append(RowProblem(row.number, "provider", _(
                "every row of a file goes to one provider (the first row's: {provider}).").format(
                provider=provider.value)))
            continue
        try:
            request, warnings = validate_issue(ctx.provider(provider), row.draft)
        except ProviderError as exc:
            problems.extend(_problems(row.number, exc))
            continue
        if request.currency != rows[0].draft.currency:
            problems.append(RowProblem(row.number, "provider", _("every row of a file is in one currency.")))
            continue
        validated.append((row, request, warnings))
    closures = await _closures(ctx, provider, [r for _row, r, _w in validated], requester)
    checked: list[RowCheck] = []
    for row, request, warnings in validated:
        try:
            checked.append(_row_check(row, request, warnings, closures.get(request.buyer.bizno or "")))
        except ChecksFailed as exc:
            problems.extend(_problems(row.number, exc))
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    return BulkPreview(provider, tuple(checked), tuple(problems))


def _summary(preview: BulkPreview, file_name: str | None, batch_id: int) -> dict[str, object]:
    """What the approval card shows of the batch (the rows themselves are documents)."""
    return {
        "batch_id": batch_id, "file_name": file_name, "rows": len(preview.rows), "total": preview.total,
        "currency": preview.currency, "provider": preview.provider.value if preview.provider else None,
        "kinds": sorted({r.request.kind.value for r in preview.rows}),
        "first_rows": [{"row": r.number, "buyer": r.request.buyer.name, "bizno": r.request.buyer.bizno,
                        "total": r.request.amounts().total} for r in preview.rows[:PREVIEW_ROWS]],
        "flagged": [{"row": r.number, "bizno": r.request.buyer.bizno, "state": r.closure.value if r.closure else None,
                     "override": r.override} for r in preview.flagged()],
    }


async def request_bulk(ctx: WorkflowContext, preview: BulkPreview, requester: str, channel_id: str,
                       thread_ts: str | None, *, file_id: str, file_name: str | None) -> ApprovalView:
    """Store the batch's documents and its one approval request; refuses a file with problems, or one
    already submitted (`Conflict`: a double click on "Submit" makes one batch)."""
    if not preview.ok or preview.provider is None:
        raise ChecksFailed([FieldProblem("items", p.message) for p in preview.problems[:20]]
                           or [FieldProblem("items", _("The file has no rows to issue."))])
    provider = ctx.provider(preview.provider)
    total = preview.total
    needs_approval = ctx.policy.needs_approval(ApprovalAction.BULK_ISSUE) or preview.overridden
    required = required_approvals(ctx.policy, total, overridden=preview.overridden)
    now = ctx.clock()
    state = ApprovalState.PENDING if needs_approval else ApprovalState.APPROVED
    expires_at = now + ctx.policy.approval_ttl if needs_approval else None
    async with ctx.store.transaction() as tx:
        batch_id = await tx.bulk.create_batch(file_id=file_id, file_name=file_name, provider=preview.provider.value,
                                              row_count=len(preview.rows), total=total, currency=preview.currency,
                                              now=now)
        if batch_id is None:
            raise Conflict(_("This file was already submitted; upload a new file to issue it again."))
        docs = []
        for row in preview.rows:
            doc = await tx.documents.create(
                provider=row.request.provider, kind=row.request.kind, lifecycle=Lifecycle.PENDING_APPROVAL,
                request=row.request, sandbox=provider.sandbox, requested_by=requester, channel_id=channel_id,
                thread_ts=thread_ts, now=now)
            docs.append((row.number, doc.id))
        await tx.bulk.add_rows(batch_id, docs)
        warnings = [f"row {r.number}: {w}" for r in preview.rows for w in r.warnings][:20]
        approval = await tx.approvals.create(
            action=ApprovalAction.BULK_ISSUE, document_id=docs[0][1], requester=requester, state=state,
            expires_at=expires_at,
            idempotency_key=f"bulk:{batch_id}", payload={"bulk": _summary(preview, file_name, batch_id),
                                                         "warnings": warnings},
            origin_channel_id=channel_id, origin_thread_ts=thread_ts, now=now, **request_columns(),
            required_approvals=required if needs_approval else 1,
            override_reason="; ".join(f"row {r.number}: {r.override}" for r in preview.rows if r.override) or None,
        )
        await tx.bulk.attach_approval(batch_id, approval.id, now=now)
        await tx.audit.record(
            actor=requester, action=AuditKind.COMMAND, operation=AuditOperation.BULK_ISSUE_REQUEST,
            approval_id=approval.id, outcome="pending" if needs_approval else "auto_approved",
            detail={"provider": preview.provider.value, "rows": len(docs), "total": total, "file": file_name,
                    "channel": channel_id}, now=now)
    if not needs_approval:
        return (await execute(ctx, approval.id)).approval
    return await ctx.approval_view(approval.id)

