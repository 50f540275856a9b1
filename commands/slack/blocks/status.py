"""``/invoice status``: a document's state, amounts, provider links and history timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from commands.i18n import N_, _
from commands.slack.blocks.amend import amendment_fields
from commands.slack.blocks.deadlines import deadline_context
from commands.slack.blocks.document import amounts_text, buyer_text
from commands.slack.blocks.kit import fields, flat, header, plain, sandbox_context, section, user_mention
from commands.slack.blocks.models import DocumentCard
from commands.slack.formatting import (
    SEOUL,
    clip,
    escape_mrkdwn,
    format_date,
    format_datetime,
    format_money,
    kind_label,
    provider_label,
)

__all__ = ["build_status_message", "status_text"]

_MAX_HISTORY_SHOWN = 15
_MAX_LINK_BUTTONS = 5

_LINK_LABELS: Mapping[str, str] = {
    "popup": N_("Open in provider"), "view": N_("View"), "pdf": N_("PDF"), "print": N_("Print"),
    "pay": N_("Payment page"), "mail": N_("E-mail view"), "list": N_("Provider list"), "download": N_("Download"),
}


def _status_fields(card: DocumentCard, tz: dt.tzinfo) -> list[tuple[str, str]]:
    state = card.label
    if card.raw_state:
        state += f" (`{escape_mrkdwn(clip(card.raw_state, 60))}`)"
    provider = provider_label(card.provider)
    if card.provider_id:
        provider += f"\n`{escape_mrkdwn(clip(card.provider_id, 100))}`"
    pairs = [(_("State"), state), (_("Provider"), provider), (_("Buyer"), buyer_text(card)),
             (_("Amount"), amounts_text(card.amounts))]
    if card.created_at:
        pairs.append((_("Created"), format_datetime(card.created_at, tz)))
    if card.write_date:
        pairs.append((_("Write date"), format_date(card.write_date)))
    if card.due_date:
        pairs.append((_("Due"), format_date(card.due_date)))
    if card.requester:
        pairs.append((_("Requested by"), user_mention(card.requester)))
    pairs.extend(amendment_fields(card))
    return pairs


def _link_buttons(card: DocumentCard) -> list[Block]:
    buttons = []
    for name, url in card.links.items():
        if not url.startswith(("http://", "https://")) or len(url) > 3000:
            continue  # Slack refuses such a button; the link is still in the provider's UI
        label = _(_LINK_LABELS[name]) if name in _LINK_LABELS else name.replace("_", " ").capitalize()
        buttons.append(ButtonElement(text=plain(f"🔗 {label}", 75), url=url,
                                     action_id=clip(f"link_{name}", 255), value=clip(card.ref, 2000)))
        if len(buttons) == _MAX_LINK_BUTTONS:
            break
    if not buttons:
        return []
    return [ActionsBlock(block_id=clip(f"links:{card.ref}", 255), elements=buttons)]


def _history(card: DocumentCard, tz: dt.tzinfo) -> list[Block]:
    if not card.history:
        return []
    events = list(card.history)
    shown = events[-_MAX_HISTORY_SHOWN:]
    lines = [f"• {format_datetime(at, tz)} — {escape_mrkdwn(clip(flat(what), 200))}" for at, what in shown]
    if len(events) > len(shown):
        hidden = len(events) - len(shown)
        lines.insert(0, "… " + _("{count} earlier event(s)").format(count=hidden))
    return [section("*" + _("History") + "*\n" + "\n".join(lines))]


def build_status_message(card: DocumentCard, tz: dt.tzinfo = SEOUL) -> list[Block]:
    """A document's state, amounts, provider links (as link buttons) and history timeline."""
    blocks: list[Block] = [header(f"{card.ref} — {kind_label(card.kind)}")]
    if card.sandbox:
        blocks.append(sandbox_context())
    blocks.append(fields(_status_fields(card, tz)))
    blocks.extend(deadline_context(card.deadline))
    if card.detail:
        blocks.append(section(f"ℹ️ {escape_mrkdwn(clip(card.detail, 2900))}"))
    return blocks + _link_buttons(card) + _history(card, tz)


def status_text(card: DocumentCard) -> str:
    prefix = _("[SANDBOX] ") if card.sandbox else ""
    total = f", {format_money(card.amounts.total, card.amounts.currency)}" if card.amounts else ""
    return clip(f"{prefix}{escape_mrkdwn(clip(card.ref, 100))}: {card.label}{total}", 3000)
