"""Documents we issued (or adopted): our lifecycle beside the provider's last known state.

Each repository runs its statements in short transactions of its own, or inside a
caller's (see `Store.transaction`). Never hold a transaction across a provider call:
take what you need, let go, call the provider, then record the answer with a
compare-and-set such as `DocumentRepo.set_lifecycle`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Collection
from typing import Any, ClassVar

import sqlalchemy as sa

from commands.ledger._db import Repo, aware, now_or, state_values
from commands.ledger.records import DocumentAggregate, DocumentRecord
from commands.ledger.schema import documents
from commands.ledger.standing_sql import standing_in
from commands.ledger.vocabulary import Lifecycle, Standing
from commands.ledger.workspaces import WorkspaceScope, owned_by, scope_columns
from providers.models import Amounts, DocumentKind, DocumentState, DocumentStatus, IssueRequest, Party, Provider

__all__ = ["REF_PREFIX", "WRITTEN_STANDINGS", "DocumentRepo", "format_ref"]

REF_PREFIX = "INV-"

#: standings of documents that exist at the provider (or did, until cancelled): what an export lists
WRITTEN_STANDINGS = frozenset({Standing.ISSUED, Standing.CANCELLED})

#: `DocumentRepo.with_amendments`, built once: every status runs it, and building a statement and
#: its cache key costs more CPU than SQLite takes to answer it
_WITH_AMENDMENTS = (
    sa.select(documents)
    .where(sa.or_(documents.c.id == sa.bindparam("document_id"),
                  documents.c.amends_document_id == sa.bindparam("document_id")))
    .order_by(documents.c.id)
)

#: the statements a workflow step runs several times per request, built once as well: building
#: an UPDATE with its WHERE and SET and computing its cache key took 60-110 µs of CPU per call
#: (a prebuilt statement's cache key is memoized), more than SQLite takes to run it
_BY_ID = sa.select(documents).where(documents.c.id == sa.bindparam("document_id"))
_BY_REF = sa.select(documents).where(documents.c.ref == sa.bindparam("ref"))
_SET_LIFECYCLE = (
    sa.update(documents)
    .where(documents.c.id == sa.bindparam("document_id"),
           documents.c.lifecycle.in_(sa.bindparam("expected", expanding=True)))
    .values(lifecycle=sa.bindparam("to", type_=documents.c.lifecycle.type),
            last_error=sa.bindparam("error", type_=documents.c.last_error.type),
            updated_at=sa.bindparam("now", type_=documents.c.updated_at.type))
)


def format_ref(document_id: int) -> str:
    """Our reference for a document id: ``INV-000123`` (at least six digits)."""
    return f"{REF_PREFIX}{document_id:06d}"


def _party_columns(buyer: Party | None, amounts: Amounts | None) -> dict[str, Any]:
    """The buyer and amount columns of a new document (left to their defaults when unknown)."""
    values: dict[str, Any] = {}
    if buyer is not None:
        values.update(buyer_name=buyer.name, buyer_bizno=buyer.bizno, buyer_email=buyer.email, buyer_phone=buyer.phone)
    if amounts is not None:
        values.update(supply=amounts.supply, vat=amounts.vat, total=amounts.total, currency=amounts.currency)
    return values


def _status_columns(status: DocumentStatus, now: dt.datetime) -> dict[str, Any]:
    """The columns a provider status answer sets (only what it actually says)."""
    values: dict[str, Any] = {
        "provider_id": status.ref.provider_id,
        "state": status.state.value,
        "raw_state": status.raw_state[:64],
        "state_detail": status.detail,
        "state_checked_at": now,
        "updated_at": now,
    }
    if status.confirm_number:
        values["confirm_number"] = status.confirm_number
    if status.links:
        values["links"] = dict(status.links)
    if status.due_date:
        values["due_date"] = status.due_date
    if status.issued_at is not None:
        values["issued_at"] = aware(status.issued_at)
    return values


class DocumentRepo(Repo):
    """Documents we issued (or adopted), with our lifecycle and the provider's last known state."""

    #: lifecycles in which the provider may still move the document (status sweeps)
    SWEPT_LIFECYCLES: ClassVar[tuple[Lifecycle, ...]] = (Lifecycle.ISSUED, Lifecycle.DESTROYING)

    async def create(
        self,
        *,
        provider: Provider,
        kind: DocumentKind,
        lifecycle: Lifecycle,
        request: IssueRequest | None = None,
        sandbox: bool = False,
        buyer: Party | None = None,
        amounts: Amounts | None = None,
        provider_id: str | None = None,
        origin: str = "bot",
        write_date: dt.date | None = None,
        due_date: dt.date | None = None,
        requested_by: str | None = None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
        now: dt.datetime | None = None,
        amends_document_id: int | None = None,
        modify_code: int | None = None,
        workspace: WorkspaceScope | None = None,
    ) -> DocumentRecord:
        """Insert a document and give it its ref (``INV-`` + id) in the same transaction.

        When `request` is given, it is stored with its `key` replaced by the new ref, which
        is what the provider will see as our idempotency key.
        """
        now = now_or(now)
        if request is not None:
            buyer = buyer or request.buyer
            amounts = amounts or request.amounts()
            write_date = write_date or request.write_date
            due_date = due_date or request.due_date
        values: dict[str, Any] = {
            "provider": provider.value,
            "kind": kind.value,
            "provider_id": provider_id,
            "origin": origin,
            "sandbox": sandbox,
            "lifecycle": lifecycle.value,
            "write_date": write_date,
            "due_date": due_date,
            "requested_by": requested_by,
            "channel_id": channel_id,
            "thread_ts": thread_ts,
            "links": {},
            "amends_document_id": amends_document_id,
            "modify_code": modify_code,
            "created_at": now,
            "updated_at": now,
            **_party_columns(buyer, amounts),
            **scope_columns(workspace),
        }
        return await self._insert_with_ref(values, request)

    async def _insert_with_ref(self, values: dict[str, Any], request: IssueRequest | None) -> DocumentRecord:
        """INSERT, then set the ref the new id gives (and the request keyed by it) before anyone sees the row."""
        async with self._db.write() as conn:
            inserted = await conn.execute(sa.insert(documents).values(**values).returning(documents.c.id))
            document_id = inserted.scalar_one()
            ref = format_ref(document_id)
            stored = None
            if request is not None:
                stored = request.model_copy(update={"key": ref}).model_dump(mode="json")
            await conn.execute(
                sa.update(documents).where(documents.c.id == document_id).values(ref=ref, request=stored)
            )
            row = (await conn.execute(sa.select(documents).where(documents.c.id == document_id))).mappings().one()
        return DocumentRecord.from_row(row)

    async def get(self, document_id: int) -> DocumentRecord | None:
        return await self._first(_BY_ID, {"document_id": document_id})

    async def amendments_of(self, document_id: int) -> list[DocumentRecord]:
        """The documents that amend `document_id` (수정세금계산서), oldest first."""
        async with self._db.read() as conn:
            rows = (await conn.execute(
                sa.select(documents).where(documents.c.amends_document_id == document_id).order_by(documents.c.id)
            )).mappings().all()
        return [DocumentRecord.from_row(row) for row in rows]

    async def with_amendments(self, document_id: int) -> tuple[DocumentRecord | None, list[DocumentRecord]]:
        """The document and the documents amending it (oldest first), in one statement: a status
        shows both, and each statement is a round-trip (under aiosqlite, several thread hand-offs)."""
        async with self._db.read() as conn:
            rows = (await conn.execute(_WITH_AMENDMENTS, {"document_id": document_id})).mappings().all()
        records = [DocumentRecord.from_row(row) for row in rows]
        doc = next((r for r in records if r.id == document_id), None)
        return doc, [r for r in records if r.id != document_id]

    async def get_by_ref(self, ref: str) -> DocumentRecord | None:
        return await self._first(_BY_REF, {"ref": ref})

    async def get_by_provider_id(self, provider: Provider, provider_id: str) -> DocumentRecord | None:
        return await self._first(sa.select(documents).where(documents.c.provider == provider.value,
                                                        documents.c.provider_id == provider_id))

    async def _first(self, stmt: sa.Select[Any], params: dict[str, Any] | None = None) -> DocumentRecord | None:
        async with self._db.read() as conn:
            row = (await conn.execute(stmt, params)).mappings().first()
        return DocumentRecord.from_row(row) if row else None

    async def set_lifecycle(
        self,
        document_id: int,
        to: Lifecycle,
        *,
        expected: Lifecycle | Collection[Lifecycle],
        error: str | None = None,
        now: dt.datetime | None = None,
    ) -> bool:
        """Compare-and-set the lifecycle; `error` becomes `last_error` (None clears it)."""
        params = {"document_id": document_id, "expected": state_values(expected), "to": to.value, "error": error,
                  "now": now_or(now)}
        async with self._db.write() as conn:
            return (await conn.execute(_SET_LIFECYCLE, params)).rowcount == 1

    async def record_status(
        self,
        document_id: int,
        status: DocumentStatus,
        *,
        lifecycle: Lifecycle | None = None,
        expected: Collection[Lifecycle] | None = None,
        now: dt.datetime | None = None,
    ) -> bool:
        """Store what the provider said about the document (and optionally move our lifecycle).

        With `expected`, nothing is written unless the lifecycle is one of those.
        """
        now = now_or(now)
        values = _status_columns(status, now)
        if lifecycle is not None:
            values["lifecycle"] = lifecycle.value
            if lifecycle is Lifecycle.ISSUED:
                values["last_error"] = None
                if status.issued_at is None:
                    # keep the first issuance time when a status is recorded again
                    now_param = sa.bindparam("issued_now", now, type_=documents.c.issued_at.type)
                    values["issued_at"] = sa.func.coalesce(documents.c.issued_at, now_param)
        where = [documents.c.id == document_id]
        if expected is not None:
            where.append(documents.c.lifecycle.in_(state_values(expected)))
        async with self._db.write() as conn:
            return (await conn.execute(sa.update(documents).where(*where).values(**values))).rowcount == 1

    async def search(
        self,
        *,
        state: DocumentState | None = None,
        standing: Standing | None = None,
        provider: Provider | None = None,
        lifecycle: Lifecycle | Collection[Lifecycle] | None = None,
        limit: int = 50,
        before_id: int | None = None,
        workspace: WorkspaceScope | None = None,
    ) -> list[DocumentRecord]:
        """Newest first; page with `before_id` = the last id of the previous page; `workspace`'s only."""
        stmt = sa.select(documents).where(owned_by(documents, workspace)).order_by(documents.c.id.desc()).limit(limit)
        if state is not None:
            stmt = stmt.where(documents.c.state == state.value)
        if standing is not None:
            stmt = stmt.where(standing_in(documents, [standing]))
        if provider is not None:
            stmt = stmt.where(documents.c.provider == provider.value)
        if lifecycle is not None:
            stmt = stmt.where(documents.c.lifecycle.in_(state_values(lifecycle)))
        if before_id is not None:
            stmt = stmt.where(documents.c.id < before_id)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [DocumentRecord.from_row(r) for r in rows]

    async def list_open(
        self, *, provider: Provider | None = None, after_id: int = 0, limit: int = 500
    ) -> list[DocumentRecord]:
        """Documents a status sweep should refresh, oldest id first; page with `after_id`.

        Uses the (lifecycle, state) index: issued or being destroyed, and provider-side open.
        """
        open_states = [s.value for s in DocumentState if s.is_open]
        stmt = (
            sa.select(documents)
            .where(
                documents.c.lifecycle.in_([lc.value for lc in self.SWEPT_LIFECYCLES]),
                sa.or_(documents.c.state.in_(open_states), documents.c.state.is_(None)),
                documents.c.provider_id.is_not(None),
                documents.c.id > after_id,
            )
            .order_by(documents.c.id)
            .limit(limit)
        )
        if provider is not None:
            stmt = stmt.where(documents.c.provider == provider.value)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [DocumentRecord.from_row(r) for r in rows]

    async def iter_created_between(
        self, since: dt.datetime, until: dt.datetime, *, batch_size: int = 1000
    ) -> AsyncIterator[DocumentRecord]:
        """Every document created in [since, until), oldest first, a page at a time (exports)."""
        after_id = 0
        while True:
            stmt = (
                sa.select(documents)
                .where(documents.c.created_at >= since, documents.c.created_at < until, documents.c.id > after_id)
                .order_by(documents.c.id)
                .limit(batch_size)
            )
            async with self._db.read() as conn:
                rows = (await conn.execute(stmt)).mappings().all()
            for row in rows:
                yield DocumentRecord.from_row(row)
            if len(rows) < batch_size:
                return
            after_id = rows[-1]["id"]

    async def iter_written_between(
        self, start: dt.date, end: dt.date, *, batch_size: int = 1000, workspace: WorkspaceScope | None = None
    ) -> AsyncIterator[DocumentRecord]:
        """Documents written (작성일자) from `start` to `end` inclusive that are issued or cancelled.

        This is what a tax export lists: the documents that exist (or existed) at the
        provider, by the date on the document rather than the day someone asked for it.
        Requests that never became documents (pending, rejected, expired, failed, unknown)
        are left out by their standing, computed in SQL exactly as `standing()` does.
        Ordered by write date, then id; read a page at a time.
        """
        c = documents.c
        where = [c.write_date >= start, c.write_date <= end, standing_in(documents, WRITTEN_STANDINGS),
                 owned_by(documents, workspace)]
        after: tuple[dt.date, int] | None = None
        while True:
            stmt = sa.select(documents).where(*where)
            if after is not None:
                stmt = stmt.where(sa.or_(c.write_date > after[0], sa.and_(c.write_date == after[0], c.id > after[1])))
            async with self._db.read() as conn:
                page = (await conn.execute(stmt.order_by(c.write_date, c.id).limit(batch_size))).mappings().all()
            for row in page:
                yield DocumentRecord.from_row(row)
            if len(page) < batch_size:
                return
            after = (page[-1]["write_date"], page[-1]["id"])

    async def aggregate(self, since: dt.datetime, until: dt.datetime) -> list[DocumentAggregate]:
        """Counts and totals by provider, lifecycle and provider state of documents created in
        [since, until): one call per digest day."""
        stmt = (
            sa.select(
                documents.c.provider,
                documents.c.lifecycle,
                documents.c.state,
                sa.func.count().label("count"),
                sa.func.coalesce(sa.func.sum(documents.c.total), 0).label("total"),
            )
            .where(documents.c.created_at >= since, documents.c.created_at < until)
            .group_by(documents.c.provider, documents.c.lifecycle, documents.c.state)
            .order_by(documents.c.provider, documents.c.lifecycle, documents.c.state)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            DocumentAggregate(
                provider=Provider(r["provider"]),
                lifecycle=Lifecycle(r["lifecycle"]),
                state=DocumentState(r["state"]) if r["state"] else None,
                count=int(r["count"]),
                total=int(r["total"]),
            )
            for r in rows
        ]
