"""``/invoice list``: documents, or the approvals waiting (``list pending``), at most 100 rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock

from commands.slack.blocks.document import document_card_line
from commands.slack.blocks.kit import context, header, lines_sections, section, user_mention
from commands.slack.blocks.models import ApprovalCard, DocumentCard
from commands.slack.formatting import SEOUL, clip, escape_mrkdwn, format_datetime

__all__ = ["MAX_LIST_ROWS", "build_list_message", "build_pending_list_message", "list_text", "pending_list_text"]

MAX_LIST_ROWS = 100  # beyond this a list is unreadable in chat: we point to filters and export


def _more(count: int, hint: str) -> ContextBlock:
    return context(f"… and {count} more. {hint}")


def build_list_message(
    cards: Sequence[DocumentCard],
    *,
    title: str = "Documents",
    total: int | None = None,
    filters: str | None = None,
    tz: dt.tzinfo = SEOUL,
) -> list[Block]:
    """A table-like list, at most MAX_LIST_ROWS rows (and well under 50 blocks), then "and N more".

    Args:
        cards: the documents, newest first.
        total: how many matched in all, when the caller fetched only a page.
        filters: a description of the filters, e.g. "filing_failed · popbill".
    """
    total = max(total or 0, len(cards))
    blocks: list[Block] = [header(title)]
    summary = f"{total} document(s)" + (f" · {escape_mrkdwn(clip(filters, 200))}" if filters else "")
    if any(c.sandbox for c in cards):
        summary += " · 🧪 = SANDBOX document (nothing real was issued)"
    blocks.append(context(summary))
    if not cards:
        blocks.append(section("Nothing matches. Try `/invoice list` without filters."))
        return blocks
    shown = cards[:MAX_LIST_ROWS]
    blocks.extend(lines_sections([document_card_line(c, tz) for c in shown]))
    if total > len(shown):
        blocks.append(_more(total - len(shown), "Narrow it with `/invoice list <state> <provider>`, "
                                                "or get everything with `/invoice export`."))
    return blocks


def list_text(cards: Sequence[DocumentCard], total: int | None = None) -> str:
    total = max(total or 0, len(cards))
    sandbox = " (including SANDBOX documents)" if any(c.sandbox for c in cards) else ""
    return f"{total} document(s){sandbox}"


def build_pending_list_message(approvals: Sequence[ApprovalCard], *, total: int | None = None,
                               tz: dt.tzinfo = SEOUL) -> list[Block]:
    """Approvals waiting for a decision (``/invoice list pending``)."""
    total = max(total or 0, len(approvals))
    blocks: list[Block] = [header("Waiting for approval"), context(f"{total} request(s)")]
    if not approvals:
        blocks.append(section("Nothing is waiting. 🎉"))
        return blocks
    lines = []
    for card in approvals[:MAX_LIST_ROWS]:
        expires = f" · expires {format_datetime(card.expires_at, tz)}" if card.expires_at else ""
        action = escape_mrkdwn(clip(card.action, 40))
        lines.append(f"`{escape_mrkdwn(clip(card.id, 40))}` {action} · {document_card_line(card.document, tz)}"
                     f" · by {user_mention(card.requester)}{expires}")
    blocks.extend(lines_sections(lines))
    if total > min(len(approvals), MAX_LIST_ROWS):
        blocks.append(_more(total - min(len(approvals), MAX_LIST_ROWS), "Decide the oldest first."))
    return blocks


def pending_list_text(approvals: Sequence[ApprovalCard], total: int | None = None) -> str:
    return f"{max(total or 0, len(approvals))} request(s) waiting for approval"
