"""The digest warm-up: shortly before the earliest digest, the next digest is built once and never posted."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble
from bot.digest_warmup import WARMUP_JOB_ID, due_soon, next_digest, warm_up, warmup_trigger
from bot.scheduler import InvoiceScheduler
from commands.ledger import AuditOperation, DigestScheduleRecord, Lifecycle, Store, write_engine
from commands.ledger.schema import documents
from commands.slack.digest import DigestPublisher
from commands.workflow import tax_calendar
from providers.models import DocumentKind, Provider
from tests.commands.slack.digest.seed import add_document

SEOUL = ZoneInfo("Asia/Seoul")


def kst(hour: int, minute: int = 0, day: int = 2) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=SEOUL)


def record(channel: str, at: str, zone: str = "Asia/Seoul") -> DigestScheduleRecord:
    return DigestScheduleRecord(channel_id=channel, time=at, timezone=zone, enabled=True, created_by=None,
                                updated_at=kst(0))


def test_the_warm_up_runs_two_minutes_before_the_earliest_digest() -> None:
    schedules = {"C1": record("C1", "09:00"), "C2": record("C2", "18:00", "Europe/Berlin")}  # 02:00 KST

    trigger = warmup_trigger(schedules, kst(8, 0).astimezone(dt.UTC), SEOUL)

    assert trigger is not None
    assert trigger.get_next_fire_time(None, kst(0, 30)) == kst(1, 58)
    assert warmup_trigger({"C1": record("C1", "00:01")}, kst(8, 0), SEOUL).get_next_fire_time(  # type: ignore[union-attr]
        None, kst(8, 0)) == kst(23, 59)
    assert warmup_trigger({}, kst(8, 0), SEOUL) is None


def test_the_digest_warmed_is_the_one_due_next() -> None:
    schedules = {"C1": record("C1", "09:00"), "C2": record("C2", "18:00")}

    assert next_digest(schedules, kst(8, 0)).channel_id == "C1"  # type: ignore[union-attr]
    assert next_digest(schedules, kst(9, 30)).channel_id == "C2"  # type: ignore[union-attr]
    assert next_digest({}, kst(9, 30)) is None


async def test_the_scheduler_arms_moves_and_drops_the_warm_up(
    store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    _double, client = slack
    clock = lambda: kst(8, 0).astimezone(dt.UTC)  # noqa: E731
    scheduler = InvoiceScheduler(store, DigestPublisher(store, client, clock=clock, chart=False),
                                 timezone="Asia/Seoul", clock=clock)
    await scheduler.start(catch_up=False)
    try:
        assert scheduler._scheduler.get_job(WARMUP_JOB_ID) is None  # nothing scheduled, nothing to warm
        await scheduler.schedule("C1", "09:30")
        first = scheduler._scheduler.get_job(WARMUP_JOB_ID).next_run_time
        await scheduler.schedule("C2", "09:00")
        second = scheduler._scheduler.get_job(WARMUP_JOB_ID).next_run_time
        await scheduler.unschedule("C1")
        await scheduler.unschedule("C2")

        assert first.astimezone(SEOUL).strftime("%H:%M") == "09:28"
        assert second.astimezone(SEOUL).strftime("%H:%M") == "08:58"
        assert scheduler._scheduler.get_job(WARMUP_JOB_ID) is None
    finally:
        await scheduler.shutdown()


async def test_a_warm_up_builds_the_digest_and_posts_or_records_nothing(
    store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    double, client = slack
    clock = lambda: kst(8, 58).astimezone(dt.UTC)  # noqa: E731
    # a tax invoice written last month and not issued yet: its deadline needs the holiday calendar
    doc = await add_document(store, Provider.POPBILL, kind=DocumentKind.TAX_INVOICE,
                             lifecycle=Lifecycle.PENDING_APPROVAL, state=None)
    async with write_engine(store.engine).begin() as conn:
        await conn.execute(sa.update(documents).where(documents.c.id == doc.id).values(write_date=dt.date(2026, 2, 20)))
    scheduler = InvoiceScheduler(store, DigestPublisher(store, client, clock=clock, chart=False),
                                 timezone="Asia/Seoul", clock=clock)
    await scheduler.schedule("C1", "09:00")
    tax_calendar._holidays.cache_clear()

    warmed = await scheduler.warm_up()

    assert warmed == "C1"
    assert tax_calendar._holidays.cache_info().currsize >= 1  # the calendar is loaded before 09:00
    assert double.calls("chat.postMessage") == [] and double.calls("files.uploadV2") == []
    assert await store.digests.get_run("C1", dt.date(2026, 3, 2)) is None
    assert await store.audit.search(operation=AuditOperation.DIGEST_SCHEDULED) == []


async def test_a_failed_warm_up_is_logged_and_costs_nothing_else(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        async def warm(self, channel: str, **_kwargs: object) -> None:
            raise RuntimeError("database gone")

    with caplog.at_level(logging.ERROR, logger="invoicebot.scheduler"):
        warmed = await warm_up(Broken(), {"C1": record("C1", "09:00")}, lambda: kst(8, 58))

    assert warmed is None
    assert "digest warm-up for C1 failed" in caplog.text


async def test_a_process_started_after_the_warm_up_time_warms_up_at_once(
    store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]
) -> None:
    _double, client = slack
    warmed: list[str] = []

    class Spy(DigestPublisher):
        async def warm(self, channel: str, **kwargs: Any) -> Any:
            warmed.append(channel)
            return await super().warm(channel, **kwargs)

    now = kst(8, 59)
    await store.digests.upsert_schedule("C1", time="09:00", timezone="Asia/Seoul", created_by=None, now=now)
    late = InvoiceScheduler(store, Spy(store, client, clock=lambda: now, chart=False), timezone="Asia/Seoul",
                            clock=lambda: now)
    await late.start(catch_up=False)
    await late.idle()
    await late.shutdown()
    early = InvoiceScheduler(store, Spy(store, client, clock=lambda: kst(8, 0), chart=False), timezone="Asia/Seoul",
                             clock=lambda: kst(8, 0))
    await early.start(catch_up=False)
    await early.idle()
    await early.shutdown()

    assert warmed == ["C1"]  # at 08:59 at once; at 08:00 the job will, at 08:58
    assert due_soon({"C1": record("C1", "09:00")}, kst(8, 58)) and not due_soon({"C1": record("C1", "09:00")},
                                                                                  kst(8, 57))
