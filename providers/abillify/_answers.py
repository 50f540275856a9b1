"""Abillify's invoices read into the bot's models: amounts in minor units, state, events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from providers.abillify._money import to_major, to_minor
from providers.models import (
    Amounts,
    DocumentKind,
    DocumentRef,
    DocumentState,
    DocumentStatus,
    Provider,
    StatusEvent,
)

__all__ = [
    "invoice_status",
]


def _parse_datetime(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _parse_date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _meta(invoice: dict[str, Any]) -> dict[str, Any]:
    meta = invoice.get("meta")
    return meta if isinstance(meta, dict) else {}


def _amounts(invoice: dict[str, Any]) -> Amounts | None:
    currency = str(invoice.get("currency") or "EUR")
    supply = to_minor(invoice.get("net"), currency)
    vat = to_minor(invoice.get("tax"), currency)
    if supply is None or vat is None:
        total = to_minor(invoice.get("total"), currency)
        if total is None:
            return None
        return Amounts(supply=total, vat=0, total=total, currency=currency)
    return Amounts(supply=supply, vat=vat, total=supply + vat, currency=currency)


def _normalize(invoice: dict[str, Any]) -> tuple[DocumentState, str]:
    state = str(invoice.get("state") or "none")
    committed = bool(invoice.get("committed"))
    raw = f"{state}/{'committed' if committed else 'draft'}"
    if state == "canceled" or invoice.get("cancelationdate"):
        return DocumentState.CANCELED, raw
    if state == "paid":
        return DocumentState.PAID, raw
    if state != "none":
        return DocumentState.UNKNOWN, raw
    return (DocumentState.UNPAID if committed else DocumentState.ISSUED), raw


def invoice_status(invoice: dict[str, Any], *, detail: str | None = None) -> DocumentStatus:
    """A `GET /invoices/{ref}` body as a `DocumentStatus` (the raw body kept in `raw`)."""
    reference = str(invoice.get("reference") or "")
    state, raw_state = _normalize(invoice)
    meta = _meta(invoice)
    history: list[StatusEvent] = []
    for field, what in (("created", "created"), ("committed", "committed (locked and sent)"),
                        ("cancelationdate", "canceled")):
        at = _parse_datetime(invoice.get(field))
        if at is not None:
            history.append(StatusEvent(at=at, what=what, raw_code=field))
    currency = str(invoice.get("currency") or "EUR")
    unpaid = to_minor(invoice.get("unpaid"), currency)
    if detail is None and state is DocumentState.UNPAID and unpaid is not None:
        total = to_minor(invoice.get("total"), currency)
        if total is not None and unpaid != total:
            detail = f"partly paid: {to_major(unpaid, currency)} {currency} still open"
    return DocumentStatus(
        ref=DocumentRef(provider=Provider.ABILLIFY, kind=DocumentKind.INVOICE, provider_id=reference),
        state=state,
        raw_state=raw_state,
        amounts=_amounts(invoice),
        buyer_name=meta.get("buyer_name"),
        buyer_bizno=meta.get("buyer_bizno"),
        issued_at=_parse_datetime(invoice.get("created")),
        updated_at=_parse_datetime(invoice.get("cancelationdate") or invoice.get("committed")),
        due_date=_parse_date(invoice.get("due")),
        confirm_number=str(invoice["number"]) if invoice.get("number") else None,
        history=tuple(history),
        detail=detail,
        raw=invoice,
    )
