"""Who reads which language: the person's choice, the workspace, their Slack locale, the channel majority."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackDoubleThread, SlackWebApiDouble
from commands.ledger import Store
from commands.slack.language import FAILED_LOOKUP_RETRY, Languages, majority_language


@pytest.fixture
async def slack() -> AsyncIterator[tuple[SlackWebApiDouble, AsyncWebClient]]:
    thread = SlackDoubleThread(SlackWebApiDouble(valid_tokens={"xoxb-t"}))
    url = thread.start()
    double = thread.double
    double.add_user("U_KIM", locale="ko-KR")
    double.add_user("U_ANNA", locale="en-GB")
    double.add_user("U_PIERRE", locale="fr-FR")
    try:
        yield double, AsyncWebClient(token="xoxb-t", base_url=url)
    finally:
        thread.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_person_reads_their_slack_locale_and_it_is_remembered(
        store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]) -> None:
    double, client = slack
    languages = Languages("auto", store=store, client=client)

    assert await languages.for_person("U_KIM") == "ko"
    assert await languages.for_person("U_ANNA") == "en"
    # French is not ours: the channel language (here the majority, a tie: Korean)
    assert await languages.for_person("U_PIERRE") == "ko"
    lookups = [c.args for c in double.calls("users.info")]
    assert all(str(a.get("include_locale")).lower() in ("true", "1") for a in lookups) and len(lookups) == 3
    assert (await store.user_prefs.get("U_KIM")).slack_locale == "ko-KR"  # type: ignore[union-attr]


async def test_the_choice_beats_the_workspace_which_beats_slack(
        store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]) -> None:
    _double, client = slack
    fixed = Languages("en", store=store, client=client)
    assert await fixed.for_person("U_KIM") == "en"  # the workspace says English for everyone
    await fixed.choose("U_KIM", "ko")
    assert await fixed.for_person("U_KIM") == "ko"  # ... but Kim chose Korean
    assert await fixed.for_channel() == "en"
    await fixed.choose("U_KIM", None)
    assert await fixed.for_person("U_KIM") == "en"


async def test_answers_are_cached_for_the_ttl(store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]) -> None:
    double, client = slack
    clock = Clock()
    languages = Languages("auto", store=store, client=client, ttl=60, monotonic=clock)
    assert await languages.for_person("U_KIM") == "ko"
    double.set_locale("U_KIM", "en-US")
    clock.now = 59
    assert await languages.for_person("U_KIM") == "ko"
    clock.now = 61
    assert await languages.for_person("U_KIM") == "en"
    assert len(double.calls("users.info")) == 2


async def test_a_failed_lookup_falls_back_to_the_channel_language(store: Store,
                                                                  slack: tuple[SlackWebApiDouble,
                                                                               AsyncWebClient]) -> None:
    _double, client = slack
    languages = Languages("auto", store=store, client=client)
    assert await languages.for_person("U_NOBODY") == "ko"  # user_not_found: Korean, nobody known yet
    await store.user_prefs.record_slack_locale("U1", "en-US")
    await store.user_prefs.record_slack_locale("U2", "en-US")
    await store.user_prefs.record_slack_locale("U3", "ko-KR")
    assert await Languages("auto", store=store, client=client).for_person("U_GONE") == "en"


def test_the_channel_language_is_what_most_people_read_and_korean_when_unknown_or_tied() -> None:
    assert majority_language(Counter()) == "ko"
    assert majority_language(Counter({(None, "en-US"): 3, (None, "ko-KR"): 2})) == "en"
    assert majority_language(Counter({("ko", "en-US"): 3, (None, "en-US"): 2})) == "ko"  # a choice counts
    assert majority_language(Counter({(None, "en-US"): 2, (None, "ko-KR"): 2})) == "ko"
    assert majority_language(Counter({(None, "fr-FR"): 9})) == "ko"


def test_an_unknown_workspace_language_is_refused() -> None:
    with pytest.raises(ValueError, match="ko, en or auto"):
        Languages("fr")




async def test_a_workspaces_own_language_setting_applies_at_once(
        store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]) -> None:
    _double, client = slack
    languages = Languages("auto", store=store, client=client)
    setting: list[str | None] = ["en"]

    async def workspace_language() -> str | None:
        return setting[0]

    languages.use_workspace_setting(workspace_language)
    assert await languages.for_person("U_KIM") == "en" and await languages.for_channel() == "en"
    setting[0] = "auto"  # saved on the settings page: no waiting for a cache
    assert await languages.for_person("U_KIM") == "ko"
    setting[0] = None  # nothing saved: the environment's setting
    assert await languages.for_person("U_ANNA") == "en"


async def test_a_failed_lookup_is_tried_again_after_a_minute_not_after_the_ttl(
        store: Store, slack: tuple[SlackWebApiDouble, AsyncWebClient]) -> None:
    double, client = slack
    clock = Clock()
    languages = Languages("auto", store=store, client=client, ttl=3600, monotonic=clock)
    assert await languages.for_person("U_LATE") == "ko"  # not known to Slack yet: the channel language
    double.add_user("U_LATE", locale="en-US")

    clock.now = FAILED_LOOKUP_RETRY - 1
    assert await languages.for_person("U_LATE") == "ko"  # not asked again at once (each click would wait)
    assert len(double.calls("users.info")) == 1
    clock.now = FAILED_LOOKUP_RETRY + 1
    assert await languages.for_person("U_LATE") == "en"
    assert len(double.calls("users.info")) == 2
    clock.now = FAILED_LOOKUP_RETRY + 3000  # an answer is kept for the whole ttl
    assert await languages.for_person("U_LATE") == "en" and len(double.calls("users.info")) == 2
