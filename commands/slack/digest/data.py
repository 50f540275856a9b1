"""What one digest says, read from the database into a frozen `DigestData`.

Aggregates run in SQL and only the top rows are fetched (`commands.ledger.digest_queries`),
so a digest over a busy month reads as fast as a quiet day.

Window: a digest covers what happened since the channel's previous *posted* scheduled
digest (at most 7 days back), or the last 24 hours when there is none. ``digest now`` is
an explicit extra post and does not move the window of the next scheduled one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from commands.ledger import Store
from commands.ledger import digest_queries as q
from commands.slack.chart import chart_days
from providers.models import Provider

__all__ = ["CHART_DAYS", "FAILURE_ROWS", "LIST_ROWS", "MAX_WINDOW", "DigestData", "build_digest_data",
           "digest_window"]

MAX_WINDOW = dt.timedelta(days=7)
CHART_DAYS = 14
LIST_ROWS = 10
FAILURE_ROWS = 5


@dataclass(frozen=True)
class DigestData:
    """Everything one digest says, read from the database at `now`."""

    now: dt.datetime
    since: dt.datetime
    scope_channel: str | None = None  # None: documents from every channel
    issued: tuple[q.IssuedTotal, ...] = ()
    cancelled: tuple[q.IssuedTotal, ...] = ()
    pending: q.Listing[q.ApprovalRow] = field(default_factory=q.Listing)
    failures: Mapping[str, q.Listing[q.DocumentRow]] = field(default_factory=dict)
    unpaid_payssam: q.Listing[q.DocumentRow] = field(default_factory=q.Listing)
    expiring_payssam: q.Listing[q.DocumentRow] = field(default_factory=q.Listing)
    expiring_days: int = 3
    unpaid_abillify: q.Listing[q.DocumentRow] = field(default_factory=q.Listing)
    overdue: q.Listing[q.DocumentRow] = field(default_factory=q.Listing)
    closure_changes: q.Listing[q.ClosureChangeRow] = field(default_factory=q.Listing)
    unreachable: Mapping[str, str] = field(default_factory=dict)
    sandbox_providers: frozenset[Provider] = frozenset()
    daily_krw: Mapping[Provider, Mapping[dt.date, int]] = field(default_factory=dict)
    chart_end: dt.date | None = None

    @property
    def issued_count(self) -> int:
        return sum(t.count for t in self.issued)

    def issued_totals(self) -> dict[str, int]:
        return _per_currency(self.issued)

    @property
    def cancelled_count(self) -> int:
        return sum(t.count for t in self.cancelled)

    def cancelled_totals(self) -> dict[str, int]:
        return _per_currency(self.cancelled)

    @property
    def failure_count(self) -> int:
        """Everything on the attention lists (failed, outcome unknown, NTS filing failed)."""
        return sum(listing.count for listing in self.failures.values())

    @property
    def failed_count(self) -> int:
        """Requests that did not become documents: failed plus outcome unknown (their standings)."""
        return sum(self.failures[key].count for key in ("provider_error", "outcome_unknown") if key in self.failures)

    @property
    def quiet(self) -> bool:
        """Nothing issued, waiting, failed, unpaid, changed or unreachable."""
        return not (
            self.issued_count or self.cancelled_count or self.pending or self.failure_count or self.unpaid_payssam
            or self.unpaid_abillify or self.overdue or self.closure_changes or self.unreachable
        )

    def summary(self) -> dict[str, Any]:
        """What the run row and App Home keep of this digest (JSON-safe)."""
        return {
            "since": self.since.isoformat(),
            "at": self.now.isoformat(),
            "scope": self.scope_channel or "all",
            "issued": self.issued_count,
            "issued_totals": self.issued_totals(),
            "cancelled": self.cancelled_count,
            "cancelled_totals": self.cancelled_totals(),
            "pending": self.pending.count,
            "failed": self.failed_count,
            "failures": self.failure_count,
            "unpaid": self.unpaid_payssam.count + self.unpaid_abillify.count,
            "overdue": self.overdue.count,
            "closure_changes": self.closure_changes.count,
            "unreachable": sorted(self.unreachable),
            "quiet": self.quiet,
        }


async def digest_window(store: Store, channel: str, now: dt.datetime, *, day: dt.date | None = None) -> dt.datetime:
    """Since when the digest reports: the channel's previous posted digest, else 24 h ago."""
    previous = await q.last_posted_run(store, channel, before=day)
    floor = now - MAX_WINDOW
    if previous is None:
        return now - dt.timedelta(hours=24)
    return max(previous.posted_at, floor)


def _per_currency(totals: Iterable[q.IssuedTotal]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in totals:
        out[t.currency] = out.get(t.currency, 0) + t.total
    return out


def _day_bounds(days: Iterable[dt.date], tz: dt.tzinfo) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    out = []
    for day in days:
        start = dt.datetime.combine(day, dt.time(0), tz)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz)
        out.append((day, start.astimezone(dt.UTC), end.astimezone(dt.UTC)))
    return out


async def build_digest_data(
    store: Store,
    *,
    now: dt.datetime,
    since: dt.datetime,
    tz: dt.tzinfo,
    scope_channel: str | None = None,
    expiring_days: int = 3,
    sandbox_providers: Iterable[Provider] = (),
    unreachable: Mapping[str, str] | None = None,
    chart: bool = True,
) -> DigestData:
    """Read one digest from the database.

    Args:
        now, since: the window (aware datetimes).
        tz: the readers' time zone (days, "due today", chart buckets).
        scope_channel: only documents requested from this channel (None: all).
        sandbox_providers: providers running against a sandbox (their lines are marked).
        unreachable: providers the caller knows are down; merged with what the last status
            sweep of the past 24 hours recorded.
    """
    today = now.astimezone(tz).date()
    scope = scope_channel
    found_unreachable: dict[str, str] = {}
    sweep = await q.last_sweep(store, now - dt.timedelta(hours=24))
    if sweep is not None:
        found_unreachable.update(sweep.unreachable)
    found_unreachable.update(unreachable or {})
    daily: dict[Provider, dict[dt.date, int]] = {}
    if chart:
        daily = await q.daily_issued_krw(store, _day_bounds(chart_days(today, CHART_DAYS), tz), channel=scope)
    return DigestData(
        now=now,
        since=since,
        scope_channel=scope,
        issued=tuple(await q.issued_totals(store, since, now, channel=scope)),
        cancelled=tuple(await q.cancelled_totals(store, since, now, channel=scope)),
        pending=await q.pending_approvals(store, limit=LIST_ROWS),
        failures=await q.failures(store, since, limit=FAILURE_ROWS, channel=scope),
        unpaid_payssam=await q.unpaid(store, Provider.PAYSSAM, limit=0, channel=scope),
        expiring_payssam=await q.expiring(store, Provider.PAYSSAM, today, expiring_days, limit=FAILURE_ROWS,
                                          channel=scope),
        expiring_days=expiring_days,
        unpaid_abillify=await q.unpaid(store, Provider.ABILLIFY, limit=0, channel=scope),
        overdue=await q.overdue(store, today, limit=LIST_ROWS, channel=scope),
        closure_changes=await q.closure_changes(store, since, limit=LIST_ROWS),
        unreachable=found_unreachable,
        sandbox_providers=frozenset(sandbox_providers),
        daily_krw=daily,
        chart_end=today,
    )
