"""The status sweep's reads and its one bulk write: lean rows, grouped by workspace and provider.

A sweep touches every open document once a day, so what it costs per document matters:
these queries select only the eleven columns a sweep needs (no request JSON, no links) and
build a slotted tuple per row rather than a full `DocumentRecord`; unchanged documents are
marked checked with one ``UPDATE ... WHERE id IN (...)`` per batch and the documents whose
state changed are written with one executemany UPDATE and one executemany INSERT of their audit
events (`record_changes`), not two statements each, both in one transaction (`write_answers`),
so a batch of answers is one commit; the buyers' closure checks are one executemany INSERT
(`record_closures`), not one INSERT ... RETURNING per number.

Every statement is built once, here, with its values bound at execution: building a SELECT with
its ``IN`` lists and comparisons costs about as much CPU as SQLAlchemy's cached execution of it, and
a sweep's fixed cost (what a 1,000-document sweep pays per document on top of the provider calls)
was a handful of such builds. Reads go through the read engine (`read_engine`): on SQLite no BEGIN
and no ROLLBACK around each page, two trips to the connection's thread fewer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commands.ledger._db import Db, Repo
from commands.ledger.audit import event_values
from commands.ledger.closures import closure_values
from commands.ledger.db import read_engine
from commands.ledger.documents import _status_columns
from commands.ledger.schema import audit_events, closure_checks, documents
from commands.ledger.vocabulary import AuditKind, AuditOperation, Lifecycle
from providers.models import BusinessStatus, DocumentKind, DocumentRef, DocumentState, DocumentStatus, Provider

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


#: a document the sweep reads: swept lifecycle, open (or unknown) provider state, known to its provider
_OPEN = sa.and_(_c.lifecycle.in_(_SWEPT), sa.or_(_c.state.in_(_OPEN_STATES), _c.state.is_(None)),
                _c.provider_id.is_not(None))
_GROUPS = sa.select(_c.team_id, _c.provider, sa.func.count()).where(_OPEN).group_by(_c.team_id, _c.provider)


def _of_group(team: bool) -> sa.ColumnElement[bool]:
    """One (workspace, provider) group's open documents: `provider` and (when `team`) `team_id` bound."""
    return sa.and_(_OPEN, _c.provider == sa.bindparam("provider"),
                   _c.team_id == sa.bindparam("team_id") if team else _c.team_id.is_(None))


#: keyset pages and the stalest documents of a group, by whether the group has a workspace
_PAGE = {team: sa.select(*_COLUMNS).where(_of_group(team), _c.id > sa.bindparam("after_id"))
         .order_by(_c.id).limit(sa.bindparam("limit", type_=sa.Integer)) for team in (False, True)}
_STALEST = {team: sa.select(*_COLUMNS).where(_of_group(team))
            .order_by(_c.state_checked_at.is_not(None), _c.state_checked_at, _c.id)
            .limit(sa.bindparam("limit", type_=sa.Integer)) for team in (False, True)}
_TOUCH = (sa.update(documents).where(_c.id.in_(sa.bindparam("ids", expanding=True)))
          .values(state_checked_at=sa.bindparam("checked_at")))
_CLOSURE = sa.insert(closure_checks)
_cc = closure_checks.c
#: the newest check of each of the numbers bound as ``biznos``
_LATEST_CLOSURES = sa.select(_cc.bizno, _cc.state, _cc.raw_state).where(_cc.id.in_(
    sa.select(sa.func.max(_cc.id)).where(_cc.bizno.in_(sa.bindparam("biznos", expanding=True))).group_by(_cc.bizno)))


def _group_params(provider: Provider, team_id: str | None, **more: Any) -> dict[str, Any]:
    return {"provider": provider.value, **({} if team_id is None else {"team_id": team_id}), **more}


#: the stored values of the enumerations a row carries: a dict lookup per column instead of an
#: `Enum(value)` call (about 1 µs each, three per row: a third of building a row)
_PROVIDERS = {p.value: p for p in Provider}
_KINDS = {k.value: k for k in DocumentKind}
_STATES = {s.value: s for s in DocumentState}


def _row(values: Any) -> SweepRow:
    (doc_id, ref, provider, kind, provider_id, sandbox, state, raw_state, channel_id, thread_ts, team_id) = values
    return SweepRow(id=doc_id, ref=ref or "", provider=_PROVIDERS.get(provider) or Provider(provider),
                    kind=_KINDS.get(kind) or DocumentKind(kind), provider_id=provider_id, sandbox=bool(sandbox),
                    state=(_STATES.get(state) or DocumentState(state)) if state else None,
                    raw_state=raw_state or "", channel_id=channel_id, thread_ts=thread_ts, team_id=team_id)


class SweepRepo(Repo):
    """The sweep's reads (groups, pages, the stalest documents first) and its batched writes."""

    def __init__(self, db: Db) -> None:
        super().__init__(db)
        self._reader: AsyncEngine | None = None  # built on first read: `execution_options` is not free

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        """The caller's transaction, or a read connection of the read engine (no BEGIN on SQLite)."""
        if self._db.conn is not None:
            yield self._db.conn
            return
        if self._reader is None:
            self._reader = read_engine(self._db.engine)
        async with self._reader.connect() as conn:
            yield conn

    async def open_groups(self) -> list[OpenGroup]:
        """How many open documents each (workspace, provider) has, in a stable order."""
        async with self._read() as conn:
            rows = (await conn.execute(_GROUPS)).all()
        groups = [OpenGroup(team_id=team, provider=Provider(provider), count=int(count))
                  for team, provider, count in rows]
        return sorted(groups, key=lambda g: (g.team_id or "", g.provider.value))

    async def page(self, provider: Provider, team_id: str | None, *, after_id: int, limit: int) -> list[SweepRow]:
        """Open documents of the group, oldest id first, after `after_id` (keyset pages)."""
        params = _group_params(provider, team_id, after_id=after_id, limit=limit)
        async with self._read() as conn:
            rows = (await conn.execute(_PAGE[team_id is not None], params)).all()
        return [_row(r) for r in rows]

    async def stalest(self, provider: Provider, team_id: str | None, *, limit: int) -> list[SweepRow]:
        """The `limit` open documents of the group checked longest ago (never checked first, then
        oldest first): what a sweep on a daily call budget reads, so every document gets its turn."""
        if limit <= 0:
            return []
        params = _group_params(provider, team_id, limit=limit)
        async with self._read() as conn:
            rows = (await conn.execute(_STALEST[team_id is not None], params)).all()
        return sorted((_row(r) for r in rows), key=lambda row: row.id)

    async def touch(self, ids: Collection[int], now: dt.datetime) -> int:
        """Mark documents whose provider state did not change as checked `now` (one UPDATE)."""
        if not ids:
            return 0
        async with self._db.write() as conn:
            return await _touch(conn, ids, now)

    async def record_changes(self, changes: Sequence[tuple[SweepRow, DocumentStatus]], now: dt.datetime, *,
                             actor: str) -> set[int]:
        """The new states of the documents whose state changed, and an audit event each, as
        `DocumentRepo.record_status(..., expected=SWEPT)` and `AuditRepo.record` write them one by
        one, in a few executemany statements; returns the ids that moved (a document that left the
        swept lifecycles meanwhile is not written, and has no event)."""
        if not changes:
            return set()
        async with self._db.write() as conn:
            return await _record_changes(conn, changes, now, actor)

    async def write_answers(self, unchanged: Collection[int], changes: Sequence[tuple[SweepRow, DocumentStatus]],
                            now: dt.datetime, *, actor: str) -> set[int]:
        """A batch of answers in ONE write transaction: `touch(unchanged)` and `record_changes(changes)`
        together (no `Store` built per batch, whose repositories and write engine cost more CPU than a
        small batch's statements); returns the ids that moved."""
        if not unchanged and not changes:
            return set()
        async with self._db.write() as conn:
            if unchanged:
                await _touch(conn, unchanged, now)
            return await _record_changes(conn, changes, now, actor) if changes else set()

    async def closure_states(self, biznos: Collection[str]) -> dict[str, tuple[str, str | None]]:
        """The (state, raw state) of each number's most recent closure check (never checked: absent):
        what the sweep compares a new answer with, as `ClosureRepo.latest` finds it, without the rest."""
        if not biznos:
            return {}
        async with self._read() as conn:
            rows = (await conn.execute(_LATEST_CLOSURES, {"biznos": list(biznos)})).all()
        return {bizno: (state, raw_state) for bizno, state, raw_state in rows}

    async def record_closures(self, statuses: Sequence[BusinessStatus], *, provider: Provider,
                              checked_by: str | None, now: dt.datetime) -> int:
        """The rows `ClosureRepo.record` adds, in one executemany INSERT (the sweep does not read
        them back: no RETURNING, no statement per number); returns how many were added."""
        rows = [closure_values(s, provider=provider, checked_by=checked_by, now=now) for s in statuses]
        if rows:
            async with self._db.write() as conn:
                await conn.execute(_CLOSURE, rows)
        return len(rows)


async def _touch(conn: AsyncConnection, ids: Collection[int], now: dt.datetime) -> int:
    return int((await conn.execute(_TOUCH, {"ids": list(ids), "checked_at": now})).rowcount)


async def _record_changes(conn: AsyncConnection, changes: Sequence[tuple[SweepRow, DocumentStatus]],
                          now: dt.datetime, actor: str) -> set[int]:
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row, status in changes:  # executemany wants the same columns in every row
        values = _status_columns(status, now)
        shapes.setdefault(tuple(values), []).append({**values, "doc_id": row.id})
    moved: set[int] = set()
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
