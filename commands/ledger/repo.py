"""Repositories: typed async access to each table.

Every state change that other processes might race on is a compare-and-set
(``UPDATE ... WHERE id = :id AND state = :expected``) that reports whether it moved, and
every "first one wins" is an ``INSERT`` against a unique key (``ON CONFLICT DO NOTHING``,
which SQLite and PostgreSQL spell the same). Nothing here builds SQL from strings.

Each repository runs its statements in short transactions of its own, or inside a
caller's transaction::

    store = await Store.open("sqlite+aiosqlite:///./invoicebot.db")
    doc = await store.documents.get_by_ref("INV-000001")
    async with store.transaction() as tx:      # one transaction, all or nothing
        doc = await tx.documents.create(provider=..., kind=..., lifecycle=Lifecycle.PENDING_APPROVAL)
        await tx.approvals.create(action=ApprovalAction.ISSUE, document_id=doc.id, requester="U1")

Never hold a transaction across a provider call: take what you need, let go, call the
provider, then record the answer with a compare-and-set.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commands.ledger.db import create_engine, utc_now, write_engine
from commands.ledger.schema import (
    ApprovalAction,
    ApprovalState,
    IdempotencyState,
    Lifecycle,
    approval_requests,
    audit_events,
    callback_events,
    closure_checks,
    digest_runs,
    digest_schedules,
    documents,
    idempotency_keys,
)
from providers.models import (
    Amounts,
    BusinessStatus,
    DocumentKind,
    DocumentRef,
    DocumentState,
    DocumentStatus,
    IssueRequest,
    Party,
    Provider,
)
from providers.redact import redact_mapping

__all__ = [
    "REF_PREFIX",
    "ApprovalRecord",
    "ApprovalRepo",
    "AuditEventRecord",
    "AuditRepo",
    "CallbackEventRecord",
    "CallbackRepo",
    "Claim",
    "ClosureChange",
    "ClosureCheckRecord",
    "ClosureRepo",
    "DigestRepo",
    "DigestRunRecord",
    "DigestScheduleRecord",
    "DocumentAggregate",
    "DocumentRecord",
    "DocumentRepo",
    "IdempotencyConflict",
    "IdempotencyRecord",
    "IdempotencyRepo",
    "Store",
    "format_ref",
]

REF_PREFIX = "INV-"
#: Korean providers report local wall-clock times; a naive timestamp from one is read as KST.
_PROVIDER_TZ = ZoneInfo("Asia/Seoul")
_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def format_ref(document_id: int) -> str:
    """Our reference for a document id: ``INV-000123`` (at least six digits)."""
    return f"{REF_PREFIX}{document_id:06d}"


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else utc_now()


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=_PROVIDER_TZ)


def _jsonable(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """Redacted, JSON-safe copy (dates, decimals and enums become strings)."""
    return dict(json.loads(json.dumps(redact_mapping(data), default=str, ensure_ascii=False)))


def _states(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class _Db:
    """Where a repository's statements run: short transactions of its own, or the caller's."""

    def __init__(self, engine: AsyncEngine, conn: AsyncConnection | None = None) -> None:
        self.engine = engine
        self.writer = write_engine(engine)
        self.conn = conn

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        if self.conn is not None:
            yield self.conn
            return
        async with self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        if self.conn is not None:
            yield self.conn
            return
        async with self.engine.connect() as conn:
            yield conn

    def insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which knows ON CONFLICT."""
        if self.dialect == "sqlite":
            return sqlite.insert(table)
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        raise ValueError(f"unsupported database dialect {self.dialect!r}")

    async def insert_first(self, table: sa.Table, values: Mapping[str, Any], conflict: Sequence[str]) -> bool:
        """INSERT unless a row with the same unique `conflict` columns exists; True when inserted.

        Safe across processes on both databases: the unique index decides, not a prior SELECT.
        """
        stmt = (
            self.insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(*(table.c[c] for c in conflict))
        )
        async with self.write() as conn:
            row = (await conn.execute(stmt)).first()
        return row is not None


class _Repo:
    def __init__(self, db: _Db) -> None:
        self._db = db


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """One row of `documents`."""

    id: int
    ref: str
    provider: Provider
    kind: DocumentKind
    provider_id: str | None
    origin: str
    sandbox: bool
    buyer_name: str | None
    buyer_bizno: str | None
    buyer_email: str | None
    buyer_phone: str | None
    supply: int | None
    vat: int | None
    total: int | None
    currency: str
    lifecycle: Lifecycle
    state: DocumentState | None
    raw_state: str | None
    state_detail: str | None
    write_date: dt.date | None
    due_date: dt.date | None
    issued_at: dt.datetime | None
    state_checked_at: dt.datetime | None
    confirm_number: str | None
    links: dict[str, str]
    request: dict[str, Any] | None
    last_error: str | None
    requested_by: str | None
    channel_id: str | None
    thread_ts: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> DocumentRecord:
        values = {f.name: row[f.name] for f in dataclasses.fields(cls)}
        values.update(
            provider=Provider(row["provider"]),
            kind=DocumentKind(row["kind"]),
            lifecycle=Lifecycle(row["lifecycle"]),
            state=DocumentState(row["state"]) if row["state"] else None,
            links=dict(row["links"] or {}),
            ref=row["ref"] or "",
        )
        return cls(**values)

    @property
    def document_ref(self) -> DocumentRef | None:
        """How the provider knows it, once it has an id there."""
        if not self.provider_id:
            return None
        return DocumentRef(provider=self.provider, kind=self.kind, provider_id=self.provider_id)

    def issue_request(self) -> IssueRequest | None:
        """The stored request (its key is this document's ref), or None for adopted documents."""
        return IssueRequest.model_validate(self.request) if self.request else None


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """One row of `approval_requests`."""

    id: int
    action: ApprovalAction
    document_id: int
    payload: dict[str, Any]
    requester: str
    decider: str | None
    state: ApprovalState
    retryable: bool
    reason: str | None
    outcome_code: str | None
    outcome_message: str | None
    user_hint: str | None
    idempotency_key: str | None
    channel_id: str | None
    message_ts: str | None
    origin_channel_id: str | None
    origin_thread_ts: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    decided_at: dt.datetime | None
    expires_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    attempts: int

    @classmethod
    def from_row(cls, row: RowMapping) -> ApprovalRecord:
        values = {f.name: row[f.name] for f in dataclasses.fields(cls)}
        values.update(
            action=ApprovalAction(row["action"]),
            state=ApprovalState(row["state"]),
            payload=dict(row["payload"] or {}),
        )
        return cls(**values)


@dataclass(frozen=True, slots=True)
class AuditEventRecord:
    id: int
    at: dt.datetime
    actor: str
    action: str
    operation: str | None
    document_id: int | None
    document_ref: str | None
    approval_id: int | None
    outcome: str | None
    detail: dict[str, Any]

    @classmethod
    def from_row(cls, row: RowMapping) -> AuditEventRecord:
        values = {f.name: row[f.name] for f in dataclasses.fields(cls)}
        values["detail"] = dict(row["detail"] or {})
        return cls(**values)


@dataclass(frozen=True, slots=True)
class ClosureCheckRecord:
    id: int
    bizno: str
    provider: str
    state: str
    raw_state: str | None
    tax_type: str | None
    state_date: dt.date | None
    detail: str | None
    checked_at: dt.datetime
    checked_by: str | None

    @classmethod
    def from_row(cls, row: RowMapping) -> ClosureCheckRecord:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})

    def same_state(self, other: ClosureCheckRecord) -> bool:
        return (self.state, self.raw_state) == (other.state, other.raw_state)


@dataclass(frozen=True, slots=True)
class ClosureChange:
    """A business whose closure state differs from the check before."""

    bizno: str
    previous: ClosureCheckRecord
    current: ClosureCheckRecord


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    key: str
    operation: str
    request_hash: str
    state: IdempotencyState
    result: dict[str, Any] | None
    attempts: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> IdempotencyRecord:
        values = {f.name: row[f.name] for f in dataclasses.fields(cls)}
        values["state"] = IdempotencyState(row["state"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to "may I send this write?".

    `claimed` is True when this caller now owns the key (first use, or a retry after a
    definite failure). Otherwise `record.state` says why: DONE (the write already happened,
    `record.result` holds its answer) or IN_FLIGHT (a write was sent and never answered:
    reconcile with the provider before sending again).
    """

    claimed: bool
    record: IdempotencyRecord


class IdempotencyConflict(Exception):
    """The key was already used for a different request."""


@dataclass(frozen=True, slots=True)
class DigestScheduleRecord:
    channel_id: str
    time: str
    timezone: str
    enabled: bool
    created_by: str | None
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> DigestScheduleRecord:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True, slots=True)
class DigestRunRecord:
    channel_id: str
    day: dt.date
    claimed_at: dt.datetime
    claimed_by: str
    posted_at: dt.datetime | None
    message_ts: str | None
    summary: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: RowMapping) -> DigestRunRecord:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True, slots=True)
class CallbackEventRecord:
    id: int
    provider: str
    dedup_key: str
    received_at: dt.datetime
    payload: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: RowMapping) -> CallbackEventRecord:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True, slots=True)
class DocumentAggregate:
    """Count and total of documents in one (provider, lifecycle, state) bucket."""

    provider: Provider
    lifecycle: Lifecycle
    state: DocumentState | None
    count: int
    total: int


# --------------------------------------------------------------------------- documents


class DocumentRepo(_Repo):
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
    ) -> DocumentRecord:
        """Insert a document and give it its ref (``INV-`` + id) in the same transaction.

        When `request` is given, it is stored with its `key` replaced by the new ref, which
        is what the provider will see as our idempotency key.
        """
        now = _now(now)
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
            "created_at": now,
            "updated_at": now,
        }
        if buyer is not None:
            values.update(
                buyer_name=buyer.name, buyer_bizno=buyer.bizno, buyer_email=buyer.email, buyer_phone=buyer.phone
            )
        if amounts is not None:
            values.update(supply=amounts.supply, vat=amounts.vat, total=amounts.total, currency=amounts.currency)
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
        return await self._one(documents.c.id == document_id)

    async def get_by_ref(self, ref: str) -> DocumentRecord | None:
        return await self._one(documents.c.ref == ref)

    async def get_by_provider_id(self, provider: Provider, provider_id: str) -> DocumentRecord | None:
        return await self._one(sa.and_(documents.c.provider == provider.value, documents.c.provider_id == provider_id))

    async def _one(self, where: sa.ColumnElement[bool]) -> DocumentRecord | None:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(documents).where(where))).mappings().first()
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
        stmt = (
            sa.update(documents)
            .where(documents.c.id == document_id, documents.c.lifecycle.in_(_states(expected)))
            .values(lifecycle=to.value, last_error=error, updated_at=_now(now))
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount == 1

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
        now = _now(now)
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
            values["issued_at"] = _aware(status.issued_at)
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
            where.append(documents.c.lifecycle.in_(_states(expected)))
        async with self._db.write() as conn:
            return (await conn.execute(sa.update(documents).where(*where).values(**values))).rowcount == 1

    async def search(
        self,
        *,
        state: DocumentState | None = None,
        provider: Provider | None = None,
        lifecycle: Lifecycle | Collection[Lifecycle] | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[DocumentRecord]:
        """Newest first; page with `before_id` = the last id of the previous page."""
        stmt = sa.select(documents).order_by(documents.c.id.desc()).limit(limit)
        if state is not None:
            stmt = stmt.where(documents.c.state == state.value)
        if provider is not None:
            stmt = stmt.where(documents.c.provider == provider.value)
        if lifecycle is not None:
            stmt = stmt.where(documents.c.lifecycle.in_(_states(lifecycle)))
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


# --------------------------------------------------------------------------- approvals


class ApprovalRepo(_Repo):
    """Approval requests and their compare-and-set state machine (see `ApprovalState`)."""

    _CHANGEABLE: ClassVar[frozenset[str]] = frozenset(
        {
            "decider",
            "decided_at",
            "reason",
            "outcome_code",
            "outcome_message",
            "user_hint",
            "retryable",
            "started_at",
            "finished_at",
        }
    )

    async def create(
        self,
        *,
        action: ApprovalAction,
        document_id: int,
        requester: str,
        state: ApprovalState = ApprovalState.PENDING,
        payload: Mapping[str, Any] | None = None,
        reason: str | None = None,
        expires_at: dt.datetime | None = None,
        idempotency_key: str | None = None,
        decider: str | None = None,
        origin_channel_id: str | None = None,
        origin_thread_ts: str | None = None,
        now: dt.datetime | None = None,
    ) -> ApprovalRecord:
        now = _now(now)
        values: dict[str, Any] = {
            "action": action.value,
            "document_id": document_id,
            "requester": requester,
            "state": state.value,
            "payload": _jsonable(payload),
            "reason": reason,
            "expires_at": expires_at,
            "idempotency_key": idempotency_key,
            "decider": decider,
            "decided_at": now if state is ApprovalState.APPROVED else None,
            "origin_channel_id": origin_channel_id,
            "origin_thread_ts": origin_thread_ts,
            "created_at": now,
            "updated_at": now,
        }
        async with self._db.write() as conn:
            row = (
                (await conn.execute(sa.insert(approval_requests).values(**values).returning(*approval_requests.c)))
                .mappings()
                .one()
            )
        return ApprovalRecord.from_row(row)

    async def get(self, approval_id: int) -> ApprovalRecord | None:
        async with self._db.read() as conn:
            row = (
                (await conn.execute(sa.select(approval_requests).where(approval_requests.c.id == approval_id)))
                .mappings()
                .first()
            )
        return ApprovalRecord.from_row(row) if row else None

    async def transition(
        self,
        approval_id: int,
        *,
        expected: ApprovalState | Collection[ApprovalState],
        to: ApprovalState,
        now: dt.datetime | None = None,
        unexpired_at: dt.datetime | None = None,
        attempts_seen: int | None = None,
        retryable_only: bool = False,
        count_attempt: bool = False,
        **changes: Any,
    ) -> bool:
        """Move `approval_id` from one of `expected` to `to`; True when this call moved it.

        Args:
            unexpired_at: also require ``expires_at`` to be unset or later than this instant.
            attempts_seen: also require ``attempts`` to equal this (take over a stuck execution
                exactly once).
            retryable_only: also require the ``retryable`` flag.
            count_attempt: increment ``attempts``.
            changes: other columns to set (decider, reason, outcome_code, ...).
        """
        unknown = set(changes) - self._CHANGEABLE
        if unknown:
            raise TypeError(f"cannot set {sorted(unknown)} on an approval request")
        c = approval_requests.c
        where: list[sa.ColumnElement[bool]] = [c.id == approval_id, c.state.in_(_states(expected))]
        if unexpired_at is not None:
            where.append(sa.or_(c.expires_at.is_(None), c.expires_at > unexpired_at))
        if attempts_seen is not None:
            where.append(c.attempts == attempts_seen)
        if retryable_only:
            where.append(c.retryable.is_(True))
        values: dict[str, Any] = {"state": to.value, "updated_at": _now(now), **changes}
        if count_attempt:
            values["attempts"] = c.attempts + 1
        async with self._db.write() as conn:
            return (await conn.execute(sa.update(approval_requests).where(*where).values(**values))).rowcount == 1

    async def set_card(
        self, approval_id: int, channel_id: str, message_ts: str, *, now: dt.datetime | None = None
    ) -> bool:
        """Remember where the approval card was posted, so it can be updated later."""
        stmt = (
            sa.update(approval_requests)
            .where(approval_requests.c.id == approval_id)
            .values(channel_id=channel_id, message_ts=message_ts, updated_at=_now(now))
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def search(
        self,
        *,
        states: ApprovalState | Collection[ApprovalState] | None = None,
        action: ApprovalAction | None = None,
        document_id: int | None = None,
        exclude_requester: str | None = None,
        started_before: dt.datetime | None = None,
        expired_at: dt.datetime | None = None,
        limit: int = 100,
    ) -> list[ApprovalRecord]:
        """Oldest first.

        Args:
            exclude_requester: leave out requests by this user (what an approver may decide).
            started_before: only executions started before this instant (stuck ones).
            expired_at: only requests whose ``expires_at`` is at or before this instant.
        """
        c = approval_requests.c
        stmt = sa.select(approval_requests).order_by(c.id).limit(limit)
        if states is not None:
            stmt = stmt.where(c.state.in_(_states(states)))
        if action is not None:
            stmt = stmt.where(c.action == action.value)
        if document_id is not None:
            stmt = stmt.where(c.document_id == document_id)
        if exclude_requester is not None:
            stmt = stmt.where(c.requester != exclude_requester)
        if started_before is not None:
            stmt = stmt.where(sa.or_(c.started_at.is_(None), c.started_at <= started_before))
        if expired_at is not None:
            stmt = stmt.where(c.expires_at.is_not(None), c.expires_at <= expired_at)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [ApprovalRecord.from_row(r) for r in rows]

    async def count(self, states: ApprovalState | Collection[ApprovalState]) -> int:
        stmt = sa.select(sa.func.count()).where(approval_requests.c.state.in_(_states(states)))
        async with self._db.read() as conn:
            return int((await conn.execute(stmt)).scalar_one())


# --------------------------------------------------------------------------- audit


class AuditRepo(_Repo):
    """Append-only log of who did what. Details are redacted before they are stored."""

    async def record(
        self,
        *,
        actor: str,
        action: str,
        operation: str | None = None,
        document_id: int | None = None,
        document_ref: str | None = None,
        approval_id: int | None = None,
        outcome: str | None = None,
        detail: Mapping[str, Any] | None = None,
        now: dt.datetime | None = None,
    ) -> int:
        values = {
            "at": _now(now),
            "actor": actor,
            "action": action,
            "operation": operation,
            "document_id": document_id,
            "document_ref": document_ref,
            "approval_id": approval_id,
            "outcome": outcome[:64] if outcome else None,
            "detail": _jsonable(detail),
        }
        async with self._db.write() as conn:
            return int(
                (await conn.execute(sa.insert(audit_events).values(**values).returning(audit_events.c.id))).scalar_one()
            )

    async def search(
        self,
        *,
        document_id: int | None = None,
        approval_id: int | None = None,
        action: str | None = None,
        limit: int = 200,
    ) -> list[AuditEventRecord]:
        """Oldest first."""
        c = audit_events.c
        stmt = sa.select(audit_events).order_by(c.id).limit(limit)
        if document_id is not None:
            stmt = stmt.where(c.document_id == document_id)
        if approval_id is not None:
            stmt = stmt.where(c.approval_id == approval_id)
        if action is not None:
            stmt = stmt.where(c.action == action)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [AuditEventRecord.from_row(r) for r in rows]


# --------------------------------------------------------------------------- closure checks


class ClosureRepo(_Repo):
    """History of business closure (휴폐업) checks, one row per number per check."""

    async def record(
        self,
        statuses: Sequence[BusinessStatus],
        *,
        provider: Provider,
        checked_by: str | None,
        now: dt.datetime | None = None,
    ) -> list[ClosureCheckRecord]:
        if not statuses:
            return []
        now = _now(now)
        rows = [
            {
                "bizno": s.bizno,
                "provider": provider.value,
                "state": s.state.value,
                "raw_state": s.raw_state,
                "tax_type": s.tax_type,
                "state_date": s.state_date,
                "detail": s.detail,
                "checked_at": _aware(s.checked_at) or now,
                "checked_by": checked_by,
            }
            for s in statuses
        ]
        out = []
        async with self._db.write() as conn:
            for values in rows:
                row = (
                    (await conn.execute(sa.insert(closure_checks).values(**values).returning(*closure_checks.c)))
                    .mappings()
                    .one()
                )
                out.append(ClosureCheckRecord.from_row(row))
        return out

    async def latest(self, biznos: Collection[str]) -> dict[str, ClosureCheckRecord]:
        """The most recent check of each number (numbers never checked are absent)."""
        if not biznos:
            return {}
        c = closure_checks.c
        newest = sa.select(sa.func.max(c.id)).where(c.bizno.in_(list(biznos))).group_by(c.bizno)
        async with self._db.read() as conn:
            rows = (await conn.execute(sa.select(closure_checks).where(c.id.in_(newest)))).mappings().all()
        return {r["bizno"]: ClosureCheckRecord.from_row(r) for r in rows}

    async def history(self, bizno: str, *, limit: int = 20) -> list[ClosureCheckRecord]:
        """Newest first."""
        c = closure_checks.c
        stmt = sa.select(closure_checks).where(c.bizno == bizno).order_by(c.id.desc()).limit(limit)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [ClosureCheckRecord.from_row(r) for r in rows]

    async def changes_since(self, since: dt.datetime) -> list[ClosureChange]:
        """Numbers checked since `since` whose latest state differs from the check before it."""
        c = closure_checks.c
        async with self._db.read() as conn:
            checked = (await conn.execute(sa.select(c.bizno).where(c.checked_at >= since).distinct())).scalars().all()
        changes = []
        for bizno in sorted(checked):
            recent = await self.history(bizno, limit=2)
            if len(recent) == 2 and not recent[0].same_state(recent[1]):
                changes.append(ClosureChange(bizno=bizno, previous=recent[1], current=recent[0]))
        return changes


# --------------------------------------------------------------------------- idempotency


class IdempotencyRepo(_Repo):
    """Claims on provider writes, taken with a unique INSERT before the write is sent."""

    async def claim(
        self, key: str, operation: str, request_hash: str, *, now: dt.datetime | None = None
    ) -> Claim:
        now = _now(now)
        inserted = await self._db.insert_first(
            idempotency_keys,
            {
                "key": key,
                "operation": operation,
                "request_hash": request_hash,
                "state": IdempotencyState.IN_FLIGHT.value,
                "attempts": 1,
                "created_at": now,
                "updated_at": now,
            },
            conflict=["key"],
        )
        if not inserted:
            # a definite failure means nothing happened: the key may be used again, by one caller
            stmt = (
                sa.update(idempotency_keys)
                .where(
                    idempotency_keys.c.key == key,
                    idempotency_keys.c.state == IdempotencyState.FAILED.value,
                    idempotency_keys.c.request_hash == request_hash,
                )
                .values(
                    state=IdempotencyState.IN_FLIGHT.value, attempts=idempotency_keys.c.attempts + 1, updated_at=now
                )
            )
            async with self._db.write() as conn:
                inserted = (await conn.execute(stmt)).rowcount == 1
        record = await self.get(key)
        if record is None:  # pragma: no cover - rows are never deleted
            raise RuntimeError(f"idempotency key {key} vanished")
        if record.request_hash != request_hash:
            raise IdempotencyConflict(f"idempotency key {key} was already used for a different {record.operation}")
        return Claim(claimed=inserted, record=record)

    async def get(self, key: str) -> IdempotencyRecord | None:
        async with self._db.read() as conn:
            stmt = sa.select(idempotency_keys).where(idempotency_keys.c.key == key)
            row = (await conn.execute(stmt)).mappings().first()
        return IdempotencyRecord.from_row(row) if row else None

    async def complete(self, key: str, result: Mapping[str, Any] | None, *, now: dt.datetime | None = None) -> None:
        await self._finish(key, IdempotencyState.DONE, result, now)

    async def fail(self, key: str, result: Mapping[str, Any] | None = None, *, now: dt.datetime | None = None) -> None:
        """Record that the write definitely did not happen (the key may be claimed again)."""
        await self._finish(key, IdempotencyState.FAILED, result, now)

    async def _finish(
        self, key: str, state: IdempotencyState, result: Mapping[str, Any] | None, now: dt.datetime | None
    ) -> None:
        stmt = (
            sa.update(idempotency_keys)
            .where(idempotency_keys.c.key == key)
            .values(state=state.value, result=_jsonable(result) if result is not None else None, updated_at=_now(now))
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)


# --------------------------------------------------------------------------- digests


class DigestRepo(_Repo):
    """Per-channel digest schedules and the once-per-day run claims."""

    async def upsert_schedule(
        self,
        channel_id: str,
        *,
        time: str,
        timezone: str = "Asia/Seoul",
        enabled: bool = True,
        created_by: str | None = None,
        now: dt.datetime | None = None,
    ) -> DigestScheduleRecord:
        if not _TIME_OF_DAY.match(time):
            raise ValueError(f"digest time {time!r} must be HH:MM (24-hour)")
        ZoneInfo(timezone)  # raises for an unknown zone
        values = {
            "channel_id": channel_id,
            "time": time,
            "timezone": timezone,
            "enabled": enabled,
            "created_by": created_by,
            "updated_at": _now(now),
        }
        update = {k: v for k, v in values.items() if k not in ("channel_id", "created_by")}
        stmt = (
            self._db.insert(digest_schedules)
            .values(**values)
            .on_conflict_do_update(index_elements=["channel_id"], set_=update)
            .returning(*digest_schedules.c)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(stmt)).mappings().one()
        return DigestScheduleRecord.from_row(row)

    async def get_schedule(self, channel_id: str) -> DigestScheduleRecord | None:
        async with self._db.read() as conn:
            row = (
                (await conn.execute(sa.select(digest_schedules).where(digest_schedules.c.channel_id == channel_id)))
                .mappings()
                .first()
            )
        return DigestScheduleRecord.from_row(row) if row else None

    async def list_schedules(self, *, enabled_only: bool = True) -> list[DigestScheduleRecord]:
        stmt = sa.select(digest_schedules).order_by(digest_schedules.c.channel_id)
        if enabled_only:
            stmt = stmt.where(digest_schedules.c.enabled.is_(True))
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [DigestScheduleRecord.from_row(r) for r in rows]

    async def delete_schedule(self, channel_id: str) -> bool:
        async with self._db.write() as conn:
            stmt = sa.delete(digest_schedules).where(digest_schedules.c.channel_id == channel_id)
            return (await conn.execute(stmt)).rowcount == 1

    async def claim_run(self, channel_id: str, day: dt.date, instance: str, *, now: dt.datetime | None = None) -> bool:
        """True for exactly one caller per (channel, day), across processes and databases."""
        return await self._db.insert_first(
            digest_runs,
            {"channel_id": channel_id, "day": day, "claimed_at": _now(now), "claimed_by": instance},
            conflict=["channel_id", "day"],
        )

    async def finish_run(
        self,
        channel_id: str,
        day: dt.date,
        *,
        message_ts: str | None,
        summary: Mapping[str, Any] | None = None,
        now: dt.datetime | None = None,
    ) -> bool:
        stmt = (
            sa.update(digest_runs)
            .where(digest_runs.c.channel_id == channel_id, digest_runs.c.day == day)
            .values(posted_at=_now(now), message_ts=message_ts, summary=_jsonable(summary))
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def get_run(self, channel_id: str, day: dt.date) -> DigestRunRecord | None:
        stmt = sa.select(digest_runs).where(digest_runs.c.channel_id == channel_id, digest_runs.c.day == day)
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return DigestRunRecord.from_row(row) if row else None


# --------------------------------------------------------------------------- callbacks


class CallbackRepo(_Repo):
    """Provider callbacks (webhooks), deduplicated: providers deliver at least once."""

    async def record(
        self, provider: str, dedup_key: str, payload: Mapping[str, Any] | None, *, now: dt.datetime | None = None
    ) -> bool:
        """True the first time (provider, dedup_key) is seen."""
        return await self._db.insert_first(
            callback_events,
            {"provider": provider, "dedup_key": dedup_key, "received_at": _now(now), "payload": _jsonable(payload)},
            conflict=["provider", "dedup_key"],
        )

    async def recent(self, provider: str | None = None, *, limit: int = 50) -> list[CallbackEventRecord]:
        stmt = sa.select(callback_events).order_by(callback_events.c.id.desc()).limit(limit)
        if provider is not None:
            stmt = stmt.where(callback_events.c.provider == provider)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [CallbackEventRecord.from_row(r) for r in rows]


# --------------------------------------------------------------------------- store


class Store:
    """All repositories over one engine.

    Example::

        store = await Store.open("sqlite+aiosqlite:///./invoicebot.db")   # migrates to head
        try:
            if await store.claim_digest_run("C123", dt.date.today(), "host-1"):
                ...
        finally:
            await store.close()
    """

    def __init__(self, engine: AsyncEngine, *, _conn: AsyncConnection | None = None) -> None:
        self.engine = engine
        db = _Db(engine, _conn)
        self.documents = DocumentRepo(db)
        self.approvals = ApprovalRepo(db)
        self.audit = AuditRepo(db)
        self.closures = ClosureRepo(db)
        self.idempotency = IdempotencyRepo(db)
        self.digests = DigestRepo(db)
        self.callbacks = CallbackRepo(db)

    @classmethod
    async def open(cls, url: str | URL, *, migrate: bool = True, echo: bool = False) -> Self:
        """Create the engine and (by default) bring the schema up to date."""
        engine = create_engine(url, echo=echo)
        if migrate:
            from commands.ledger.migrate import upgrade

            try:
                await upgrade(engine)
            except BaseException:
                await engine.dispose()
                raise
        return cls(engine)

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        """A Store whose repositories all run in one write transaction (committed on exit)."""
        async with write_engine(self.engine).begin() as conn:
            yield Store(self.engine, _conn=conn)

    async def claim_digest_run(self, channel_id: str, day: dt.date, instance: str) -> bool:
        """True for exactly one caller per (channel, day): post the digest only then."""
        return await self.digests.claim_run(channel_id, day, instance)

    async def record_callback(self, provider: str, key: str, payload: Mapping[str, Any] | None) -> bool:
        """True the first time a provider callback with this dedup key arrives."""
        return await self.callbacks.record(provider, key, payload)
