"""What every workflow module works with: the store, the providers, the clock and the policy.

The modules of this package are functions of a `WorkflowContext` rather than methods that
reach into a service's private members; the `InvoiceService` façade builds one context and
hands it to each. The context also owns the one way an approval row moves (`move`), so
every compare-and-set is checked against the ledger's declared `TRANSITIONS`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from commands.i18n import _
from commands.ledger import (
    ApprovalAction,
    ApprovalRecord,
    ApprovalState,
    AuditKind,
    AuditOperation,
    DocumentRecord,
    Store,
)
from commands.ledger.workspaces import WorkspaceScope
from commands.workflow.errors import NotFound, not_configured
from commands.workflow.progress import ProgressHub
from commands.workflow.views import ApprovalView, approval_view
from providers.base import InvoiceProvider
from providers.models import Provider

__all__ = [
    "DEFAULT_APPROVAL_ACTIONS",
    "SYSTEM_ACTOR",
    "Approver",
    "CallbackUrl",
    "Policy",
    "ProviderBinder",
    "WorkflowContext",
    "mention",
]

#: the actor of what the bot does on its own (expiry, recovery, provider calls)
SYSTEM_ACTOR = "system"
DEFAULT_APPROVAL_ACTIONS = frozenset({"issue", "destroy"})

Approver = Callable[[str], Awaitable[bool]]
CallbackUrl = Callable[[Provider, str], str | None]


def mention(user: str | None) -> str:
    return f"<@{user}>" if user else "someone"


@dataclass(frozen=True)
class Policy:
    """The rules a deployment chooses (see `InvoiceService` for what each means)."""

    is_approver: Approver
    four_eyes: bool = True
    approval_actions: frozenset[ApprovalAction] = frozenset({ApprovalAction.ISSUE, ApprovalAction.DESTROY})
    approval_ttl: dt.timedelta = dt.timedelta(hours=24)
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Seoul"))
    executing_stale_after: dt.timedelta = dt.timedelta(seconds=20)
    callback_url: CallbackUrl | None = None
    #: a document total (minor units) above which `large_amount_approvals` distinct approvers are needed
    two_approvals_above: int | None = None
    large_amount_approvals: int = 2
    #: how long a closure (휴폐업) answer is trusted at request time, and how long one may take
    closure_ttl: dt.timedelta = dt.timedelta(hours=24)
    closure_timeout: dt.timedelta = dt.timedelta(seconds=2)

    @staticmethod
    def actions(names: Collection[str]) -> frozenset[ApprovalAction]:
        """The approval actions named in settings; an unknown name is a configuration error."""
        unknown = set(names) - {a.value for a in ApprovalAction}
        if unknown:
            raise ValueError(f"unknown approval actions {sorted(unknown)}: use issue, destroy, resend")
        return frozenset(ApprovalAction(a) for a in names)

    def needs_approval(self, action: ApprovalAction | str) -> bool:
        action = ApprovalAction(action)
        if action is ApprovalAction.BULK_ISSUE:  # a batch from a file is approved whenever one issue is
            action = ApprovalAction.ISSUE
        return action in self.approval_actions

    def local(self, at: dt.datetime | None) -> str:
        """A time as people here read it."""
        if at is None:
            return "an unknown time"
        return at.astimezone(self.timezone).strftime("%Y-%m-%d %H:%M %Z")


class ProviderBinder(Protocol):
    """Binds `WorkflowContext.providers` to one workspace's (`commands.workflow.provider_directory`)."""

    def bound(self, scope: WorkspaceScope | None) -> AbstractAsyncContextManager[None]: ...

    async def providers_for(self, workspace: str | None) -> Mapping[Provider, InvoiceProvider]: ...


@dataclass(frozen=True)
class WorkflowContext:
    """What each workflow function receives: built once by `InvoiceService`, shared by all."""

    store: Store
    providers: Mapping[Provider, InvoiceProvider]
    clock: Callable[[], dt.datetime]
    policy: Policy
    #: where long executions (bulk batches) report progress; the Slack side listens
    progress: ProgressHub = field(default_factory=ProgressHub)
    #: the policy of the workspace being served (its settings over `policy`); None: `policy` everywhere
    policy_source: Callable[[], Awaitable[Policy]] | None = None
    #: each workspace's own provider accounts; None: `providers` serves every workspace
    provider_directory: ProviderBinder | None = None

    def providers_of(self, scope: WorkspaceScope | None) -> AbstractAsyncContextManager[None]:
        """Serve `providers` (and `provider`) as `scope`'s for a block: its own accounts when it stored
        credentials. Every provider call of a request or document runs inside one."""
        if self.provider_directory is None:
            return contextlib.nullcontext()
        return self.provider_directory.bound(scope)

    async def current_policy(self) -> Policy:
        """The policy for the request being served: the workspace's amount rule over the deployment's."""
        return await self.policy_source() if self.policy_source is not None else self.policy

    def provider(self, provider: Provider) -> InvoiceProvider:
        """The configured provider; `NotSupported` when this bot has none."""
        service = self.providers.get(provider)
        if service is None:
            raise not_configured(provider)
        return service

    async def approval(self, approval_id: int) -> ApprovalRecord:
        approval = await self.store.approvals.get(approval_id)
        if approval is None:
            raise NotFound(_("approval request #{id} does not exist").format(id=approval_id))
        return approval

    async def document(self, document_id: int) -> DocumentRecord:
        doc = await self.store.documents.get(document_id)
        if doc is None:
            raise NotFound(_("document {id} does not exist").format(id=document_id))
        return doc

    async def doc_ref(self, approval: ApprovalRecord) -> str | None:
        """The document's ref for an audit row (None if the row is gone)."""
        doc = await self.store.documents.get(approval.document_id)
        return doc.ref if doc else None

    async def audit_approval(
        self,
        approval: ApprovalRecord,
        *,
        actor: str,
        kind: AuditKind,
        operation: AuditOperation,
        outcome: str | None = None,
        detail: Mapping[str, Any] | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        """One audit row about an approval request and its document."""
        await self.store.audit.record(
            actor=actor, action=kind, operation=operation, document_id=approval.document_id,
            document_ref=await self.doc_ref(approval), approval_id=approval.id, outcome=outcome, detail=detail,
            now=now or self.clock(),
            workspace=WorkspaceScope(approval.team_id, approval.enterprise_id) if approval.team_id else None,
        )

    async def approval_view(self, approval: ApprovalRecord | int) -> ApprovalView:
        """The view of an approval (re-read when given its id)."""
        if isinstance(approval, int):
            approval = await self.approval(approval)
        replaced = None
        if approval.resubmits_request_id is not None:
            old = await self.store.approvals.get(approval.resubmits_request_id)
            replaced = await self.doc_ref(old) if old else None
        voters = tuple(await self.store.approvals.voters(approval.id)) if approval.required_approvals > 1 else ()
        return approval_view(approval, await self.document(approval.document_id), voters, resubmits_ref=replaced)

    async def move(
        self,
        approval_id: int,
        *,
        expected: ApprovalState | tuple[ApprovalState, ...],
        to: ApprovalState,
        **options: Any,
    ) -> bool:
        """Compare-and-set an approval from `expected` to `to`; True when this call moved it.

        Every move the workflow makes goes through here; the ledger refuses (ValueError) a move
        its `TRANSITIONS` table does not declare, before any SQL: that is a bug, not a lost race.
        """
        options.setdefault("now", self.clock())
        return await self.store.approvals.transition(approval_id, expected=expected, to=to, **options)
