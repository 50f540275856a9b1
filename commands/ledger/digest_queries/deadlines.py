"""Tax invoices that may miss a tax deadline: the rows behind the digest's "Deadlines" section.

Two lists, each bounded in SQL by a conservative date the caller computes from the tax
calendar (which lives in the workflow, above this layer), then filtered exactly by the caller:

* not issued yet (pending approval, failed, outcome unknown) and written before a date;
* issued but not transmitted to the NTS (no filing state yet, or filing failed) and issued
  before an instant.

Both filter on the indexed ``lifecycle`` first and fetch only the columns a line needs; with a
`workspace`, only that workspace's documents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from commands.ledger.digest_queries.rows import channel_filter, fetch
from commands.ledger.schema import documents
from commands.ledger.store import Store
from commands.ledger.vocabulary import Lifecycle
from commands.ledger.workspaces import WorkspaceScope, owned_by
from providers.models import DocumentKind, DocumentState, Provider

__all__ = ["UNISSUED_LIFECYCLES", "UNTRANSMITTED_STATES", "DeadlineRow", "unissued_written_before",
           "untransmitted_issued_before"]

#: requests that have not become documents yet but still may (rejected and expired ones will not)
UNISSUED_LIFECYCLES: tuple[Lifecycle, ...] = (Lifecycle.PENDING_APPROVAL, Lifecycle.FAILED,
                                              Lifecycle.OUTCOME_UNKNOWN)
#: provider states of an issued invoice the NTS has not received (FILING and FILED have been sent)
UNTRANSMITTED_STATES: tuple[DocumentState, ...] = (DocumentState.ISSUED, DocumentState.SENT,
                                                   DocumentState.FILING_FAILED, DocumentState.UNKNOWN)

_COLUMNS = (
    documents.c.id, documents.c.ref, documents.c.provider, documents.c.kind, documents.c.sandbox,
    documents.c.buyer_name, documents.c.supply, documents.c.total, documents.c.currency, documents.c.lifecycle,
    documents.c.state, documents.c.write_date, documents.c.issued_at, documents.c.requested_by,
)


@dataclass(frozen=True, slots=True)
class DeadlineRow:
    """What a deadline line needs about one document: its dates and its supply amount."""

    id: int
    ref: str
    provider: Provider
    kind: DocumentKind
    sandbox: bool
    buyer_name: str | None
    supply: int | None
    total: int | None
    currency: str
    lifecycle: Lifecycle
    state: DocumentState | None
    write_date: dt.date | None
    issued_at: dt.datetime | None
    requested_by: str | None

    @classmethod
    def from_row(cls, row: RowMapping) -> DeadlineRow:
        return cls(
            id=int(row["id"]), ref=row["ref"] or "", provider=Provider(row["provider"]), kind=DocumentKind(row["kind"]),
            sandbox=bool(row["sandbox"]), buyer_name=row["buyer_name"], supply=row["supply"], total=row["total"],
            currency=row["currency"], lifecycle=Lifecycle(row["lifecycle"]),
            state=DocumentState(row["state"]) if row["state"] else None, write_date=row["write_date"],
            issued_at=row["issued_at"], requested_by=row["requested_by"],
        )


def _scope(kinds: Collection[DocumentKind], providers: Collection[Provider], channel: str | None,
           workspace: WorkspaceScope | None) -> list[sa.ColumnElement[bool]]:
    c = documents.c
    return [c.kind.in_([k.value for k in kinds]), c.provider.in_([p.value for p in providers]),
            *channel_filter(channel), owned_by(documents, workspace)]


async def unissued_written_before(
    store: Store, before: dt.date, *, kinds: Collection[DocumentKind], providers: Collection[Provider],
    channel: str | None = None, workspace: WorkspaceScope | None = None, limit: int = 500,
) -> list[DeadlineRow]:
    """Requests not issued yet (see `UNISSUED_LIFECYCLES`) written before `before`, oldest first."""
    c = documents.c
    stmt = (sa.select(*_COLUMNS)
            .where(c.lifecycle.in_([lc.value for lc in UNISSUED_LIFECYCLES]), c.write_date.is_not(None),
                   c.write_date < before, *_scope(kinds, providers, channel, workspace))
            .order_by(c.write_date, c.id).limit(limit))
    return [DeadlineRow.from_row(r) for r in await fetch(store, stmt)]


async def untransmitted_issued_before(
    store: Store, before: dt.datetime, *, kinds: Collection[DocumentKind], providers: Collection[Provider],
    channel: str | None = None, workspace: WorkspaceScope | None = None, limit: int = 500,
) -> list[DeadlineRow]:
    """Issued documents the NTS has not received (see `UNTRANSMITTED_STATES`), issued before `before`."""
    c = documents.c
    states = [s.value for s in UNTRANSMITTED_STATES]
    stmt = (sa.select(*_COLUMNS)
            .where(c.lifecycle == Lifecycle.ISSUED.value, sa.or_(c.state.is_(None), c.state.in_(states)),
                   c.issued_at.is_not(None), c.issued_at < before, c.write_date.is_not(None),
                   *_scope(kinds, providers, channel, workspace))
            .order_by(c.issued_at, c.id).limit(limit))
    return [DeadlineRow.from_row(r) for r in await fetch(store, stmt)]
