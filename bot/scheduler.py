"""Timed work, as mechanics: daily digests per channel, and the jobs features register.

APScheduler 3 `AsyncIOScheduler`, started from a coroutine inside the app's running
event loop (`await scheduler.start()`), so every job is a coroutine on that loop.

What runs is the features' business (`commands.slack.features`): each registers its jobs
through `add_job(func, trigger, id=...)` (replacing a job of the same id, so re-registering
never duplicates) or, for the status sweep, `add_daily_sweep`. This module owns how jobs run:

* ``digest:<channel>``: a cron trigger at the channel's HH:MM in the channel's time zone
  (default: INVOICEBOT_TIMEZONE, Asia/Seoul), armed from the schedules in the database.
* the daily sweep job: at the earliest digest time (in the bot's zone) minus `sweep_lead`
  (30 minutes by default; 08:30 when no digest is scheduled), so the digest reports fresh
  states; re-armed whenever the schedules change.
* ``digest-warm``: two minutes before the earliest digest, the next digest is read and built
  without being posted (`bot.digest_warmup`), so 09:00 pays none of a fresh process's first-build costs.
* every job's failure is logged with its id (`_run_job`), never lost in APScheduler's log.

Why these options:

* ``misfire_grace_time`` = INVOICEBOT_DIGEST_GRACE_MINUTES: a run that starts late (event
  loop busy, host suspended, the process restarted just after the hour) still runs if it
  is within the grace period; later than that it is skipped, because a "daily" digest
  at 3 pm is noise.
* ``coalesce=True``: several missed runs (a laptop asleep for three days) collapse into
  one run, never a burst of stale digests.
* ``max_instances=1``: a slow digest or sweep is never overlapped by the next one.
* Exactly once, catch-up and retry after a Slack error: `bot.digest_runs` (each run leases
  its (channel, day) before posting; `start()` runs today's digests a restart skipped).
* A replica killed mid-run: the ``runs:takeover`` job (every `lease`, and once at start)
  takes over digests and sweeps whose lease ran out unfinished (`take_over_expired`).

Time comes from an injectable `clock` (aware "now"); tests freeze it and call the job
methods (`run_digest`, `catch_up`, `run_sweep`) directly, or move a job's next run time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk.web.async_client import AsyncWebClient

from bot.digest_runs import RETRY_AFTER, SWEEP_CLAIM_CHANNEL, DigestRuns
from bot.digest_warmup import WARMUP_JOB_ID, due_soon, warm_up, warmup_trigger
from bot.schedule_types import (
    DigestPoster,
    DigestRun,
    JobInfo,
    RunOutcome,
    default_instance_id,
    digest_job_id,
    hhmm,
    last_occurrence,
)
from bot.settings import Settings
from commands.ledger import DigestScheduleRecord, Store, utc_now
from commands.slack.digest import DigestPublisher, PostedDigest
from commands.slack.features.jobs import Job
from commands.slack.language import Languages
from commands.slack.pacing import AckPacer
from commands.workflow.workspaces import current_scope
from providers.models import Provider

__all__ = [
    "SWEEP_CLAIM_CHANNEL",
    "DigestPoster",
    "DigestRun",
    "InvoiceScheduler",
    "JobInfo",
    "RunOutcome",
    "create_scheduler",
    "digest_job_id",
    "last_occurrence",
]

log = logging.getLogger("invoicebot.scheduler")



class InvoiceScheduler:
    """Digest schedules and the features' jobs over one `AsyncIOScheduler`.

    Args:
        store: the database (schedules and run claims live there).
        poster: posts a digest (`DigestPublisher`).
        timezone: the default zone for schedules and for the sweep time.
        grace: how late a digest may still be posted (misfire grace, catch-up window).
        instance_id: who claims runs (default: host, pid and a random suffix).
        clock: aware "now".
        sweep_lead: how long before the earliest digest the daily sweep runs.
        default_sweep_time: HH:MM (in `timezone`) when no digest is scheduled.
        lease: how long a run's claim holds without renewal; also how often dead claims are looked for.
        client: the Web API client a taker-over asks whether a digest was already posted.

    Example::

        scheduler = create_scheduler(settings, store, app.client, sandboxed)
        register_all(app, deps, scheduler)   # features add their jobs
        await scheduler.start()              # inside the running loop
        ...
        await scheduler.shutdown()
    """

    def __init__(
        self,
        store: Store,
        poster: DigestPoster,
        *,
        timezone: str = "Asia/Seoul",
        grace: dt.timedelta = dt.timedelta(minutes=120),
        instance_id: str | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        sweep_lead: dt.timedelta = dt.timedelta(minutes=30),
        default_sweep_time: str = "08:30",
        lease: dt.timedelta = dt.timedelta(seconds=20),
        client: AsyncWebClient | None = None,
    ) -> None:
        self.store = store
        #: the work-after-acks pool whose gate the features' jobs give way to (set by the runtime)
        self.pacer: AckPacer | None = None
        self.poster = poster
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.grace = grace
        self.instance_id = instance_id or default_instance_id()
        self.clock = clock
        self.sweep_job: Job | None = None
        self.sweep_lead = sweep_lead
        self.default_sweep_time = default_sweep_time
        self._scheduler = AsyncIOScheduler(
            timezone=self.tz,
            job_defaults={
                "misfire_grace_time": max(1, int(grace.total_seconds())),
                "coalesce": True,
                "max_instances": 1,
            },
        )
        self._schedules: dict[str, DigestScheduleRecord] = {}
        self._sweep_id: str | None = None
        self._sweep_at: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.lease = lease
        self.runs = DigestRuns(store, poster, grace=grace, instance_id=self.instance_id, clock=clock, lease=lease,
                               client=client)

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, poster: DigestPoster, **kwargs: Any) -> InvoiceScheduler:
        """Zone, grace period and instance id from the settings; other arguments as for the class."""
        return cls(
            store,
            poster,
            timezone=settings.invoicebot_timezone,
            grace=dt.timedelta(minutes=settings.invoicebot_digest_grace_minutes),
            instance_id=settings.invoicebot_instance_id,
            lease=dt.timedelta(seconds=settings.invoicebot_executing_stale_seconds),
            **kwargs,
        )

    # -- life cycle ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    async def start(self, *, catch_up: bool = True) -> None:
        """Start on the running loop (jobs added before start run from now on), restore the
        schedules, catch up.

        The catch-up runs as a background task so start-up never waits on Slack;
        `idle()` waits for it.
        """
        if not self.running:
            self._scheduler.start()
        await self.restore()
        # runs whose claimer died: looked for every lease period (a live holder renews more often)
        self._scheduler.add_job(self._takeover_job, IntervalTrigger(seconds=max(1.0, self.lease.total_seconds())),
                                id="runs:takeover", name="take over dead runs", replace_existing=True)
        if catch_up:
            self._spawn(self._catch_up_job())
        if due_soon(self._schedules, self.clock()):  # started after the warm-up time, before the digest
            self._spawn(self.warm_up())

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.running:
            self._scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down via call_soon

    async def idle(self) -> None:
        """Wait for background work started by this object (catch-up, retries) to finish."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the features' jobs -----------------------------------------------------------------
    def add_job(self, func: Job, trigger: BaseTrigger, *, id: str, name: str | None = None,
                misfire_grace_time: int | None = None) -> None:
        """Add a feature's job, replacing one with the same id; a failure is logged with the id."""
        options: dict[str, Any] = {} if misfire_grace_time is None else {"misfire_grace_time": misfire_grace_time}
        self._scheduler.add_job(self._run_job, trigger, args=[id, func], id=id, name=name or id,
                                replace_existing=True, **options)

    def add_daily_sweep(self, func: Job, *, id: str) -> None:
        """Run `func` once a day on one instance, `sweep_lead` before the earliest digest."""
        self.sweep_job = func
        self._sweep_id = id
        self._sweep_at = None
        self._arm_sweep()

    async def _run_job(self, job_id: str, func: Job) -> None:
        try:
            if self.pacer is not None:  # a periodic job gives way to waiting acks, step by step
                await self.pacer.gated(func)
            else:
                await func()
        except Exception:
            log.exception("job %s failed", job_id)

    # -- schedules ------------------------------------------------------------------------
    async def restore(self) -> int:
        """Arm one job per enabled schedule in the database, drop jobs of removed ones."""
        records = await self.store.digests.list_schedules(enabled_only=True)
        wanted = {r.channel_id: r for r in records}
        for channel in set(self._schedules) - set(wanted):
            self._remove_job(digest_job_id(channel))
        for record in records:
            if self._schedules.get(record.channel_id) != record:
                self._arm(record)
        self._schedules = wanted
        self._arm_sweep()
        return len(records)

    async def schedule(self, channel: str, at: str, timezone: str | None = None, *,
                       user: str | None = None) -> DigestScheduleRecord:
        """Store the channel's daily digest time (HH:MM, 24 h) and arm its job.

        Raises:
            ValueError: `at` is not HH:MM or `timezone` is unknown.
        """
        record = await self.store.digests.upsert_schedule(channel, time=at, timezone=timezone or self.timezone,
                                                          created_by=user, now=self.clock())
        workspace = current_scope()  # the workspace whose channel it is: its digest reads and posts there only
        if workspace is not None:
            await self.store.digests.set_schedule_workspace(channel, workspace)
            record = dataclasses.replace(record, team_id=workspace.team_id, enterprise_id=workspace.enterprise_id)
        self._schedules[channel] = record
        self._arm(record)
        self._arm_sweep()
        log.info("digest for %s scheduled at %s %s", channel, record.time, record.timezone)
        return record

    async def unschedule(self, channel: str) -> bool:
        """Remove the channel's digest; False when there was none."""
        removed = await self.store.digests.delete_schedule(channel)
        self._schedules.pop(channel, None)
        self._remove_job(digest_job_id(channel))
        self._arm_sweep()
        return removed

    def jobs(self) -> list[JobInfo]:
        return [
            JobInfo(id=job.id, next_run_time=getattr(job, "next_run_time", None), trigger=str(job.trigger))
            for job in self._scheduler.get_jobs()
        ]

    def next_run(self, channel: str) -> dt.datetime | None:
        """When the channel's next digest is due, by the injected clock."""
        record = self._schedules.get(channel)
        if record is None:
            return None
        next_time: dt.datetime | None = self._digest_trigger(record).get_next_fire_time(None, self.clock())
        return next_time

    def _digest_trigger(self, record: DigestScheduleRecord) -> CronTrigger:
        hour, minute = hhmm(record.time)
        return CronTrigger(hour=hour, minute=minute, second=self.runs.due_second, timezone=ZoneInfo(record.timezone))

    def _arm(self, record: DigestScheduleRecord) -> None:
        self._scheduler.add_job(self._digest_job, self._digest_trigger(record), args=[record.channel_id],
                                id=digest_job_id(record.channel_id), name=f"digest {record.channel_id}",
                                replace_existing=True)

    def _remove_job(self, job_id: str) -> None:
        if self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)

    def sweep_time(self) -> str:
        """HH:MM (bot zone) of the daily sweep: `sweep_lead` before the earliest digest."""
        if not self._schedules:
            return self.default_sweep_time
        now = self.clock()
        times = []
        for record in self._schedules.values():
            hour, minute = hhmm(record.time)
            local = now.astimezone(ZoneInfo(record.timezone))
            occurrence = dt.datetime.combine(local.date(), dt.time(hour, minute), ZoneInfo(record.timezone))
            times.append((occurrence - self.sweep_lead).astimezone(self.tz).time())
        earliest = min(times)
        return f"{earliest.hour:02d}:{earliest.minute:02d}"

    def _arm_sweep(self) -> None:
        self._arm_warmup()
        if self.sweep_job is None or self._sweep_id is None:
            return
        at = self.sweep_time()
        if at == self._sweep_at and self._scheduler.get_job(self._sweep_id) is not None:
            return  # re-adding would recompute the next run and could skip one due this very second
        self._sweep_at = at
        hour, minute = hhmm(at)
        self.add_job(self.run_sweep, CronTrigger(hour=hour, minute=minute, timezone=self.tz),
                     id=self._sweep_id, name="status sweep")

    def _arm_warmup(self) -> None:
        """The ``digest-warm`` job (`bot.digest_warmup`): shortly before the earliest digest, re-armed
        only when its time changes (as the sweep)."""
        trigger = warmup_trigger(self._schedules, self.clock(), self.tz)
        if trigger is None:
            self._remove_job(WARMUP_JOB_ID)
        elif str(trigger) != str(getattr(self._scheduler.get_job(WARMUP_JOB_ID), "trigger", None)):
            self.add_job(self.warm_up, trigger, id=WARMUP_JOB_ID, name="digest warm-up")

    async def warm_up(self) -> str | None:
        """Build the next due digest without posting it (the first build's one-time costs); its channel."""
        return await warm_up(self.poster, self._schedules, self.clock)

    # -- runs -------------------------------------------------------------------------------
    async def run_digest(self, channel: str) -> DigestRun:
        """The scheduled digest of `channel` for the current day, posted at most once.

        Reads the schedule again (another instance may have changed it), refuses when the
        digest time passed more than the grace period ago, claims (channel, day) and posts.
        """
        record = await self.store.digests.get_schedule(channel)
        if record is None or not record.enabled:
            self._remove_job(digest_job_id(channel))
            self._schedules.pop(channel, None)
            return DigestRun(channel, RunOutcome.NO_SCHEDULE)
        posting = await self.runs.post_due(record)
        if posting.retry and self.running:
            self._scheduler.add_job(self._digest_job, DateTrigger(run_date=dt.datetime.now(dt.UTC) + RETRY_AFTER),
                                    args=[channel], id=f"{digest_job_id(channel)}:retry", replace_existing=True)
        return posting.run

    async def post_now(self, channel: str) -> PostedDigest:
        """``digest now``: an explicit extra digest, not claimed against the scheduled one."""
        record = self._schedules.get(channel) or await self.store.digests.get_schedule(channel)
        zone = ZoneInfo(record.timezone) if record is not None else self.tz
        return await self.poster.publish(channel, day=None, tz=zone, workspace=current_scope())

    async def catch_up(self) -> list[DigestRun]:
        """Post today's digest of every channel whose time passed less than the grace period ago
        and that no run has claimed (a restart just after the digest time)."""
        return [await self.run_digest(record.channel_id) for record in await self.runs.due_unclaimed()]

    async def run_sweep(self) -> bool:
        """Today's status sweep, on one instance only (lease renewed while it runs, done at the end);
        False when another run has it."""
        if self.sweep_job is None:
            return False
        lease = await self.runs.claim_sweep(self.tz)
        if lease is None:
            return False
        async with self.runs.leases.kept(lease, ttl=self.lease, clock=self.clock):
            try:
                await self.sweep_job()
            except Exception:
                await self.runs.leases.done(lease, now=self.clock())  # at most once for a failing sweep
                raise
            await self.runs.leases.done(lease, now=self.clock())  # cancelled (shutdown): left to be taken over
        return True

    async def take_over_expired(self) -> list[DigestRun]:
        """Run again, once, each recent digest or sweep whose claimer died (lease ran out unfinished).

        A digest taken over is reconciled with Slack before it is posted (`bot.digest_runs`)."""
        runs = []
        for channel, day in await self.runs.expired_claims():
            if channel == SWEEP_CLAIM_CHANNEL:
                if day == self.clock().astimezone(self.tz).date():
                    await self.run_sweep()
                continue
            runs.append(await self.run_digest(channel))
        return runs

    # -- job wrappers (APScheduler logs exceptions, ours say which job) ------------------------
    async def _digest_job(self, channel: str) -> None:
        try:
            await self.run_digest(channel)
        except Exception:
            log.exception("digest job for %s failed", channel)

    async def _catch_up_job(self) -> None:
        try:
            await self.catch_up()
            await self.take_over_expired()
        except Exception:
            log.exception("digest catch-up at start failed")

    async def _takeover_job(self) -> None:
        try:
            await self.take_over_expired()
        except Exception:
            log.exception("taking over dead runs failed")


def create_scheduler(
    settings: Settings,
    store: Store,
    client: AsyncWebClient,
    sandboxed: Sequence[Provider] = (),
    *,
    clock: Callable[[], dt.datetime] = utc_now,
    languages: Languages | None = None,
) -> InvoiceScheduler:
    """The scheduler the app runs, wired from settings with the digest publisher; features
    add their jobs (`commands.slack.features.register_all`) before `start()`.

    Args:
        sandboxed: providers on their sandbox (the digest says so).
        languages: the channel language digests are written in (default: from the settings).
    """
    publisher = DigestPublisher(
        store, client, tz=settings.invoicebot_timezone, expiring_days=settings.invoicebot_expiring_days,
        sandbox_providers=list(sandboxed), clock=clock, deadline_days=settings.invoicebot_deadline_days,
        languages=languages or Languages(settings.invoicebot_language, store=store),
    )
    return InvoiceScheduler.from_settings(settings, store, publisher, clock=clock, client=client)
