"""The invoice service: who asked for what, turned into provider calls.

It sits between the Slack layer (which parses commands and renders cards) and the
provider services. Inputs are plain values: Slack user and channel ids are just
strings. Outputs are frozen pydantic views carrying everything a card needs.

What it guarantees:

* **Four eyes.** Issuing and destroying (configurable) wait for an approval by someone
  who is an approver and not the requester. Authorisation is checked here, on every
  call, not in the button that called it.
* **Exactly one decision and one execution.** Decisions and executions move the
  approval row with compare-and-set (``pending → approved → executing``); a hundred
  clicks produce one winner and ninety-nine "already approved by ..." answers.
* **No double issuance, no lost request.** Each provider write first claims an
  idempotency key in the database. When a write's outcome is unknown (timeout after
  sending), the provider is asked whether the document exists (``find``) before any
  retry; a retry reuses the same key, which providers use as the document id. When
  the provider cannot tell, the request is left ``unknown`` with instructions, never
  silently retried. `recover()` finishes whatever a crash interrupted.
* **An audit trail.** Every request, decision, refusal and provider call is an
  ``audit_events`` row, with details redacted.

Example::

    service = InvoiceService(store, providers, is_approver=approvers.contains)
    approval = await service.request_issue(draft, requester="U_ALICE", channel_id="C_FIN")
    decision = await service.decide(approval.id, "U_BOB", approve=True)
    decision.execution.ok   # True: issued, decision.approval.document.provider_ref is set
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import hashlib
import io
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from commands.ledger import (
    ApprovalAction,
    ApprovalRecord,
    ApprovalState,
    DocumentRecord,
    IdempotencyState,
    Lifecycle,
    Store,
    utc_now,
)
from commands.workflow.drafts import IssueDraft
from commands.workflow.refs import ExternalRef, InvalidRef, OurRef, ParsedRef, parse_ref
from providers.base import InvoiceProvider
from providers.bizno import InvalidBizno, check_bizno
from providers.errors import (
    DocumentNotFound,
    NotSupported,
    OutcomeUnknown,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    RequestInvalid,
)
from providers.models import (
    BusinessState,
    BusinessStatus,
    DocumentKind,
    DocumentRef,
    DocumentState,
    DocumentStatus,
    IssueRequest,
    Party,
    Provider,
    ResendRequest,
    TaxType,
)

__all__ = [
    "DEFAULT_APPROVAL_ACTIONS",
    "ApprovalView",
    "ClosureItem",
    "ClosureResult",
    "Conflict",
    "DecisionOutcome",
    "DecisionResult",
    "DocumentView",
    "ExecutionResult",
    "InvalidInput",
    "InvoiceService",
    "IssueDraft",
    "NotAllowed",
    "NotFound",
    "Unsupported",
    "WorkflowError",
]

log = logging.getLogger("invoicebot.service")

SYSTEM_ACTOR = "system"
DEFAULT_APPROVAL_ACTIONS = frozenset({"issue", "destroy"})
#: provider writes per execution when the outcome stays unknown: the first send and one retry
_MAX_SENDS = 2
_GONE_STATES = frozenset({DocumentState.DESTROYED, DocumentState.CANCELED, DocumentState.DELETED})
_KRW_ONLY = frozenset({Provider.POPBILL, Provider.PAYSSAM, Provider.HIWORKS})
_CSV_COLUMNS = (
    "ref",
    "provider",
    "kind",
    "provider_id",
    "buyer",
    "bizno",
    "supply",
    "vat",
    "total",
    "currency",
    "state",
    "raw_state",
    "issued_at",
    "requested_by",
)


# --------------------------------------------------------------------------- errors


#: requests `recover` drives at once after a crash
_RECOVER_CONCURRENCY = 8


class WorkflowError(Exception):
    """A request the service refuses; `message` and `user_hint` are meant for the user.

    ::

        WorkflowError
        ├── NotAllowed      not an approver, approving your own request, retrying someone else's
        ├── InvalidInput    bad amounts, a bad business number, a missing reject reason, a bad ref
        ├── Unsupported     the provider cannot do this (kind, resend channel, destroy, closure)
        ├── NotFound        no such document or approval
        └── Conflict        the document is not in a state that allows it (already destroyed, ...)
    """

    code = "error"

    def __init__(self, message: str, *, user_hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.user_hint = user_hint


class NotAllowed(WorkflowError):
    code = "not_allowed"


class InvalidInput(WorkflowError):
    code = "invalid"


class Unsupported(WorkflowError):
    code = "unsupported"


class NotFound(WorkflowError):
    code = "not_found"


class Conflict(WorkflowError):
    code = "conflict"


# --------------------------------------------------------------------------- inputs


# --------------------------------------------------------------------------- views


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


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

    @property
    def stored(self) -> bool:
        return self.id is not None


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


# --------------------------------------------------------------------------- helpers


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _status_json(status: DocumentStatus) -> dict[str, Any]:
    return status.model_dump(mode="json", exclude={"raw", "history"})


def _mention(user: str | None) -> str:
    return f"<@{user}>" if user else "someone"


def _csv_cell(value: Any) -> str:
    """Text for a CSV cell; a leading = + - @ is neutralised so a spreadsheet does not run it."""
    if value is None:
        return ""
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not text.lstrip("-").isdigit():
        return "'" + text
    return text


Approver = Callable[[str], Awaitable[bool]]


class InvoiceService:
    """Issue, destroy and resend documents with approvals, idempotency and an audit trail.

    Args:
        store: the database.
        providers: the provider services by provider (a missing one is "not configured").
        is_approver: whether a user may approve (asked on every decision).
        four_eyes: the requester may never decide their own request.
        approval_ttl: how long a request waits for a decision before it expires.
        clock: the current UTC time (tests move it).
        approval_actions: which of "issue", "destroy", "resend" need an approval; the others
            run as soon as they are requested.
        timezone: where dates are meant (exports, messages).
        executing_stale_after: how long an execution may run before `recover` assumes its
            process died (longer than any provider call with its retries).
        callback_url: the URL a provider should call back for a document (provider, ref), e.g.
            Payssam's payment callback; None when the bot is not reachable from outside.
    """

    def __init__(
        self,
        store: Store,
        providers: Mapping[Provider, InvoiceProvider],
        *,
        is_approver: Approver,
        four_eyes: bool = True,
        approval_ttl: dt.timedelta = dt.timedelta(hours=24),
        clock: Callable[[], dt.datetime] = utc_now,
        approval_actions: Collection[str] = DEFAULT_APPROVAL_ACTIONS,
        timezone: str = "Asia/Seoul",
        executing_stale_after: dt.timedelta = dt.timedelta(minutes=2),
        callback_url: Callable[[Provider, str], str | None] | None = None,
    ) -> None:
        unknown = set(approval_actions) - {a.value for a in ApprovalAction}
        if unknown:
            raise ValueError(f"unknown approval actions {sorted(unknown)}: use issue, destroy, resend")
        self._store = store
        self._providers = dict(providers)
        self._is_approver = is_approver
        self._four_eyes = four_eyes
        self._ttl = approval_ttl
        self._clock = clock
        self._approval_actions = frozenset(ApprovalAction(a) for a in approval_actions)
        self._tz = ZoneInfo(timezone)
        self._stale_after = executing_stale_after
        self._callback_url = callback_url

    @property
    def four_eyes(self) -> bool:
        return self._four_eyes

    def needs_approval(self, action: ApprovalAction | str) -> bool:
        return ApprovalAction(action) in self._approval_actions

    # ----------------------------------------------------------------- requests

    async def request_issue(
        self,
        draft: IssueDraft | IssueRequest,
        requester: str,
        channel_id: str,
        thread_ts: str | None = None,
    ) -> ApprovalView:
        """Create the document (ref ``INV-…``) and an approval request for issuing it.

        When "issue" does not need approval, it is executed at once and the returned view
        carries the outcome.

        Raises:
            InvalidInput: amounts or the buyer's business number are wrong.
            Unsupported: the provider cannot issue this kind of document.
        """
        provider = self._provider(draft.provider)
        request, warnings = self._validate_issue(provider, draft)
        needs_approval = self.needs_approval(ApprovalAction.ISSUE)
        now = self._clock()
        async with self._store.transaction() as tx:
            doc = await tx.documents.create(
                provider=request.provider,
                kind=request.kind,
                lifecycle=Lifecycle.PENDING_APPROVAL,
                request=request,
                sandbox=provider.sandbox,
                requested_by=requester,
                channel_id=channel_id,
                thread_ts=thread_ts,
                now=now,
            )
            approval = await tx.approvals.create(
                action=ApprovalAction.ISSUE,
                document_id=doc.id,
                requester=requester,
                state=ApprovalState.PENDING if needs_approval else ApprovalState.APPROVED,
                expires_at=now + self._ttl if needs_approval else None,
                idempotency_key=f"issue:{doc.ref}",
                payload={"warnings": warnings},
                origin_channel_id=channel_id,
                origin_thread_ts=thread_ts,
                now=now,
            )
            await tx.audit.record(
                actor=requester,
                action="command",
                operation="issue.request",
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
        if not needs_approval:
            return (await self.execute(approval.id)).approval
        return await self._approval_view(approval)

    async def request_destroy(
        self,
        ref_text: str,
        reason: str | None,
        requester: str,
        channel_id: str,
        thread_ts: str | None = None,
    ) -> ApprovalView:
        """Ask to cancel/void/destroy an issued document (ours, or a provider ref we adopt).

        Raises:
            NotFound, InvalidInput: the ref.
            Unsupported: the provider cannot destroy documents.
            Conflict: the document is not issued, or a destroy request is already open.
        """
        reason = (reason or "").strip() or None
        doc = await self._document_for_action(ref_text, requester)
        provider = self._provider(doc.provider)
        if not provider.capabilities.destroy:
            raise Unsupported(provider.capabilities._why("destroy", "cannot destroy documents"))
        self._require_issued(doc, "destroyed")
        await self._require_no_open(doc, ApprovalAction.DESTROY)
        return await self._create_action(
            ApprovalAction.DESTROY, doc, requester, channel_id, thread_ts, payload={"reason": reason}, reason=reason
        )

    async def request_resend(
        self,
        ref_text: str,
        request: ResendRequest,
        requester: str,
        channel_id: str,
        thread_ts: str | None = None,
    ) -> ApprovalView:
        """Resend an issued document's notification (runs at once unless "resend" needs approval).

        Raises:
            NotFound, InvalidInput: the ref.
            Unsupported: the provider cannot resend by that channel.
            Conflict: the document is not issued.
        """
        doc = await self._document_for_action(ref_text, requester)
        provider = self._provider(doc.provider)
        try:
            provider.capabilities.require_resend(request.channel)
        except NotSupported as exc:
            raise Unsupported(exc.message, user_hint=exc.user_hint) from exc
        self._require_issued(doc, "resent")
        return await self._create_action(
            ApprovalAction.RESEND, doc, requester, channel_id, thread_ts, payload=request.model_dump(mode="json")
        )

    async def _create_action(
        self,
        action: ApprovalAction,
        doc: DocumentRecord,
        requester: str,
        channel_id: str,
        thread_ts: str | None,
        *,
        payload: Mapping[str, Any],
        reason: str | None = None,
    ) -> ApprovalView:
        needs_approval = self.needs_approval(action)
        now = self._clock()
        async with self._store.transaction() as tx:
            approval = await tx.approvals.create(
                action=action,
                document_id=doc.id,
                requester=requester,
                state=ApprovalState.PENDING if needs_approval else ApprovalState.APPROVED,
                expires_at=now + self._ttl if needs_approval else None,
                payload=payload,
                reason=reason,
                origin_channel_id=channel_id,
                origin_thread_ts=thread_ts,
                now=now,
            )
            await tx.audit.record(
                actor=requester,
                action="command",
                operation=f"{action.value}.request",
                document_id=doc.id,
                document_ref=doc.ref,
                approval_id=approval.id,
                outcome="pending" if needs_approval else "auto_approved",
                detail={"payload": dict(payload), "channel": channel_id},
                now=now,
            )
        if not needs_approval:
            return (await self.execute(approval.id)).approval
        return await self._approval_view(approval)

    # ----------------------------------------------------------------- decisions

    async def decide(
        self, approval_id: int, decider: str, approve: bool, reason: str | None = None, *, execute: bool = True
    ) -> DecisionResult:
        """Approve or reject a pending request; approving executes it unless `execute` is False.

        With ``execute=False`` the decision is only recorded (a fast compare-and-set): the
        Slack layer records it before acknowledging the click, then calls `execute`; a crash
        in between leaves the request approved, and `recover` runs it.

        Raises:
            NotFound: no such request.
            NotAllowed: the decider is not an approver, or is the requester (four eyes).
            InvalidInput: a rejection without a reason.
        """
        approval = await self._approval(approval_id)
        doc_ref = await self._doc_ref(approval)
        if not await self._is_approver(decider):
            await self._audit_refusal(approval, decider, "not_approver", doc_ref)
            raise NotAllowed(
                "only approvers can approve or reject requests",
                user_hint="ask an approver, or an admin to add you to the approvers",
            )
        if self._four_eyes and decider == approval.requester:
            await self._audit_refusal(approval, decider, "own_request", doc_ref)
            raise NotAllowed(
                "you made this request, so someone else has to decide it (four-eyes rule)",
                user_hint="ask another approver to look at it",
            )
        reason = (reason or "").strip() or None
        if not approve and reason is None:
            raise InvalidInput(
                "a reason is required to reject a request", user_hint="say why, so the requester can fix it"
            )
        now = self._clock()
        if approval.state is ApprovalState.PENDING and approval.expires_at is not None and approval.expires_at <= now:
            await self._expire(approval, now)
            approval = await self._approval(approval_id)
        if approval.state is not ApprovalState.PENDING:
            return await self._already_decided(approval)
        to = ApprovalState.APPROVED if approve else ApprovalState.REJECTED
        changes: dict[str, Any] = {"decider": decider, "decided_at": now}
        if not approve:
            changes["reason"] = reason
            changes["finished_at"] = now
        moved = await self._store.approvals.transition(
            approval_id, expected=ApprovalState.PENDING, to=to, now=now, unexpired_at=now, **changes
        )
        if not moved:
            current = await self._approval(approval_id)
            if current.state is ApprovalState.PENDING:  # it expired between our read and the update
                await self._expire(current, now)
                current = await self._approval(approval_id)
            return await self._already_decided(current)
        await self._store.audit.record(
            actor=decider,
            action="decision",
            operation="approve" if approve else "reject",
            document_id=approval.document_id,
            document_ref=doc_ref,
            approval_id=approval_id,
            outcome=to.value,
            detail={"reason": reason} if reason else None,
            now=now,
        )
        if not approve:
            if approval.action is ApprovalAction.ISSUE:
                await self._store.documents.set_lifecycle(
                    approval.document_id, Lifecycle.REJECTED, expected=Lifecycle.PENDING_APPROVAL, error=reason, now=now
                )
            view = await self._approval_view(await self._approval(approval_id))
            return DecisionResult(
                outcome=DecisionOutcome.REJECTED,
                message=f"rejected by {_mention(decider)}: {reason}",
                approval=view,
            )
        if not execute:
            return DecisionResult(
                outcome=DecisionOutcome.APPROVED,
                message=f"approved by {_mention(decider)}",
                approval=await self._approval_view(await self._approval(approval_id)),
            )
        execution = await self.execute(approval_id)
        return DecisionResult(
            outcome=DecisionOutcome.APPROVED,
            message=f"approved by {_mention(decider)}",
            approval=execution.approval,
            execution=execution,
        )

    async def _already_decided(self, approval: ApprovalRecord) -> DecisionResult:
        view = await self._approval_view(approval)
        if approval.state is ApprovalState.EXPIRED:
            return DecisionResult(
                outcome=DecisionOutcome.EXPIRED,
                message=f"this request expired at {self._local(approval.expires_at)}; "
                "ask the requester to make it again",
                approval=view,
            )
        verb = "rejected" if approval.state is ApprovalState.REJECTED else "approved"
        message = f"already {verb} by {_mention(approval.decider)}"
        if approval.state not in (ApprovalState.APPROVED, ApprovalState.REJECTED):
            message += f" ({approval.state.value})"
        return DecisionResult(outcome=DecisionOutcome.ALREADY_DECIDED, message=message, approval=view)

    async def _audit_refusal(self, approval: ApprovalRecord, actor: str, why: str, doc_ref: str | None) -> None:
        await self._store.audit.record(
            actor=actor,
            action="decision",
            operation="refused",
            document_id=approval.document_id,
            document_ref=doc_ref,
            approval_id=approval.id,
            outcome=why,
            now=self._clock(),
        )

    # ----------------------------------------------------------------- execution

    async def execute(self, approval_id: int) -> ExecutionResult:
        """Run an approved request (exactly once, whoever else calls this at the same time)."""
        now = self._clock()
        await self._approval(approval_id)  # NotFound for an id that does not exist
        moved = await self._store.approvals.transition(
            approval_id,
            expected=ApprovalState.APPROVED,
            to=ApprovalState.EXECUTING,
            now=now,
            count_attempt=True,
            started_at=now,
        )
        if not moved:
            return await self._not_executed(await self._approval(approval_id))
        return await self._drive(approval_id, mode="first")

    async def _not_executed(self, current: ApprovalRecord) -> ExecutionResult:
        """Someone else is executing (or has executed) this request: say where it stands."""
        ok = current.state is ApprovalState.SUCCEEDED
        return ExecutionResult(
            approval=await self._approval_view(current),
            executed=False,
            ok=ok,
            error_code=None if ok else current.outcome_code,
            message=current.outcome_message or f"this {current.action.value} request is {current.state.value}",
            user_hint=current.user_hint,
        )

    async def retry(self, approval_id: int, actor: str) -> ExecutionResult:
        """Try a failed-but-retryable or unknown request again, reconciling with the provider first.

        Raises:
            NotAllowed: the actor is neither the requester nor an approver.
            Conflict: the request is not retryable.
        """
        approval = await self._approval(approval_id)
        if actor != approval.requester and not await self._is_approver(actor):
            raise NotAllowed("only the requester or an approver can retry a request")
        if approval.state in (ApprovalState.EXECUTING, ApprovalState.SUCCEEDED):
            # a double click on "Retry", or someone else's retry: report it, do not fail
            return await self._not_executed(approval)
        if approval.state not in (ApprovalState.FAILED, ApprovalState.UNKNOWN) or not approval.retryable:
            hint = None
            if approval.action is ApprovalAction.ISSUE and approval.state is ApprovalState.FAILED:
                hint = "the provider refused it: fix the request and issue a new document"
            raise Conflict(
                f"{approval.action.value} request #{approval.id} is {approval.state.value} and cannot be retried",
                user_hint=hint,
            )
        now = self._clock()
        moved = await self._store.approvals.transition(
            approval_id,
            expected=(ApprovalState.FAILED, ApprovalState.UNKNOWN),
            to=ApprovalState.EXECUTING,
            now=now,
            retryable_only=True,
            count_attempt=True,
            started_at=now,
        )
        if not moved:
            return await self._not_executed(await self._approval(approval_id))
        await self._store.audit.record(
            actor=actor,
            action="command",
            operation=f"{approval.action.value}.retry",
            document_id=approval.document_id,
            document_ref=await self._doc_ref(approval),
            approval_id=approval_id,
            now=now,
        )
        return await self._drive(approval_id, mode="retry")

    async def retry_document(self, ref_text: str, actor: str) -> ExecutionResult:
        """`retry` the latest retryable request of a document."""
        doc = await self._stored_document(ref_text)
        candidates = await self._store.approvals.search(
            states=(ApprovalState.FAILED, ApprovalState.UNKNOWN), document_id=doc.id
        )
        retryable = [a for a in candidates if a.retryable]
        if not retryable:
            raise Conflict(f"{doc.ref} has no failed request that can be retried")
        return await self.retry(retryable[-1].id, actor)

    async def recover(self) -> list[ExecutionResult]:
        """Finish what a crash interrupted. Run at start-up, then periodically.

        Approved requests are executed. Executions older than `executing_stale_after` are taken
        over (once, by compare-and-set on the attempt count) and reconciled with the provider
        before anything is sent again.
        """
        slots = asyncio.Semaphore(_RECOVER_CONCURRENCY)  # each request is its own provider round trip

        async def run_approved(approval: ApprovalRecord) -> ExecutionResult:
            async with slots:
                return await self.execute(approval.id)

        async def take_over(approval: ApprovalRecord, now: dt.datetime) -> ExecutionResult | None:
            async with slots:
                taken = await self._store.approvals.transition(
                    approval.id,
                    expected=ApprovalState.EXECUTING,
                    to=ApprovalState.EXECUTING,
                    now=now,
                    attempts_seen=approval.attempts,
                    count_attempt=True,
                    started_at=now,
                )
                if not taken:
                    return None
                await self._store.audit.record(
                    actor=SYSTEM_ACTOR,
                    action="system",
                    operation=f"{approval.action.value}.recover",
                    document_id=approval.document_id,
                    document_ref=await self._doc_ref(approval),
                    approval_id=approval.id,
                    detail={"started_at": approval.started_at, "attempts": approval.attempts},
                    now=now,
                )
                return await self._drive(approval.id, mode="recover")

        approved = await self._store.approvals.search(states=ApprovalState.APPROVED, limit=500)
        results = list(await asyncio.gather(*(run_approved(a) for a in approved)))
        now = self._clock()
        stuck = await self._store.approvals.search(
            states=ApprovalState.EXECUTING, started_before=now - self._stale_after, limit=500
        )
        taken_over = await asyncio.gather(*(take_over(a, now) for a in stuck))
        results.extend(r for r in taken_over if r is not None)
        return results

    async def _drive(self, approval_id: int, *, mode: Literal["first", "retry", "recover"]) -> ExecutionResult:
        """Carry an approval this caller owns (state executing) to its end."""
        approval = await self._approval(approval_id)
        doc = await self._document(approval.document_id)
        run = _Run(self, approval, doc, mode)
        try:
            if approval.action is ApprovalAction.ISSUE:
                return await run.issue()
            if approval.action is ApprovalAction.DESTROY:
                return await run.destroy()
            return await run.resend()
        except Exception as exc:
            # a bug must not leave the request "executing" for ever, nor be retried blindly
            log.exception("executing %s request %s failed unexpectedly", approval.action.value, approval_id)
            return await run.finish(
                ApprovalState.UNKNOWN,
                code="internal",
                message=f"internal error while executing ({type(exc).__name__}); "
                "the provider may or may not have acted",
                hint="retrying checks with the provider first; if it fails again, tell an administrator",
                retryable=True,
            )

    # ----------------------------------------------------------------- reads

    async def status(self, ref_text: str, *, refresh: bool = True) -> DocumentView:
        """A document's state, fresh from the provider when `refresh` (and it has a provider id).

        A provider failure does not fail the call: the last known state comes back with `error`.
        A provider ref we do not store is asked directly.

        Raises:
            InvalidInput: unreadable ref. NotFound: an ``INV-`` ref we do not have.
        """
        parsed = self._parse(ref_text)
        doc = await self._lookup(parsed)
        if doc is None:
            assert isinstance(parsed, ExternalRef)
            return await self._external_status(parsed)
        ref = doc.document_ref
        if not refresh or ref is None or doc.lifecycle in (Lifecycle.PENDING_APPROVAL, Lifecycle.REJECTED):
            return self._doc_view(doc)
        provider = self._providers.get(doc.provider)
        if provider is None:
            return self._doc_view(doc, error=self._not_configured(doc.provider))
        try:
            status = await provider.status(ref)
        except ProviderError as exc:
            return self._doc_view(doc, error=exc)
        await self._store.documents.record_status(doc.id, status, now=self._clock())
        return self._doc_view(await self._document(doc.id))

    async def resolve_ref(self, ref_text: str) -> DocumentView:
        """The stored document a ref names, without asking the provider (external refs: a stub view).

        Raises:
            InvalidInput: unreadable ref. NotFound: an ``INV-`` ref we do not have.
        """
        parsed = self._parse(ref_text)
        doc = await self._lookup(parsed)
        if doc is not None:
            return self._doc_view(doc)
        assert isinstance(parsed, ExternalRef)
        return DocumentView(
            ref=str(parsed),
            provider_ref=str(parsed),
            provider=parsed.provider,
            kind=parsed.kind,
            provider_id=parsed.provider_id,
            origin="external",
        )

    async def get_approval(self, approval_id: int) -> ApprovalView:
        return await self._approval_view(await self._approval(approval_id))

    async def pending_approvals(self, approver: str | None = None, *, limit: int = 50) -> list[ApprovalView]:
        """Requests waiting for a decision; for `approver`, only those they may decide."""
        exclude = approver if (approver is not None and self._four_eyes) else None
        records = await self._store.approvals.search(
            states=ApprovalState.PENDING, exclude_requester=exclude, limit=limit
        )
        now = self._clock()
        return [await self._approval_view(a) for a in records if a.expires_at is None or a.expires_at > now]

    async def attach_card(self, approval_id: int, channel_id: str, message_ts: str) -> ApprovalView:
        """Remember where the approval card was posted, so later updates edit it."""
        await self._store.approvals.set_card(approval_id, channel_id, message_ts, now=self._clock())
        return await self.get_approval(approval_id)

    async def list_documents(
        self,
        *,
        state: DocumentState | None = None,
        provider: Provider | None = None,
        lifecycle: Lifecycle | None = None,
        limit: int = 20,
        before_id: int | None = None,
    ) -> list[DocumentView]:
        """Newest first, as stored (no provider calls)."""
        records = await self._store.documents.search(
            state=state, provider=provider, lifecycle=lifecycle, limit=limit, before_id=before_id
        )
        return [self._doc_view(r) for r in records]

    async def export_csv(self, from_date: dt.date, to_date: dt.date) -> bytes:
        """Documents created from `from_date` to `to_date` (inclusive, service time zone) as CSV.

        UTF-8 with a byte-order mark, so Excel shows Korean names correctly; cells that would
        start a formula are prefixed with a quote.
        """
        if to_date < from_date:
            raise InvalidInput(f"the export ends ({to_date}) before it starts ({from_date})")
        since = dt.datetime.combine(from_date, dt.time(), self._tz)
        until = dt.datetime.combine(to_date + dt.timedelta(days=1), dt.time(), self._tz)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(_CSV_COLUMNS)
        async for doc in self._store.documents.iter_created_between(since, until):
            writer.writerow(
                [
                    _csv_cell(v)
                    for v in (
                        doc.ref,
                        doc.provider.value,
                        doc.kind.value,
                        doc.provider_id,
                        doc.buyer_name,
                        doc.buyer_bizno,
                        doc.supply,
                        doc.vat,
                        doc.total,
                        doc.currency,
                        doc.state.value if doc.state else doc.lifecycle.value,
                        doc.raw_state,
                        doc.issued_at.astimezone(self._tz).isoformat(timespec="seconds") if doc.issued_at else None,
                        doc.requested_by,
                    )
                ]
            )
        return out.getvalue().encode("utf-8-sig")

    async def expire_stale(self) -> list[ApprovalView]:
        """Expire pending requests past their deadline; returns them so their cards can be updated."""
        now = self._clock()
        expired = []
        for approval in await self._store.approvals.search(states=ApprovalState.PENDING, expired_at=now, limit=500):
            if await self._expire(approval, now):
                expired.append(await self.get_approval(approval.id))
        return expired

    async def _expire(self, approval: ApprovalRecord, now: dt.datetime) -> bool:
        message = f"expired at {self._local(approval.expires_at)} without a decision"
        moved = await self._store.approvals.transition(
            approval.id,
            expected=ApprovalState.PENDING,
            to=ApprovalState.EXPIRED,
            now=now,
            finished_at=now,
            outcome_code="expired",
            outcome_message=message,
        )
        if not moved:
            return False
        if approval.action is ApprovalAction.ISSUE:
            await self._store.documents.set_lifecycle(
                approval.document_id, Lifecycle.EXPIRED, expected=Lifecycle.PENDING_APPROVAL, now=now
            )
        await self._store.audit.record(
            actor=SYSTEM_ACTOR,
            action="system",
            operation=f"{approval.action.value}.expire",
            document_id=approval.document_id,
            document_ref=await self._doc_ref(approval),
            approval_id=approval.id,
            outcome="expired",
            now=now,
        )
        return True

    # ----------------------------------------------------------------- closure

    async def closure(
        self, biznos: Sequence[str], actor: str, provider: Provider | None = None
    ) -> ClosureResult:
        """Check whether businesses are closed or suspended (휴폐업), and what changed since last time.

        Numbers that are not business numbers are reported one by one; the others are still
        checked. Raises Unsupported when no configured provider can check closure.
        """
        chosen = self._closure_provider(provider)
        items: dict[str, ClosureItem] = {}
        order: list[str] = []
        warnings: list[str] = []
        valid: list[str] = []
        for text in biznos:
            try:
                check = check_bizno(text)
            except InvalidBizno as exc:
                key = f"invalid:{text}"
                items[key] = ClosureItem(input=text, error=str(exc))
                order.append(key)
                continue
            if check.number in items:
                continue
            if check.warning:
                warnings.append(check.warning)
            items[check.number] = ClosureItem(input=text, bizno=check.number, warning=check.warning)
            order.append(check.number)
            valid.append(check.number)
        now = self._clock()
        if not valid:
            return ClosureResult(
                provider=chosen.provider, items=tuple(items[k] for k in order), warnings=tuple(warnings)
            )
        previous = await self._store.closures.latest(valid)
        try:
            statuses = await chosen.check_closure(valid)
        except ProviderError as exc:
            await self._store.audit.record(
                actor=actor,
                action="provider_call",
                operation="closure",
                outcome=exc.outcome_code,
                detail={"count": len(valid), "provider": chosen.provider.value, "error": str(exc)},
                now=now,
            )
            return ClosureResult(
                provider=chosen.provider,
                items=tuple(items[k] for k in order),
                warnings=tuple(warnings),
                error=str(exc),
                error_hint=exc.user_hint or "nothing was checked; try again in a moment",
            )
        by_number = {s.bizno: s for s in statuses if s.bizno in items}
        await self._store.closures.record(
            list(by_number.values()), provider=chosen.provider, checked_by=actor, now=now
        )
        for number in valid:
            status = by_number.get(number)
            item = items[number]
            if status is None:
                items[number] = item.model_copy(update={"error": f"{chosen.provider.value} returned no result"})
                continue
            before = previous.get(number)
            changed = before is not None and (before.state, before.raw_state) != (status.state.value, status.raw_state)
            items[number] = item.model_copy(
                update={
                    "status": status,
                    "changed": changed,
                    "previous_state": BusinessState(before.state) if before else None,
                    "previous_checked_at": before.checked_at if before else None,
                }
            )
        await self._store.audit.record(
            actor=actor,
            action="provider_call",
            operation="closure",
            outcome="ok",
            detail={
                "provider": chosen.provider.value,
                "checked": len(by_number),
                "changed": sum(1 for k in valid if items[k].changed),
            },
            now=now,
        )
        return ClosureResult(provider=chosen.provider, items=tuple(items[k] for k in order), warnings=tuple(warnings))

    def _closure_provider(self, wanted: Provider | None) -> InvoiceProvider:
        if wanted is not None:
            service = self._provider(wanted)
            try:
                service.capabilities.require_closure()
            except NotSupported as exc:
                raise Unsupported(exc.message) from exc
            return service
        for candidate in (Provider.POPBILL, Provider.HIWORKS, *Provider):
            found = self._providers.get(candidate)
            if found is not None and found.capabilities.closure_check:
                return found
        raise Unsupported("no configured provider can check business closure status",
                          user_hint="configure Popbill or Hiworks")

    # ----------------------------------------------------------------- internals

    def _provider(self, provider: Provider) -> InvoiceProvider:
        service = self._providers.get(provider)
        if service is None:
            raise Unsupported(self._not_configured(provider))
        return service

    @staticmethod
    def _not_configured(provider: Provider) -> str:
        return f"{provider.value} is not configured on this bot"

    def _validate_issue(
        self, provider: InvoiceProvider, draft: IssueDraft | IssueRequest
    ) -> tuple[IssueRequest, list[str]]:
        try:
            provider.capabilities.require_kind(draft.kind)
        except NotSupported as exc:
            raise Unsupported(exc.message, user_hint=exc.user_hint) from exc
        warnings: list[str] = []
        buyer = draft.buyer
        if buyer.bizno:
            try:
                check = check_bizno(buyer.bizno)
            except InvalidBizno as exc:
                raise InvalidInput(f"buyer business number: {exc}") from exc
            if check.warning:
                warnings.append(check.warning)
            buyer = buyer.model_copy(update={"bizno": check.number})
        if draft.currency != "KRW" and draft.provider in _KRW_ONLY:
            raise InvalidInput(f"{draft.provider.value} issues documents in KRW only, not {draft.currency}")
        fields = draft.model_dump(exclude={"key"})
        fields["buyer"] = buyer.model_dump()
        # the document's ref replaces this placeholder when the row is created
        request = IssueRequest(key="PENDING", **fields)
        amounts = request.amounts()
        if amounts.total <= 0:
            raise InvalidInput(f"the total must be more than zero (it is {amounts.total:,} {amounts.currency})")
        if request.tax_type is not TaxType.TAXABLE and amounts.vat != 0:
            kind = request.kind.value.replace("_", " ")
            raise InvalidInput(f"a {kind} carries no VAT, but the lines add {amounts.vat:,}")
        return request, warnings

    def _parse(self, ref_text: str) -> ParsedRef:
        try:
            return parse_ref(ref_text)
        except InvalidRef as exc:
            raise InvalidInput(str(exc)) from exc

    async def _lookup(self, parsed: ParsedRef) -> DocumentRecord | None:
        if isinstance(parsed, OurRef):
            doc = await self._store.documents.get(parsed.document_id)
            if doc is None:
                raise NotFound(f"{parsed.ref} does not exist")
            return doc
        doc = await self._store.documents.get_by_provider_id(parsed.provider, parsed.provider_id)
        if doc is not None and parsed.matches_kind(doc.kind):
            return doc
        return None

    async def _stored_document(self, ref_text: str) -> DocumentRecord:
        parsed = self._parse(ref_text)
        doc = await self._lookup(parsed)
        if doc is None:
            raise NotFound(f"{ref_text} is not a document this bot knows")
        return doc

    async def _document_for_action(self, ref_text: str, actor: str) -> DocumentRecord:
        """The stored document, or, for a provider ref we do not store, the document adopted:
        looked up at the provider and stored (origin "external") so it gets a ref, approvals and
        an audit trail like any other."""
        parsed = self._parse(ref_text)
        doc = await self._lookup(parsed)
        if doc is not None:
            return doc
        assert isinstance(parsed, ExternalRef)
        provider = self._provider(parsed.provider)
        try:
            status = await provider.status(parsed.document_ref)
        except DocumentNotFound as exc:
            raise NotFound(f"{parsed} does not exist at {parsed.provider.value}") from exc
        except ProviderError as exc:
            raise WorkflowError(
                f"could not look {parsed} up at {parsed.provider.value}: {exc.message}",
                user_hint=exc.user_hint or "try again in a moment",
            ) from exc
        now = self._clock()
        try:
            async with self._store.transaction() as tx:
                adopted = await tx.documents.create(
                    provider=parsed.provider,
                    kind=parsed.kind,
                    lifecycle=Lifecycle.ISSUED,
                    origin="external",
                    provider_id=parsed.provider_id,
                    sandbox=provider.sandbox,
                    buyer=Party(name=status.buyer_name, bizno=status.buyer_bizno) if status.buyer_name else None,
                    amounts=status.amounts,
                    due_date=status.due_date,
                    requested_by=actor,
                    now=now,
                )
                await tx.documents.record_status(adopted.id, status, now=now)
                await tx.audit.record(
                    actor=actor,
                    action="command",
                    operation="adopt",
                    document_id=adopted.id,
                    document_ref=adopted.ref,
                    outcome="ok",
                    detail={"provider_ref": str(parsed)},
                    now=now,
                )
        except IntegrityError:
            # two people adopting the same document at once: the other insert won
            existing = await self._store.documents.get_by_provider_id(parsed.provider, parsed.provider_id)
            if existing is None:
                raise
            return existing
        return await self._document(adopted.id)

    def _require_issued(self, doc: DocumentRecord, verb: str) -> None:
        if doc.lifecycle is not Lifecycle.ISSUED:
            raise Conflict(
                f"{doc.ref} is {doc.lifecycle.value.replace('_', ' ')}: only issued documents can be {verb}"
            )
        if doc.state in _GONE_STATES:
            raise Conflict(f"{doc.ref} is already {doc.state.value} at {doc.provider.value}")

    async def _require_no_open(self, doc: DocumentRecord, action: ApprovalAction) -> None:
        open_states = (ApprovalState.PENDING, ApprovalState.APPROVED, ApprovalState.EXECUTING, ApprovalState.UNKNOWN)
        existing = await self._store.approvals.search(states=open_states, document_id=doc.id, action=action)
        if existing:
            a = existing[0]
            raise Conflict(f"a {action.value} request for {doc.ref} is already open (#{a.id}, {a.state.value})")

    async def _approval(self, approval_id: int) -> ApprovalRecord:
        approval = await self._store.approvals.get(approval_id)
        if approval is None:
            raise NotFound(f"approval request #{approval_id} does not exist")
        return approval

    async def _document(self, document_id: int) -> DocumentRecord:
        doc = await self._store.documents.get(document_id)
        if doc is None:
            raise NotFound(f"document {document_id} does not exist")
        return doc

    async def _doc_ref(self, approval: ApprovalRecord) -> str | None:
        doc = await self._store.documents.get(approval.document_id)
        return doc.ref if doc else None

    async def _external_status(self, parsed: ExternalRef) -> DocumentView:
        base = DocumentView(
            ref=str(parsed),
            provider_ref=str(parsed),
            provider=parsed.provider,
            kind=parsed.kind,
            provider_id=parsed.provider_id,
            origin="external",
        )
        provider = self._providers.get(parsed.provider)
        if provider is None:
            return base.model_copy(update={"error": self._not_configured(parsed.provider), "error_code": "unsupported"})
        base = base.model_copy(update={"sandbox": provider.sandbox})
        try:
            status = await provider.status(parsed.document_ref)
        except ProviderError as exc:
            return base.model_copy(
                update={"error": str(exc), "error_code": exc.outcome_code, "error_hint": exc.user_hint}
            )
        amounts = status.amounts
        return base.model_copy(
            update={
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
                "state_checked_at": self._clock(),
                "confirm_number": status.confirm_number,
                "links": dict(status.links),
            }
        )

    def _doc_view(self, doc: DocumentRecord, *, error: ProviderError | str | None = None) -> DocumentView:
        ref = doc.document_ref
        extra: dict[str, Any] = {}
        if isinstance(error, ProviderError):
            extra = {"error": str(error), "error_code": error.outcome_code, "error_hint": error.user_hint}
        elif error:
            extra = {"error": error}
        return DocumentView(
            id=doc.id,
            ref=doc.ref,
            provider_ref=str(ref) if ref else None,
            provider=doc.provider,
            kind=doc.kind,
            provider_id=doc.provider_id,
            sandbox=doc.sandbox,
            origin=doc.origin,
            buyer_name=doc.buyer_name,
            buyer_bizno=doc.buyer_bizno,
            buyer_email=doc.buyer_email,
            buyer_phone=doc.buyer_phone,
            supply=doc.supply,
            vat=doc.vat,
            total=doc.total,
            currency=doc.currency,
            lifecycle=doc.lifecycle,
            state=doc.state,
            raw_state=doc.raw_state,
            state_detail=doc.state_detail,
            write_date=doc.write_date,
            due_date=doc.due_date,
            issued_at=doc.issued_at,
            state_checked_at=doc.state_checked_at,
            confirm_number=doc.confirm_number,
            links=doc.links,
            requested_by=doc.requested_by,
            channel_id=doc.channel_id,
            thread_ts=doc.thread_ts,
            created_at=doc.created_at,
            last_error=doc.last_error,
            **extra,
        )

    async def _approval_view(self, approval: ApprovalRecord) -> ApprovalView:
        doc = await self._document(approval.document_id)
        warnings = approval.payload.get("warnings") or []
        return ApprovalView(
            id=approval.id,
            action=approval.action,
            state=approval.state,
            retryable=approval.retryable,
            document=self._doc_view(doc),
            requester=approval.requester,
            decider=approval.decider,
            reason=approval.reason,
            payload=approval.payload,
            outcome_code=approval.outcome_code,
            outcome_message=approval.outcome_message,
            user_hint=approval.user_hint,
            expires_at=approval.expires_at,
            created_at=approval.created_at,
            decided_at=approval.decided_at,
            finished_at=approval.finished_at,
            attempts=approval.attempts,
            channel_id=approval.channel_id,
            message_ts=approval.message_ts,
            origin_channel_id=approval.origin_channel_id,
            origin_thread_ts=approval.origin_thread_ts,
            warnings=tuple(str(w) for w in warnings),
        )

    def _local(self, at: dt.datetime | None) -> str:
        if at is None:
            return "an unknown time"
        return at.astimezone(self._tz).strftime("%Y-%m-%d %H:%M %Z")


class _Run:
    """One execution of one approval, owned by this caller (the approval is `executing`)."""

    def __init__(
        self,
        service: InvoiceService,
        approval: ApprovalRecord,
        doc: DocumentRecord,
        mode: Literal["first", "retry", "recover"],
    ) -> None:
        self.service = service
        self.store = service._store
        self.approval = approval
        self.doc = doc
        self.mode = mode

    @property
    def key(self) -> str:
        if self.approval.idempotency_key:
            return self.approval.idempotency_key
        return f"{self.approval.action.value}:{self.doc.ref}:{self.approval.id}"

    def now(self) -> dt.datetime:
        return self.service._clock()

    async def audit(self, operation: str, outcome: str, detail: Mapping[str, Any] | None = None) -> None:
        await self.store.audit.record(
            actor=SYSTEM_ACTOR,
            action="provider_call",
            operation=operation,
            document_id=self.doc.id,
            document_ref=self.doc.ref,
            approval_id=self.approval.id,
            outcome=outcome,
            detail={"provider": self.doc.provider.value, "attempt": self.approval.attempts, **(detail or {})},
            now=self.now(),
        )

    async def finish(
        self,
        to: ApprovalState,
        *,
        code: str,
        message: str,
        hint: str | None = None,
        retryable: bool = False,
        status: DocumentStatus | None = None,
    ) -> ExecutionResult:
        now = self.now()
        await self.store.approvals.transition(
            self.approval.id,
            expected=ApprovalState.EXECUTING,
            to=to,
            now=now,
            finished_at=now,
            outcome_code=code[:64],
            outcome_message=message,
            user_hint=hint,
            retryable=retryable,
        )
        approval = await self.service._approval(self.approval.id)
        view = await self.service._approval_view(approval)
        ok = to is ApprovalState.SUCCEEDED
        return ExecutionResult(
            approval=view,
            executed=True,
            ok=ok,
            status=status,
            error_code=None if ok else code,
            message=message,
            user_hint=hint,
        )

    # ------------------------------------------------------------- issue

    async def issue(self) -> ExecutionResult:
        provider = self.service._provider(self.doc.provider)
        request = self.doc.issue_request()
        if request is None:
            raise RuntimeError(f"{self.doc.ref} has no stored issue request")
        if request.callback_url is None and self.service._callback_url is not None:
            url = self.service._callback_url(self.doc.provider, self.doc.ref)
            if url:
                request = request.model_copy(update={"callback_url": url})
        await self.store.documents.set_lifecycle(
            self.doc.id,
            Lifecycle.ISSUING,
            expected=(Lifecycle.PENDING_APPROVAL, Lifecycle.ISSUING, Lifecycle.FAILED, Lifecycle.OUTCOME_UNKNOWN),
            now=self.now(),
        )
        claim = await self.store.idempotency.claim(
            self.key, "issue", _digest(request.model_dump(mode="json")), now=self.now()
        )
        if not claim.claimed and claim.record.state is IdempotencyState.DONE and claim.record.result:
            return await self.issued(DocumentStatus.model_validate(claim.record.result), how="already recorded")
        # a write may already have been sent (crash, unknown outcome, explicit retry): look before sending
        reconcile = self.mode != "first" or not claim.claimed
        sends = 0
        last_error: ProviderError | None = None
        while True:
            if reconcile:
                try:
                    found = await provider.find(request)
                except ProviderError as exc:
                    await self.audit("issue.find", exc.outcome_code, {"error": str(exc)})
                    return await self.issue_unknown(last_error or exc, exc)
                await self.audit("issue.find", "found" if found else "absent")
                if found is not None:
                    return await self.issued(found, how="found at the provider")
                if sends >= _MAX_SENDS:
                    await self.store.idempotency.fail(self.key, {"error": "no answer, not issued"}, now=self.now())
                    return await self.issue_failed(
                        last_error or OutcomeUnknown("no answer", provider=self.doc.provider.value),
                        retryable=True,
                        message=f"{self.doc.provider.value} did not answer {sends} times; it has no such document, "
                        "so nothing was issued",
                    )
            sends += 1
            try:
                status = await provider.issue(request)
            except (OutcomeUnknown, ProviderProtocolError) as exc:
                # sent, and no answer we can read: the document may exist; find out before retrying
                await self.audit("issue", exc.outcome_code, {"error": str(exc)})
                last_error, reconcile = exc, True
                continue
            except ProviderUnavailable as exc:
                await self.audit("issue", exc.outcome_code, {"error": str(exc)})
                await self.store.idempotency.fail(self.key, {"error": exc.outcome_code}, now=self.now())
                return await self.issue_failed(exc, retryable=True)
            except (RequestInvalid, ProviderRejected) as exc:
                await self.audit("issue", exc.outcome_code, {"error": str(exc)})
                if reconcile:
                    # after an unanswered send, "duplicate key" may mean our first send went through
                    try:
                        found = await provider.find(request)
                    except ProviderError:
                        found = None
                    if found is not None:
                        return await self.issued(found, how="found at the provider")
                await self.store.idempotency.fail(self.key, {"error": exc.outcome_code}, now=self.now())
                return await self.issue_failed(exc, retryable=False)
            except ProviderError as exc:
                await self.audit("issue", exc.outcome_code, {"error": str(exc)})
                last_error, reconcile = exc, True
                continue
            return await self.issued(status, how="issued")

    async def succeeded(self, status: DocumentStatus, *, lifecycle: Lifecycle, operation: str,
                        detail: dict[str, Any], code: str, message: str) -> ExecutionResult:
        """The provider did it: remember the answer under the key, record the document, finish."""
        now = self.now()
        await self.store.idempotency.complete(self.key, _status_json(status), now=now)
        await self.store.documents.record_status(self.doc.id, status, lifecycle=lifecycle, now=now)
        await self.audit(operation, "ok", {**detail, "state": status.raw_state})
        return await self.finish(ApprovalState.SUCCEEDED, code=code, message=message, status=status)

    async def issued(self, status: DocumentStatus, *, how: str) -> ExecutionResult:
        label = " (SANDBOX)" if self.doc.sandbox else ""
        return await self.succeeded(
            status, lifecycle=Lifecycle.ISSUED, operation="issue",
            detail={"how": how, "provider_ref": str(status.ref)}, code="issued",
            message=f"{self.doc.ref} issued at {self.doc.provider.value}{label} as {status.ref}",
        )

    async def issue_failed(
        self, exc: ProviderError, *, retryable: bool, message: str | None = None
    ) -> ExecutionResult:
        message = message or f"{self.doc.provider.value} did not issue {self.doc.ref}: {exc}"
        await self.store.documents.set_lifecycle(
            self.doc.id, Lifecycle.FAILED, expected=Lifecycle.ISSUING, error=message, now=self.now()
        )
        if retryable:
            hint = exc.user_hint or "nothing was issued; retry when the provider is back"
        else:
            hint = exc.user_hint or "fix the request and issue a new document; this one will not be issued"
        return await self.finish(
            ApprovalState.FAILED, code=exc.outcome_code, message=message, hint=hint, retryable=retryable
        )

    async def issue_unknown(self, sent_error: ProviderError, find_error: ProviderError) -> ExecutionResult:
        provider = self.doc.provider.value
        message = (
            f"{provider} did not confirm whether {self.doc.ref} was issued, and checking failed ({find_error})"
        )
        hint = (
            f"look in {provider} for a document with key/reference {self.doc.ref} before doing anything; "
            "retrying checks again first and reuses the same key, so it cannot issue twice"
        )
        await self.store.documents.set_lifecycle(
            self.doc.id, Lifecycle.OUTCOME_UNKNOWN, expected=Lifecycle.ISSUING, error=message, now=self.now()
        )
        await self.audit("issue", "unknown", {"sent": str(sent_error), "find": str(find_error)})
        return await self.finish(ApprovalState.UNKNOWN, code="unknown", message=message, hint=hint, retryable=True)

    # ------------------------------------------------------------- destroy

    async def destroy(self) -> ExecutionResult:
        provider = self.service._provider(self.doc.provider)
        ref = self.doc.document_ref
        if ref is None:
            raise RuntimeError(f"{self.doc.ref} has no provider id to destroy")
        reason = self.approval.reason
        await self.store.documents.set_lifecycle(
            self.doc.id, Lifecycle.DESTROYING, expected=(Lifecycle.ISSUED, Lifecycle.DESTROYING), now=self.now()
        )
        claim = await self.store.idempotency.claim(
            self.key, "destroy", _digest({"ref": str(ref), "reason": reason}), now=self.now()
        )
        if not claim.claimed and claim.record.state is IdempotencyState.DONE and claim.record.result:
            return await self.destroyed(DocumentStatus.model_validate(claim.record.result), how="already recorded")
        reconcile = self.mode != "first" or not claim.claimed
        sends = 0
        last_error: ProviderError | None = None
        while True:
            if reconcile:
                try:
                    gone = await self.gone_at_provider(provider, ref)
                except ProviderError as exc:
                    await self.audit("destroy.check", exc.outcome_code, {"error": str(exc)})
                    return await self.destroy_unknown(last_error or exc, exc)
                if gone is not None:
                    return await self.destroyed(gone, how="found destroyed at the provider")
                if sends >= _MAX_SENDS:
                    await self.store.idempotency.fail(self.key, {"error": "no answer, still issued"}, now=self.now())
                    return await self.destroy_failed(
                        last_error or OutcomeUnknown("no answer", provider=ref.provider.value),
                        retryable=True,
                        message=f"{ref.provider.value} did not answer {sends} times and {self.doc.ref} is still "
                        "there, so it was not destroyed",
                    )
            sends += 1
            try:
                status = await provider.destroy(ref, reason)
            except (OutcomeUnknown, ProviderProtocolError) as exc:
                await self.audit("destroy", exc.outcome_code, {"error": str(exc)})
                last_error, reconcile = exc, True
                continue
            except ProviderUnavailable as exc:
                await self.audit("destroy", exc.outcome_code, {"error": str(exc)})
                await self.store.idempotency.fail(self.key, {"error": exc.outcome_code}, now=self.now())
                return await self.destroy_failed(exc, retryable=True)
            except (RequestInvalid, ProviderRejected) as exc:
                await self.audit("destroy", exc.outcome_code, {"error": str(exc)})
                await self.store.idempotency.fail(self.key, {"error": exc.outcome_code}, now=self.now())
                return await self.destroy_failed(exc, retryable=False)
            except ProviderError as exc:
                await self.audit("destroy", exc.outcome_code, {"error": str(exc)})
                last_error, reconcile = exc, True
                continue
            return await self.destroyed(status, how="destroyed")

    async def gone_at_provider(self, provider: InvoiceProvider, ref: DocumentRef) -> DocumentStatus | None:
        """The document's status when it is already destroyed (or deleted), else None."""
        try:
            status = await provider.status(ref)
        except DocumentNotFound:
            return DocumentStatus(ref=ref, state=DocumentState.DELETED, raw_state="not_found",
                                  detail="the provider no longer knows this document")
        return status if status.state in _GONE_STATES else None

    async def destroyed(self, status: DocumentStatus, *, how: str) -> ExecutionResult:
        return await self.succeeded(
            status, lifecycle=Lifecycle.DESTROYED, operation="destroy", detail={"how": how}, code="destroyed",
            message=f"{self.doc.ref} is {status.state.value} at {self.doc.provider.value}",
        )

    async def destroy_failed(
        self, exc: ProviderError, *, retryable: bool, message: str | None = None
    ) -> ExecutionResult:
        message = message or f"{self.doc.provider.value} did not destroy {self.doc.ref}: {exc}"
        await self.store.documents.set_lifecycle(
            self.doc.id, Lifecycle.ISSUED, expected=Lifecycle.DESTROYING, error=message, now=self.now()
        )
        hint = exc.user_hint or ("the document is unchanged; retry later" if retryable else None)
        return await self.finish(
            ApprovalState.FAILED, code=exc.outcome_code, message=message, hint=hint, retryable=retryable
        )

    async def destroy_unknown(self, sent_error: ProviderError, check_error: ProviderError) -> ExecutionResult:
        provider = self.doc.provider.value
        message = (
            f"{provider} did not confirm whether {self.doc.ref} was destroyed, and checking failed ({check_error})"
        )
        await self.audit("destroy", "unknown", {"sent": str(sent_error), "check": str(check_error)})
        return await self.finish(
            ApprovalState.UNKNOWN,
            code="unknown",
            message=message,
            hint=f"check {self.doc.document_ref} in {provider}; retrying checks its state first",
            retryable=True,
        )

    # ------------------------------------------------------------- resend

    async def resend(self) -> ExecutionResult:
        provider = self.service._provider(self.doc.provider)
        ref = self.doc.document_ref
        if ref is None:
            raise RuntimeError(f"{self.doc.ref} has no provider id to resend")
        request = ResendRequest.model_validate(self.approval.payload)
        claim = await self.store.idempotency.claim(
            self.key, "resend", _digest(request.model_dump(mode="json")), now=self.now()
        )
        if not claim.claimed and claim.record.state is IdempotencyState.DONE:
            return await self.finish(ApprovalState.SUCCEEDED, code="resent", message=f"{self.doc.ref} was resent")
        if not claim.claimed and self.mode == "recover":
            # a resend cannot be looked up at the provider; ask a person rather than send twice
            return await self.finish(
                ApprovalState.UNKNOWN,
                code="unknown",
                message=f"the resend of {self.doc.ref} was interrupted; it may or may not have been sent",
                hint="retry to send it (again) if the buyer did not get it",
                retryable=True,
            )
        target = f"by {request.channel.value}" + (f" to {request.address}" if request.address else "")
        try:
            await provider.resend(ref, request)
        except (OutcomeUnknown, ProviderProtocolError) as exc:
            await self.audit("resend", exc.outcome_code, {"error": str(exc)})
            return await self.finish(
                ApprovalState.UNKNOWN,
                code=exc.outcome_code,
                message=f"{self.doc.provider.value} did not confirm the resend of {self.doc.ref} {target}",
                hint="it may have been sent; retry to send it (again) if the buyer did not get it",
                retryable=True,
            )
        except ProviderUnavailable as exc:
            await self.audit("resend", exc.outcome_code, {"error": str(exc)})
            await self.store.idempotency.fail(self.key, {"error": exc.outcome_code}, now=self.now())
            return await self.finish(
                ApprovalState.FAILED,
                code=exc.outcome_code,
                message=f"{self.doc.ref} was not resent: {exc}",
                hint=exc.user_hint or "nothing was sent; retry in a moment",
                retryable=True,
            )
        except ProviderError as exc:
            await self.audit("resend", exc.outcome_code, {"error": str(exc)})
            await self.store.idempotency.fail(self.key, {"error": exc.outcome_code}, now=self.now())
            return await self.finish(
                ApprovalState.FAILED,
                code=exc.outcome_code,
                message=f"{self.doc.provider.value} refused to resend {self.doc.ref}: {exc}",
                hint=exc.user_hint,
            )
        await self.store.idempotency.complete(self.key, {"channel": request.channel.value}, now=self.now())
        await self.audit("resend", "ok", {"channel": request.channel.value})
        return await self.finish(ApprovalState.SUCCEEDED, code="resent", message=f"{self.doc.ref} resent {target}")
