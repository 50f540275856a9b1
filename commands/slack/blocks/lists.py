"""``/invoice list``: documents, or the approvals waiting (``list pending``), at most 100 rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock

from commands.i18n import _
from commands.slack.blocks.approval import action_label
from commands.slack.blocks.document import document_card_line
from commands.slack.blocks.kit import context, header, lines_sections, section, user_mention
from commands.slack.blocks.models import ApprovalCard, DocumentCard
from commands.slack.formatting import SEOUL, clip, escape_mrkdwn, format_datetime

__all__ = ["MAX_LIST_ROWS", "build_list_message", "build_pending_list_message", "list_text", "pending_list_text"]

MAX_LIST_ROWS = 100  # beyond this a list is unreadable in chat: we point to filters and export


def _more(count: int, hint: str) -> ContextBlock:
    return context("… " + _("and {count} more.").format(count=count) + " " + hint)


def build_list_message(
    cards: Sequence[DocumentCard],
    *,
    title: str | None = None,
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
    blocks: list[Block] = [header(title or _("Documents"))]
    summary = _count_documents(total) + (f" · {escape_mrkdwn(clip(filters, 200))}" if filters else "")
    if any(c.sandbox for c in cards):
        summary += " · " + _("🧪 = SANDBOX document (nothing real was issued)")
    blocks.append(context(summary))
    if not cards:
        blocks.append(section(_("Nothing matches. Try `/invoice list` without filters.")))
        return blocks
    shown = cards[:MAX_LIST_ROWS]
    blocks.extend(lines_sections([document_card_line(c, tz) for c in shown]))
    if total > len(shown):
        blocks.append(_more(total - len(shown), _("Narrow it with `/invoice list <state> <provider>`, "
                                                  "or get everything with `/invoice export`.")))
    return blocks


def list_text(cards: Sequence[DocumentCard], total: int | None = None) -> str:
    total = max(total or 0, len(cards))
    sandbox = " " + _("(including SANDBOX documents)") if any(c.sandbox for c in cards) else ""
    return _count_documents(total) + sandbox


def _count_documents(total: int) -> str:
    return _("{count} document(s)").format(count=total)


def build_pending_list_message(approvals: Sequence[ApprovalCard], *, total: int | None = None,
                               tz: dt.tzinfo = SEOUL) -> list[Block]:
    """Approvals waiting for a decision (``/invoice list pending``)."""
    total = max(total or 0, len(approvals))
    blocks: list[Block] = [header(_("Waiting for approval")),
                           context(_("{count} request(s)").format(count=total))]
    if not approvals:
        blocks.append(section(_("Nothing is waiting. 🎉")))
        return blocks
    lines = []
    for card in approvals[:MAX_LIST_ROWS]:
        expires = (" · " + _("expires {when}").format(when=format_datetime(card.expires_at, tz))
                   if card.expires_at else "")
        by = _("by {user}").format(user=user_mention(card.requester))
        action = escape_mrkdwn(clip(action_label(card.action), 40))
        lines.append(f"`{escape_mrkdwn(clip(card.id, 40))}` {action} · "
                     f"{document_card_line(card.document, tz)} · {by}{expires}")
    blocks.extend(lines_sections(lines))
    if total > min(len(approvals), MAX_LIST_ROWS):
        blocks.append(_more(total - min(len(approvals), MAX_LIST_ROWS), _("Decide the oldest first.")))
    return blocks


def pending_list_text(approvals: Sequence[ApprovalCard], total: int | None = None) -> str:
    count = max(total or 0, len(approvals))
    return _("{count} request(s) waiting for approval").format(count=count)
