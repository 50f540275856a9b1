"""The Payssam sandbox's bills, codes and answer helpers: what every route shares."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

__all__ = ["MESSAGES", "OK", "PAY_TYPES", "Answer", "_Bill", "_callback_ok", "_fail", "_invalid"]

Answer = tuple[str, str, dict[str, Any] | None]

PAY_TYPES: Final = frozenset({"CARD_VAN", "KEYIN", "OFFLINE_CARD", "OFFLINE_CASH"})

OK: Final = "0000"
MESSAGES: Final[dict[str, str]] = {
    OK: "성공하였습니다.",
    "PARTNER_002": "API KEY가 존재하지 않거나 형식이 올바르지 않습니다.",
    "PARTNER_003": "유효한 파트너가 아닙니다.",
    "PARTNER_004": "가맹점 매핑 정보를 찾을 수 없습니다.",
    "VALIDATION_002": "해싱값을 확인하시기 바랍니다",
    "BILL_001": "이미 사용된 청구서 ID입니다.",
    "BILL_003": "청구서를 찾을 수 없습니다.",
}

#: seed 002: billId is a string of 1 to 20 characters (no character class given)
_BILL_ID = re.compile(r".{1,20}", re.DOTALL)
_DIGITS10 = re.compile(r"[0-9]{1,10}")
_PHONE = re.compile(r"[0-9]{8,15}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_APPROVAL_FIELDS: Final = (
    "apprPayType", "apprCardType", "apprDt", "apprOriginDt", "apprPrice", "apprIssuer", "apprIssuerCd",
    "apprIssuerNum", "apprAcquirerCd", "apprAcquirerNm", "apprNum", "apprOriginNum", "apprResCd",
    "apprMonthly", "apprCashNum", "apprCashTrader", "apprCashIssuanceNumber", "apprCancelDt",
)


@dataclass(slots=True)
class _Bill:
    bill_id: str
    send_type: str
    product_name: str
    price: str
    member_name: str
    phone: str
    callback_url: str
    expire_dt: dt.date
    created_at: dt.datetime
    message: str | None = None
    bill_issuer: str | None = None
    supply_price: str | None = None
    tax: str | None = None
    page_redirect_url: str | None = None
    state: str = "W"
    talk_sent: int = 0
    cancel_reason: str | None = None
    approval: dict[str, str | None] = field(default_factory=dict)


def _fail(code: str, message: str | None = None) -> Answer:
    return code, message or MESSAGES.get(code, code), None


def _invalid(name: str, why: str = "값이 올바르지 않습니다") -> Answer:
    return "VALIDATION_001", f"{name}: {why}", None


def _callback_ok(response: httpx.Response) -> bool:
    """Paymint treats only a JSON answer with code "0000" as delivered."""
    if response.status_code != 200:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") == OK
