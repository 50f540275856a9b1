"""The current locale is per context, and unknown locales never replace a known one."""

from __future__ import annotations

from commands.i18n import _, current_locale, normalise_locale, use_locale


def test_slack_locale_forms_reduce_to_the_language_we_speak() -> None:
    assert normalise_locale("ko-KR") == "ko"
    assert normalise_locale("en_US") == "en"
    assert normalise_locale("fr-FR") is None
    assert normalise_locale("") is None


def test_use_locale_sets_and_restores_the_current_locale() -> None:
    before = current_locale()
    with use_locale("ko-KR"):
        assert current_locale() == "ko"
        with use_locale("xx"):
            assert current_locale() == "ko"
    assert current_locale() == before


def test_an_unknown_message_is_shown_as_written() -> None:
    with use_locale("ko"):
        assert _("no such message anywhere 4711") == "no such message anywhere 4711"
