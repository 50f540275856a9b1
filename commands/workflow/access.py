"""Access checks that need the ledger: the workspace a request came from, and resends elsewhere.

**Workspace.** A Slack app installed in one workspace can still receive a signed request that
names another team (a shared channel, an org-wide install, a forged payload that reused an
approver's user id). The workspace (team, enterprise) of the Slack request being served is
bound for the duration of that request (`bind_workspace`, set by the Slack side's middleware,
as the locale is), recorded on every request the workflow writes (`request_columns`), and a
decision or command acting on an existing request is refused when it comes from another
workspace (`check_workspace`). Work the bot does on its own (expiry, recovery) has no
workspace and is not checked; rows written before the workspace was recorded neither.

**Resends elsewhere.** A resend to the address or number the document was issued to is an
ordinary resend; to any other one it could send a tax document to a stranger, so it needs an
approval unless an admin asks (`resends_elsewhere`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from commands.i18n import _
from commands.ledger import ApprovalAction, ApprovalRecord, AuditKind, AuditOperation, DocumentRecord
from commands.workflow.context import WorkflowContext
from commands.workflow.errors import NotAllowed
from providers.models import ResendChannel, ResendRequest

__all__ = [
    "Workspace",
    "bind_workspace",
    "check_document_workspace",
    "check_workspace",
    "current_workspace",
    "enter_workspace",
    "request_columns",
    "resends_elsewhere",
]


@dataclass(frozen=True)
class Workspace:
    """A Slack team, and the Enterprise Grid organisation it belongs to (None outside a grid)."""

    team_id: str | None
    enterprise_id: str | None = None

    def __str__(self) -> str:
        return f"{self.team_id or '?'}" + (f" ({self.enterprise_id})" if self.enterprise_id else "")


_current: ContextVar[Workspace | None] = ContextVar("invoicebot_workspace", default=None)


def current_workspace() -> Workspace | None:
    """The workspace of the request being served; None for the bot's own work."""
    return _current.get()


def enter_workspace(workspace: Workspace | None) -> None:
    """Serve the rest of the current task (and the tasks it starts) as coming from `workspace`.

    For Bolt's global middleware, whose ``next()`` returns before the listener runs (the
    listener starts after every middleware, in the same task), so a ``with`` block would end
    too early. Every Slack request sets it, None included, so none inherits another's.
    """
    _current.set(workspace)


@contextlib.contextmanager
def bind_workspace(workspace: Workspace | None) -> Iterator[Workspace | None]:
    """Serve one request as coming from `workspace` (tasks started inside inherit it)."""
    token = _current.set(workspace)
    try:
        yield workspace
    finally:
        _current.reset(token)


def request_columns() -> dict[str, Any]:
    """The columns every new approval request records about where it came from."""
    workspace = current_workspace()
    if workspace is None:
        return {}
    return {"team_id": workspace.team_id, "enterprise_id": workspace.enterprise_id}


def _foreign(approval: ApprovalRecord, workspace: Workspace | None) -> bool:
    if workspace is None or approval.team_id is None:
        return False
    return (approval.team_id, approval.enterprise_id) != (workspace.team_id, workspace.enterprise_id)


async def check_workspace(ctx: WorkflowContext, approval: ApprovalRecord, actor: str) -> None:
    """Refuse (and audit) `actor` acting on `approval` from another workspace than the request's."""
    workspace = current_workspace()
    if not _foreign(approval, workspace):
        return
    await ctx.audit_approval(approval, actor=actor, kind=AuditKind.DECISION, operation=AuditOperation.REFUSED,
                             outcome="other_workspace", detail={"team": str(workspace)})
    raise NotAllowed(
        _("This request was made in another Slack workspace, so it can only be decided or changed from there."),
        user_hint=_("open the request in the workspace it was made in"),
    )


async def check_document_workspace(ctx: WorkflowContext, doc: DocumentRecord, actor: str) -> None:
    """`check_workspace` against the request that issued `doc` (documents adopted from a provider
    have none and are not checked)."""
    issued = await ctx.store.approvals.search(document_id=doc.id, action=ApprovalAction.ISSUE, limit=1)
    if issued:
        await check_workspace(ctx, issued[0], actor)


def _digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def resends_elsewhere(doc: DocumentRecord | None, request: ResendRequest) -> bool:
    """Whether `request` goes to an address or number `doc` was not issued to.

    No address means the provider's own (the one on the document). A document we do not store
    (a provider ref not adopted yet) and a fax number (never stored) count as elsewhere.
    """
    if not request.address:
        return False
    if doc is None or request.channel is ResendChannel.FAX:
        return True
    address = request.address.strip()
    if "@" in address:
        return address.lower() != (doc.buyer_email or "").strip().lower()
    return not _digits(address) or _digits(address) != _digits(doc.buyer_phone)
