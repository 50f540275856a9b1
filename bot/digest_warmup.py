"""Warm a fresh process up shortly before its first digest is due, so 09:00 does not pay for it.

The first digest built in a process took about twice a later one at 1,000,000 documents
(bench/digest.py, "no warm-up"): the `holidays` calendars (the package imports every
country's module to find Korea's), the message catalog and Babel's locale data, every
statement's first compile and, on PostgreSQL, the connection's first plans. None of that
belongs on the path of an ack, nor in start-up (the bot must serve within a second), so one job,
``digest-warm``, reads and builds (never posts, never records) the digest due next, `lead`
before the earliest scheduled digest (`DigestPublisher.warm`). It runs on every instance,
since any one of them may post, and a failure only costs the digest its speed: it is logged.

A process started between the warm-up time and its digest warms up at once (`due_soon`, from
`InvoiceScheduler.start`, in the background like the catch-up). Not covered: ``digest now`` in a
process that has not warmed up yet (it pays the first build's costs).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.schedule_types import hhmm
from commands.ledger import DigestScheduleRecord
from commands.ledger.workspaces import WorkspaceScope
from commands.workflow.access import Workspace, bind_workspace
from commands.workflow.workspaces import row_scope

__all__ = ["WARMUP_JOB_ID", "WARMUP_LEAD", "Warmable", "due_soon", "next_digest", "warm_up", "warmup_trigger"]

log = logging.getLogger("invoicebot.scheduler")

WARMUP_JOB_ID = "digest-warm"
#: how long before the earliest digest the warm-up runs: near enough for the database's caches to
#: still hold what it read, far enough for it to finish first
WARMUP_LEAD = dt.timedelta(minutes=2)


class Warmable(Protocol):
    """A poster that can build a digest without posting it (`DigestPublisher.warm`)."""

    async def warm(self, channel: str, *, tz: dt.tzinfo | None = None,
                   workspace: WorkspaceScope | None = None) -> object: ...


def _occurrence(record: DigestScheduleRecord, now: dt.datetime) -> dt.datetime:
    """The record's next digest time after `now` (aware)."""
    zone = ZoneInfo(record.timezone)
    hour, minute = hhmm(record.time)
    local = now.astimezone(zone)
    at = dt.datetime.combine(local.date(), dt.time(hour, minute), zone)
    return at if at > local else dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(hour, minute), zone)


def next_digest(schedules: Mapping[str, DigestScheduleRecord], now: dt.datetime) -> DigestScheduleRecord | None:
    """The schedule whose digest is due next after `now` (None: none scheduled)."""
    if not schedules:
        return None
    return min(schedules.values(), key=lambda r: (_occurrence(r, now), r.channel_id))


def due_soon(schedules: Mapping[str, DigestScheduleRecord], now: dt.datetime,
             lead: dt.timedelta = WARMUP_LEAD) -> bool:
    """Whether a digest is due within `lead` of `now`: its warm-up time has passed, so warm up now."""
    record = next_digest(schedules, now)
    return record is not None and _occurrence(record, now) - now <= lead


def warmup_trigger(schedules: Mapping[str, DigestScheduleRecord], now: dt.datetime, tz: ZoneInfo,
                   lead: dt.timedelta = WARMUP_LEAD) -> CronTrigger | None:
    """Daily at `lead` before the earliest digest of the day (in the bot's zone `tz`); None when none."""
    if not schedules:
        return None
    times = [(_occurrence(r, now) - lead).astimezone(tz).time() for r in schedules.values()]
    earliest = min(times)
    return CronTrigger(hour=earliest.hour, minute=earliest.minute, timezone=tz)


async def warm_up(poster: object, schedules: Mapping[str, DigestScheduleRecord],
                  clock: Callable[[], dt.datetime]) -> str | None:
    """Build the next due digest once without posting it; returns its channel (None: nothing warmed).

    Runs as that schedule's workspace (its documents, its language), like the digest itself."""
    warm = getattr(poster, "warm", None)
    record = next_digest(schedules, clock())
    if warm is None or record is None:
        return None
    scope = row_scope(record.team_id, record.enterprise_id)
    try:
        with bind_workspace(Workspace(scope.team_id, scope.enterprise_id) if scope is not None else None):
            await warm(record.channel_id, tz=ZoneInfo(record.timezone), workspace=scope)
    except Exception:
        log.exception("digest warm-up for %s failed (the digest itself will still run)", record.channel_id)
        return None
    return record.channel_id
