"""The status sweep's reads and its one bulk write: lean rows, grouped by workspace and provider.

A sweep touches every open document once a day, so what it costs per document matters:
these queries select only the eleven columns a sweep needs (no request JSON, no links) and
build a slotted tuple per row rather than a full `DocumentRecord`; unchanged documents are
marked checked with one ``UPDATE ... WHERE id IN (...)`` per batch, inside the caller's
transaction, so a batch of answers is one commit; the documents whose state changed are
written with one executemany UPDATE and one executemany INSERT of their audit events
(`record_changes`), not two statements each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from commands.ledger._db import Repo
from commands.ledger.audit import event_values
from commands.ledger.documents import _status_columns
from commands.ledger.schema import audit_events, documents
from commands.ledger.vocabulary import AuditKind, AuditOperation, Lifecycle
from providers.models import DocumentKind, DocumentRef, DocumentState, DocumentStatus, Provider

__all__ = ["OpenGroup", "SweepRepo", "SweepRow"]

#: lifecycles in which the provider may still move a document (the same as `DocumentRepo.SWEPT_LIFECYCLES`)
_SWEPT = (Lifecycle.ISSUED.value, Lifecycle.DESTROYING.value)
_OPEN_STATES = tuple(s.value for s in DocumentState if s.is_open)

_c = documents.c
_COLUMNS = (_c.id, _c.ref, _c.provider, _c.kind, _c.provider_id, _c.sandbox, _c.state, _c.raw_state,
            _c.channel_id, _c.thread_ts, _c.team_id)


@dataclass(frozen=True, slots=True)
class SweepRow:
    """What the sweep needs of one open document."""

    id: int
    ref: str
    provider: Provider
    kind: DocumentKind
    provider_id: str
    sandbox: bool
    state: DocumentState | None
    raw_state: str
    channel_id: str | None
    thread_ts: str | None
    team_id: str | None

    @property
    def document_ref(self) -> DocumentRef:
        return DocumentRef(provider=self.provider, kind=self.kind, provider_id=self.provider_id)


@dataclass(frozen=True, slots=True)
class OpenGroup:
    """Open documents of one provider in one workspace (None: the bot's own, or before workspaces)."""

    team_id: str | None
    provider: Provider
    count: int


#: a status change where the document is still swept (the compare-and-set of `record_status(expected=...)`),
#: its values bound per row: an executemany statement (so no expanding ``IN``)
_STILL_SWEPT = sa.or_(*(_c.lifecycle == sa.literal(value) for value in _SWEPT))
_MOVE = sa.update(documents).where(_c.id == sa.bindparam("doc_id"), _STILL_SWEPT)


def _owner(column: sa.Column[Any]) -> Any:
    return sa.select(column).where(_c.id == sa.bindparam("owner_id")).scalar_subquery()


#: an audit event about a document, in the document's workspace (as `AuditRepo.record` stores it)
_EVENT = sa.insert(audit_events).values(team_id=_owner(_c.team_id), enterprise_id=_owner(_c.enterprise_id))


def _open() -> sa.ColumnElement[bool]:
    return sa.and_(_c.lifecycle.in_(_SWEPT), sa.or_(_c.state.in_(_OPEN_STATES), _c.state.is_(None)),
                   _c.provider_id.is_not(None))


def _team(team_id: str | None) -> sa.ColumnElement[bool]:
    return _c.team_id.is_(None) if team_id is None else _c.team_id == team_id


def _row(values: Any) -> SweepRow:
    (doc_id, ref, provider, kind, provider_id, sandbox, state, raw_state, channel_id, thread_ts, team_id) = values
    return SweepRow(id=doc_id, ref=ref or "", provider=Provider(provider), kind=DocumentKind(kind),
                    provider_id=provider_id, sandbox=bool(sandbox), state=DocumentState(state) if state else None,
                    raw_state=raw_state or "", channel_id=channel_id, thread_ts=thread_ts, team_id=team_id)


class SweepRepo(Repo):
    """The sweep's reads (groups, pages, the stalest documents first) and its batched touch."""

    async def open_groups(self) -> list[OpenGroup]:
        """How many open documents each (workspace, provider) has, in a stable order."""
        stmt = (sa.select(_c.team_id, _c.provider, sa.func.count()).where(_open())
                .group_by(_c.team_id, _c.provider))
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        groups = [OpenGroup(team_id=team, provider=Provider(provider), count=int(count))
                  for team, provider, count in rows]
        return sorted(groups, key=lambda g: (g.team_id or "", g.provider.value))

    async def page(self, provider: Provider, team_id: str | None, *, after_id: int, limit: int) -> list[SweepRow]:
        """Open documents of the group, oldest id first, after `after_id` (keyset pages)."""
        stmt = (sa.select(*_COLUMNS).where(_open(), _c.provider == provider.value, _team(team_id), _c.id > after_id)
                .order_by(_c.id).limit(limit))
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_row(r) for r in rows]

    async def stalest(self, provider: Provider, team_id: str | None, *, limit: int) -> list[SweepRow]:
        """The `limit` open documents of the group checked longest ago (never checked first, then
        oldest first): what a sweep on a daily call budget reads, so every document gets its turn."""
        if limit <= 0:
            return []
        stmt = (sa.select(*_COLUMNS).where(_open(), _c.provider == provider.value, _team(team_id))
                .order_by(_c.state_checked_at.is_not(None), _c.state_checked_at, _c.id).limit(limit))
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted((_row(r) for r in rows), key=lambda row: row.id)

    async def touch(self, ids: Collection[int], now: dt.datetime) -> int:
        """Mark documents whose provider state did not change as checked `now` (one UPDATE)."""
        if not ids:
            return 0
        stmt = sa.update(documents).where(_c.id.in_(list(ids))).values(state_checked_at=now)
        async with self._db.write() as conn:
            return int((await conn.execute(stmt)).rowcount)

    async def record_changes(self, changes: Sequence[tuple[SweepRow, DocumentStatus]], now: dt.datetime, *,
                             actor: str) -> set[int]:
        """The new states of the documents whose state changed, and an audit event each, as
        `DocumentRepo.record_status(..., expected=SWEPT)` and `AuditRepo.record` write them one by
        one, in a few executemany statements; returns the ids that moved (a document that left the
        swept lifecycles meanwhile is not written, and has no event)."""
        if not changes:
            return set()
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row, status in changes:  # executemany wants the same columns in every row
            values = _status_columns(status, now)
            shapes.setdefault(tuple(values), []).append({**values, "doc_id": row.id})
        moved: set[int] = set()
        async with self._db.write() as conn:
            for rows in shapes.values():
                many = len(rows) > 1 and conn.dialect.supports_sane_multi_rowcount
                if many and (await conn.execute(_MOVE, rows)).rowcount == len(rows):
                    moved.update(r["doc_id"] for r in rows)
                    continue
                for values in rows:  # one at a time: which of them moved (rare, or no multi-row count)
                    if (await conn.execute(_MOVE, values)).rowcount == 1:
                        moved.add(values["doc_id"])
            events = [_event(row, status, now, actor) for row, status in changes if row.id in moved]
            if events:
                await conn.execute(_EVENT, events)
        return moved


def _event(row: SweepRow, status: DocumentStatus, now: dt.datetime, actor: str) -> dict[str, Any]:
    detail = {"from": row.state.value if row.state else None, "to": status.state.value,
              "raw_state": status.raw_state, "detail": status.detail}
    return {**event_values(actor=actor, action=AuditKind.SYSTEM, operation=AuditOperation.STATUS_CHANGE,
                           document_id=row.id, document_ref=row.ref, outcome=status.state.value, detail=detail,
                           now=now),
            "owner_id": row.id}
