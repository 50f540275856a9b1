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

__all__ = ["DigestPoster", "DigestRun", "JobInfo", "RunOutcome", "default_instance_id", "digest_job_id", "hhmm",
           "last_occurrence"]


def digest_job_id(channel: str) -> str:
    """The stable id of a channel's digest job (re-arming replaces it, never duplicates)."""
    return f"digest:{channel}"


def hhmm(text: str) -> tuple[int, int]:
    """(hour, minute) of a stored "HH:MM" schedule time."""
    hour, minute = text.split(":")
    return int(hour), int(minute)


def last_occurrence(now: dt.datetime, at: str, tz: dt.tzinfo) -> dt.datetime:
    """The most recent local `at` (HH:MM) in `tz` at or before `now` (an aware datetime).

    Its local date is the digest's day, so a 23:59 digest that runs at 00:20 still counts
    for the day before.
    """
    hour, minute = hhmm(at)
    local = now.astimezone(tz)
    candidate = dt.datetime.combine(local.date(), dt.time(hour, minute), tz)
    if candidate > now:
        candidate = dt.datetime.combine(local.date() - dt.timedelta(days=1), dt.time(hour, minute), tz)
    return candidate


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
