"""Daily digests: `/invoice digest schedule|off|now|show` and the job keeping schedules in step.

The scheduler arms one job per channel from the schedules in the database; this feature adds
the job that re-reads them every few minutes, so an instance learns about a schedule another
instance changed. Without a scheduler (the console's quick mode, some tests) the subcommand
says digests are not available.
"""

from __future__ import annotations

import datetime as dt

from apscheduler.triggers.interval import IntervalTrigger
from slack_bolt.async_app import AsyncApp

from commands.slack.digest import handle_digest_command
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import SYNC_JOB_ID, JobScheduler
from commands.slack.features.router import Invocation
from commands.slack.parser import DigestCommand
from commands.workflow.roles import Guarded

__all__ = ["SYNC_INTERVAL", "register", "register_jobs"]

#: how often the digest schedules are re-read from the database
SYNC_INTERVAL = dt.timedelta(minutes=5)


def register_jobs(scheduler: JobScheduler, *, every: dt.timedelta = SYNC_INTERVAL) -> None:
    """The schedule re-read job (stable id, replaced when registered again)."""
    scheduler.add_job(scheduler.restore, IntervalTrigger(seconds=every.total_seconds(), timezone=scheduler.tz),
                      id=SYNC_JOB_ID, misfire_grace_time=max(1, int(every.total_seconds())))


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `digest` to the `/invoice` table; with a scheduler, its sync job."""

    async def on_digest(invocation: Invocation, parsed: DigestCommand) -> None:
        if scheduler is None:
            await invocation.respond(text="Digests are not available in this mode.", response_type="ephemeral")
            return
        if parsed.action != "show":  # posting or changing the schedule: a refusal names who may
            await deps.service.require(invocation.user,
                                       Guarded.DIGEST_NOW if parsed.action == "now" else Guarded.DIGEST_SCHEDULE)
        blocks = await handle_digest_command(deps.store, scheduler, invocation.channel, parsed,
                                             user=invocation.user, tz=deps.tz)
        await invocation.respond(text=f"/invoice digest {parsed.action}", blocks=list(blocks),
                                 response_type="ephemeral")

    deps.router.add(DigestCommand, on_digest)
    if scheduler is not None:
        register_jobs(scheduler)
