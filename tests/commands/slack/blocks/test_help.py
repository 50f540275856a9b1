"""`/invoice help` lists the Korean words when the reader's language is Korean (blocks/help.py)."""

from __future__ import annotations

import json

from commands.i18n import use_locale
from commands.slack.blocks.help import build_help_message


def rendered(topic: str | None = None) -> str:
    return json.dumps([b.to_dict() for b in build_help_message(topic)], ensure_ascii=False)


def test_korean_help_shows_each_subcommands_korean_words() -> None:
    with use_locale("ko"):
        text = rendered()
    for word in ("`발행`", "`상태`", "`재발송`", "`재전송`", "`취소`", "`삭제`", "`휴폐업`", "`목록`", "`내보내기`",
                 "`요약`", "`다이제스트`", "`재시도`", "`도움말`"):
        assert word in text, word
    for word in ("`팝빌`", "`결제선생`", "`하이웍스`", "`아빌리파이`", "`세금계산서`", "`현금영수증`", "`전송실패`"):
        assert word in text, word


def test_korean_help_for_one_subcommand_starts_with_korean_examples() -> None:
    with use_locale("ko"):
        blocks = [b.to_dict() for b in build_help_message("issue")]
    examples = blocks[-1]["text"]["text"]
    assert examples.index("/invoice 발행 팝빌 세금계산서") < examples.index("/invoice issue popbill tax")


def test_english_help_is_unchanged_by_the_korean_words() -> None:
    with use_locale("en"):
        text = rendered() + rendered("issue")
    assert "발행" not in text and "팝빌" not in text
