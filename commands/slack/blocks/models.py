"""The frozen "card" models the Block Kit builders take.

`commands.slack.cards` maps the workflow's views onto them, so the builders stay
independent of storage and can be tested without a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from commands.ledger.vocabulary import ApprovalState, Lifecycle
from commands.slack.formatting import document_label
from providers.models import Amounts, BusinessState, DocumentKind, DocumentState, LineItem, Provider

__all__ = ["ApprovalCard", "ClosureRow", "DeadlineCard", "DocumentCard"]


class _Card(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class DeadlineCard(_Card):
    """A tax invoice's next deadline as of a day (`commands.workflow.deadlines.DeadlineNote`)."""

    stage: str  # "issue" (발급기한) or "transmit" (국세청 전송기한)
    deadline: dt.date
    days_left: int  # negative once it has passed
    late: bool
    unissued: bool  # past the period's filing deadline: 미발급 / 미전송
    percent: str  # "1%", "0.3%"
    penalty: int  # won: what it risks now when late, else what missing the deadline would cost
    filing_by: dt.date


class DocumentCard(_Card):
    """What a message shows about one document.

    `lifecycle` and `state` are the document's two state columns; `label` reads them the
    one way every surface does (`document_label`). A card built without a lifecycle is an
    issued document, so its provider state alone decides the label.
    """

    ref: str  # our key (INV-000123) or the provider ref (popbill:…)
    provider: Provider
    kind: DocumentKind
    sandbox: bool = False
    buyer_name: str | None = None
    buyer_bizno: str | None = None
    amounts: Amounts | None = None
    lifecycle: Lifecycle = Lifecycle.ISSUED
    state: DocumentState | None = DocumentState.UNKNOWN  # None: the provider has not said (never issued)
    raw_state: str | None = None
    provider_id: str | None = None
    links: Mapping[str, str] = Field(default_factory=dict)  # {"popup": url, "pdf": url, "pay": url, …}
    history: tuple[tuple[dt.datetime | None, str], ...] = ()
    requester: str | None = None  # Slack user id
    created_at: dt.datetime | None = None
    write_date: dt.date | None = None
    due_date: dt.date | None = None
    detail: str | None = None
    items: tuple[LineItem, ...] = ()
    memo: str | None = None
    amends: str | None = None  # 수정세금계산서: the ref of the document this one amends
    modify_code: int | None = None  # and the NTS reason code 1..6
    amendments: tuple[str, ...] = ()  # the refs of the documents amending this one
    deadline: DeadlineCard | None = None  # tax invoices: the issuance or transmission deadline

    @property
    def label(self) -> str:
        return document_label(self.lifecycle, self.state)


class ApprovalCard(_Card):
    """An approval request (four-eyes) for an action on a document."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True, defer_build=True)

    id: str  # storage ids are integers; button values are strings
    action: str  # "issue", "destroy", "resend", … (free text, shown as a verb)
    document: DocumentCard
    requester: str  # Slack user id
    state: ApprovalState = ApprovalState.PENDING
    decider: str | None = None  # Slack user id
    decided_at: dt.datetime | None = None
    reason: str | None = None  # rejection reason, or the reason given for a destroy
    expires_at: dt.datetime | None = None
    outcome: str | None = None  # e.g. "Issued: NTS confirm number 2024…" or what failed
    hint: str | None = None  # what to do next after a failure
    retryable: bool = False  # a failed/unknown request may be retried with /invoice retry <id>
    warnings: tuple[str, ...] = ()
    four_eyes: bool = True  # the requester may not decide it: the pending card says so
    replaces: str | None = None  # "#12 (INV-000007)": the request this one edits and resubmits
    resend_to: str | None = None  # "email attacker@evil.example": where a resend goes (typed by the requester)
    required_approvals: int = 1  # distinct approvers needed (N of M)
    approved_by: tuple[str, ...] = ()  # Slack user ids of those who approved so far
    override_reason: str | None = None  # the requester's reason for asking although the buyer is closed


class ClosureRow(_Card):
    """One business number's closure (휴폐업) result."""

    bizno: str
    state: BusinessState
    tax_type: str | None = None
    state_date: dt.date | None = None
    checked_at: dt.datetime | None = None
    warning: str | None = None
    changed: bool = False  # the state differs from the last check
    previous_state: BusinessState | None = None
