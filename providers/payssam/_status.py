"""A Payssam bill read as the bot's `DocumentStatus`: state, amounts, payment history, expiry.

``apprState`` W/F/C/D map to unpaid/paid/cancelled/destroyed; an unpaid bill past the end of
its ``expireDt`` (KST) reads as expired, whether the answer says so (the sandbox's ``expired``)
or the date alone does (Paymint's own answer has no such flag).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, Final

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


def _parse_date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def bill_status(ref: DocumentRef, info: BillInfo, now: Callable[[], dt.datetime]) -> DocumentStatus:
    """The bill as a `DocumentStatus`: an unpaid bill past its expireDt reads as expired."""
    raw = info.wire()
    raw_state = info.appr_state or ""
    state = _STATES.get(raw_state, DocumentState.UNKNOWN)
    expire = _parse_date(raw.get("expireDt"))
    if state is DocumentState.UNPAID and (raw.get("expired") is True or _past(expire, now)):
        state = DocumentState.EXPIRED
    price = raw.get("price") or info.appr_price
    amounts = None
    if isinstance(price, str) and price.isdigit():
        supply, tax = raw.get("supplyPrice"), raw.get("tax")
        if isinstance(supply, str) and isinstance(tax, str) and supply.isdigit() and tax.isdigit() \
                and int(supply) + int(tax) == int(price):
            amounts = Amounts(supply=int(supply), vat=int(tax), total=int(price))
        else:
            amounts = Amounts(supply=int(price), vat=0, total=int(price))
    paid_at = _parse_appr_dt(info.appr_origin_dt if raw_state == "C" else info.appr_dt)
    history: list[StatusEvent] = []
    if paid_at is not None:
        history.append(StatusEvent(at=paid_at, what=f"paid ({info.appr_pay_type or 'unknown method'})",
                                   raw_code="F"))
    if raw_state == "C":
        history.append(StatusEvent(at=_parse_appr_dt(info.appr_cancel_dt or info.appr_dt),
                                   what="payment cancelled", raw_code="C"))
    short_url = raw.get("shortUrl")
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
        buyer_name=raw.get("memberName") if isinstance(raw.get("memberName"), str) else None,
        updated_at=paid_at,
        due_date=expire,
        confirm_number=info.appr_num,
        links={"pay": short_url} if isinstance(short_url, str) and short_url else {},
        history=tuple(history),
        detail=detail,
        raw=raw,
    )


def _past(expire: dt.date | None, now: Callable[[], dt.datetime]) -> bool:
    """A bill is valid until the end of its expireDt (midnight KST)."""
    return expire is not None and now().astimezone(KST).date() > expire
