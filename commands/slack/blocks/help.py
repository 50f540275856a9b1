"""``/invoice help``: every subcommand with its usage, or one subcommand with examples."""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.models.blocks import Block, DividerBlock

from commands.i18n import _, current_locale
from commands.slack.blocks.kit import context, header, section
from commands.slack.parser import SUMMARY, USAGE
from commands.slack.parser.korean import KIND_KO, PROVIDER_KO, STATE_KO, SUBCOMMAND_KO, korean_words_for

__all__ = ["build_help_message", "help_text"]

_EXAMPLES: Mapping[str, tuple[str, ...]] = {
    "help": ("/invoice help status",),
    "issue": ("/invoice issue", "/invoice issue popbill tax", "/invoice issue payssam bill"),
    "status": ("/invoice status INV-000123", "/invoice status popbill:20240502-001"),
    "resend": ("/invoice resend INV-000123", "/invoice resend INV-000123 email billing@example.co.kr",
               "/invoice resend payssam:B0001 talk"),
    "destroy": ("/invoice destroy INV-000123 wrong amount",),
    "closure": ("/invoice closure 123-45-67890, 220-81-62517",),
    "list": ("/invoice list", "/invoice list pending", "/invoice list filing_failed popbill"),
    "export": ("/invoice export", "/invoice export 2024-04-01 2024-04-30", "/invoice export hometax"),
    "digest": ("/invoice digest schedule 09:00", "/invoice digest schedule 18:30 Europe/Berlin",
               "/invoice digest now", "/invoice digest off"),
    "retry": ("/invoice retry INV-000123", "/invoice retry 42"),
}


#: Korean examples, shown first when the reader's language is Korean
_EXAMPLES_KO: Mapping[str, tuple[str, ...]] = {
    "help": ("/invoice 도움말 상태",),
    "issue": ("/invoice 발행", "/invoice 발행 팝빌 세금계산서", "/invoice 발행 결제선생 청구서"),
    "status": ("/invoice 상태 INV-000123",),
    "resend": ("/invoice 재발송 INV-000123 이메일 billing@example.co.kr", "/invoice 재전송 payssam:B0001 카톡"),
    "destroy": ("/invoice 취소 INV-000123 금액 오류",),
    "closure": ("/invoice 휴폐업 123-45-67890, 220-81-62517",),
    "list": ("/invoice 목록", "/invoice 목록 대기", "/invoice 목록 전송실패 팝빌"),
    "export": ("/invoice 내보내기 2024-04-01 2024-04-30", "/invoice 내보내기 홈택스"),
    "digest": ("/invoice 요약 예약 09:00", "/invoice 요약 지금", "/invoice 요약 끄기"),
    "retry": ("/invoice 재시도 INV-000123",),
}


def _korean_words(name: str) -> str:
    """` (발행)` after a subcommand when the reader reads Korean, else nothing."""
    words = korean_words_for(name, SUBCOMMAND_KO)
    if current_locale() != "ko" or not words:
        return ""
    return " (" + ", ".join(f"`{w}`" for w in words) + ")"


def _korean_vocabulary() -> Block:
    """The Korean words for providers, kinds and states, for a Korean reader of the help."""
    def listed(table: Mapping[str, str]) -> str:
        return ", ".join(f"`{ko}` {en}" for ko, en in table.items())

    return context(_("Korean words: providers {providers}; kinds {kinds}; states {states}.").format(
        providers=listed(PROVIDER_KO), kinds=listed(KIND_KO), states=listed(STATE_KO)))


def build_help_message(topic: str | None = None) -> list[Block]:
    """Help for every subcommand, or the details of one (`topic`).

    When the current locale is Korean, each subcommand also shows its Korean words
    (`발행` for `issue`) and the examples start with Korean ones.
    """
    if topic is not None and topic in USAGE:
        korean = _EXAMPLES_KO.get(topic, ()) if current_locale() == "ko" else ()
        examples = "\n".join(f"`{e}`" for e in (*korean, *_EXAMPLES.get(topic, ())))
        return [
            header(f"/invoice {topic}"),
            section(f"{SUMMARY[topic]}{_korean_words(topic)}\n\n*Usage*\n`{USAGE[topic]}`"),
            section(f"*Examples*\n{examples}"),
        ]
    blocks: list[Block] = [
        header("/invoice — invoicing from Slack"),
        section("Issue and follow tax invoices, bills and receipts with Popbill, Payssam, Hiworks and Abillify. "
                "Anything that sends a document asks an approver first."),
        DividerBlock(),
    ]
    lines = [f"`{USAGE[name]}`{_korean_words(name)}\n{SUMMARY[name]}" for name in USAGE]
    blocks.extend(section("\n\n".join(lines[i:i + 5])) for i in range(0, len(lines), 5))
    blocks.append(context("References: `INV-000123` (ours) or `popbill:<MgtKey>`, `cashbill:<MgtKey>`, "
                          "`payssam:<billId>`, `hiworks:<documentId>`, `abillify:<reference>`. "
                          "`/invoice help <subcommand>` shows examples."))
    if current_locale() == "ko":
        blocks.append(_korean_vocabulary())
    return blocks


def help_text(topic: str | None = None) -> str:
    if topic is not None and topic in USAGE:
        return f"{USAGE[topic]} — {SUMMARY[topic]}"
    return "/invoice help: " + ", ".join(USAGE)
