"""Scheduled digest runs: at most once a day, never too late, and a Slack error gives the day back."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from bot.digest_runs import RETRY_AFTER, DigestRuns
from bot.schedule_types import RunOutcome
from commands.ledger import Store
from commands.slack.digest import PostedDigest

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
