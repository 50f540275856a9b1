"""The `workspace_settings` table: one row per workspace an admin configured from App Home.

A row holds only what the admin changed (``overrides``, a JSON object of plain values the
workflow validated) and the workspace's provider credentials as one Fernet token
(``credentials``): the ledger never sees them in clear and never decrypts them, so nothing in
this module can log or return a secret. Absent row = the environment's defaults.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from commands.ledger._db import Repo, now_or
from commands.ledger.schema import workspace_settings
from commands.ledger.workspaces import WorkspaceScope

__all__ = ["WorkspaceSettingsRecord", "WorkspaceSettingsRepo"]


@dataclass(frozen=True, slots=True)
class WorkspaceSettingsRecord:
    """One workspace's stored row (credentials still encrypted)."""

    team_id: str
    enterprise_id: str | None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    credentials: str | None = None
    updated_by: str | None = None
    updated_at: dt.datetime | None = None


class WorkspaceSettingsRepo(Repo):
    """Read and write a workspace's settings row (keyed by team id, or organisation id)."""

    async def get(self, scope: WorkspaceScope) -> WorkspaceSettingsRecord | None:
        stmt = sa.select(workspace_settings).where(workspace_settings.c.team_id == scope.team_id)
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            return None
        return WorkspaceSettingsRecord(
            team_id=row["team_id"], enterprise_id=row["enterprise_id"], overrides=dict(row["overrides"] or {}),
            credentials=row["credentials"], updated_by=row["updated_by"], updated_at=row["updated_at"])

    async def save(self, scope: WorkspaceScope, *, overrides: Mapping[str, Any] | None = None,
                   credentials: str | None = None, updated_by: str | None = None,
                   now: dt.datetime | None = None) -> None:
        """Upsert the row; a None `overrides` or `credentials` leaves the stored one as it is."""
        values: dict[str, Any] = {"team_id": scope.team_id, "enterprise_id": scope.enterprise_id,
                                  "updated_by": updated_by, "updated_at": now_or(now)}
        if overrides is not None:
            values["overrides"] = dict(overrides)
        if credentials is not None:
            values["credentials"] = credentials
        update = {k: v for k, v in values.items() if k != "team_id"}
        stmt = self._db.insert(workspace_settings).values(**values).on_conflict_do_update(
            index_elements=["team_id"], set_=update)
        async with self._db.write() as conn:
            await conn.execute(stmt)
