"""Which workspace a row belongs to, as the repositories filter on it.

Every request, and the document it creates, records the Slack team (and Enterprise Grid
organisation) it came from. Reads that list or look rows up take a `WorkspaceScope`
*explicitly* (the workflow passes the workspace of the request it serves; the ledger keeps
no notion of "the current request"), and see that team's rows plus rows that belong to no
workspace: those written before workspaces were recorded, and those a single-workspace bot
writes without one, so upgrading a single-workspace ledger hides nothing. ``None`` as a
scope means the bot's own work (sweeps, recovery, expiry), which sees every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

__all__ = ["WorkspaceScope", "owned_by", "scope_columns"]


@dataclass(frozen=True)
class WorkspaceScope:
    """A Slack team, and its Enterprise Grid organisation (None outside a grid)."""

    team_id: str
    enterprise_id: str | None = None

    def sees(self, team_id: str | None) -> bool:
        """Whether a row recorded for `team_id` is this workspace's (or nobody's)."""
        return team_id is None or team_id == self.team_id


def owned_by(table: sa.Table, scope: WorkspaceScope | None) -> sa.ColumnElement[bool]:
    """The WHERE clause: `scope`'s rows and rows of no workspace (everything when `scope` is None)."""
    if scope is None:
        return sa.true()
    return sa.or_(table.c.team_id.is_(None), table.c.team_id == scope.team_id)


def scope_columns(scope: WorkspaceScope | None) -> dict[str, Any]:
    """The columns a new row records about its workspace (none for the bot's own work)."""
    if scope is None:
        return {}
    return {"team_id": scope.team_id, "enterprise_id": scope.enterprise_id}
