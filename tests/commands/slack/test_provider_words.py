"""Provider sentences a person reads: translated where we know them, Popbill's English gloss dropped in Korean."""

from __future__ import annotations

from commands.i18n import use_locale
from commands.slack.provider_words import provider_words

POPBILL = ("popbill: [-11000005] getInfo: 해당 문서번호에 해당하는 세금계산서가 존재하지 않습니다. "
           "(Document ID does not exist)")


def test_known_sentences_are_translated_with_their_values() -> None:
    with use_locale("ko"):
        assert provider_words("The provider is rate-limiting us. Try again in 3 s.") == (
            "제공사가 요청 수를 제한하고 있습니다. 3초 뒤 다시 시도하세요.")
        assert provider_words("'12' has 2 digits; a business number has 10 (e.g. 123-45-67890)") == (
            "'12'은(는) 2자리입니다. 사업자등록번호는 10자리입니다(예: 123-45-67890).")
    with use_locale("en"):
        assert provider_words("could not connect (ConnectError)") == "could not connect (ConnectError)"


def test_popbills_korean_message_loses_its_english_gloss_only_in_korean() -> None:
    with use_locale("ko"):
        assert provider_words(POPBILL).endswith("존재하지 않습니다.")
    with use_locale("en"):
        assert provider_words(POPBILL) == POPBILL


def test_an_unknown_sentence_is_shown_as_written() -> None:
    with use_locale("ko"):
        assert provider_words("something new (code 7)") == "something new (code 7)"
