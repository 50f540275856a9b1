"""Daily digests post exactly once: across runs, restarts in the grace period and instances."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble
from bot.scheduler import (
    InvoiceScheduler,
    RunOutcome,
    digest_job_id,
    last_occurrence,
)
from commands.ledger import Store
from commands.slack.digest import DigestPublisher
from commands.slack.features import digest
from commands.slack.features.jobs import EXPIRY_JOB_ID, SWEEP_JOB_ID, Job

SEOUL = ZoneInfo("Asia/Seoul")
GRACE = dt.timedelta(minutes=120)


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, local: dt.datetime) -> None:
        self.now = local.astimezone(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, local: dt.datetime) -> None:
        self.now = local.astimezone(dt.UTC)


def kst(hour: int, minute: int = 0, second: int = 0, day: int = 2) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, second, tzinfo=SEOUL)


def make_scheduler(store: Store, client: AsyncWebClient, clock: FrozenClock, name: str, *,
                   sweep_job: Job | None = None, expire_approvals: Job | None = None,
                   expiry_interval: dt.timedelta = dt.timedelta(minutes=5)) -> InvoiceScheduler:
    """A scheduler with the jobs the features would register (the sweep, expiry, schedule sync)."""
    publisher = DigestPublisher(store, client, tz="Asia/Seoul", clock=clock, chart=False)
    scheduler = InvoiceScheduler(store, publisher, timezone="Asia/Seoul", grace=GRACE, instance_id=name, clock=clock)
    digest.register_jobs(scheduler)
    if sweep_job is not None:
        scheduler.add_daily_sweep(sweep_job, id=SWEEP_JOB_ID)
    if expire_approvals is not None:
        scheduler.add_job(expire_approvals, IntervalTrigger(seconds=expiry_interval.total_seconds()),
                          id=EXPIRY_JOB_ID, misfire_grace_time=max(1, int(expiry_interval.total_seconds())))
    return scheduler


def test_a_late_run_belongs_to_the_day_it_was_scheduled_for() -> None:
    assert last_occurrence(kst(0, 20, day=3).astimezone(dt.UTC), "23:59", SEOUL) == kst(23, 59, day=2)
    assert last_occurrence(kst(9, 0).astimezone(dt.UTC), "09:00", SEOUL) == kst(9, 0)
    assert last_occurrence(kst(8, 59).astimezone(dt.UTC), "09:00", SEOUL) == kst(9, 0, day=1)


async def test_a_schedule_posts_once(store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]) -> None:
    double, client = slack
    clock = FrozenClock(kst(8, 0))
    scheduler = make_scheduler(store, client, clock, "one")
    await scheduler.schedule("C1", "09:00")

    clock.set(kst(9, 0, 1))
    first = await scheduler.run_digest("C1")
    clock.set(kst(9, 30))
    second = await scheduler.run_digest("C1")  # a misfire retry, a coalesced run, a second trigger

    assert (first.outcome, first.day) == (RunOutcome.POSTED, dt.date(2026, 3, 2))
    assert second.outcome is RunOutcome.ALREADY_CLAIMED
    assert len(double.calls("chat.postMessage")) == 1
    run = await store.digests.get_run("C1", dt.date(2026, 3, 2))
    assert run is not None and run.claimed_by == "one" and run.message_ts is not None

    clock.set(kst(9, 0, 5, day=3))
    assert (await scheduler.run_digest("C1")).outcome is RunOutcome.POSTED  # the next day posts again
    assert len(double.calls("chat.postMessage")) == 2


async def test_a_restart_inside_the_grace_period_still_posts_once(
    sqlite_url: str, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    double, client = slack
    clock = FrozenClock(kst(8, 0))
    before = await Store.open(sqlite_url, migrate=False)
    first = make_scheduler(before, client, clock, "before-restart")
    await first.start(catch_up=False)
    await first.schedule("C1", "09:00")
    clock.set(kst(9, 0, 2))
    assert (await first.run_digest("C1")).outcome is RunOutcome.POSTED
    await first.shutdown()
    await before.close()

    clock.set(kst(9, 20))  # the process comes back 20 minutes later
    after = await Store.open(sqlite_url, migrate=False)
    second = make_scheduler(after, client, clock, "after-restart")
    await second.start()
    await second.idle()

    assert [j.id for j in second.jobs() if j.id.startswith("digest:")] == ["digest:C1"]  # restored from the DB
    assert len(double.calls("chat.postMessage")) == 1
    await second.shutdown()
    await after.close()


async def test_a_start_just_after_the_digest_time_catches_up_once(
    sqlite_url: str, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    double, client = slack
    clock = FrozenClock(kst(8, 0))
    store = await Store.open(sqlite_url, migrate=False)
    await make_scheduler(store, client, clock, "setup").schedule("C1", "09:00")

    clock.set(kst(9, 45))  # down over 09:00, back within the two-hour grace period
    down_over_nine = make_scheduler(store, client, clock, "a")
    await down_over_nine.start()
    await down_over_nine.idle()
    clock.set(kst(10, 0))
    another_restart = make_scheduler(store, client, clock, "b")
    await another_restart.start()
    await another_restart.idle()

    assert len(double.calls("chat.postMessage")) == 1
    run = await store.digests.get_run("C1", dt.date(2026, 3, 2))
    assert run is not None and run.claimed_by == "a"
    for scheduler in (down_over_nine, another_restart):
        await scheduler.shutdown()
    await store.close()


async def test_a_start_after_the_grace_period_does_not_post_a_stale_digest(
    store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    double, client = slack
    clock = FrozenClock(kst(8, 0))
    scheduler = make_scheduler(store, client, clock, "late")
    await scheduler.schedule("C1", "09:00")

    clock.set(kst(11, 1))  # 2 h 1 min late
    assert await scheduler.catch_up() == []
    assert (await scheduler.run_digest("C1")).outcome is RunOutcome.TOO_LATE
    assert not double.calls("chat.postMessage")


async def test_two_instances_sharing_one_database_post_once(
    database_url: str, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    """Two engines, two schedulers, one database (SQLite file, then PostgreSQL), same instant."""
    double, client = slack
    clock = FrozenClock(kst(8, 0))
    store_a = await Store.open(database_url, migrate=False)
    store_b = await Store.open(database_url, migrate=False)
    a = make_scheduler(store_a, client, clock, "instance-a")
    b = make_scheduler(store_b, client, clock, "instance-b")
    await a.schedule("C1", "09:00")
    await b.restore()

    clock.set(kst(9, 0, 1))
    runs = await asyncio.gather(a.run_digest("C1"), b.run_digest("C1"), a.run_digest("C1"), b.run_digest("C1"))

    assert sorted(r.outcome for r in runs) == [RunOutcome.ALREADY_CLAIMED] * 3 + [RunOutcome.POSTED]
    assert len(double.calls("chat.postMessage")) == 1
    await store_a.close()
    await store_b.close()


async def test_jobs_have_stable_ids_and_the_documented_options(
    store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    _double, client = slack
    clock = FrozenClock(kst(8, 0))

    async def nothing() -> None:
        return None

    scheduler = make_scheduler(store, client, clock, "jobs", sweep_job=nothing, expire_approvals=nothing)
    await scheduler.start(catch_up=False)
    await scheduler.schedule("C1", "09:00")
    await scheduler.schedule("C1", "09:30")  # re-arming replaces, never duplicates
    assert scheduler.sweep_time() == "09:00"  # 30 minutes before the earliest digest
    await scheduler.schedule("C2", "18:00", "Europe/Berlin")

    ids = sorted(j.id for j in scheduler.jobs())
    job = scheduler._scheduler.get_job(digest_job_id("C1"))

    assert ids == sorted(["digest:C1", "digest:C2", SWEEP_JOB_ID, EXPIRY_JOB_ID, "digest-sync", "runs:takeover",
                          "digest-warm"])  # issue 14: the digest's warm-up before the earliest digest
    assert job.misfire_grace_time == 7200 and job.coalesce is True and job.max_instances == 1
    assert job.next_run_time.astimezone(SEOUL).strftime("%H:%M") == "09:30"
    assert scheduler.next_run("C1") == kst(9, 30)
    assert scheduler.next_run("C2") == dt.datetime(2026, 3, 2, 18, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert scheduler.sweep_time() == "01:30"  # C2's 18:00 in Berlin is 02:00 KST
    assert await scheduler.unschedule("C2")
    assert digest_job_id("C2") not in {j.id for j in scheduler.jobs()}
    assert scheduler.sweep_time() == "09:00"
    sweep_job = scheduler._scheduler.get_job(SWEEP_JOB_ID)
    assert sweep_job.next_run_time.astimezone(SEOUL).strftime("%H:%M") == "09:00"
    await scheduler.shutdown()


async def test_the_job_fires_on_the_running_event_loop(
    store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    double, client = slack
    clock = FrozenClock(kst(9, 0, 3))
    scheduler = make_scheduler(store, client, clock, "loop")
    await scheduler.start(catch_up=False)
    await scheduler.schedule("C1", "09:00")

    # APScheduler fires on its own (real) time; move the job's next run to "now"
    scheduler._scheduler.modify_job(digest_job_id("C1"), next_run_time=dt.datetime.now(dt.UTC))
    await double.wait_for("chat.postMessage", 1, timeout=5)
    await asyncio.sleep(0.2)

    assert len(double.calls("chat.postMessage")) == 1
    assert (await store.digests.get_run("C1", dt.date(2026, 3, 2))) is not None
    await scheduler.shutdown()


async def test_a_features_job_gives_way_to_acks_when_the_scheduler_paces_with_the_pool(
    store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    from commands.slack.pacing import AckGate, AckPacer

    _double, client = slack
    scheduler = make_scheduler(store, client, FrozenClock(kst(9, 0, 3)), "paced")
    scheduler.pacer = AckPacer(gate=AckGate(quiet=0))
    ran: list[int] = []

    async def recovery() -> None:
        ran.append(scheduler.pacer.gate.pending if scheduler.pacer else -1)

    scheduler.add_job(recovery, IntervalTrigger(hours=1), id="test-recovery")
    await scheduler.start(catch_up=False)
    scheduler.pacer.gate.enter()  # an ack is being answered
    scheduler._scheduler.modify_job("test-recovery", next_run_time=dt.datetime.now(dt.UTC))
    await asyncio.sleep(0.3)
    assert ran == [], "the job waits while an ack does"
    scheduler.pacer.gate.leave()
    await asyncio.sleep(0.3)
    assert ran == [0]
    await scheduler.shutdown()


async def test_a_channel_unscheduled_elsewhere_does_not_post(
    store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    double, client = slack
    clock = FrozenClock(kst(8, 0))
    scheduler = make_scheduler(store, client, clock, "stale")
    await scheduler.schedule("C1", "09:00")
    await store.digests.delete_schedule("C1")  # another instance said `digest off`

    clock.set(kst(9, 0, 1))
    assert (await scheduler.run_digest("C1")).outcome is RunOutcome.NO_SCHEDULE
    assert not double.calls("chat.postMessage")
    assert scheduler.next_run("C1") is None


async def test_a_slack_failure_gives_the_claim_back_so_a_retry_posts(
    store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    double, client = slack
    clock = FrozenClock(kst(8, 0))
    scheduler = make_scheduler(store, client, clock, "retry")
    await scheduler.schedule("C1", "09:00")
    double.fail_next("chat.postMessage", error="internal_error")

    clock.set(kst(9, 0, 1))
    failed = await scheduler.run_digest("C1")
    assert failed.outcome is RunOutcome.FAILED
    assert await store.digests.get_run("C1", dt.date(2026, 3, 2)) is None

    clock.set(kst(9, 5, 1))
    assert (await scheduler.run_digest("C1")).outcome is RunOutcome.POSTED
    assert len([c for c in double.calls("chat.postMessage") if c.ok]) == 1


async def test_the_sweep_runs_once_a_day_and_expiry_runs_every_few_minutes(
    store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    _double, client = slack
    clock = FrozenClock(kst(8, 30))
    sweeps: list[dt.datetime] = []
    expiries: list[float] = []

    async def sweep_job() -> None:
        sweeps.append(clock())

    async def expire() -> None:
        expiries.append(asyncio.get_running_loop().time())

    a = make_scheduler(store, client, clock, "a", sweep_job=sweep_job, expire_approvals=expire,
                       expiry_interval=dt.timedelta(seconds=0.05))
    b = make_scheduler(store, client, clock, "b", sweep_job=sweep_job)
    await a.start(catch_up=False)

    assert await a.run_sweep()
    assert not await b.run_sweep()  # the other instance, same day
    assert not await a.run_sweep()
    clock.set(kst(8, 30, day=3))
    assert await b.run_sweep()
    for _ in range(100):
        if len(expiries) >= 2:
            break
        await asyncio.sleep(0.05)

    assert len(sweeps) == 2
    assert len(expiries) >= 2
    await a.shutdown()


async def test_a_sweep_or_digest_whose_replica_died_is_taken_over_once(
    store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    """The ``runs:takeover`` job's work: claims whose lease ran out unfinished run again, once."""
    double, client = slack
    clock = FrozenClock(kst(9, 0))
    sweeps: list[str] = []

    def sweep_as(name: str) -> Job:
        async def sweep() -> None:
            sweeps.append(name)
        return sweep

    dead = make_scheduler(store, client, clock, "dead", sweep_job=sweep_as("dead"))
    await store.digests.upsert_schedule("C1", time="09:00", timezone="Asia/Seoul")
    day = kst(9, 0).date()
    # the dead replica claimed both and was killed before doing either
    assert await dead.runs.claim_sweep(SEOUL) is not None
    assert await dead.runs.leases.claim("C1", day, "dead", ttl=dead.lease, now=clock()) is not None
    survivors = [make_scheduler(store, client, clock, n, sweep_job=sweep_as(n)) for n in ("b", "c")]

    assert [await s.take_over_expired() for s in survivors] == [[], []]  # leases still running: not taken
    clock.set(kst(9, 1))
    outcomes = [r.outcome for s in survivors for r in await s.take_over_expired()]

    assert outcomes == [RunOutcome.POSTED]  # the second survivor found nothing left to take over
    assert sweeps == ["b"]
    assert len([m for m in double.messages_in("C1") if m.get("metadata")]) == 1
    clock.set(kst(9, 5))
    assert [await s.take_over_expired() for s in survivors] == [[], []] and sweeps == ["b"]
