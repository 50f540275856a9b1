"""Payssam's wire: the request hash and the answer models (camelCase on the wire, snake_case here)."""

from __future__ import annotations

import hashlib
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "PROVIDER",
    "SUCCESS",
    "BillCancelResult",
    "BillInfo",
    "BillSendResult",
    "PayssamReply",
    "bill_hash",
    "price_hash",
    "send_hash",
]

PROVIDER: Final = "payssam"

SUCCESS: Final = "0000"


# -- hash ----------------------------------------------------------------------------
def bill_hash(*parts: str) -> str:
    """Lowercase hex SHA-256 of the parts joined by commas: the V2 ``hash`` field."""
    return hashlib.sha256(",".join(parts).encode("utf-8")).hexdigest()


def send_hash(bill_id: str, phone: str, price: str) -> str:
    """Hash of a body that carries a phone (``POST /bill``)."""
    return bill_hash(bill_id, phone, price)


def price_hash(bill_id: str, price: str) -> str:
    """Hash of a body without a phone (``/bill/destroy``, ``/bill/cancel``)."""
    return bill_hash(bill_id, price)


# -- wire models -----------------------------------------------------------------------
#: built on first use (`defer_build`): an idle bot need not hold their validators (`tests/bot/test_start.py`)
class _Wire(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields kept (the V2 table is incomplete)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True, coerce_numbers_to_str=True,
        defer_build=True,
    )

    def wire(self) -> dict[str, Any]:
        """The fields as Payssam spells them, extras included."""
        return self.model_dump(by_alias=True, exclude_none=False)


class BillSendResult(_Wire):
    """``data`` of ``POST /bill``."""

    bill_id: str | None = None
    short_url: str | None = None
    member: str | None = None
    merchant: str | None = None


class BillInfo(_Wire):
    """``data`` of ``POST /bill/read``; the payment callback carries the same fields.

    ``apprState``: W unpaid, F paid, C cancelled (after payment), D destroyed (before payment).
    """

    bill_id: str | None = None
    appr_state: str | None = None
    appr_pay_type: str | None = None  # CARD_VAN, KEYIN, OFFLINE_CARD, OFFLINE_CASH
    appr_card_type: str | None = None
    appr_dt: str | None = None  # YYYYMMDDHHMMSS, KST
    appr_origin_dt: str | None = None
    appr_price: str | None = None
    appr_issuer: str | None = None
    appr_issuer_cd: str | None = None
    appr_issuer_num: str | None = None
    appr_acquirer_cd: str | None = None
    appr_acquirer_nm: str | None = None
    appr_num: str | None = None
    appr_origin_num: str | None = None
    appr_res_cd: str | None = None
    appr_monthly: str | None = None
    appr_cash_num: str | None = None
    appr_cash_trader: str | None = None
    appr_cash_issuance_number: str | None = None
    appr_cancel_dt: str | None = None


class BillCancelResult(_Wire):
    """``data`` of ``POST /bill/cancel``."""

    appr_num: str | None = None
    appr_origin_num: str | None = None
    appr_cancel_dt: str | None = None


class PayssamReply(BaseModel):
    """A successful answer: code "0000", the message and the raw ``data``."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    code: str
    message: str
    data: dict[str, Any] = Field(default_factory=dict)
