"""The ledger's rows as frozen dataclasses: what the repositories hand out.

One record per table row (plus two derived answers, `ClosureChange` and `Claim`, and the
per-bucket `DocumentAggregate`). Records carry the vocabulary's enums, not raw strings,
so a caller compares `record.lifecycle is Lifecycle.ISSUED` and never a literal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import RowMapping

from commands.ledger.vocabulary import ApprovalAction, ApprovalState, IdempotencyState, Lifecycle
from providers.models import DocumentKind, DocumentRef, DocumentState, IssueRequest, Provider

__all__ = [
    "ApprovalRecord",
    "AuditEventRecord",
    "CallbackEventRecord",
    "Claim",
    "ClosureChange",
    "ClosureCheckRecord",
    "DigestRunRecord",
    "DigestScheduleRecord",
    "DocumentAggregate",
    "DocumentRecord",
    "IdempotencyRecord",
]


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """One row of `documents`."""

    id: int
    ref: str
    provider: Provider
    kind: DocumentKind
    provider_id: str | None
    origin: str
    sandbox: bool
    buyer_name: str | None
    buyer_bizno: str | None
    buyer_email: str | None
    buyer_phone: str | None
    supply: int | None
    vat: int | None
    total: int | None
    currency: str
    lifecycle: Lifecycle
    state: DocumentState | None
    raw_state: str | None
    state_detail: str | None
    write_date: dt.date | None
    due_date: dt.date | None
    issued_at: dt.datetime | None
    state_checked_at: dt.datetime | None
    confirm_number: str | None
    links: dict[str, str]
    request: dict[str, Any] | None
    last_error: str | None
    requested_by: str | None
    channel_id: str | None
    thread_ts: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    amends_document_id: int | None = None  # 수정세금계산서: the document this one amends
    modify_code: int | None = None  # its NTS reason code 1..6
    team_id: str | None = None
    enterprise_id: str | None = None

    @classmethod
    def from_row(cls, row: RowMapping) -> DocumentRecord:
        values = {f.name: row[f.name] for f in dataclasses.fields(cls)}
        values.update(
            provider=Provider(row["provider"]),
            kind=DocumentKind(row["kind"]),
            lifecycle=Lifecycle(row["lifecycle"]),
            state=DocumentState(row["state"]) if row["state"] else None,
            links=dict(row["links"] or {}),
            ref=row["ref"] or "",
        )
        return cls(**values)

    @property
    def document_ref(self) -> DocumentRef | None:
        """How the provider knows it, once it has an id there."""
        if not self.provider_id:
            return None
        return DocumentRef(provider=self.provider, kind=self.kind, provider_id=self.provider_id)

    def issue_request(self) -> IssueRequest | None:
        """The stored request (its key is this document's ref), or None for adopted documents."""
        return IssueRequest.model_validate(self.request) if self.request else None


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """One row of `approval_requests`."""

    id: int
    action: ApprovalAction
    document_id: int
    payload: dict[str, Any]
    requester: str
    decider: str | None
    state: ApprovalState
    retryable: bool
    reason: str | None
    outcome_code: str | None
    outcome_message: str | None
    user_hint: str | None
    idempotency_key: str | None
    channel_id: str | None
    message_ts: str | None
    origin_channel_id: str | None
    origin_thread_ts: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    decided_at: dt.datetime | None
    expires_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    attempts: int
    team_id: str | None = None
    enterprise_id: str | None = None
    resubmits_request_id: int | None = None
    required_approvals: int = 1
    override_reason: str | None = None

    @classmethod
    def from_row(cls, row: RowMapping) -> ApprovalRecord:
        values = {f.name: row[f.name] for f in dataclasses.fields(cls)}
        values.update(
            action=ApprovalAction(row["action"]),
            state=ApprovalState(row["state"]),
            payload=dict(row["payload"] or {}),
        )
        return cls(**values)


@dataclass(frozen=True, slots=True)
class AuditEventRecord:
    id: int
    at: dt.datetime
    actor: str
    action: str
    operation: str | None
    document_id: int | None
    document_ref: str | None
    approval_id: int | None
    outcome: str | None
    detail: dict[str, Any]
    #: the workspace the event is about (None: the bot's own work, or recorded before workspaces)
    team_id: str | None = None

    @classmethod
    def from_row(cls, row: RowMapping) -> AuditEventRecord:
        values = {f.name: row[f.name] for f in dataclasses.fields(cls)}
        values["detail"] = dict(row["detail"] or {})
        return cls(**values)


@dataclass(frozen=True, slots=True)
class ClosureCheckRecord:
    id: int
    bizno: str
    provider: str
    state: str
    raw_state: str | None
    tax_type: str | None
    state_date: dt.date | None
    detail: str | None
    checked_at: dt.datetime
    checked_by: str | None

    @classmethod
    def from_row(cls, row: RowMapping) -> ClosureCheckRecord:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})

    def same_state(self, other: ClosureCheckRecord) -> bool:
        return (self.state, self.raw_state) == (other.state, other.raw_state)


@dataclass(frozen=True, slots=True)
class ClosureChange:
    """A business whose closure state differs from the check before."""

    bizno: str
    previous: ClosureCheckRecord
    current: ClosureCheckRecord


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    key: str
    operation: str
    request_hash: str
    state: IdempotencyState
    result: dict[str, Any] | None
    attempts: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> IdempotencyRecord:
        values = {f.name: row[f.name] for f in dataclasses.fields(cls)}
        values["state"] = IdempotencyState(row["state"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to "may I send this write?".

    `claimed` is True when this caller now owns the key (first use, or a retry after a
    definite failure). Otherwise `record.state` says why: DONE (the write already happened,
    `record.result` holds its answer) or IN_FLIGHT (a write was sent and never answered:
    reconcile with the provider before sending again).
    """

    claimed: bool
    record: IdempotencyRecord


@dataclass(frozen=True, slots=True)
class DigestScheduleRecord:
    channel_id: str
    time: str
    timezone: str
    enabled: bool
    created_by: str | None
    updated_at: dt.datetime
    #: the workspace whose channel it is (None: recorded before workspaces, or a single-workspace bot)
    team_id: str | None = None
    enterprise_id: str | None = None

    @classmethod
    def from_row(cls, row: RowMapping) -> DigestScheduleRecord:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True, slots=True)
class DigestRunRecord:
    channel_id: str
    day: dt.date
    claimed_at: dt.datetime
    claimed_by: str
    posted_at: dt.datetime | None
    message_ts: str | None
    summary: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: RowMapping) -> DigestRunRecord:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True, slots=True)
class CallbackEventRecord:
    id: int
    provider: str
    dedup_key: str
    received_at: dt.datetime
    payload: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: RowMapping) -> CallbackEventRecord:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True, slots=True)
class DocumentAggregate:
    """Count and total of documents in one (provider, lifecycle, state) bucket."""

    provider: Provider
    lifecycle: Lifecycle
    state: DocumentState | None
    count: int
    total: int

