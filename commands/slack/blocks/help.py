"""``/invoice help``: every subcommand with its usage, or one subcommand with examples."""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.models.blocks import Block, DividerBlock

from commands.slack.blocks.kit import context, header, section
from commands.slack.parser import SUMMARY, USAGE

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
    "export": ("/invoice export", "/invoice export 2024-04-01 2024-04-30"),
    "digest": ("/invoice digest schedule 09:00", "/invoice digest schedule 18:30 Europe/Berlin",
               "/invoice digest now", "/invoice digest off"),
    "retry": ("/invoice retry INV-000123", "/invoice retry 42"),
}


def build_help_message(topic: str | None = None) -> list[Block]:
    """Help for every subcommand, or the details of one (`topic`)."""
    if topic is not None and topic in USAGE:
        examples = "\n".join(f"`{e}`" for e in _EXAMPLES.get(topic, ()))
        return [
            header(f"/invoice {topic}"),
            section(f"{SUMMARY[topic]}\n\n*Usage*\n`{USAGE[topic]}`"),
            section(f"*Examples*\n{examples}"),
        ]
    blocks: list[Block] = [
        header("/invoice — invoicing from Slack"),
        section("Issue and follow tax invoices, bills and receipts with Popbill, Payssam, Hiworks and Abillify. "
                "Anything that sends a document asks an approver first."),
        DividerBlock(),
    ]
    lines = [f"`{USAGE[name]}`\n{SUMMARY[name]}" for name in USAGE]
    blocks.extend(section("\n\n".join(lines[i:i + 5])) for i in range(0, len(lines), 5))
    blocks.append(context("References: `INV-000123` (ours) or `popbill:<MgtKey>`, `cashbill:<MgtKey>`, "
                          "`payssam:<billId>`, `hiworks:<documentId>`, `abillify:<reference>`. "
                          "`/invoice help <subcommand>` shows examples."))
    return blocks


def help_text(topic: str | None = None) -> str:
    if topic is not None and topic in USAGE:
        return f"{USAGE[topic]} — {SUMMARY[topic]}"
    return "/invoice help: " + ", ".join(USAGE)
