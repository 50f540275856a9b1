"""A burst from a person not yet known costs one lookup, not one per request.

`/invoice status` at c=200: every request of the burst asked for its person's language while the
first lookup was still under way, so each sent its own `user_prefs` SELECT and its own
``users.info``. Lookups under way are shared (counted here), and a choice recorded meanwhile is
not overwritten by an answer read before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackDoubleThread, SlackWebApiDouble
from commands.ledger import Store
from commands.slack.language import Languages


@pytest.fixture
async def slack() -> AsyncIterator[tuple[SlackWebApiDouble, AsyncWebClient]]:
    thread = SlackDoubleThread(SlackWebApiDouble(valid_tokens={"xoxb-t"}))
    url = thread.start()
    thread.double.add_user("U_KIM", locale="ko-KR")
    thread.double.add_user("U_ANNA", locale="en-GB")
    try:
        yield thread.double, AsyncWebClient(token="xoxb-t", base_url=url)
    finally:
        thread.stop()


class Counting:
    """Counts the ledger reads `Languages` makes (wrapping the store's `user_prefs`)."""

    def __init__(self, store: Store) -> None:
        self.gets = 0
        self.counts = 0
        get, counts = store.user_prefs.get, store.user_prefs.locale_counts

        async def counted_get(user_id: str):  # type: ignore[no-untyped-def]
            self.gets += 1
            return await get(user_id)

        async def counted_counts():  # type: ignore[no-untyped-def]
            self.counts += 1
            return await counts()

        store.user_prefs.get = counted_get  # type: ignore[method-assign]
        store.user_prefs.locale_counts = counted_counts  # type: ignore[method-assign]


async def test_a_burst_from_one_new_person_reads_the_ledger_and_slack_once(
        store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]) -> None:
    double, client = slack
    reads = Counting(store)
    languages = Languages("auto", store=store, client=client)

    answers = await asyncio.gather(*(languages.for_person("U_KIM") for _ in range(50)))

    assert answers == ["ko"] * 50
    assert reads.gets == 1
    assert len(double.calls("users.info")) == 1
    assert await languages.for_person("U_KIM") == "ko" and reads.gets == 1  # and then cached


async def test_a_burst_of_channel_language_reads_counts_the_people_once(store: Store) -> None:
    reads = Counting(store)
    await store.user_prefs.record_slack_locale("U1", "en-US")
    languages = Languages("auto", store=store)

    answers = await asyncio.gather(*(languages.for_channel() for _ in range(30)))

    assert answers == ["en"] * 30 and reads.counts == 1


async def test_different_people_are_looked_up_apart(
        store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]) -> None:
    double, client = slack
    reads = Counting(store)
    languages = Languages("auto", store=store, client=client)

    answers = await asyncio.gather(languages.for_person("U_KIM"), languages.for_person("U_ANNA"),
                                   languages.for_person("U_KIM"))

    assert list(answers) == ["ko", "en", "ko"] and reads.gets == 2 and len(double.calls("users.info")) == 2


async def test_a_choice_made_while_a_lookup_runs_is_not_overwritten_by_it(
        store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]) -> None:
    _double, client = slack
    languages = Languages("auto", store=store, client=client)
    get = store.user_prefs.get
    release = asyncio.Event()

    async def slow_get(user_id: str):  # type: ignore[no-untyped-def]
        record = await get(user_id)  # read before the choice below
        await release.wait()
        return record

    store.user_prefs.get = slow_get  # type: ignore[method-assign]
    first = asyncio.create_task(languages.for_person("U_KIM"))
    await asyncio.sleep(0.05)
    store.user_prefs.get = get  # type: ignore[method-assign]
    await languages.choose("U_KIM", "en")
    release.set()

    assert await first == "ko"  # it asked before the choice
    assert await languages.for_person("U_KIM") == "en"  # the choice holds: the stale answer was not cached


async def test_a_channel_majority_read_before_a_locale_was_learned_is_not_kept_after_it(
        store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]) -> None:
    """A console day under load: the start-up recovery asked for the channel language (nobody known:
    Korean) while the first person's Slack locale was being learned; that answer was cached for an
    hour and the person's approval card came out in Korean although everyone known reads English."""
    _double, client = slack
    languages = Languages("auto", store=store, client=client)
    release = asyncio.Event()
    counts = store.user_prefs.locale_counts

    async def slow_counts():  # type: ignore[no-untyped-def]
        answer = await counts()  # read before the locale is recorded...
        await release.wait()  # ...and answered after
        return answer

    store.user_prefs.locale_counts = slow_counts  # type: ignore[method-assign]
    early = asyncio.create_task(languages.for_channel())
    await asyncio.sleep(0.05)

    assert await languages.for_person("U_ANNA") == "en"  # learns U_ANNA's en-GB
    release.set()
    assert await early == "ko"  # the early asker gets what it read

    assert await languages.for_channel() == "en"  # but it was not kept
