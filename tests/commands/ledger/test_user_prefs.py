"""user_prefs: a person's chosen language and their Slack locale, one row per person."""

from __future__ import annotations

from commands.ledger import Store


async def test_a_choice_and_a_slack_locale_are_kept_apart_and_counted(store: Store) -> None:
    assert await store.user_prefs.get("U1") is None
    await store.user_prefs.record_slack_locale("U1", "ko-KR")
    await store.user_prefs.set_language("U1", "en")
    await store.user_prefs.record_slack_locale("U1", "ko-KR")  # a later lookup keeps the choice
    await store.user_prefs.record_slack_locale("U2", "ko-KR")
    await store.user_prefs.record_slack_locale("U3", "en-US")

    mine = await store.user_prefs.get("U1")
    assert mine is not None and (mine.language, mine.slack_locale) == ("en", "ko-KR")
    assert await store.user_prefs.locale_counts() == {("en", "ko-KR"): 1, (None, "ko-KR"): 1, (None, "en-US"): 1}

    await store.user_prefs.set_language("U1", None)  # "auto": back to the Slack locale
    again = await store.user_prefs.get("U1")
    assert again is not None and again.language is None
