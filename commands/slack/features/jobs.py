"""What a feature may ask of the scheduler, and the ids of the jobs features register.

Features register their timed work as slack-machine plugins do: `add_job(..., id=<stable id>)`
with ``replace_existing=True``, so re-registering (a restart, a second `register_all`) never
duplicates a job. The scheduler itself (`bot.scheduler.InvoiceScheduler`) only supplies the
mechanics: starting on the running loop, restoring digest schedules, catching up, running a
job and logging its failure. This protocol keeps `commands/` from importing `bot/`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Protocol

from apscheduler.triggers.base import BaseTrigger

from commands.slack.digest import DigestControl

__all__ = ["EXPIRY_JOB_ID", "RECOVERY_JOB_ID", "SWEEP_JOB_ID", "SYNC_JOB_ID", "Job", "JobScheduler"]

#: approvals: expire stale requests and take over executions whose process died
EXPIRY_JOB_ID = "expire-approvals"
#: approvals: run approved requests nobody ran, take over dead executions, post missing cards
RECOVERY_JOB_ID = "recover-approvals"
#: the daily status sweep (runs before the earliest digest)
SWEEP_JOB_ID = "sweep"
#: digests: re-read the schedules, so an instance learns what another one changed
SYNC_JOB_ID = "digest-sync"

Job = Callable[[], Awaitable[object]]


class JobScheduler(DigestControl, Protocol):
    """The scheduler as features see it (`bot.scheduler.InvoiceScheduler` implements it)."""

    @property
    def tz(self) -> dt.tzinfo:
        """The zone interval and daily triggers are read in."""

    def add_job(self, func: Job, trigger: BaseTrigger, *, id: str, name: str | None = None,
                misfire_grace_time: int | None = None) -> None:
        """Add or replace (same id) a job; its failures are logged with its id."""

    def add_daily_sweep(self, func: Job, *, id: str) -> None:
        """A once-a-day job (claimed across instances) shortly before the earliest digest."""

    async def restore(self) -> int:
        """Re-read the digest schedules from the database and arm their jobs."""
