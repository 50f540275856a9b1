"""What one digest says, read from the database into a frozen `DigestData`.

Aggregates run in SQL and only the top rows are fetched (`commands.ledger.digest_queries`),
so a digest over a busy month reads as fast as a quiet day.

Window: a digest covers what happened since the previous digest posted in its channel,
scheduled or ``digest now`` (at most 7 days back), or the last 24 hours when there is none
(`find_window`); the message says which.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from commands.ledger import Store
from commands.ledger import digest_queries as q
from commands.ledger.workspaces import WorkspaceScope
from commands.slack.chart import chart_days
from commands.workflow.deadlines import DeadlineReport, deadline_report
from providers.models import Provider

__all__ = ["CHART_DAYS", "FAILURE_ROWS", "FIRST_WINDOW", "LIST_ROWS", "MAX_WINDOW", "DigestData", "DigestWindow",
           "WindowBasis", "build_digest_data", "digest_window", "find_window"]

MAX_WINDOW = dt.timedelta(days=7)
FIRST_WINDOW = dt.timedelta(hours=24)
CHART_DAYS = 14
LIST_ROWS = 10
FAILURE_ROWS = 5


class WindowBasis(StrEnum):
    """Why a digest starts where it does; the message says it in words."""

    PREVIOUS = "previous"  # the channel's previous digest, scheduled or `digest now`
    FIRST = "first"  # no digest posted in the channel yet: the last 24 hours
    CAPPED = "capped"  # the previous digest is older than MAX_WINDOW: the last 7 days


@dataclass(frozen=True, slots=True)
class DigestWindow:
    since: dt.datetime
    basis: WindowBasis


@dataclass(frozen=True)
class DigestData:
    """Everything one digest says, read from the database at `now`."""

    now: dt.datetime
    since: dt.datetime
    basis: WindowBasis = WindowBasis.PREVIOUS
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
    deadlines: DeadlineReport | None = None  # tax invoices near or past a tax deadline

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
            or self.unpaid_abillify or self.overdue or self.closure_changes or self.unreachable or self.deadlines
        )

    def summary(self) -> dict[str, Any]:
        """What the run row and App Home keep of this digest (JSON-safe)."""
        return {
            "since": self.since.isoformat(),
            "window": self.basis.value,
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
            "deadlines": self.deadlines.count if self.deadlines else 0,
            "deadline_penalties": self.deadlines.total_penalty if self.deadlines else 0,
            "unreachable": sorted(self.unreachable),
            "quiet": self.quiet,
        }


async def find_window(store: Store, channel: str, now: dt.datetime) -> DigestWindow:
    """Since when a digest of `channel` reports, and why.

    "The previous digest" is the newest one posted in the channel *whichever way*: a
    ``digest now`` post moves the next scheduled digest's window too, because its readers
    already saw what it reported ("since the last digest posted here" is what they expect).
    Scheduled and extra posts keep their other difference: only the scheduled one claims the
    day, so a ``digest now`` never stops the day's scheduled digest.
    """
    previous = await q.last_posted_digest(store, channel, before=now)
    if previous is None:
        return DigestWindow(now - FIRST_WINDOW, WindowBasis.FIRST)
    if previous.posted_at < now - MAX_WINDOW:
        return DigestWindow(now - MAX_WINDOW, WindowBasis.CAPPED)
    return DigestWindow(previous.posted_at, WindowBasis.PREVIOUS)


async def digest_window(store: Store, channel: str, now: dt.datetime) -> dt.datetime:
    """Since when the digest reports: the channel's previous posted digest, else 24 h ago (see `find_window`)."""
    return (await find_window(store, channel, now)).since


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
    basis: WindowBasis = WindowBasis.PREVIOUS,
    scope_channel: str | None = None,
    expiring_days: int = 3,
    sandbox_providers: Iterable[Provider] = (),
    unreachable: Mapping[str, str] | None = None,
    chart: bool = True,
    deadline_days: int = 5,
    workspace: WorkspaceScope | None = None,
) -> DigestData:
    """Read one digest from the database.

    Args:
        now, since: the window (aware datetimes); `basis` says why it starts at `since`.
        tz: the readers' time zone (days, "due today", chart buckets).
        scope_channel: only documents requested from this channel (None: all).
        workspace: only that workspace's documents and requests (and those of none); None: all.
            Closure changes and the last sweep are provider facts with no workspace, so every
            digest shows them.
        sandbox_providers: providers running against a sandbox (their lines are marked).
        unreachable: providers the caller knows are down; merged with what the last status
            sweep of the past 24 hours recorded.
        deadline_days: the "Deadlines" section lists unissued tax invoices due within this many days.
    """
    async with q.one_connection(store):  # one checkout and one read transaction for every statement
        return await _read(store, now=now, since=since, tz=tz, basis=basis, scope_channel=scope_channel,
                           expiring_days=expiring_days, sandbox_providers=sandbox_providers, unreachable=unreachable,
                           chart=chart, deadline_days=deadline_days, workspace=workspace)


async def _read(
    store: Store, *, now: dt.datetime, since: dt.datetime, tz: dt.tzinfo, basis: WindowBasis,
    scope_channel: str | None, expiring_days: int, sandbox_providers: Iterable[Provider],
    unreachable: Mapping[str, str] | None, chart: bool, deadline_days: int, workspace: WorkspaceScope | None,
) -> DigestData:
    today = now.astimezone(tz).date()
    scope = scope_channel
    sweep = await q.last_sweep(store, now - dt.timedelta(hours=24))
    found_unreachable: dict[str, str] = {**(sweep.unreachable if sweep is not None else {}), **(unreachable or {})}
    daily: dict[Provider, dict[dt.date, int]] = {}
    if chart:
        daily = await q.daily_issued_krw(store, _day_bounds(chart_days(today, CHART_DAYS), tz), channel=scope,
                                         workspace=workspace)
    return DigestData(
        now=now,
        since=since,
        basis=basis,
        scope_channel=scope,
        issued=tuple(await q.issued_totals(store, since, now, channel=scope, workspace=workspace)),
        cancelled=tuple(await q.cancelled_totals(store, since, now, channel=scope, workspace=workspace)),
        pending=await q.pending_approvals(store, limit=LIST_ROWS, channel=scope, workspace=workspace),
        failures=await q.failures(store, since, limit=FAILURE_ROWS, channel=scope, workspace=workspace),
        unpaid_payssam=await q.unpaid(store, Provider.PAYSSAM, limit=0, channel=scope, workspace=workspace),
        expiring_payssam=await q.expiring(store, Provider.PAYSSAM, today, expiring_days, limit=FAILURE_ROWS,
                                          channel=scope, workspace=workspace),
        expiring_days=expiring_days,
        unpaid_abillify=await q.unpaid(store, Provider.ABILLIFY, limit=0, channel=scope, workspace=workspace),
        overdue=await q.overdue(store, today, limit=LIST_ROWS, channel=scope, workspace=workspace),
        closure_changes=await q.closure_changes(store, since, limit=LIST_ROWS, workspace=workspace),
        unreachable=found_unreachable,
        sandbox_providers=frozenset(sandbox_providers),
        daily_krw=daily,
        chart_end=today,
        deadlines=await deadline_report(store, today, deadline_days, tz=tz, channel=scope, workspace=workspace),
    )
