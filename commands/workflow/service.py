"""The invoice service: who asked for what, turned into provider calls.

A façade over the workflow modules, each a set of functions of one `WorkflowContext`:
`requests` (issue, destroy, resend), `approvals` (decide, expire), `execution` (one
send-and-reconcile loop), `recovery` (retry, recover), `queries`, `export` and `closure`.
It guarantees four eyes, exactly one decision and one execution per request, no double
issuance and no lost request, and an audit row for every step (see those modules).

Example::

    service = InvoiceService(store, providers, is_approver=approvers.contains)
    approval = await service.request_issue(draft, requester="U_ALICE", channel_id="C_FIN")
    decision = await service.decide(approval.id, "U_BOB", approve=True)
    decision.execution.ok   # True: issued, decision.approval.document.provider_ref is set

The rarely used workflows (amend, bulk, closure, export, resubmit, send-to-NTS) are imported by
the method that runs them, on its first call: an idle bot does not hold them (bulk 0.25 MB with its
repository and cards, the others 0.1 MB, measured by importing them into an idle bot; `tests/bot/test_start.py`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from commands.ledger import (
    ApprovalAction,
    ApprovalState,
    AuditEventRecord,
    AuditKind,
    AuditOperation,
    DocumentRecord,
    Lifecycle,
    Standing,
    Store,
    utc_now,
)
from commands.workflow import approvals, deadlines, execution, links, pdf, queries, recovery, requests
from commands.workflow.access import check_document_workspace, check_workspace, resends_elsewhere
from commands.workflow.context import DEFAULT_APPROVAL_ACTIONS, Approver, CallbackUrl, Policy, WorkflowContext
from commands.workflow.drafts import IssueDraft
from commands.workflow.nts_action import NtsFiler
from commands.workflow.provider_directory import workspace_providers as _workspace_providers
from commands.workflow.roles import Guarded, OpenRoles, Role, RoleDirectory, refusal, require
from commands.workflow.views import ApprovalView, ClosureResult, DecisionResult, DocumentView, ExecutionResult
from providers.base import InvoiceProvider, implements
from providers.models import DocumentState, IssueRequest, Provider, ResendRequest

if TYPE_CHECKING:
    from commands.ledger.bulk import BulkBatchRecord, BulkRowRecord
    from commands.workflow.amend import AmendDraft
    from commands.workflow.bulk import BulkPreview, RowDraft
    from commands.workflow.export import ExportLayout

__all__ = ["DEFAULT_APPROVAL_ACTIONS", "InvoiceService"]


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
        executing_stale_after: how long an execution may go without renewing its claim before
            `recover` assumes its process died (a live run renews it every third of this).
        callback_url: the URL a provider should call back for a document (provider, ref), e.g.
            Payssam's payment callback; None when the bot is not reachable from outside.
        roles: who is a requester, an approver, an admin (`commands.workflow.roles`); without
            one, everyone requests, `is_approver` approves and nobody is an admin.

    Every state-changing call checks its caller's role (`roles.WHO_MAY`) and, for a request
    that already exists, that the call comes from the request's workspace
    (`commands.workflow.access`), before anything is written or sent.
        two_approvals_above: a total (minor units) above which `large_amount_approvals` distinct
            approvers must approve an issue or destroy; None: one approval, whatever the amount.
        closure_ttl: how long a buyer's closure (휴폐업) answer is reused at request time.
        closure_timeout: how long the request-time closure check may take before the request goes
            on with "could not be checked" on its card.

    Refuses with `WorkflowError` (not allowed, not found, conflict) or with the provider's
    own `RequestInvalid` / `NotSupported` for bad input and what a provider cannot do.
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
        executing_stale_after: dt.timedelta = dt.timedelta(seconds=20),
        callback_url: CallbackUrl | None = None,
        roles: RoleDirectory | None = None,
        two_approvals_above: int | None = None,
        large_amount_approvals: int = 2,
        closure_ttl: dt.timedelta = dt.timedelta(hours=24),
        closure_timeout: dt.timedelta = dt.timedelta(seconds=2),
    ) -> None:
        policy = Policy(
            is_approver=is_approver,
            four_eyes=four_eyes,
            approval_actions=Policy.actions(approval_actions),
            approval_ttl=approval_ttl,
            timezone=ZoneInfo(timezone),
            executing_stale_after=executing_stale_after,
            callback_url=callback_url,
            two_approvals_above=two_approvals_above,
            large_amount_approvals=large_amount_approvals,
            closure_ttl=closure_ttl,
            closure_timeout=closure_timeout,
        )
        self.context = WorkflowContext(store=store, providers=dict(providers), clock=clock, policy=policy)
        self.roles: RoleDirectory = roles or OpenRoles(is_approver)

    @property
    def four_eyes(self) -> bool:
        return self.context.policy.four_eyes

    def needs_approval(self, action: ApprovalAction | str) -> bool:
        return self.context.policy.needs_approval(action)

    # ----------------------------------------------------------------- requests and decisions

    @_workspace_providers
    async def request_issue(
        self, draft: IssueDraft | IssueRequest, requester: str, channel_id: str, thread_ts: str | None = None,
        *, override_reason: str | None = None,
    ) -> ApprovalView:
        """Create the document and its approval request (executed at once when issuing needs none).

        `override_reason` (or the draft's) lets a request for a closed or unregistered buyer through,
        with one more approval."""
        await require(self.roles, requester, Guarded.ISSUE)
        return await requests.request_issue(self.context, draft, requester, channel_id, thread_ts,
                                            override_reason=override_reason)

    @_workspace_providers
    async def request_destroy(
        self, ref_text: str, reason: str | None, requester: str, channel_id: str, thread_ts: str | None = None
    ) -> ApprovalView:
        """Ask to cancel/void/destroy an issued document (ours, or a provider ref we adopt)."""
        await require(self.roles, requester, Guarded.DESTROY)
        await self._check_document(ref_text, requester)
        return await requests.request_destroy(self.context, ref_text, reason, requester, channel_id, thread_ts)

    @_workspace_providers
    async def request_resend(
        self, ref_text: str, request: ResendRequest, requester: str, channel_id: str, thread_ts: str | None = None
    ) -> ApprovalView:
        """Resend an issued document's notification (runs at once unless "resend" needs approval).

        To an address or number the document was not issued to, it always waits for an approval,
        unless an admin asks.
        """
        await require(self.roles, requester, Guarded.RESEND)
        doc = await self._check_document(ref_text, requester)
        context = self.context
        if resends_elsewhere(doc, request) and not await self.roles.has_role(requester, Role.ADMIN):
            policy = dataclasses.replace(context.policy,
                                         approval_actions=context.policy.approval_actions | {ApprovalAction.RESEND})
            context = dataclasses.replace(context, policy=policy)
        return await requests.request_resend(context, ref_text, request, requester, channel_id, thread_ts)

    @_workspace_providers
    async def request_amend(
        self, ref_text: str, draft: AmendDraft, requester: str, channel_id: str, thread_ts: str | None = None
    ) -> ApprovalView:
        """수정세금계산서: the documents the reason produces, under one approval (see `workflow.amend`)."""
        from commands.workflow import amend  # on first use: see the module's docstring

        return await amend.request_amend(self.context, ref_text, draft, requester, channel_id, thread_ts)

    @_workspace_providers
    async def request_send_nts(
        self, ref_text: str, requester: str, channel_id: str, thread_ts: str | None = None
    ) -> ApprovalView:
        """즉시전송: file an issued Popbill tax invoice now (approval when "send_nts" needs one)."""
        from commands.workflow import send_nts  # on first use

        return await send_nts.request_send_nts(self.context, ref_text, requester, channel_id, thread_ts)

    @_workspace_providers
    async def document_pdf(self, ref_text: str, actor: str) -> tuple[DocumentView, bytes]:
        """A stored document and its PDF from the provider (`NotSupported` when it offers none)."""
        return await pdf.document_pdf(self.context, ref_text, actor)

    def offers_pdf(self, provider: Provider) -> bool:
        return pdf.offers_pdf(self.context.providers.get(provider))

    @_workspace_providers
    async def document_popup_url(self, ref_text: str) -> tuple[DocumentView, str]:
        """A stored document and a fresh URL of its page at the provider, fetched on a click
        (Popbill's lives 30 seconds; `NotSupported` when the provider has none)."""
        return await links.document_popup_url(self.context, ref_text)

    def offers_popup(self, provider: Provider) -> bool:
        return links.offers_popup(self.context.providers.get(provider))

    def offers_send_nts(self, provider: Provider) -> bool:
        return implements(self.context.providers.get(provider), NtsFiler)

    @_workspace_providers
    async def decide(
        self, approval_id: int, decider: str, approve: bool, reason: str | None = None, *, execute: bool = True,
        late_confirmed: bool = False,
    ) -> DecisionResult:
        """Approve or reject; with ``execute=False`` only the decision is recorded (`recover` runs it
        if the caller dies before calling `execute`).

        Approving an issue past its tax deadline needs `late_confirmed` (the approver confirmed
        the penalty); without it `Conflict` (code ``late_unconfirmed``) is raised (`deadlines`).
        """
        await self._check_decider(approval_id, decider)
        if approve:
            await deadlines.check_late_approval(self.context, approval_id, decider, confirmed=late_confirmed,
                                                authorise=approvals.check_decider)
        executor = self.execute if execute else None
        return await approvals.decide(self.context, approval_id, decider, approve, reason, execute=executor)

    async def check_decider(self, approval_id: int, decider: str) -> ApprovalView:
        """The request, if `decider` may decide it (approver, four eyes); raises NotAllowed otherwise."""
        await self._check_decider(approval_id, decider)
        return await approvals.check_decider(self.context, approval_id, decider)

    async def expire_stale(self) -> list[ApprovalView]:
        """Expire pending requests past their deadline; returns them so their cards can be updated."""
        return await approvals.expire_stale(self.context)

    # ----------------------------------------------------------------- execution

    @_workspace_providers
    async def execute(self, approval_id: int) -> ExecutionResult:
        """Run an approved request (exactly once, whoever else calls this at the same time)."""
        return await execution.execute(self.context, approval_id)

    @_workspace_providers
    async def retry(self, approval_id: int, actor: str) -> ExecutionResult:
        """Try a failed-but-retryable or unknown request again, reconciling with the provider first."""
        approval = await self.context.approval(approval_id)
        await check_workspace(self.context, approval, actor)
        await require(self.roles, actor, Guarded.RETRY, requester=approval.requester)
        return await recovery.retry(self.context, approval_id, actor)

    @_workspace_providers
    async def retry_document(self, ref_text: str, actor: str) -> ExecutionResult:
        """`retry` the latest retryable request of a document."""
        doc = await self._check_document(ref_text, actor)
        if doc is not None:
            failed = await self.context.store.approvals.search(
                states=(ApprovalState.FAILED, ApprovalState.UNKNOWN), document_id=doc.id)
            retryable = [a for a in failed if a.retryable]
            if retryable:
                await require(self.roles, actor, Guarded.RETRY, requester=retryable[-1].requester)
        return await recovery.retry_document(self.context, ref_text, actor)

    async def recover(self) -> list[ExecutionResult]:
        """Finish what a crash interrupted. Run at start-up, then periodically (each request with the
        providers of its own workspace)."""
        return await recovery.recover(self.context)

    async def providers_for(self, workspace: str | None) -> Mapping[Provider, InvoiceProvider]:
        """The provider services of workspace `workspace` (a team id; None: the environment's), for work
        the bot does on its own per workspace (the status sweep). Raises `CredentialsUnavailable`
        (a `NotAllowed`) when that workspace's stored credentials cannot be read."""
        directory = self.context.provider_directory
        if directory is None:
            return self.context.providers
        return await directory.providers_for(workspace)

    # ----------------------------------------------------------------- reads

    @_workspace_providers
    async def status(self, ref_text: str, *, refresh: bool = True) -> DocumentView:
        """A document's state, fresh from the provider when `refresh` (errors land on the view),
        with the documents amending it."""
        view = await queries.status(self.context, ref_text, refresh=refresh)
        if view.id is None:
            return view
        amendments = await self.context.store.documents.amendments_of(view.id)
        return view.model_copy(update={"amendments": tuple(d.ref for d in amendments)})

    @_workspace_providers
    async def status_with_history(self, ref_text: str, *, history: int = 40) -> tuple[DocumentView,
                                                                                   list[AuditEventRecord]]:
        """`status` with the document's first `history` audit events, read together (one read scope)."""
        return await queries.status_with_history(self.context, ref_text, history=history)

    async def resolve_ref(self, ref_text: str) -> DocumentView:
        """The stored document a ref names, without asking the provider (external refs: a stub view)."""
        return await queries.resolve_ref(self.context, ref_text)

    async def get_approval(self, approval_id: int) -> ApprovalView:
        return await self.context.approval_view(approval_id)

    async def pending_approvals(self, approver: str | None = None, *, limit: int = 50) -> list[ApprovalView]:
        """Requests waiting for a decision; for `approver`, only those they may decide."""
        return await queries.pending_approvals(self.context, approver, limit=limit)

    async def attach_card(self, approval_id: int, channel_id: str, message_ts: str) -> ApprovalView:
        """Remember where the approval card was posted, so later updates edit it."""
        return await queries.attach_card(self.context, approval_id, channel_id, message_ts)

    async def list_documents(
        self,
        *,
        state: DocumentState | None = None,
        standing: Standing | None = None,
        provider: Provider | None = None,
        lifecycle: Lifecycle | None = None,
        limit: int = 20,
        before_id: int | None = None,
    ) -> list[DocumentView]:
        """Newest first, as stored (no provider calls); `standing` filters as every surface labels."""
        return await queries.list_documents(
            self.context, state=state, provider=provider, lifecycle=lifecycle, limit=limit, before_id=before_id,
            standing=standing,
        )

    async def export_csv(self, from_date: dt.date, to_date: dt.date, *, actor: str | None = None,
                         layout: ExportLayout | None = None) -> bytes:
        """Documents created from `from_date` to `to_date` (inclusive, service time zone) as CSV, in
        `layout` (standard when None); for a person (`actor`), only an approver or admin."""
        from commands.workflow import export  # on first use

        if actor is not None:
            await require(self.roles, actor, Guarded.EXPORT)
        return await export.export_csv(self.context, from_date, to_date, layout or export.ExportLayout.STANDARD)

    @_workspace_providers
    async def closure(self, biznos: Sequence[str], actor: str, provider: Provider | None = None) -> ClosureResult:
        """Check whether businesses are closed or suspended (휴폐업), and what changed since last time."""
        from commands.workflow import closure  # on first use

        return await closure.closure(self.context, biznos, actor, provider)

    # ----------------------------------------------------------------- edit and resubmit

    async def reopen_issue(self, approval_id: int, user: str) -> IssueDraft:
        """What a rejected, expired or failed issue request asked for, for its requester to edit."""
        from commands.workflow import resubmit  # on first use

        return await resubmit.reopen(self.context, self.roles, approval_id, user)

    @_workspace_providers
    async def resubmit_issue(self, approval_id: int, draft: IssueDraft, requester: str, channel_id: str,
                             thread_ts: str | None = None) -> ApprovalView:
        """A new issue request from the edited draft, linked to request `approval_id` it replaces."""
        from commands.workflow import resubmit  # on first use

        await require(self.roles, requester, Guarded.ISSUE)
        return await resubmit.resubmit(self.context, self.roles, approval_id, draft, requester, channel_id, thread_ts)

    # ----------------------------------------------------------------- bulk issuance from a file

    @_workspace_providers
    async def check_bulk(self, rows: Sequence[RowDraft], requester: str) -> BulkPreview:
        """Every row of a file through the issue checks and the closure check (nothing is stored)."""
        from commands.workflow import bulk  # on first use

        await require(self.roles, requester, Guarded.ISSUE)
        return await bulk.check_bulk(self.context, rows, requester)

    @_workspace_providers
    async def request_bulk(self, preview: BulkPreview, requester: str, channel_id: str,
                           thread_ts: str | None = None, *, file_id: str, file_name: str | None) -> ApprovalView:
        """One approval request for the documents of a checked file (`commands.workflow.bulk`)."""
        from commands.workflow import bulk  # on first use

        await require(self.roles, requester, Guarded.ISSUE)
        return await bulk.request_bulk(self.context, preview, requester, channel_id, thread_ts, file_id=file_id,
                                       file_name=file_name)

    async def bulk_batch(self, approval_id: int) -> tuple[BulkBatchRecord, list[BulkRowRecord]] | None:
        """A batch approval's batch and its rows (for its progress message and results file)."""
        batch = await self.context.store.bulk.batch_for_approval(approval_id)
        if batch is None:
            return None
        return batch, await self.context.store.bulk.rows(batch.id)

    async def set_bulk_progress_message(self, batch_id: int, channel: str, ts: str) -> None:
        await self.context.store.bulk.set_progress_message(batch_id, channel, ts)

    # ----------------------------------------------------------------- access

    async def require(self, user: str, action: Guarded) -> None:
        """Raise `NotAllowed` naming who may, unless `user` may do `action` (for callers outside
        the workflow, e.g. digests)."""
        await require(self.roles, user, action)

    async def _check_decider(self, approval_id: int, decider: str) -> None:
        """The decision comes from the request's workspace, and from an approver (audited refusals)."""
        approval = await self.context.approval(approval_id)
        await check_workspace(self.context, approval, decider)
        if not await self.roles.has_role(decider, Role.APPROVER):
            await self.context.audit_approval(approval, actor=decider, kind=AuditKind.DECISION,
                                              operation=AuditOperation.REFUSED, outcome="not_approver")
            raise refusal(self.roles, Guarded.DECIDE)

    async def _check_document(self, ref_text: str, actor: str) -> DocumentRecord | None:
        """The stored document `ref_text` names (None for a provider ref not adopted yet), after
        checking the call comes from the workspace that issued it."""
        doc = await queries.lookup(self.context, queries.parse(ref_text))
        if doc is not None:
            await check_document_workspace(self.context, doc, actor)
        return doc
