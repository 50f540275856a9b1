"""The Korean words of ``/invoice``, each mapped to the English word the parser already knows.

A Korean team types `/invoice 발행 팝빌 세금계산서` as naturally as `/invoice issue popbill tax`.
Rather than a second grammar, every Korean word here names one English word of the existing
tables (`tokens.PROVIDER_WORDS`, `KIND_WORDS`, `STATE_WORDS`, `STANDING_WORDS`, the subcommands),
so both languages always mean exactly the same thing and a new English word needs no Korean
twin to keep working.

Input is compared in Unicode NFC (`nfc`): macOS and some IMEs send Hangul decomposed (NFD),
which looks identical but would not match a dictionary key. Suggestions for typos compare
Hangul decomposed into jamo (`jamo`), so `발헹` is one letter away from `발행`, as a person
typing it sees it, instead of one whole syllable away.

Particles (`팝빌로`, `세금계산서를`) are not stripped: the words are commands, not sentences.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

__all__ = [
    "CHANNEL_KO",
    "DIGEST_KO",
    "KIND_KO",
    "LAYOUT_KO",
    "PROVIDER_KO",
    "STATE_KO",
    "SUBCOMMAND_KO",
    "jamo",
    "korean_words_for",
    "nfc",
]

#: subcommand words; `lang` belongs to the per-person language command
SUBCOMMAND_KO: Mapping[str, str] = {
    "발행": "issue",
    "상태": "status",
    "재발송": "resend",
    "재전송": "resend",
    "취소": "destroy",
    "삭제": "destroy",
    "휴폐업": "closure",
    "목록": "list",
    "내보내기": "export",
    "요약": "digest",
    "다이제스트": "digest",
    "재시도": "retry",
    "대량발행": "bulk",
    "일괄발행": "bulk",
    "도움말": "help",
    "기한": "deadlines",  # tax deadlines (발급기한, 전송기한)
    "언어": "lang",
}

PROVIDER_KO: Mapping[str, str] = {
    "팝빌": "popbill",
    "결제선생": "payssam",
    "하이웍스": "hiworks",
    "아빌리파이": "abillify",
}

#: document kinds, to the kind words of `tokens.KIND_WORDS`
KIND_KO: Mapping[str, str] = {
    "세금계산서": "tax",
    "계산서": "exempt",  # 계산서 without 세금 is the VAT-exempt invoice
    "영세율": "zero",
    "영세율세금계산서": "zero",
    "현금영수증": "cash",
    "거래명세서": "statement",
    "청구서": "bill",
}

#: `/invoice 목록 <state>` words, to the state or standing words of `tokens`
STATE_KO: Mapping[str, str] = {
    "발행": "issued",
    "전송중": "filing",  # sent to the NTS, no answer yet
    "전송완료": "filed",
    "전송실패": "failed",
    "미결제": "unpaid",
    "결제": "paid",
    "결제완료": "paid",
    "취소": "cancelled",
    "만료": "expired",
    "대기": "pending",
    "승인대기": "pending",
}

#: `/invoice 재발송 <ref> <channel>` words, to the channel words of `subcommands._resend_channel`
CHANNEL_KO: Mapping[str, str] = {
    "이메일": "email",
    "메일": "email",
    "문자": "sms",
    "팩스": "fax",
    "카카오톡": "talk",
    "카톡": "talk",
    "알림톡": "talk",
}

#: `/invoice 내보내기 <layout>` words
LAYOUT_KO: Mapping[str, str] = {"홈택스": "hometax"}

#: `/invoice 요약 <action>` words
DIGEST_KO: Mapping[str, str] = {
    "예약": "schedule",
    "끄기": "off",
    "지금": "now",
    "보기": "show",
}


def nfc(text: str) -> str:
    """`text` in NFC, so decomposed Hangul (as macOS sends it) matches the words above."""
    return unicodedata.normalize("NFC", text)


def jamo(text: str) -> str:
    """Hangul syllables decomposed into their jamo (NFD), for edit distances a typist means.

    `발행` and `발헹` differ in one of six jamo, not in one of two syllables.
    """
    return unicodedata.normalize("NFD", text)


def korean_words_for(english: str, table: Mapping[str, str]) -> tuple[str, ...]:
    """Every Korean word in `table` that means `english`, in table order (help lists them)."""
    return tuple(ko for ko, en in table.items() if en == english)
