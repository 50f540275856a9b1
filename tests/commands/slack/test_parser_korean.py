"""Korean words in `/invoice` text mean exactly what their English words mean (parser/korean.py)."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from commands.ledger import Standing
from commands.slack.parser import (
    CommandError,
    DestroyCommand,
    DigestCommand,
    ExportCommand,
    HelpCommand,
    IssueCommand,
    ListCommand,
    ResendCommand,
    parse_command,
    parse_ref,
)
from commands.slack.parser.korean import KIND_KO, PROVIDER_KO, STATE_KO, SUBCOMMAND_KO, jamo
from commands.slack.parser.tokens import suggest
from providers.models import DocumentKind, DocumentState, Provider, ResendChannel

TODAY = dt.date(2024, 5, 17)


def parse(text: str) -> object:
    return parse_command(text, today=TODAY)


def refusal(text: str) -> CommandError:
    with pytest.raises(CommandError) as info:
        parse_command(text, today=TODAY)
    return info.value


@pytest.mark.parametrize(("text", "expected"), [
    ("발행", IssueCommand()),
    ("도움말", HelpCommand()),
    ("list 팝빌", ListCommand(provider=Provider.POPBILL)),
    ("목록 결제선생", ListCommand(provider=Provider.PAYSSAM)),
    ("issue popbill 세금계산서", IssueCommand(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE)),
    ("발행 팝빌 세금계산서", IssueCommand(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE)),
    ("발행 하이웍스 거래명세서", IssueCommand(provider=Provider.HIWORKS, kind=DocumentKind.STATEMENT)),
    ("발행 아빌리파이", IssueCommand(provider=Provider.ABILLIFY)),
    ("발행 팝빌 현금영수증", IssueCommand(provider=Provider.POPBILL, kind=DocumentKind.CASH_RECEIPT)),
    ("발행 결제선생 청구서", IssueCommand(provider=Provider.PAYSSAM, kind=DocumentKind.BILL)),
    ("발행 팝빌 영세율", IssueCommand(provider=Provider.POPBILL, kind=DocumentKind.ZERO_RATED_INVOICE)),
    ("발행 팝빌 계산서", IssueCommand(provider=Provider.POPBILL, kind=DocumentKind.EXEMPT_INVOICE)),
    ("도움말 발행", HelpCommand(topic="issue")),
    ("도움말 휴폐업", HelpCommand(topic="closure")),
    ("목록 대기", ListCommand(pending=True)),
    ("요약 지금", DigestCommand(action="now")),
    ("다이제스트 보기", DigestCommand(action="show")),
    ("요약 끄기", DigestCommand(action="off")),
])
def test_korean_words_parse_as_their_english_words(text: str, expected: object) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("word", "english"), sorted(SUBCOMMAND_KO.items()))
def test_every_korean_subcommand_is_its_english_subcommand(word: str, english: str) -> None:
    samples = {"status": " INV-1", "resend": " INV-1", "destroy": " INV-1", "closure": " 220-81-62517",
               "digest": " now", "retry": " 42", "lang": " ko"}
    suffix = samples.get(english, "")
    try:
        korean = parse(word + suffix)
    except CommandError as error:  # `lang` arrives with the language branch: refused alike in both
        with pytest.raises(CommandError):
            parse(english + suffix)
        assert english == "lang", error
        return
    assert korean == parse(english + suffix)


@pytest.mark.parametrize(("word", "english"), sorted(STATE_KO.items()))
def test_every_korean_state_lists_like_its_english_word(word: str, english: str) -> None:
    assert parse(f"목록 {word}") == parse(f"list {english}")


def test_korean_states_reach_the_existing_states_and_standings() -> None:
    assert parse("목록 전송실패 팝빌") == ListCommand(state=DocumentState.FILING_FAILED, provider=Provider.POPBILL)
    assert parse("목록 전송중") == ListCommand(state=DocumentState.FILING)
    assert parse("목록 전송완료") == ListCommand(state=DocumentState.FILED)
    assert parse("목록 미결제") == ListCommand(state=DocumentState.UNPAID)
    assert parse("목록 결제") == ListCommand(state=DocumentState.PAID)
    assert parse("목록 만료") == ListCommand(state=DocumentState.EXPIRED)
    assert parse("목록 발행") == ListCommand(state=DocumentState.ISSUED)
    assert parse("목록 취소") == ListCommand(standing=Standing.CANCELLED)


@pytest.mark.parametrize(("word", "english"), sorted({**PROVIDER_KO, **KIND_KO}.items()))
def test_every_korean_provider_and_kind_issues_like_its_english_word(word: str, english: str) -> None:
    assert parse(f"발행 {word}") == parse(f"issue {english}")


def test_destroy_with_a_korean_reason_keeps_the_reason() -> None:
    assert parse("취소 INV-7 공급가액 오류") == DestroyCommand(ref=parse_ref("INV-7"), reason="공급가액 오류")


def test_resend_channels_in_korean() -> None:
    sms = parse("재발송 INV-1 문자 010-1234-5678")
    assert isinstance(sms, ResendCommand) and sms.channel is ResendChannel.SMS and sms.address == "01012345678"
    talk = parse("재전송 INV-1 카톡")
    assert isinstance(talk, ResendCommand) and talk.channel is ResendChannel.TALK


def test_decomposed_hangul_is_read_as_composed() -> None:
    text = unicodedata.normalize("NFD", "발행 팝빌 세금계산서")
    assert text != "발행 팝빌 세금계산서"
    assert parse(text) == IssueCommand(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE)


@pytest.mark.parametrize(("typed", "meant"), [
    ("발헹", "발행"), ("목럭", "목록"), ("도음말", "도움말"), ("isue", "issue"), ("lsit", "list"),
])
def test_a_typo_suggests_the_word_in_its_own_language(typed: str, meant: str) -> None:
    err = refusal(typed)
    assert f"Did you mean `{meant}`?" in err.message
    assert "Usage: `/invoice" in err.message


def test_typos_of_korean_arguments_suggest_korean_words() -> None:
    assert "Did you mean `팝빌`?" in refusal("발행 팝비").message
    assert "Did you mean `결제`?" in refusal("목록 결재").message
    assert "Did you mean `세금계산서`?" in refusal("발행 팝빌 세금게산서").message


def test_jamo_makes_one_wrong_vowel_a_small_distance() -> None:
    assert len(jamo("발행")) == 6
    # syllable by syllable `발헹` shares half of `발행`; as jamo it shares five of six
    assert suggest("발헹", ["발행", "상태"]) == "발행"
    assert suggest("헹", ["행"]) == "행"
    assert suggest("사과", ["issue", "list"]) is None


def test_export_in_the_hometax_layout_in_either_language() -> None:
    hometax = ExportCommand(start=dt.date(2024, 5, 1), end=dt.date(2024, 5, 31), layout="hometax")
    assert parse("export hometax 2024-05-01 2024-05-31") == hometax
    assert parse("내보내기 홈택스 2024-05-01 2024-05-31") == hometax
    assert parse("export 2024-05-01 2024-05-31") == hometax.model_copy(update={"layout": "standard"})
