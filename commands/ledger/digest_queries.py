"""Read-mostly queries for the daily digest, the status sweep, App Home and webhooks.

They sit beside the repositories (and use the same table objects) because they answer
questions no single repository owns: "what happened since the last digest", across
documents, approvals, closure checks and audit events. Every query is built to stay
fast and small on 100,000 documents, on SQLite and PostgreSQL alike:

* totals are computed in SQL (``GROUP BY``), never by loading rows;
* lists fetch only their top rows (``LIMIT``) plus one aggregate for "and N more";
* filters lead with indexed columns (``(lifecycle, state)``, ``(provider, state)``,
  ``(state, expires_at)``, ``audit_events.at``, ``(bizno, id)``);
* day buckets are computed in Python in the reader's time zone and passed as bound
  ranges, so no database-specific date function decides which day a document is on.

Nothing here builds SQL from strings; all values are bound parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from commands.ledger.db import write_engine
from commands.ledger.repo import DocumentRepo, Store
from commands.ledger.schema import (
    ApprovalState,
    Lifecycle,
    approval_requests,
    audit_events,
    callback_events,
    closure_checks,
    digest_runs,
    documents,
)
from providers.models import BusinessState, DocumentKind, DocumentState, Provider

__all__ = [
    "ISSUED_LIFECYCLES",
    "OPEN_STATES",
    "SWEEP_AUDIT_OPERATION",
    "ApprovalRow",
    "ClosureChangeRow",
    "DocumentRow",
    "IssuedTotal",
    "Listing",
    "PostedRun",
    "SweepSummary",
    "callback_seen",
    "closure_changes",
    "daily_issued_krw",
    "expiring",
    "failures",
    "issued_totals",
    "last_posted_run",
    "last_sweep",
    "latest_posted_run",
    "open_buyer_biznos",
    "overdue",
    "pending_approvals",
    "recent_requests",
    "release_unposted_run",
    "touch_checked",
    "unpaid",
]

#: Lifecycles of documents that really exist at the provider (issued, possibly undone since).
ISSUED_LIFECYCLES: tuple[str, ...] = (Lifecycle.ISSUED.value, Lifecycle.DESTROYING.value, Lifecycle.DESTROYED.value)
#: Provider states a status sweep refreshes.
OPEN_STATES: tuple[str, ...] = tuple(s.value for s in DocumentState if s.is_open)
#: `audit_events.operation` of the row each status sweep leaves behind (read by the digest).
SWEEP_AUDIT_OPERATION = "sweep"

T = TypeVar("T")

_SWEPT = tuple(lc.value for lc in DocumentRepo.SWEPT_LIFECYCLES)


# --------------------------------------------------------------------------- rows


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
    channel_id: str
    day: dt.date
    posted_at: dt.datetime
    message_ts: str | None
    summary: Mapping[str, Any]


# --------------------------------------------------------------------------- helpers


_DOC_COLUMNS = (
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
)


async def _rows(store: Store, stmt: sa.Select[Any]) -> Sequence[RowMapping]:
    async with store.engine.connect() as conn:
        return (await conn.execute(stmt)).mappings().all()


async def _document_listing(
    store: Store, where: Sequence[sa.ColumnElement[bool]], order_by: Sequence[Any], limit: int
) -> Listing[DocumentRow]:
    """Count and per-currency totals in one aggregate, then only the top `limit` rows."""
    totals_stmt = (
        sa.select(documents.c.currency, sa.func.count().label("n"),
                  sa.func.coalesce(sa.func.sum(documents.c.total), 0).label("amount"))
        .where(*where)
        .group_by(documents.c.currency)
    )
    aggregates = await _rows(store, totals_stmt)
    count = sum(int(r["n"]) for r in aggregates)
    if count == 0:
        return Listing()
    rows: tuple[DocumentRow, ...] = ()
    if limit > 0:
        top = sa.select(*_DOC_COLUMNS).where(*where).order_by(*order_by).limit(limit)
        rows = tuple(DocumentRow.from_row(r) for r in await _rows(store, top))
    return Listing(count=count, rows=rows, totals={r["currency"]: int(r["amount"]) for r in aggregates})


def _channel_filter(channel: str | None) -> list[sa.ColumnElement[bool]]:
    return [] if channel is None else [documents.c.channel_id == channel]


# --------------------------------------------------------------------------- digest


async def issued_totals(
    store: Store, since: dt.datetime, until: dt.datetime, *, channel: str | None = None
) -> list[IssuedTotal]:
    """Documents issued in [since, until), grouped by provider, currency and sandbox flag."""
    c = documents.c
    stmt = (
        sa.select(c.provider, c.currency, c.sandbox, sa.func.count().label("n"),
                  sa.func.coalesce(sa.func.sum(c.total), 0).label("amount"))
        .where(c.issued_at >= since, c.issued_at < until, c.lifecycle.in_(ISSUED_LIFECYCLES),
               *_channel_filter(channel))
        .group_by(c.provider, c.currency, c.sandbox)
        .order_by(c.provider, c.currency, c.sandbox)
    )
    return [
        IssuedTotal(provider=Provider(r["provider"]), currency=r["currency"], sandbox=bool(r["sandbox"]),
                    count=int(r["n"]), total=int(r["amount"]))
        for r in await _rows(store, stmt)
    ]


async def daily_issued_krw(
    store: Store, days: Sequence[tuple[dt.date, dt.datetime, dt.datetime]], *, channel: str | None = None
) -> dict[Provider, dict[dt.date, int]]:
    """KRW issued per provider and day, one query for all days.

    Args:
        days: ``(day, start, end)`` with aware bounds of each local day, oldest first.

    The bucket is a CASE over bound ranges in a subquery, so PostgreSQL groups by a
    column and not by an expression whose parameters it cannot compare.
    """
    if not days:
        return {}
    c = documents.c
    bucket = sa.case(
        *[(sa.and_(c.issued_at >= start, c.issued_at < end), index) for index, (_d, start, end) in enumerate(days)],
        else_=-1,
    ).label("bucket")
    inner = (
        sa.select(bucket, c.provider, c.total)
        .where(c.issued_at >= days[0][1], c.issued_at < days[-1][2], c.currency == "KRW",
               c.lifecycle.in_(ISSUED_LIFECYCLES), *_channel_filter(channel))
        .subquery()
    )
    stmt = (
        sa.select(inner.c.bucket, inner.c.provider, sa.func.coalesce(sa.func.sum(inner.c.total), 0).label("amount"))
        .group_by(inner.c.bucket, inner.c.provider)
    )
    out: dict[Provider, dict[dt.date, int]] = {}
    for r in await _rows(store, stmt):
        index = int(r["bucket"])
        if 0 <= index < len(days):
            out.setdefault(Provider(r["provider"]), {})[days[index][0]] = int(r["amount"])
    return out


async def pending_approvals(
    store: Store, *, limit: int = 10, exclude_requester: str | None = None
) -> Listing[ApprovalRow]:
    """Approval requests still pending, oldest first (the ones waiting longest lead)."""
    a = approval_requests.c
    where: list[sa.ColumnElement[bool]] = [a.state == ApprovalState.PENDING.value]
    if exclude_requester is not None:
        where.append(a.requester != exclude_requester)
    count_rows = await _rows(store, sa.select(sa.func.count().label("n")).select_from(approval_requests).where(*where))
    count = int(count_rows[0]["n"]) if count_rows else 0
    if count == 0:
        return Listing()
    stmt = (
        sa.select(a.id.label("approval_id"), a.action, a.requester, a.created_at.label("requested_at"),
                  a.expires_at, *_DOC_COLUMNS)
        .select_from(approval_requests.join(documents, documents.c.id == a.document_id))
        .where(*where)
        .order_by(a.created_at, a.id)
        .limit(limit)
    )
    rows = tuple(
        ApprovalRow(id=int(r["approval_id"]), action=r["action"], requester=r["requester"],
                    created_at=r["requested_at"], expires_at=r["expires_at"], document=DocumentRow.from_row(r))
        for r in await _rows(store, stmt)
    )
    return Listing(count=count, rows=rows)


async def failures(
    store: Store, since: dt.datetime, *, limit: int = 5, channel: str | None = None
) -> dict[str, Listing[DocumentRow]]:
    """Three kinds of failure, newest first.

    * ``filing_failed``: the NTS refused a filing we learnt about since `since`;
    * ``provider_error``: an issue that failed at the provider since `since`;
    * ``outcome_unknown``: every document whose issue may or may not have happened, however
      old, because each needs a person to reconcile it.
    """
    c = documents.c
    newest = (c.updated_at.desc(), c.id.desc())
    scope = _channel_filter(channel)
    return {
        "filing_failed": await _document_listing(
            store,
            [c.lifecycle.in_(_SWEPT), c.state == DocumentState.FILING_FAILED.value, c.updated_at >= since, *scope],
            newest, limit),
        "provider_error": await _document_listing(
            store, [c.lifecycle == Lifecycle.FAILED.value, c.updated_at >= since, *scope], newest, limit),
        "outcome_unknown": await _document_listing(
            store, [c.lifecycle == Lifecycle.OUTCOME_UNKNOWN.value, *scope], newest, limit),
    }


def _due_first() -> tuple[Any, ...]:
    # undated documents last, on both databases (no NULLS LAST needed)
    return (documents.c.due_date.is_(None), documents.c.due_date, documents.c.id)


async def unpaid(
    store: Store, provider: Provider, *, limit: int = 5, channel: str | None = None
) -> Listing[DocumentRow]:
    """Issued documents of `provider` the customer has not paid yet, soonest due first."""
    c = documents.c
    where = [c.provider == provider.value, c.state == DocumentState.UNPAID.value, c.lifecycle.in_(_SWEPT),
             *_channel_filter(channel)]
    return await _document_listing(store, where, _due_first(), limit)


async def expiring(
    store: Store, provider: Provider, today: dt.date, days: int, *, limit: int = 5, channel: str | None = None
) -> Listing[DocumentRow]:
    """Unpaid documents of `provider` due today or within `days` days."""
    c = documents.c
    where = [c.provider == provider.value, c.state == DocumentState.UNPAID.value, c.lifecycle.in_(_SWEPT),
             c.due_date >= today, c.due_date <= today + dt.timedelta(days=days), *_channel_filter(channel)]
    return await _document_listing(store, where, _due_first(), limit)


async def overdue(
    store: Store, today: dt.date, *, limit: int = 10, channel: str | None = None
) -> Listing[DocumentRow]:
    """Unpaid documents of any provider whose due date has passed, longest overdue first."""
    c = documents.c
    where = [c.state == DocumentState.UNPAID.value, c.lifecycle.in_(_SWEPT), c.due_date < today,
             *_channel_filter(channel)]
    return await _document_listing(store, where, _due_first(), limit)


async def closure_changes(store: Store, since: dt.datetime, *, limit: int = 10) -> Listing[ClosureChangeRow]:
    """Businesses whose closure state differs from the check before, for checks since `since`.

    Each check is compared with the one before it (``LAG`` over ``(bizno, id)``), so a change
    shows even when a later check since `since` confirmed the new state. Only the numbers
    checked since `since` are ranked, through the ``(bizno, id)`` index.
    """
    c = closure_checks.c
    recent = sa.select(c.bizno).where(c.checked_at >= since).distinct()
    ranked = (
        sa.select(
            c.id, c.bizno, c.state, c.raw_state, c.state_date, c.checked_at,
            sa.func.lag(c.state).over(partition_by=c.bizno, order_by=c.id).label("prev_state"),
            sa.func.lag(c.raw_state).over(partition_by=c.bizno, order_by=c.id).label("prev_raw"),
        )
        .where(c.bizno.in_(recent))
        .subquery()
    )
    changed = (
        sa.select(ranked)
        .where(ranked.c.checked_at >= since, ranked.c.prev_state.is_not(None),
               sa.or_(ranked.c.prev_state != ranked.c.state, ranked.c.prev_raw.is_distinct_from(ranked.c.raw_state)))
        .order_by(ranked.c.id.desc())
        .limit(500)
    )
    latest: dict[str, RowMapping] = {}
    for r in await _rows(store, changed):
        latest.setdefault(r["bizno"], r)  # newest change of each number
    if not latest:
        return Listing()
    shown = list(latest.values())[:limit]
    names = await _buyer_names(store, [r["bizno"] for r in shown])
    rows = tuple(
        ClosureChangeRow(
            bizno=r["bizno"], buyer_name=names.get(r["bizno"]),
            previous=_business_state(r["prev_state"]), current=_business_state(r["state"]),
            state_date=r["state_date"], checked_at=r["checked_at"],
        )
        for r in shown
    )
    return Listing(count=len(latest), rows=rows)


def _business_state(value: str | None) -> BusinessState:
    try:
        return BusinessState(value or "unknown")
    except ValueError:
        return BusinessState.UNKNOWN


async def _buyer_names(store: Store, biznos: Collection[str]) -> dict[str, str]:
    if not biznos:
        return {}
    c = documents.c
    stmt = (
        sa.select(c.buyer_bizno, sa.func.max(c.buyer_name).label("name"))
        .where(c.buyer_bizno.in_(list(biznos)), c.buyer_name.is_not(None))
        .group_by(c.buyer_bizno)
    )
    return {r["buyer_bizno"]: r["name"] for r in await _rows(store, stmt)}


async def last_sweep(store: Store, since: dt.datetime) -> SweepSummary | None:
    """The newest status-sweep record at or after `since` (the audit `at` index finds it)."""
    e = audit_events.c
    stmt = (
        sa.select(e.at, e.detail)
        .where(e.at >= since, e.action == "system", e.operation == SWEEP_AUDIT_OPERATION)
        .order_by(e.at.desc(), e.id.desc())
        .limit(1)
    )
    rows = await _rows(store, stmt)
    if not rows:
        return None
    detail = dict(rows[0]["detail"] or {})
    unreachable = detail.get("unreachable") or {}
    return SweepSummary(
        at=rows[0]["at"],
        checked=int(detail.get("checked", 0)),
        changed=int(detail.get("changed", 0)),
        unreachable={str(k): str(v) for k, v in dict(unreachable).items()},
    )


def _posted(row: RowMapping) -> PostedRun:
    return PostedRun(channel_id=row["channel_id"], day=row["day"], posted_at=row["posted_at"],
                     message_ts=row["message_ts"], summary=dict(row["summary"] or {}))


async def last_posted_run(store: Store, channel: str, *, before: dt.date | None = None) -> PostedRun | None:
    """The channel's newest digest that was actually posted (optionally before a day)."""
    r = digest_runs.c
    stmt = sa.select(digest_runs).where(r.channel_id == channel, r.posted_at.is_not(None))
    if before is not None:
        stmt = stmt.where(r.day < before)
    rows = await _rows(store, stmt.order_by(r.day.desc()).limit(1))
    return _posted(rows[0]) if rows else None


async def latest_posted_run(store: Store) -> PostedRun | None:
    """The newest digest posted in any channel (App Home shows its summary)."""
    r = digest_runs.c
    stmt = sa.select(digest_runs).where(r.posted_at.is_not(None)).order_by(r.posted_at.desc()).limit(1)
    rows = await _rows(store, stmt)
    return _posted(rows[0]) if rows else None


async def release_unposted_run(store: Store, channel: str, day: dt.date, instance: str) -> bool:
    """Give back a claim whose digest could not be posted at all, so a later attempt may post it.

    Only the claimer's own row, and only while nothing was posted (``posted_at`` unset).
    """
    r = digest_runs.c
    stmt = sa.delete(digest_runs).where(r.channel_id == channel, r.day == day, r.claimed_by == instance,
                                        r.posted_at.is_(None))
    async with write_engine(store.engine).begin() as conn:
        return (await conn.execute(stmt)).rowcount == 1


# --------------------------------------------------------------------------- App Home


async def recent_requests(store: Store, user: str, *, limit: int = 10) -> list[DocumentRow]:
    """Documents `user` asked for, newest first."""
    c = documents.c
    stmt = sa.select(*_DOC_COLUMNS).where(c.requested_by == user).order_by(c.id.desc()).limit(limit)
    return [DocumentRow.from_row(r) for r in await _rows(store, stmt)]


# --------------------------------------------------------------------------- sweep


async def touch_checked(store: Store, ids: Collection[int], now: dt.datetime) -> int:
    """Mark documents whose provider state did not change as checked `now`: one UPDATE per page."""
    if not ids:
        return 0
    stmt = sa.update(documents).where(documents.c.id.in_(list(ids))).values(state_checked_at=now)
    async with write_engine(store.engine).begin() as conn:
        return int((await conn.execute(stmt)).rowcount)


async def open_buyer_biznos(store: Store, *, after: str = "", limit: int = 1000) -> list[str]:
    """Distinct business numbers of buyers with open documents, in order; page with `after`."""
    c = documents.c
    stmt = (
        sa.select(c.buyer_bizno)
        .where(c.lifecycle.in_(_SWEPT), c.state.in_(OPEN_STATES), c.buyer_bizno.is_not(None), c.buyer_bizno > after)
        .group_by(c.buyer_bizno)
        .order_by(c.buyer_bizno)
        .limit(limit)
    )
    return [str(r["buyer_bizno"]) for r in await _rows(store, stmt)]


# --------------------------------------------------------------------------- webhooks


async def callback_seen(store: Store, provider: str, dedup_key: str) -> bool:
    """Whether a callback with this key was already handled (answer a retry without redoing it)."""
    e = callback_events.c
    stmt = sa.select(e.id).where(e.provider == provider, e.dedup_key == dedup_key).limit(1)
    return bool(await _rows(store, stmt))
