"""A Payssam bill read as the bot's `DocumentStatus`: state, amounts, payment history, expiry.

``apprState`` W/F/C/D map to unpaid/paid/cancelled/destroyed. ``/bill/read`` is not in the
V2 seed; the fields public clients read from it are ``billId``, ``apprState`` and the
``appr*`` approval fields, nothing about what the bill asked for. So the amounts, the
``expireDt`` and the pay link come from what we issued (`providers.issued`), and an unpaid
bill past the end of *our* stored ``expireDt`` (KST) reads as expired. A paid bill's amount
is its documented ``apprPrice``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Final

from providers.issued import IssuedDocument
from providers.models import KST, Amounts, DocumentRef, DocumentState, DocumentStatus, StatusEvent
from providers.payssam.client import BillInfo

__all__ = ["KST", "bill_status"]


_STATES: Final[dict[str, DocumentState]] = {
    "W": DocumentState.UNPAID,
    "F": DocumentState.PAID,
    "C": DocumentState.CANCELED,
    "D": DocumentState.DESTROYED,
}


def _parse_appr_dt(value: str | None) -> dt.datetime | None:
    """``YYYYMMDDHHMMSS`` in KST (the format of apprDt)."""
    if not value or not re.fullmatch(r"\d{14}", value):
        return None
    return dt.datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=KST)


def bill_status(ref: DocumentRef, info: BillInfo, now: Callable[[], dt.datetime],
                issued: IssuedDocument | None = None) -> DocumentStatus:
    """The bill as a `DocumentStatus`, from the documented read fields and what we issued.

    Args:
        issued: our record of the bill (None for a bill we did not issue): its amounts, its
            ``expireDt`` (an unpaid bill past it reads as expired) and its pay link.
    """
    raw = info.wire()
    raw_state = info.appr_state or ""
    state = _STATES.get(raw_state, DocumentState.UNKNOWN)
    expire = issued.due_date if issued is not None else None
    if state is DocumentState.UNPAID and _past(expire, now):
        state = DocumentState.EXPIRED
    amounts = issued.amounts if issued is not None else None
    if amounts is None and isinstance(info.appr_price, str) and info.appr_price.isdigit():
        amounts = Amounts(supply=int(info.appr_price), vat=0, total=int(info.appr_price))
    paid_at = _parse_appr_dt(info.appr_origin_dt if raw_state == "C" else info.appr_dt)
    history: list[StatusEvent] = []
    if paid_at is not None:
        history.append(StatusEvent(at=paid_at, what=f"paid ({info.appr_pay_type or 'unknown method'})",
                                   raw_code="F"))
    if raw_state == "C":
        history.append(StatusEvent(at=_parse_appr_dt(info.appr_cancel_dt or info.appr_dt),
                                   what="payment cancelled", raw_code="C"))
    pay_link = issued.links.get("pay") if issued is not None else None
    detail = None
    if state is DocumentState.EXPIRED:
        detail = f"expired unpaid (valid until {expire.isoformat() if expire else 'its expiry date'})"
    elif raw_state == "F" and info.appr_issuer:
        detail = f"paid by {info.appr_issuer}"
    return DocumentStatus(
        ref=ref,
        state=state,
        raw_state=raw_state,
        amounts=amounts,
        buyer_name=issued.buyer_name if issued is not None else None,
        updated_at=paid_at,
        due_date=expire,
        confirm_number=info.appr_num,
        links={"pay": pay_link} if pay_link else {},
        history=tuple(history),
        detail=detail,
        raw=raw,
    )


def _past(expire: dt.date | None, now: Callable[[], dt.datetime]) -> bool:
    """A bill is valid until the end of its expireDt (midnight KST)."""
    return expire is not None and now().astimezone(KST).date() > expire
