"""The lifecycle vocabulary: every state and operation the ledger records, defined once.

Three state machines and one derived reading:

* `Lifecycle`: our side of a document's life (the provider's side is
  `providers.models.DocumentState`);
* `ApprovalState`: an approval request, moved only by compare-and-set along `TRANSITIONS`;
* `IdempotencyState`: a provider write's key;
* `Standing`: what a person calls a document's state, derived from both sides by
  `standing()`. Every read model (status, list, App Home, digest, export, chart) files a
  document under its standing, so they cannot tell different stories.

`AuditOperation` and `AuditKind` name what an `audit_events` row records; nothing writes a
free-text operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from providers.models import DocumentState

__all__ = [
    "GONE_STATES",
    "LIFECYCLE_STANDING",
    "TRANSITIONS",
    "ApprovalAction",
    "ApprovalState",
    "AuditKind",
    "AuditOperation",
    "IdempotencyState",
    "Lifecycle",
    "Standing",
    "standing",
]


class Lifecycle(StrEnum):
    """Our side of a document's life (the provider's side is `DocumentState`)."""

    PENDING_APPROVAL = "pending_approval"
    REJECTED = "rejected"
    EXPIRED = "expired"
    ISSUING = "issuing"
    ISSUED = "issued"
    FAILED = "failed"
    OUTCOME_UNKNOWN = "outcome_unknown"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"


class ApprovalAction(StrEnum):
    ISSUE = "issue"
    DESTROY = "destroy"
    RESEND = "resend"
    #: one approval for a batch of documents from a file (`commands.workflow.bulk`)
    BULK_ISSUE = "bulk_issue"
    AMEND = "amend"  # 수정세금계산서: one approval for the documents a reason produces
    SEND_NTS = "send_nts"  # 즉시전송: file an issued tax invoice with the NTS now


class ApprovalState(StrEnum):
    """An approval request's state machine, moved only by compare-and-set::

        pending ─┬─▶ approved ─▶ executing ─┬─▶ succeeded
                 ├─▶ rejected               ├─▶ failed  ─(retryable)─▶ executing
                 └─▶ expired                └─▶ unknown ─(reconcile)─▶ executing
    """

    PENDING = "pending"
    APPROVED = "approved"  # approved, not started yet
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTING = "executing"  # the provider call is running
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # approved, but the provider refused or failed
    UNKNOWN = "unknown"  # sent, no answer: reconciled before any retry


#: every move the approval state machine allows (executing → executing is a take-over
#: of a stale execution by `recover`).
TRANSITIONS: Mapping[ApprovalState, frozenset[ApprovalState]] = {
    ApprovalState.PENDING: frozenset({ApprovalState.APPROVED, ApprovalState.REJECTED, ApprovalState.EXPIRED}),
    ApprovalState.APPROVED: frozenset({ApprovalState.EXECUTING}),
    ApprovalState.EXECUTING: frozenset(
        {ApprovalState.EXECUTING, ApprovalState.SUCCEEDED, ApprovalState.FAILED, ApprovalState.UNKNOWN}
    ),
    ApprovalState.FAILED: frozenset({ApprovalState.EXECUTING}),
    ApprovalState.UNKNOWN: frozenset({ApprovalState.EXECUTING}),
    ApprovalState.SUCCEEDED: frozenset(),
    ApprovalState.REJECTED: frozenset(),
    ApprovalState.EXPIRED: frozenset(),
}


class IdempotencyState(StrEnum):
    IN_FLIGHT = "in_flight"  # a provider write may have been sent and has no recorded answer
    DONE = "done"
    FAILED = "failed"  # the provider definitely did nothing (or refused): the key may be claimed again


class Standing(StrEnum):
    """Where a document stands, as every surface names and counts it."""

    PENDING = "pending"  # waiting for a decision
    REJECTED = "rejected"  # an approver said no: never issued
    EXPIRED = "expired"  # nobody decided in time: never issued
    ISSUING = "issuing"  # approved, the provider call is running
    FAILED = "failed"  # the provider refused or failed: not issued
    UNKNOWN = "unknown"  # sent, no answer: reconciled before any retry
    ISSUED = "issued"  # issued and live at the provider (sent, filed, paid, ... is its `DocumentState`)
    CANCELLED = "cancelled"  # issued, then cancelled, voided or deleted


#: provider states after which a document no longer exists for its buyer
GONE_STATES = frozenset({DocumentState.DESTROYED, DocumentState.CANCELED, DocumentState.DELETED})

#: the standing of each lifecycle; `None`: issued, so the provider's state decides (gone or live)
LIFECYCLE_STANDING: Mapping[Lifecycle, Standing | None] = {
    Lifecycle.PENDING_APPROVAL: Standing.PENDING,
    Lifecycle.REJECTED: Standing.REJECTED,
    Lifecycle.EXPIRED: Standing.EXPIRED,
    Lifecycle.ISSUING: Standing.ISSUING,
    Lifecycle.FAILED: Standing.FAILED,
    Lifecycle.OUTCOME_UNKNOWN: Standing.UNKNOWN,
    Lifecycle.ISSUED: None,
    Lifecycle.DESTROYING: None,  # still live until the provider confirms
    Lifecycle.DESTROYED: Standing.CANCELLED,
}


def standing(lifecycle: Lifecycle, state: DocumentState | None) -> Standing:
    """The one reading of a document's two state columns.

    >>> standing(Lifecycle.ISSUED, DocumentState.CANCELED)
    <Standing.CANCELLED: 'cancelled'>
    """
    fixed = LIFECYCLE_STANDING[lifecycle]
    if fixed is not None:
        return fixed
    return Standing.CANCELLED if state in GONE_STATES else Standing.ISSUED


class AuditKind(StrEnum):
    """`audit_events.action`: who or what caused the event."""

    COMMAND = "command"  # a person asked
    DECISION = "decision"  # an approver decided (or was refused)
    SYSTEM = "system"  # the bot on its own: expiry, recovery, sweeps
    PROVIDER_CALL = "provider_call"  # a call to a provider and its answer
    CALLBACK = "callback"  # a provider called us
    DIGEST = "digest"


class AuditOperation(StrEnum):
    """`audit_events.operation`: what happened. Values are what the ledger stores."""

    ISSUE_REQUEST = "issue.request"
    DESTROY_REQUEST = "destroy.request"
    RESEND_REQUEST = "resend.request"
    APPROVE = "approve"
    REJECT = "reject"
    REFUSED = "refused"
    ISSUE_EXPIRE = "issue.expire"
    DESTROY_EXPIRE = "destroy.expire"
    RESEND_EXPIRE = "resend.expire"
    ISSUE_RETRY = "issue.retry"
    DESTROY_RETRY = "destroy.retry"
    RESEND_RETRY = "resend.retry"
    ISSUE_RECOVER = "issue.recover"
    DESTROY_RECOVER = "destroy.recover"
    RESEND_RECOVER = "resend.recover"
    ADOPT = "adopt"
    CLOSURE = "closure"
    ISSUE = "issue"
    ISSUE_FIND = "issue.find"
    ISSUE_LATE_CONFIRMED = "issue.late_confirmed"  # an approver accepted the penalty of a late issue
    DESTROY = "destroy"
    DESTROY_CHECK = "destroy.check"
    RESEND = "resend"
    STATUS_CHANGE = "status_change"
    SWEEP = "sweep"
    PAYMENT = "payment"
    TASK_NOTIFICATION = "task_notification"
    WORKFLOW_EVENT = "workflow_event"
    DIGEST_SCHEDULED = "digest.scheduled"
    DIGEST_NOW = "digest.now"
    BULK_ISSUE_REQUEST = "bulk_issue.request"
    BULK_ISSUE_EXPIRE = "bulk_issue.expire"
    BULK_ISSUE_RETRY = "bulk_issue.retry"
    BULK_ISSUE_RECOVER = "bulk_issue.recover"
    BULK_SUBMIT = "bulk_issue.submit"  # one bulkSubmit call (up to 100 documents)
    BULK_RESULT = "bulk_issue.result"  # one getBulkResult read
    AMEND_REQUEST = "amend.request"
    AMEND_EXPIRE = "amend.expire"
    AMEND_RETRY = "amend.retry"
    AMEND_RECOVER = "amend.recover"
    AMEND = "amend"
    SEND_NTS_REQUEST = "send_nts.request"
    SEND_NTS_EXPIRE = "send_nts.expire"
    SEND_NTS_RETRY = "send_nts.retry"
    SEND_NTS_RECOVER = "send_nts.recover"
    SEND_NTS = "send_nts"
    PDF = "pdf"

    @classmethod
    def of(cls, action: ApprovalAction, step: str) -> AuditOperation:
        """The operation for an approval action's step: ``of(DESTROY, "retry")`` is ``destroy.retry``."""
        return cls(f"{action.value}.{step}")
