"""Scheduled digest runs: once a day even when the replica holding one dies, never too late, and a
Slack error gives the day back."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble
from bot.digest_runs import RETRY_AFTER, DigestRuns
from bot.schedule_types import RunOutcome
from commands.ledger import Store
from commands.slack.digest import DigestPublisher, PostedDigest
from commands.slack.digest.post import DIGEST_EVENT_TYPE, digest_metadata

SEOUL = ZoneInfo("Asia/Seoul")
DUE = dt.datetime(2026, 11, 30, 9, 0, tzinfo=SEOUL)
GRACE = dt.timedelta(minutes=30)


class Poster:
    """Posts (or fails to post) and remembers each attempt."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.posted: list[tuple[str, dt.date | None]] = []

    async def publish(self, channel: str, *, day: dt.date | None = None, tz: dt.tzinfo | None = None,
                      workspace: object = None) -> PostedDigest:
        if self.fail:
            raise SlackApiError("channel_not_found", {"ok": False, "error": "channel_not_found"})
        self.posted.append((channel, day))
        return PostedDigest(channel=channel, message_ts="1.1", day=day, file_id=None, summary={})


def runs(store: Store, poster: Poster, at: dt.datetime, instance: str = "a") -> DigestRuns:
    return DigestRuns(store, poster, grace=GRACE, instance_id=instance, clock=lambda: at)


async def test_the_days_digest_is_posted_once_whichever_instance_runs_it(store: Store) -> None:
    schedule = await store.digests.upsert_schedule("C_FIN", time="09:00", timezone="Asia/Seoul")
    poster = Poster()

    first = await runs(store, poster, DUE + dt.timedelta(minutes=1), "a").post_due(schedule)
    second = await runs(store, poster, DUE + dt.timedelta(minutes=2), "b").post_due(schedule)

    assert (first.run.outcome, second.run.outcome) == (RunOutcome.POSTED, RunOutcome.ALREADY_CLAIMED)
    assert poster.posted == [("C_FIN", DUE.date())]


async def test_a_digest_past_its_grace_period_is_skipped(store: Store) -> None:
    schedule = await store.digests.upsert_schedule("C_FIN", time="09:00", timezone="Asia/Seoul")
    poster = Poster()

    late = await runs(store, poster, DUE + GRACE + dt.timedelta(minutes=1)).post_due(schedule)

    assert late.run.outcome is RunOutcome.TOO_LATE and poster.posted == []
    assert await store.digests.get_run("C_FIN", DUE.date()) is None  # nothing claimed


async def test_a_slack_error_gives_the_day_back_and_asks_for_a_retry_only_within_the_grace(store: Store) -> None:
    schedule = await store.digests.upsert_schedule("C_FIN", time="09:00", timezone="Asia/Seoul")

    early = await runs(store, Poster(fail=True), DUE + dt.timedelta(minutes=1)).post_due(schedule)
    assert early.run.outcome is RunOutcome.FAILED and early.retry
    assert await store.digests.get_run("C_FIN", DUE.date()) is None  # claim given back

    near_the_end = DUE + GRACE - RETRY_AFTER + dt.timedelta(minutes=1)
    late = await runs(store, Poster(fail=True), near_the_end).post_due(schedule)
    assert late.run.outcome is RunOutcome.FAILED and not late.retry

    poster = Poster()
    retried = await runs(store, poster, near_the_end).post_due(schedule)
    assert retried.run.outcome is RunOutcome.POSTED and poster.posted == [("C_FIN", DUE.date())]


async def test_catch_up_lists_only_the_due_and_unclaimed_schedules(store: Store) -> None:
    due = await store.digests.upsert_schedule("C_DUE", time="09:00", timezone="Asia/Seoul")
    await store.digests.upsert_schedule("C_LATER", time="17:00", timezone="Asia/Seoul")
    await store.digests.upsert_schedule("C_DONE", time="09:00", timezone="Asia/Seoul")
    assert await store.claim_digest_run("C_DONE", DUE.date(), "earlier-instance")

    found = await runs(store, Poster(), DUE + dt.timedelta(minutes=5)).due_unclaimed()

    assert [r.channel_id for r in found] == [due.channel_id]


# -- a replica that dies holding the day's digest -------------------------------------------------
class Clock:
    """One "now" for the bot and the Slack double (message ts are read from it)."""

    def __init__(self, at: dt.datetime) -> None:
        self.now = at

    def __call__(self) -> dt.datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()


@pytest.fixture
async def slack_at_due() -> AsyncIterator[tuple[SlackWebApiDouble, AsyncWebClient, Clock]]:
    clock = Clock(DUE + dt.timedelta(minutes=1))
    double = SlackWebApiDouble(clock=clock.epoch)
    client = AsyncWebClient(token="xoxb-test", base_url=await double.start())
    yield double, client, clock
    await double.stop()


def real_runs(store: Store, client: AsyncWebClient, clock: Clock, instance: str) -> DigestRuns:
    publisher = DigestPublisher(store, client, tz="Asia/Seoul", clock=clock, chart=False)
    return DigestRuns(store, publisher, grace=GRACE, instance_id=instance, clock=clock, lease=LEASE, client=client)


LEASE = dt.timedelta(seconds=20)


def digests_in(double: SlackWebApiDouble, channel: str) -> list[dict[str, object]]:
    return [m for m in double.messages_in(channel) if (m.get("metadata") or {}).get("event_type") == DIGEST_EVENT_TYPE]


async def test_a_digest_posted_by_a_claimer_that_then_died_is_not_posted_again(
        store: Store, slack_at_due: tuple[SlackWebApiDouble, AsyncWebClient, Clock]) -> None:
    double, client, clock = slack_at_due
    schedule = await store.digests.upsert_schedule("C_FIN", time="09:00", timezone="Asia/Seoul")
    dead = real_runs(store, client, clock, "dead")
    lease = await dead.leases.claim("C_FIN", DUE.date(), "dead", ttl=LEASE, now=clock())
    assert lease is not None
    # the dead replica got as far as Slack's answer, and died before recording it
    clock.now += dt.timedelta(seconds=2)
    await client.chat_postMessage(channel="C_FIN", text="digest", metadata=digest_metadata("C_FIN", DUE.date()))
    posted_ts = double.messages_in("C_FIN")[-1]["ts"]

    clock.now += LEASE
    taker = await real_runs(store, client, clock, "b").post_due(schedule)

    assert taker.run.outcome is RunOutcome.RECONCILED
    assert len(digests_in(double, "C_FIN")) == 1
    history = double.calls("conversations.history")
    assert len(history) == 1 and history[0].args["include_all_metadata"] in (True, "1", "true")
    assert float(history[0].args["oldest"]) <= lease.claimed_at.timestamp()
    run = await store.digests.get_run("C_FIN", DUE.date())
    assert run is not None and run.message_ts == posted_ts and run.posted_at is not None
    # and it is done: later takers find nothing to take over
    clock.now += LEASE * 2
    assert (await real_runs(store, client, clock, "c").post_due(schedule)).run.outcome is RunOutcome.ALREADY_CLAIMED
    assert len(digests_in(double, "C_FIN")) == 1


async def test_a_digest_whose_claimer_died_before_posting_is_posted_by_another_replica(
        store: Store, slack_at_due: tuple[SlackWebApiDouble, AsyncWebClient, Clock]) -> None:
    double, client, clock = slack_at_due
    schedule = await store.digests.upsert_schedule("C_FIN", time="09:00", timezone="Asia/Seoul")
    # yesterday's digest and a message of another run are in the channel: neither is today's
    yesterday = DUE.date() - dt.timedelta(days=1)
    await client.chat_postMessage(channel="C_FIN", text="older", metadata=digest_metadata("C_FIN", yesterday))
    clock.now += dt.timedelta(seconds=5)
    await client.chat_postMessage(channel="C_FIN", text="another run",
                                  metadata=digest_metadata("C_OPS", DUE.date()))
    dead = real_runs(store, client, clock, "dead")
    assert await dead.leases.claim("C_FIN", DUE.date(), "dead", ttl=LEASE, now=clock()) is not None

    clock.now += dt.timedelta(seconds=10)
    live = await real_runs(store, client, clock, "b").post_due(schedule)
    assert live.run.outcome is RunOutcome.ALREADY_CLAIMED  # the lease still runs: maybe alive, not taken

    clock.now += LEASE
    taker = await real_runs(store, client, clock, "b").post_due(schedule)

    assert taker.run.outcome is RunOutcome.POSTED
    assert [m["text"] for m in digests_in(double, "C_FIN")][:2] == ["older", "another run"]
    assert len(digests_in(double, "C_FIN")) == 3  # the two above and today's, once
    today = digests_in(double, "C_FIN")[-1]
    assert today["metadata"] == digest_metadata("C_FIN", DUE.date())
    run = await store.digests.get_run("C_FIN", DUE.date())
    assert run is not None and run.claimed_by == "b" and run.message_ts == today["ts"]
    clock.now += LEASE * 2
    assert (await real_runs(store, client, clock, "c").post_due(schedule)).run.outcome is RunOutcome.ALREADY_CLAIMED
