"""The rows the digest, App Home and sweeps read, and the query helpers they share.

Every listing is a count and per-currency totals computed in SQL plus only its top rows,
so a digest over 100,000 documents loads a handful of rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from commands.ledger.documents import DocumentRepo
from commands.ledger.schema import documents
from commands.ledger.store import Store
from commands.ledger.vocabulary import AuditOperation, Lifecycle
from commands.ledger.workspaces import WorkspaceScope, owned_by
from providers.models import BusinessState, DocumentKind, DocumentState, Provider

__all__ = [
    "DOC_COLUMNS",
    "OPEN_STATES",
    "SWEEP_AUDIT_OPERATION",
    "SWEPT",
    "ApprovalRow",
    "ClosureChangeRow",
    "DocumentRow",
    "IssuedTotal",
    "Listing",
    "PostedRun",
    "SweepSummary",
    "channel_filter",
    "document_listing",
    "fetch",
    "one_connection",
    "top_rows",
]

#: Provider states a status sweep refreshes.
OPEN_STATES: tuple[str, ...] = tuple(s.value for s in DocumentState if s.is_open)
#: `audit_events.operation` of the row each status sweep leaves behind (read by the digest).
SWEEP_AUDIT_OPERATION = AuditOperation.SWEEP
#: Lifecycles in which the provider may still move a document (its state is worth showing).
SWEPT: tuple[str, ...] = tuple(lc.value for lc in DocumentRepo.SWEPT_LIFECYCLES)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IssuedTotal:
    """Documents issued in a window for one provider, currency and sandbox flag."""

    provider: Provider
    currency: str
    sandbox: bool
    count: int
    total: int


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """The columns a digest or App Home line shows about one document."""

    id: int
    ref: str
    provider: Provider
    kind: DocumentKind
    sandbox: bool
    buyer_name: str | None
    buyer_bizno: str | None
    total: int | None
    currency: str
    lifecycle: Lifecycle
    state: DocumentState | None
    raw_state: str | None
    detail: str | None
    due_date: dt.date | None
    issued_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    requested_by: str | None
    amends_document_id: int | None = None  # 수정세금계산서: the document this one amends

    @classmethod
    def from_row(cls, row: RowMapping) -> DocumentRow:
        return cls(
            id=int(row["id"]),
            ref=row["ref"] or "",
            provider=Provider(row["provider"]),
            kind=DocumentKind(row["kind"]),
            sandbox=bool(row["sandbox"]),
            buyer_name=row["buyer_name"],
            buyer_bizno=row["buyer_bizno"],
            total=row["total"],
            currency=row["currency"],
            lifecycle=Lifecycle(row["lifecycle"]),
            state=DocumentState(row["state"]) if row["state"] else None,
            raw_state=row["raw_state"],
            detail=row["state_detail"] or row["last_error"],
            due_date=row["due_date"],
            issued_at=row["issued_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            requested_by=row["requested_by"],
            amends_document_id=row.get("amends_document_id"),
        )


@dataclass(frozen=True, slots=True)
class ApprovalRow:
    """A pending approval request with the document it is about."""

    id: int
    action: str
    requester: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    document: DocumentRow


@dataclass(frozen=True)
class Listing(Generic[T]):
    """The top `rows` of a list, how many there are in all, and their totals per currency."""

    count: int = 0
    rows: tuple[T, ...] = ()
    totals: Mapping[str, int] = field(default_factory=dict)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.rows))

    def __bool__(self) -> bool:
        return self.count > 0


@dataclass(frozen=True, slots=True)
class ClosureChangeRow:
    """A business whose closure state changed, with the name we know it by."""

    bizno: str
    buyer_name: str | None
    previous: BusinessState
    current: BusinessState
    state_date: dt.date | None
    checked_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SweepSummary:
    """What the last status sweep recorded (see `commands.workflow.sweep`)."""

    at: dt.datetime
    checked: int
    changed: int
    unreachable: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class PostedRun:
    """A posted digest: `day` is the scheduled day it was claimed for, None for ``digest now``."""

    channel_id: str
    day: dt.date | None
    posted_at: dt.datetime
    message_ts: str | None
    summary: Mapping[str, Any]


DOC_COLUMNS = (
    documents.c.id,
    documents.c.ref,
    documents.c.provider,
    documents.c.kind,
    documents.c.sandbox,
    documents.c.buyer_name,
    documents.c.buyer_bizno,
    documents.c.total,
    documents.c.currency,
    documents.c.lifecycle,
    documents.c.state,
    documents.c.raw_state,
    documents.c.state_detail,
    documents.c.last_error,
    documents.c.due_date,
    documents.c.issued_at,
    documents.c.created_at,
    documents.c.updated_at,
    documents.c.requested_by,
    documents.c.amends_document_id,
)


#: the connection every `fetch` of `store` uses inside `one_connection` (None: a connection per read)
_SHARED: ContextVar[tuple[Store, AsyncConnection] | None] = ContextVar("digest_reads", default=None)


@asynccontextmanager
async def one_connection(store: Store) -> AsyncIterator[None]:
    """Every `fetch` of `store` inside runs on one connection, in one read transaction.

    A digest runs about 24 statements; on a connection each, PostgreSQL saw four round trips per
    statement (the pool's pre-ping, BEGIN, the statement, ROLLBACK), and each round trip waits for
    the server process to be scheduled: on a loaded 2-CPU machine that was as much as the queries
    themselves at 1,000,000 documents. One connection also gives the digest one snapshot on SQLite
    (a WAL read transaction). Reads inside must run one after the other (never gathered). Nested
    use keeps the outer connection.
    """
    if _SHARED.get() is not None:
        yield
        return
    async with store.engine.connect() as conn:
        token = _SHARED.set((store, conn))
        try:
            yield
        finally:
            _SHARED.reset(token)


async def fetch(store: Store, stmt: sa.Select[Any]) -> Sequence[RowMapping]:
    """Run a read on its own connection (never the write lock), or on `one_connection`'s, and return its rows."""
    shared = _SHARED.get()
    if shared is not None and shared[0] is store:
        return (await shared[1].execute(stmt)).mappings().all()
    async with store.engine.connect() as conn:
        return (await conn.execute(stmt)).mappings().all()


async def document_listing(
    store: Store, where: Sequence[sa.ColumnElement[bool]], order_by: Sequence[Any], limit: int
) -> Listing[DocumentRow]:
    """Count and per-currency totals in one aggregate, then only the top `limit` rows."""
    totals_stmt = (
        sa.select(documents.c.currency, sa.func.count().label("n"),
                  sa.func.coalesce(sa.func.sum(documents.c.total), 0).label("amount"))
        .where(*where)
        .group_by(documents.c.currency)
    )
    aggregates = await fetch(store, totals_stmt)
    count = sum(int(r["n"]) for r in aggregates)
    if count == 0:
        return Listing()
    rows = await top_rows(store, where, order_by, limit)
    return Listing(count=count, rows=rows, totals={r["currency"]: int(r["amount"]) for r in aggregates})


async def top_rows(store: Store, where: Sequence[sa.ColumnElement[bool]], order_by: Sequence[Any],
                   limit: int) -> tuple[DocumentRow, ...]:
    """The first `limit` documents matching `where` (none for a count-only listing, `limit` 0)."""
    if limit <= 0:
        return ()
    top = sa.select(*DOC_COLUMNS).where(*where).order_by(*order_by).limit(limit)
    return tuple(DocumentRow.from_row(r) for r in await fetch(store, top))


def channel_filter(channel: str | None, workspace: WorkspaceScope | None = None) -> list[sa.ColumnElement[bool]]:
    """Only documents requested from `channel` (all when None), of `workspace` (and of none; all when None)."""
    where = [] if channel is None else [documents.c.channel_id == channel]
    return where if workspace is None else [*where, owned_by(documents, workspace)]
