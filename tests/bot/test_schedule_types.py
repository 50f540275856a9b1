"""The test-only digest second (INVOICEBOT_TEST_DIGEST_SECOND): inert unless set, and when set
the cron firing, the catch-up and the lateness check all agree on HH:MM:SS.

The replica end-to-end test (`tests/app/test_replicas.py`) sets it so three processes race for a
digest's cron firing a few seconds away instead of waiting up to two minutes for a whole minute.
"""

from __future__ import annotations

import datetime as dt

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble
from bot.schedule_types import DIGEST_SECOND, digest_due_second, last_occurrence
from bot.scheduler import RunOutcome
from commands.ledger import Store
from tests.bot.test_scheduler import SEOUL, FrozenClock, kst, make_scheduler


def test_unset_the_digest_falls_due_on_the_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DIGEST_SECOND, raising=False)
    assert digest_due_second() == 0
    assert last_occurrence(kst(9, 0, 10).astimezone(dt.UTC), "09:00", SEOUL) == kst(9, 0)


def test_a_second_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DIGEST_SECOND, "60")
    with pytest.raises(ValueError, match=DIGEST_SECOND):
        digest_due_second()


def test_the_last_occurrence_honours_the_second() -> None:
    assert last_occurrence(kst(9, 0, 40).astimezone(dt.UTC), "09:00", SEOUL, 30) == kst(9, 0, 30)
    assert last_occurrence(kst(9, 0, 10).astimezone(dt.UTC), "09:00", SEOUL, 30) == kst(9, 0, 30, day=1)


async def test_set_the_cron_catch_up_and_run_agree_on_the_second(
        store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DIGEST_SECOND, "30")
    double, client = slack
    clock = FrozenClock(kst(8, 0))
    await make_scheduler(store, client, clock, "setup").schedule("C1", "09:00")

    clock.set(kst(9, 0, 10))  # a start between 09:00:00 and the firing: nothing is due yet
    scheduler = make_scheduler(store, client, clock, "a")
    await scheduler.start()
    await scheduler.idle()
    assert scheduler.next_run("C1") == kst(9, 0, 30)
    assert double.calls("chat.postMessage") == []

    clock.set(kst(9, 0, 30))  # the cron firing
    assert (await scheduler.run_digest("C1")).outcome is RunOutcome.POSTED
    assert len(double.calls("chat.postMessage")) == 1
    await scheduler.shutdown()
