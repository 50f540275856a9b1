"""The workspace a workflow read or write is for, handed to the ledger explicitly.

The Slack side binds the workspace of the request being served once
(`commands.workflow.access.enter_workspace`, from Bolt middleware); the workflow turns it
into the `WorkspaceScope` it passes to every ledger query that lists or reads documents and
requests, and records it on every document it creates. The ledger never reads the binding
itself, so a query's scope is always visible at its call site. Work the bot does on its own
(sweeps, recovery, expiry) has no workspace and sees everything.
"""

from __future__ import annotations

from commands.ledger.workspaces import WorkspaceScope
from commands.workflow.access import Workspace, current_workspace

__all__ = ["current_scope", "row_scope", "scope_of", "visible"]


def scope_of(workspace: Workspace | None) -> WorkspaceScope | None:
    """The ledger's scope for a workspace (None: every row; a request without a team has none)."""
    if workspace is None or workspace.team_id is None:
        return None
    return WorkspaceScope(team_id=workspace.team_id, enterprise_id=workspace.enterprise_id)


def row_scope(team_id: str | None, enterprise_id: str | None) -> WorkspaceScope | None:
    """The workspace a stored row belongs to (what a row derived from it, an amendment, inherits)."""
    return WorkspaceScope(team_id=team_id, enterprise_id=enterprise_id) if team_id is not None else None


def current_scope() -> WorkspaceScope | None:
    """The scope of the request being served."""
    return scope_of(current_workspace())


def visible(team_id: str | None, scope: WorkspaceScope | None) -> bool:
    """Whether a row recorded for `team_id` may be shown to (or acted on by) `scope`."""
    return scope is None or scope.sees(team_id)
