"""The scheduler's vocabulary: digest job ids, when a daily time last occurred, run outcomes.

Kept apart from `bot.scheduler` so the scheduler module is its mechanics only; both are
imported from `bot.scheduler`.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from commands.ledger.workspaces import WorkspaceScope
from commands.slack.digest import PostedDigest

__all__ = [
    "DIGEST_SECOND",
    "DigestPoster",
    "DigestRun",
    "JobInfo",
    "RunOutcome",
    "default_instance_id",
    "digest_due_second",
    "digest_job_id",
    "hhmm",
    "last_occurrence",
]

#: test-only: seconds (0..59) past the scheduled minute at which digests fall due; unset, 0
DIGEST_SECOND = "INVOICEBOT_TEST_DIGEST_SECOND"


def digest_job_id(channel: str) -> str:
    """The stable id of a channel's digest job (re-arming replaces it, never duplicates)."""
    return f"digest:{channel}"


def hhmm(text: str) -> tuple[int, int]:
    """(hour, minute) of a stored "HH:MM" schedule time."""
    hour, minute = text.split(":")
    return int(hour), int(minute)


def last_occurrence(now: dt.datetime, at: str, tz: dt.tzinfo, second: int = 0) -> dt.datetime:
    """The most recent local `at` (HH:MM, at `second` past the minute) in `tz` at or before `now`
    (an aware datetime).

    Its local date is the digest's day, so a 23:59 digest that runs at 00:20 still counts
    for the day before.
    """
    hour, minute = hhmm(at)
    local = now.astimezone(tz)
    candidate = dt.datetime.combine(local.date(), dt.time(hour, minute, second), tz)
    if candidate > now:
        candidate = dt.datetime.combine(local.date() - dt.timedelta(days=1), dt.time(hour, minute, second), tz)
    return candidate


def digest_due_second() -> int:
    """Seconds past the scheduled minute at which digests fall due: 0 unless the test-only
    `DIGEST_SECOND` is set.

    Schedules have minute resolution; end-to-end tests that race several processes for a
    digest's cron firing set it so the firing is a few seconds away, not up to two minutes.
    """
    second = int(os.environ.get(DIGEST_SECOND, "0") or 0)
    if not 0 <= second <= 59:
        raise ValueError(f"{DIGEST_SECOND} must be 0..59, not {second}")
    return second


class RunOutcome(StrEnum):
    POSTED = "posted"
    ALREADY_CLAIMED = "already_claimed"  # another run (instance, restart) has today's digest
    NO_SCHEDULE = "no_schedule"  # unscheduled meanwhile (maybe by another instance)
    TOO_LATE = "too_late"  # more than the grace period after the digest time
    FAILED = "failed"
    RECONCILED = "reconciled"  # a dead claimer had posted it (Slack has the message): completed, not reposted


@dataclass(frozen=True)
class DigestRun:
    channel: str
    outcome: RunOutcome
    day: dt.date | None = None
    posted: PostedDigest | None = None


@dataclass(frozen=True)
class JobInfo:
    id: str
    next_run_time: dt.datetime | None
    trigger: str


class DigestPoster(Protocol):
    """What posts a digest (`commands.slack.digest.DigestPublisher`)."""

    async def publish(self, channel: str, *, day: dt.date | None = None,
                      tz: dt.tzinfo | None = None, workspace: WorkspaceScope | None = None) -> PostedDigest: ...


def default_instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
