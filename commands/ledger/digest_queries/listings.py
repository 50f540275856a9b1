"""Document listings and totals: what the digest, App Home and status sweeps show about documents.

Filters lead with indexed columns (``(lifecycle, state)``, ``(provider, state)``) and day
buckets are computed in Python in the reader's time zone and passed as bound ranges, so
no database-specific date function decides which day a document is on.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from commands.ledger.db import write_engine
from commands.ledger.digest_queries.rows import (
    DOC_COLUMNS,
    OPEN_STATES,
    SWEPT,
    DocumentRow,
    IssuedTotal,
    Listing,
    channel_filter,
    document_listing,
    fetch,
    top_rows,
)
from commands.ledger.schema import NO_DUE_DATE, documents, issued_hourly, unpaid_daily
from commands.ledger.standing_sql import standing_in, standing_parts
from commands.ledger.store import Store
from commands.ledger.vocabulary import Standing
from commands.ledger.workspaces import WorkspaceScope
from providers.models import DocumentState, Provider

__all__ = [
    "cancelled_totals",
    "daily_issued_krw",
    "daily_issued_krw_from_documents",
    "expiring",
    "failures",
    "issued_totals",
    "open_buyer_biznos",
    "overdue",
    "recent_requests",
    "touch_checked",
    "unpaid",
    "unpaid_totals",
]

_ISSUED = (Standing.ISSUED,)
_CANCELLED = (Standing.CANCELLED,)
_FAILED = (Standing.FAILED,)
_UNKNOWN = (Standing.UNKNOWN,)


async def issued_totals(
    store: Store, since: dt.datetime, until: dt.datetime, *, channel: str | None = None,
    workspace: WorkspaceScope | None = None,
) -> list[IssuedTotal]:
    """Documents issued in [since, until) that still stand issued, by provider, currency and sandbox flag.

    A document issued and then cancelled, voided or deleted (at the provider or by us) is
    not "issued" any more: it is counted by `cancelled_totals` instead. The rule is the
    SQL form of `standing()`, so the chart, the export and status file it the same way.
    """
    c = documents.c
    return await _totals(store, [c.issued_at >= since, c.issued_at < until, standing_in(documents, _ISSUED),
                                 *channel_filter(channel, workspace)])


async def cancelled_totals(
    store: Store, since: dt.datetime, until: dt.datetime, *, channel: str | None = None,
    workspace: WorkspaceScope | None = None,
) -> list[IssuedTotal]:
    """Documents that stand cancelled and whose row last changed in [since, until).

    ``updated_at`` is when we learnt of the cancellation (our destroy, a sweep or a
    callback moved the state), which is what "cancelled since the last digest" means.
    """
    c = documents.c
    summed: dict[tuple[Provider, str, bool], IssuedTotal] = {}
    for part in standing_parts(documents, _CANCELLED):  # disjoint: one indexed read each, added up
        for t in await _totals(store, [c.updated_at >= since, c.updated_at < until, part,
                                       *channel_filter(channel, workspace)]):
            key = (t.provider, t.currency, t.sandbox)
            before = summed.get(key)
            summed[key] = t if before is None else IssuedTotal(
                provider=t.provider, currency=t.currency, sandbox=t.sandbox,
                count=before.count + t.count, total=before.total + t.total)
    return [summed[k] for k in sorted(summed, key=lambda k: (k[0].value, k[1], k[2]))]


async def _totals(store: Store, where: Sequence[sa.ColumnElement[bool]]) -> list[IssuedTotal]:
    c = documents.c
    stmt = (
        sa.select(c.provider, c.currency, c.sandbox, sa.func.count().label("n"),
                  sa.func.coalesce(sa.func.sum(c.total), 0).label("amount"))
        .where(*where)
        .group_by(c.provider, c.currency, c.sandbox)
        .order_by(c.provider, c.currency, c.sandbox)
    )
    return [
        IssuedTotal(provider=Provider(r["provider"]), currency=r["currency"], sandbox=bool(r["sandbox"]),
                    count=int(r["n"]), total=int(r["amount"]))
        for r in await fetch(store, stmt)
    ]


async def daily_issued_krw(
    store: Store, days: Sequence[tuple[dt.date, dt.datetime, dt.datetime]], *, channel: str | None = None,
    workspace: WorkspaceScope | None = None,
) -> dict[Provider, dict[dt.date, int]]:
    """KRW issued per provider and day, by the rule of `issued_totals`.

    Args:
        days: ``(day, start, end)`` with aware bounds of each local day, oldest first.

    Read from `issued_hourly` (KRW issued per UTC hour, kept by triggers) when every day
    starts on a whole UTC hour, as in every whole-hour time zone: a few hundred rows
    whatever the size of the table. Otherwise (a half-hour zone, or one workspace's digest: the
    hourly totals are not kept per workspace) from the documents.
    """
    if not days:
        return {}
    if workspace is None and all(start.astimezone(dt.UTC).minute == 0 and start.second == 0 and start.microsecond == 0
           for _d, start, _e in days):
        return await _daily_from_hours(store, days, channel)
    return await daily_issued_krw_from_documents(store, days, channel=channel, workspace=workspace)


async def _daily_from_hours(
    store: Store, days: Sequence[tuple[dt.date, dt.datetime, dt.datetime]], channel: str | None
) -> dict[Provider, dict[dt.date, int]]:
    h = issued_hourly.c
    where = [h.hour >= days[0][1], h.hour < days[-1][2], h.currency == "KRW"]
    if channel is not None:
        where.append(h.channel_id == channel)
    stmt = sa.select(h.hour, h.provider, sa.func.sum(h.count).label("n"), sa.func.sum(h.amount).label("amount")
                     ).where(*where).group_by(h.hour, h.provider)
    starts = [start for _d, start, _e in days]
    out: dict[Provider, dict[dt.date, int]] = {}
    for r in await fetch(store, stmt):
        index = bisect.bisect_right(starts, r["hour"]) - 1
        if 0 <= index < len(days) and r["hour"] < days[index][2] and int(r["n"] or 0) > 0:
            per_day = out.setdefault(Provider(r["provider"]), {})
            per_day[days[index][0]] = per_day.get(days[index][0], 0) + int(r["amount"] or 0)
    return out


async def daily_issued_krw_from_documents(
    store: Store, days: Sequence[tuple[dt.date, dt.datetime, dt.datetime]], *, channel: str | None = None,
    workspace: WorkspaceScope | None = None,
) -> dict[Provider, dict[dt.date, int]]:
    """`daily_issued_krw` read from the documents themselves, one query for all days.

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
               standing_in(documents, _ISSUED), *channel_filter(channel, workspace))
        .subquery()
    )
    stmt = (
        sa.select(inner.c.bucket, inner.c.provider, sa.func.coalesce(sa.func.sum(inner.c.total), 0).label("amount"))
        .group_by(inner.c.bucket, inner.c.provider)
    )
    out: dict[Provider, dict[dt.date, int]] = {}
    for r in await fetch(store, stmt):
        index = int(r["bucket"])
        if 0 <= index < len(days):
            out.setdefault(Provider(r["provider"]), {})[days[index][0]] = int(r["amount"])
    return out


async def failures(
    store: Store, since: dt.datetime, *, limit: int = 5, channel: str | None = None,
    workspace: WorkspaceScope | None = None,
) -> dict[str, Listing[DocumentRow]]:
    """Three kinds of failure, newest first.

    * ``filing_failed``: the NTS refused a filing we learnt about since `since`;
    * ``provider_error``: an issue that failed at the provider since `since` (standing failed);
    * ``outcome_unknown``: every document whose issue may or may not have happened, however
      old, because each needs a person to reconcile it (standing unknown).

    The last two together are the digest's "failed" count.
    """
    c = documents.c
    newest = (c.updated_at.desc(), c.id.desc())
    scope = channel_filter(channel, workspace)
    return {
        "filing_failed": await document_listing(
            store,
            [c.lifecycle.in_(SWEPT), c.state == DocumentState.FILING_FAILED.value, c.updated_at >= since, *scope],
            newest, limit),
        "provider_error": await document_listing(
            store, [standing_in(documents, _FAILED), c.updated_at >= since, *scope], newest, limit),
        "outcome_unknown": await document_listing(
            store, [standing_in(documents, _UNKNOWN), *scope], newest, limit),
    }


def _dated_due_first() -> tuple[Any, ...]:
    # for lists whose filter already bounds the due date (no undated row can be in them): the
    # ``(state, due_date, ...)`` index gives this order, so the top rows need no sort of them all
    return (documents.c.due_date, documents.c.id)


def _due_first() -> tuple[Any, ...]:
    # undated documents last, on both databases (no NULLS LAST needed)
    return (documents.c.due_date.is_(None), documents.c.due_date, documents.c.id)


@dataclass(frozen=True)
class _Unpaid:
    """Which unpaid documents a list holds: one provider or all, due dates within bounds (inclusive
    `due_from` .. `due_until`, exclusive `due_before`); None: no bound."""

    provider: Provider | None = None
    due_from: dt.date | None = None
    due_until: dt.date | None = None
    due_before: dt.date | None = None

    def where(self, table: sa.Table) -> list[sa.ColumnElement[bool]]:
        """The filter on `documents`, or on `unpaid_daily` (whose rows are all unpaid)."""
        c = table.c
        where: list[sa.ColumnElement[bool]] = []
        if table is documents:
            where += [c.state == DocumentState.UNPAID.value, c.lifecycle.in_(SWEPT)]
        if self.provider is not None:
            where.append(c.provider == self.provider.value)
        if self.due_from is not None:
            where.append(c.due_date >= self.due_from)
        if self.due_until is not None:
            where.append(c.due_date <= self.due_until)
        if self.due_before is not None:
            where.append(c.due_date < self.due_before)
        if table is unpaid_daily and (self.due_from, self.due_until, self.due_before) != (None, None, None):
            where.append(c.due_date < NO_DUE_DATE)  # a bound on the due date leaves the undated out
        return where


async def unpaid_totals(
    store: Store, *, provider: Provider | None = None, due_from: dt.date | None = None,
    due_until: dt.date | None = None, due_before: dt.date | None = None, channel: str | None = None,
    from_documents: bool = False,
) -> tuple[int, dict[str, int]]:
    """How many documents are unpaid and their amount per currency (with a due date in the bounds).

    Read from `unpaid_daily` (kept by triggers: a few rows per due day, whatever the size of the
    table); `from_documents` reads the documents themselves (the same numbers: tests compare them).
    """
    return await _unpaid_totals(store, _Unpaid(provider, due_from, due_until, due_before), channel, from_documents)


async def _unpaid_totals(store: Store, which: _Unpaid, channel: str | None,
                         from_documents: bool = False) -> tuple[int, dict[str, int]]:
    if from_documents:
        c = documents.c
        stmt = (sa.select(c.currency, sa.func.count().label("n"), sa.func.coalesce(sa.func.sum(c.total), 0)
                          .label("amount"))
                .where(*which.where(documents), *channel_filter(channel)).group_by(c.currency))
    else:
        u = unpaid_daily.c
        where = which.where(unpaid_daily)
        if channel is not None:
            where.append(u.channel_id == channel)
        stmt = (sa.select(u.currency, sa.func.sum(u.count).label("n"), sa.func.sum(u.amount).label("amount"))
                .where(*where).group_by(u.currency).having(sa.func.sum(u.count) > 0))
    rows = await fetch(store, stmt)
    return sum(int(r["n"]) for r in rows), {r["currency"]: int(r["amount"]) for r in rows}


async def _unpaid_listing(
    store: Store, which: _Unpaid, *, limit: int, order_by: Sequence[Any], channel: str | None,
    workspace: WorkspaceScope | None,
) -> Listing[DocumentRow]:
    """An unpaid list: its count and totals from `unpaid_daily`, then only its top `limit` rows.

    One workspace's list reads the documents (the daily totals are not kept per workspace)."""
    where = [*which.where(documents), *channel_filter(channel, workspace)]
    if workspace is not None:
        return await document_listing(store, where, order_by, limit)
    count, totals = await _unpaid_totals(store, which, channel)
    if count == 0:
        return Listing()
    return Listing(count=count, rows=await top_rows(store, where, order_by, limit), totals=totals)


async def unpaid(
    store: Store, provider: Provider, *, limit: int = 5, channel: str | None = None,
    workspace: WorkspaceScope | None = None,
) -> Listing[DocumentRow]:
    """Issued documents of `provider` the customer has not paid yet, soonest due first."""
    return await _unpaid_listing(store, _Unpaid(provider), limit=limit, order_by=_due_first(), channel=channel,
                                 workspace=workspace)


async def expiring(
    store: Store, provider: Provider, today: dt.date, days: int, *, limit: int = 5, channel: str | None = None,
    workspace: WorkspaceScope | None = None,
) -> Listing[DocumentRow]:
    """Unpaid documents of `provider` due today or within `days` days."""
    return await _unpaid_listing(store, _Unpaid(provider, due_from=today, due_until=today + dt.timedelta(days=days)),
                                 limit=limit, order_by=_dated_due_first(), channel=channel, workspace=workspace)


async def overdue(
    store: Store, today: dt.date, *, limit: int = 10, channel: str | None = None,
    workspace: WorkspaceScope | None = None,
) -> Listing[DocumentRow]:
    """Unpaid documents of any provider whose due date has passed, longest overdue first."""
    return await _unpaid_listing(store, _Unpaid(due_before=today), limit=limit, order_by=_dated_due_first(),
                                 channel=channel, workspace=workspace)


async def recent_requests(store: Store, user: str, *, limit: int = 10,
                          workspace: WorkspaceScope | None = None) -> list[DocumentRow]:
    """Documents `user` asked for in `workspace` (and rows of no workspace), newest first."""
    c = documents.c
    stmt = (sa.select(*DOC_COLUMNS).where(c.requested_by == user, *channel_filter(None, workspace))
            .order_by(c.id.desc()).limit(limit))
    return [DocumentRow.from_row(r) for r in await fetch(store, stmt)]


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
        .where(c.lifecycle.in_(SWEPT), c.state.in_(OPEN_STATES), c.buyer_bizno.is_not(None), c.buyer_bizno > after)
        .group_by(c.buyer_bizno)
        .order_by(c.buyer_bizno)
        .limit(limit)
    )
    return [str(r["buyer_bizno"]) for r in await fetch(store, stmt)]
