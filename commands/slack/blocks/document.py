"""How a document reads inside a message: its one-line summary, buyer, amounts and items.

Shared by the approval card, the status message and the lists, so a document's buyer or
total is written the same way in each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from commands.slack.blocks.kit import flat
from commands.slack.blocks.models import DocumentCard
from commands.slack.formatting import SEOUL, clip, document_line, escape_mrkdwn, format_bizno, format_money
from providers.models import Amounts, DocumentKind, LineItem

__all__ = ["MAX_ITEMS_SHOWN", "amounts_text", "buyer_text", "document_card_line", "item_lines"]

MAX_ITEMS_SHOWN = 10


def buyer_text(card: DocumentCard) -> str:
    name = escape_mrkdwn(clip(card.buyer_name or "—", 200))
    if card.buyer_bizno:
        name += f" ({escape_mrkdwn(clip(format_bizno(card.buyer_bizno), 40))})"
    return name


def amounts_text(amounts: Amounts | None) -> str:
    if amounts is None:
        return "—"
    c = amounts.currency
    return (f"*{format_money(amounts.total, c)}*\nsupply {format_money(amounts.supply, c)} · "
            f"VAT {format_money(amounts.vat, c)}")


def document_card_line(card: DocumentCard, tz: dt.tzinfo = SEOUL) -> str:
    """The one-line summary used in lists, the digest and App Home."""
    return document_line(
        card.ref, provider=card.provider, kind=card.kind, buyer_name=card.buyer_name,
        total=card.amounts.total if card.amounts else None,
        currency=card.amounts.currency if card.amounts else "KRW",
        state=card.state, lifecycle=card.lifecycle, sandbox=card.sandbox,
        when=card.created_at or card.write_date, tz=tz, amends=card.amends,
    )


def item_lines(items: Sequence[LineItem], kind: DocumentKind, currency: str) -> list[str]:
    """One line per item (at most ten, then "and N more"), with its supply and VAT."""
    lines = []
    for item in items[:MAX_ITEMS_SHOWN]:
        quantity = format(item.quantity.normalize(), "f")
        supply = item.supply_amount()
        vat = item.vat_amount(kind.tax_type)
        lines.append(
            f"• {escape_mrkdwn(clip(flat(item.name), 100))} — {quantity} × {format_money(item.unit_price, currency)}"
            f" = {format_money(supply, currency)} (+VAT {format_money(vat, currency)})"
        )
    if len(items) > MAX_ITEMS_SHOWN:
        lines.append(f"… and {len(items) - MAX_ITEMS_SHOWN} more line(s)")
    return lines
