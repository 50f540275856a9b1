"""The audit log: an append-only record of who did what, typed by `AuditKind` and `AuditOperation`.

Each row says who caused an event (`AuditKind`: a person's command, an approver's
decision, the bot on its own, ...) and what happened (`AuditOperation`); history views
label rows by those enums, so a row written with a word outside them would show as a raw
code. The parameters still accept plain strings for callers not yet moved to the enums;
the values stored are the same either way (the enums are `StrEnum`s).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from commands.ledger._db import Repo, jsonable, now_or
from commands.ledger.records import AuditEventRecord
from commands.ledger.schema import audit_events, documents
from commands.ledger.vocabulary import AuditKind, AuditOperation
from commands.ledger.workspaces import WorkspaceScope, scope_columns

__all__ = ["AuditRepo", "event_values"]

#: `AuditRepo.history`, built once (building a statement and its cache key is most of its CPU)
_HISTORY = (
    sa.select(audit_events)
    .where(audit_events.c.document_id == sa.bindparam("document_id"))
    .order_by(audit_events.c.id)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)

#: `AuditRepo.record`'s INSERTs, built once (every workflow step records events): the columns come
#: with the execution's parameters; the second takes the workspace from the document the event is about
_INSERT = sa.insert(audit_events).returning(audit_events.c.id)
_OWNER = sa.select(documents.c.team_id, documents.c.enterprise_id).where(
    documents.c.id == sa.bindparam("owner_document_id", type_=documents.c.id.type))
_INSERT_IN_DOCUMENTS_WORKSPACE = _INSERT.values(
    team_id=_OWNER.with_only_columns(documents.c.team_id).scalar_subquery(),
    enterprise_id=_OWNER.with_only_columns(documents.c.enterprise_id).scalar_subquery(),
)


def event_values(*, actor: str, action: AuditKind, operation: AuditOperation | None = None,
                 document_id: int | None = None, document_ref: str | None = None, approval_id: int | None = None,
                 outcome: str | None = None, detail: Mapping[str, Any] | None = None,
                 now: dt.datetime | None = None) -> dict[str, Any]:
    """An event's columns but its workspace's, as `AuditRepo.record` stores them (also for the
    sweep's executemany of many events at once: `commands.ledger.sweep_rows`)."""
    return {
        "at": now_or(now),
        "actor": actor,
        # only the vocabulary's words are stored: a typo raises here rather than reading as raw code
        "action": AuditKind(action).value,
        "operation": AuditOperation(operation).value if operation is not None else None,
        "document_id": document_id,
        "document_ref": document_ref,
        "approval_id": approval_id,
        "outcome": outcome[:64] if outcome else None,
        "detail": jsonable(detail),
    }


class AuditRepo(Repo):
    """Append-only log of who did what. Details are redacted before they are stored."""

    async def record(
        self,
        *,
        actor: str,
        action: AuditKind,
        operation: AuditOperation | None = None,
        document_id: int | None = None,
        document_ref: str | None = None,
        approval_id: int | None = None,
        outcome: str | None = None,
        detail: Mapping[str, Any] | None = None,
        now: dt.datetime | None = None,
        workspace: WorkspaceScope | None = None,
    ) -> int:
        """Append one event (of `workspace`, when it is about one) and return its id.

        Args:
            action: who or what caused it (`AuditKind`).
            operation: what happened (`AuditOperation`).
            outcome: a short result code (cut to 64 characters).
            detail: free-form context, redacted (secrets, personal numbers) before it is stored.
        """
        values = {
            **event_values(actor=actor, action=action, operation=operation, document_id=document_id,
                           document_ref=document_ref, approval_id=approval_id, outcome=outcome, detail=detail,
                           now=now),
            **scope_columns(workspace),
        }
        stmt = _INSERT
        if workspace is None and document_id is not None:
            # an event about a document belongs to the document's workspace, whoever recorded it
            stmt = _INSERT_IN_DOCUMENTS_WORKSPACE
            values["owner_document_id"] = document_id
        async with self._db.write() as conn:
            return int((await conn.execute(stmt, values)).scalar_one())

    async def history(self, document_id: int, *, limit: int) -> list[AuditEventRecord]:
        """The first `limit` events of a document, oldest first: `search(document_id=..., limit=...)`
        with a statement built once (every status shows this history)."""
        async with self._db.read() as conn:
            rows = (await conn.execute(_HISTORY, {"document_id": document_id, "limit": limit})).mappings().all()
        return [AuditEventRecord.from_row(r) for r in rows]

    async def search(
        self,
        *,
        document_id: int | None = None,
        approval_id: int | None = None,
        action: AuditKind | str | None = None,
        operation: AuditOperation | str | None = None,
        limit: int = 200,
    ) -> list[AuditEventRecord]:
        """Events matching every filter given, oldest first."""
        c = audit_events.c
        stmt = sa.select(audit_events).order_by(c.id).limit(limit)
        if document_id is not None:
            stmt = stmt.where(c.document_id == document_id)
        if approval_id is not None:
            stmt = stmt.where(c.approval_id == approval_id)
        if action is not None:
            stmt = stmt.where(c.action == str(action))
        if operation is not None:
            stmt = stmt.where(c.operation == str(operation))
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [AuditEventRecord.from_row(r) for r in rows]
