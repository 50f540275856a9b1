"""What the workflow returns: frozen views carrying everything a card needs, and one mapper.

Views are built from ledger records by `document_view` and `approval_view` only. Both copy
every field the view and the record share by name (the list is derived from the models, so a
column added to both flows through without a hand-written copy) and add the few computed
ones; `status_update` does the same for a provider's `DocumentStatus`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from commands.ledger import ApprovalAction, ApprovalRecord, ApprovalState, DocumentRecord, Lifecycle, format_ref
from commands.workflow.refs import ExternalRef
from providers.errors import ProviderError
from providers.models import BusinessState, BusinessStatus, DocumentKind, DocumentState, DocumentStatus, Provider

__all__ = [
    "ApprovalView",
    "ClosureItem",
    "ClosureResult",
    "DecisionOutcome",
    "DecisionResult",
    "DocumentView",
    "ExecutionResult",
    "approval_view",
    "document_view",
    "error_fields",
    "error_kind",
    "external_view",
    "status_update",
]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class DocumentView(_View):
    """A document as a card shows it: our row (when we have one) and the provider's last word.

    `error` is set when the provider could not be asked just now; the other fields are then
    the last known state.
    """

    id: int | None = None  # None: a provider document we do not store
    ref: str  # INV-000123, or the provider reference when not stored
    provider_ref: str | None = None  # e.g. popbill:INV-000123
    provider: Provider
    kind: DocumentKind
    provider_id: str | None = None
    sandbox: bool = False
    origin: str = "bot"
    buyer_name: str | None = None
    buyer_bizno: str | None = None
    buyer_email: str | None = None
    buyer_phone: str | None = None
    supply: int | None = None
    vat: int | None = None
    total: int | None = None
    currency: str = "KRW"
    lifecycle: Lifecycle | None = None
    state: DocumentState | None = None
    raw_state: str | None = None
    state_detail: str | None = None
    write_date: dt.date | None = None
    due_date: dt.date | None = None
    issued_at: dt.datetime | None = None
    state_checked_at: dt.datetime | None = None
    confirm_number: str | None = None
    links: dict[str, str] = Field(default_factory=dict)
    requested_by: str | None = None
    channel_id: str | None = None
    thread_ts: str | None = None
    created_at: dt.datetime | None = None
    last_error: str | None = None
    error: str | None = None
    error_code: str | None = None
    error_hint: str | None = None
    # 수정세금계산서: the document this one amends (and why), and the documents amending this one
    amends_document_id: int | None = None
    amends_ref: str | None = None
    modify_code: int | None = None
    amendments: tuple[str, ...] = ()

    @property
    def stored(self) -> bool:
        return self.id is not None

    @property
    def provider_missing(self) -> bool:
        """The provider answered that it does not know this document (its not-found code)."""
        return error_kind(self.error_code) == "not_found"

    @property
    def provider_unreachable(self) -> bool:
        """The provider could not be asked: no connection, timeout, 5xx, maintenance, rate limit."""
        return error_kind(self.error_code) == "unreachable"


class ApprovalView(_View):
    """An approval request with its document: everything the approval card shows."""

    id: int
    action: ApprovalAction
    state: ApprovalState
    retryable: bool = False
    document: DocumentView
    requester: str
    decider: str | None = None
    reason: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    outcome_code: str | None = None
    outcome_message: str | None = None
    user_hint: str | None = None
    expires_at: dt.datetime | None = None
    created_at: dt.datetime
    decided_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    attempts: int = 0
    channel_id: str | None = None  # the approval card
    message_ts: str | None = None
    origin_channel_id: str | None = None  # where the request was made (notify there)
    origin_thread_ts: str | None = None
    warnings: tuple[str, ...] = ()
    resubmits_request_id: int | None = None  # the rejected/expired/failed request this one replaces
    team_id: str | None = None  # the workspace it was made in (None: single-workspace, or before workspaces)
    enterprise_id: str | None = None
    resubmits_ref: str | None = None  # that request's document
    required_approvals: int = 1  # distinct approvers needed (N of M)
    approved_by: tuple[str, ...] = ()  # who approved so far, in order (N-of-M requests)
    override_reason: str | None = None  # why the requester asked although the buyer is closed

    @property
    def approvals_missing(self) -> int:
        """How many more approvals a pending request needs."""
        return max(0, self.required_approvals - len(self.approved_by)) if self.is_pending else 0

    @property
    def is_pending(self) -> bool:
        return self.state is ApprovalState.PENDING

    @property
    def is_final(self) -> bool:
        return self.state in (
            ApprovalState.SUCCEEDED,
            ApprovalState.REJECTED,
            ApprovalState.EXPIRED,
        ) or (self.state is ApprovalState.FAILED and not self.retryable)


class ExecutionResult(_View):
    """What an execution (or a look at one already running) came to."""

    approval: ApprovalView
    executed: bool  # this call drove the provider; False when another caller had it
    ok: bool
    status: DocumentStatus | None = None
    error_code: str | None = None
    message: str | None = None
    user_hint: str | None = None

    @property
    def retryable(self) -> bool:
        return self.approval.retryable


class DecisionOutcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    ALREADY_DECIDED = "already_decided"  # someone else won the race, or a repeated click
    EXPIRED = "expired"
    VOTED = "voted"  # an approval was counted, and the request still needs more from others


class DecisionResult(_View):
    outcome: DecisionOutcome
    message: str
    approval: ApprovalView
    execution: ExecutionResult | None = None

    @property
    def won(self) -> bool:
        """This call made the decision (as opposed to finding one already made)."""
        return self.outcome in (DecisionOutcome.APPROVED, DecisionOutcome.REJECTED)


class ClosureItem(_View):
    input: str
    bizno: str | None = None
    status: BusinessStatus | None = None
    error: str | None = None  # not a business number, or no answer for it
    warning: str | None = None  # check digit mismatch
    changed: bool = False  # differs from the previous check
    previous_state: BusinessState | None = None
    previous_checked_at: dt.datetime | None = None


class ClosureResult(_View):
    provider: Provider | None
    items: tuple[ClosureItem, ...]
    warnings: tuple[str, ...] = ()
    error: str | None = None  # the provider call failed: nothing was checked
    error_hint: str | None = None

    @property
    def changed(self) -> tuple[ClosureItem, ...]:
        return tuple(i for i in self.items if i.changed)


# --------------------------------------------------------------------------- the mapper


def _shared(view: type[BaseModel], record: type[Any]) -> tuple[str, ...]:
    """The fields a view copies from a record: those both declare under the same name."""
    columns = {f.name for f in dataclasses.fields(record)}
    return tuple(name for name in view.model_fields if name in columns)


_DOCUMENT_FIELDS = _shared(DocumentView, DocumentRecord)
_APPROVAL_FIELDS = _shared(ApprovalView, ApprovalRecord)


def error_kind(error_code: str | None) -> str | None:
    """What a view's `error_code` (a provider error's outcome code) means for a read.

    ``not_found``: the provider answered with its not-found code (`DocumentNotFound`, mapped
    from e.g. Popbill -11000005, Payssam BILL_003, Hiworks 404, Abillify 404);
    ``unreachable``: it gave no usable answer (`ProviderUnavailable`, `RateLimited`,
    `OutcomeUnknown`); ``refused``: any other answer. None without an error code.
    """
    if not error_code:
        return None
    outcome = error_code.split(":", 1)[0]
    if outcome == "not_found":
        return "not_found"
    if outcome in ("unavailable", "rate_limited", "unknown"):
        return "unreachable"
    return "refused"


def error_fields(error: ProviderError | str | None) -> dict[str, Any]:
    """The view's error fields for a provider that could not be asked (or a plain reason)."""
    if isinstance(error, ProviderError):
        return {"error": str(error), "error_code": error.outcome_code, "error_hint": error.user_hint}
    return {"error": error} if error else {}


def document_view(doc: DocumentRecord, *, error: ProviderError | str | None = None) -> DocumentView:
    """The view of a stored document; `error` says the provider could not be asked just now."""
    ref = doc.document_ref
    return DocumentView.model_validate(
        {
            **{name: getattr(doc, name) for name in _DOCUMENT_FIELDS},
            "provider_ref": str(ref) if ref else None,
            "amends_ref": format_ref(doc.amends_document_id) if doc.amends_document_id else None,
            **error_fields(error),
        }
    )


def approval_view(
    approval: ApprovalRecord, doc: DocumentRecord, voters: tuple[str, ...] = (), *, resubmits_ref: str | None = None
) -> ApprovalView:
    """The view of an approval request with its document, who approved so far (N of M), and the
    ref of the request it replaces (edit and resubmit)."""
    warnings = approval.payload.get("warnings") or []
    return ApprovalView.model_validate(
        {
            **{name: getattr(approval, name) for name in _APPROVAL_FIELDS},
            "document": document_view(doc),
            "warnings": tuple(str(w) for w in warnings),
            "resubmits_ref": resubmits_ref,
            "approved_by": voters,
        }
    )


def external_view(parsed: ExternalRef, **update: Any) -> DocumentView:
    """A provider document we do not store: what its ref says, plus `update`."""
    return DocumentView.model_validate(
        {
            "ref": str(parsed),
            "provider_ref": str(parsed),
            "provider": parsed.provider,
            "kind": parsed.kind,
            "provider_id": parsed.provider_id,
            "origin": "external",
            **update,
        }
    )


def status_update(status: DocumentStatus, checked_at: dt.datetime) -> dict[str, Any]:
    """The view fields a provider's answer fills in (for a document we do not store)."""
    amounts = status.amounts
    return {
        "kind": status.ref.kind,
        "buyer_name": status.buyer_name,
        "buyer_bizno": status.buyer_bizno,
        "supply": amounts.supply if amounts else None,
        "vat": amounts.vat if amounts else None,
        "total": amounts.total if amounts else None,
        "currency": amounts.currency if amounts else "KRW",
        "state": status.state,
        "raw_state": status.raw_state,
        "state_detail": status.detail,
        "due_date": status.due_date,
        "issued_at": status.issued_at,
        "state_checked_at": checked_at,
        "confirm_number": status.confirm_number,
        "links": dict(status.links),
    }
