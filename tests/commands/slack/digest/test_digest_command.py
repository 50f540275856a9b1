"""``/invoice digest schedule|off|now|show`` answers, against the real scheduler and the Web API double."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble
from bot.scheduler import InvoiceScheduler, RunOutcome, digest_job_id
from commands.ledger import Store
from commands.slack.digest import DigestPublisher, handle_digest_command
from commands.slack.parser import DigestCommand, parse_command

SEOUL = ZoneInfo("Asia/Seoul")
DAY = dt.date(2026, 3, 2)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 8, 0, tzinfo=SEOUL).astimezone(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
async def setup(store: Store) -> AsyncIterator[tuple[SlackWebApiDouble, InvoiceScheduler, Clock]]:
    double = SlackWebApiDouble()
    client = AsyncWebClient(token="xoxb-test", base_url=await double.start())
    clock = Clock()
    publisher = DigestPublisher(store, client, tz="Asia/Seoul", clock=clock, chart=False)
    scheduler = InvoiceScheduler(store, publisher, timezone="Asia/Seoul", instance_id="bot", clock=clock)
    yield double, scheduler, clock
    await double.stop()


def command(text: str) -> DigestCommand:
    parsed = parse_command(text)
    assert isinstance(parsed, DigestCommand)
    return parsed


def text(blocks: list[Block]) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)


async def test_schedule_show_now_and_off(
    store: Store, setup: tuple[SlackWebApiDouble, InvoiceScheduler, Clock]
) -> None:
    double, scheduler, clock = setup

    scheduled = await handle_digest_command(store, scheduler, "C1", command("digest schedule 09:30 kst"),
                                            user="U1", tz=SEOUL)
    assert "Daily digest scheduled for 09:30 (Asia/Seoul) in <#C1>" in text(scheduled)
    assert "Next digest: 2026-03-02 09:30 KST" in text(scheduled)
    record = await store.digests.get_schedule("C1")
    assert record is not None and (record.time, record.timezone, record.created_by) == ("09:30", "Asia/Seoul", "U1")
    assert digest_job_id("C1") in {j.id for j in scheduler.jobs()}

    shown = text(await handle_digest_command(store, scheduler, "C1", command("digest show"), tz=SEOUL))
    assert "Every day at *09:30* (Asia/Seoul); next: 2026-03-02 09:30 KST" in shown
    assert "No digest has been posted here yet" in shown

    now = text(await handle_digest_command(store, scheduler, "C1", command("digest now"), tz=SEOUL))
    assert "Digest posted" in now and "Quiet day" in now
    assert await store.digests.get_run("C1", DAY) is None  # an extra post is not the day's digest

    clock.now = dt.datetime(2026, 3, 2, 9, 30, 5, tzinfo=SEOUL).astimezone(dt.UTC)
    assert (await scheduler.run_digest("C1")).outcome is RunOutcome.POSTED  # the scheduled one still posts
    assert len(double.calls("chat.postMessage")) == 2
    shown = text(await handle_digest_command(store, scheduler, "C1", command("digest show"), tz=SEOUL))
    assert "Last digest: 2026-03-02 09:30 KST — Quiet day" in shown

    off = text(await handle_digest_command(store, scheduler, "C1", command("digest off"), tz=SEOUL))
    assert "Daily digest stopped in <#C1>" in off
    assert await store.digests.get_schedule("C1") is None
    assert digest_job_id("C1") not in {j.id for j in scheduler.jobs()}
    again = text(await handle_digest_command(store, scheduler, "C1", command("digest off"), tz=SEOUL))
    assert "There is no daily digest in <#C1>" in again


async def test_digest_now_answers_a_slack_failure_instead_of_raising(
    store: Store, setup: tuple[SlackWebApiDouble, InvoiceScheduler, Clock]
) -> None:
    double, scheduler, _clock = setup
    double.fail_next("chat.postMessage", error="not_in_channel")

    answer = text(await handle_digest_command(store, scheduler, "C1", command("digest now"), tz=SEOUL))

    assert "could not be posted" in answer and "not_in_channel" in answer
    assert "member of this channel" in answer


async def test_the_window_is_since_the_previous_digest_posted_in_the_channel(
    store: Store, setup: tuple[SlackWebApiDouble, InvoiceScheduler, Clock]
) -> None:
    """Scheduled or ``digest now``, a digest covers what happened since the channel's previous post.

    Before the fix a ``digest now`` left no trace the window read (it claims no run), so a
    channel that used it always got "the last 24 h" whatever the wording said.
    """
    double, scheduler, clock = setup
    await handle_digest_command(store, scheduler, "C1", command("digest schedule 09:30 kst"), user="U1", tz=SEOUL)
    first_at = clock.now  # 08:00
    first = await scheduler.post_now("C1")
    assert first.summary["since"] == (first_at - dt.timedelta(hours=24)).isoformat()  # first digest: 24 h

    clock.now = dt.datetime(2026, 3, 2, 9, 30, 5, tzinfo=SEOUL).astimezone(dt.UTC)
    scheduled = await scheduler.run_digest("C1")
    assert scheduled.posted is not None and scheduled.posted.summary["since"] == first_at.isoformat()

    later = dt.datetime(2026, 3, 2, 11, 0, tzinfo=SEOUL).astimezone(dt.UTC)
    clock.now = later
    again = await scheduler.post_now("C1")
    assert again.summary["since"] == dt.datetime(2026, 3, 2, 9, 30, 5, tzinfo=SEOUL).astimezone(dt.UTC).isoformat()
    other = await scheduler.post_now("C2")  # another channel keeps its own window
    assert other.summary["since"] == (later - dt.timedelta(hours=24)).isoformat()

    clock.now = dt.datetime(2026, 3, 3, 9, 30, 5, tzinfo=SEOUL).astimezone(dt.UTC)
    nextday = await scheduler.run_digest("C1")
    assert nextday.posted is not None and nextday.posted.summary["since"] == later.isoformat()
    posted = [c.args for c in double.calls("chat.postMessage") if c.args.get("channel") == "C1"]
    assert "since the previous digest in this channel" in json.dumps(posted[-1], ensure_ascii=False)

    shown = text(await handle_digest_command(store, scheduler, "C2", command("digest show"), tz=SEOUL))
    assert "Last digest: 2026-03-02 11:00 KST" in shown  # a `digest now` post counts as the last digest
