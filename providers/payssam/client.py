"""Payssam (결제선생) API V2: the bill calls, one method per documented operation.

Every call is ``POST <base>/<path>`` with a JSON body in UTF-8 and no auth header: the
credentials travel inside the body, in the envelope ``{apiKey, member, merchant, bill}``.
Writes that move money or a bill carry a ``hash``: the lowercase hex SHA-256 of
``billId,phone,price`` when the body has a ``phone`` (send) and of ``billId,price``
otherwise (destroy, cancel). It is computed from exactly the strings sent.

Answers come as ``{"code": "0000", "message"|"msg": ..., "data": {...}}``. Business
errors come back with HTTP 200 and another code, so the code decides, never the status;
the sandbox at Paymint answers ``message`` while the docs say ``msg``, so both are read.
How each answer maps onto the error tree: `providers.payssam._answers`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import re
from typing import Any, Final, Literal

import httpx

from providers.config import PayssamConfig
from providers.errors import RequestInvalid
from providers.http import HttpPolicy, ProviderHttp
from providers.payssam._answers import _CREDENTIAL_HINT, DUPLICATE_BILL_CODES, read_reply
from providers.payssam._wire import (
    PROVIDER,
    SUCCESS,
    BillCancelResult,
    BillInfo,
    BillSendResult,
    PayssamReply,
    bill_hash,
    price_hash,
    send_hash,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DUPLICATE_BILL_CODES",
    "SUCCESS",
    "BillCancelResult",
    "BillInfo",
    "BillSendResult",
    "PayssamClient",
    "PayssamReply",
    "SendType",
    "bill_hash",
    "price_hash",
    "send_hash",
]

#: V2 sandbox; the production host is only given out after the integration review (검수).
DEFAULT_BASE_URL: Final = "https://sandbox.paymint.co.kr/partner"

SendType = Literal["TALK", "URL"]

#: seed 002: billId is a string of 1 to 20 characters (no character class given)
_BILL_ID = re.compile(r".{1,20}", re.DOTALL)
_PRICE = re.compile(r"[0-9]{1,10}")
_PHONE = re.compile(r"[0-9]{8,15}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_CANCEL_REASON: Final = 20
MAX_BILL_ISSUER: Final = 50
#: the largest price Payssam takes: `price` is 1 to 10 digits of won
MAX_PRICE: Final = 9_999_999_999


# -- validation --------------------------------------------------------------------------
def _invalid(message: str, field: str) -> RequestInvalid:
    return RequestInvalid(message, provider=PROVIDER, code=f"invalid_{field}")


def _check_bill_id(bill_id: str) -> None:
    if not _BILL_ID.fullmatch(bill_id):
        raise _invalid(f"billId {bill_id!r} must be 1 to 20 characters", "bill_id")


def _check_price(price: str) -> None:
    if not _PRICE.fullmatch(price):
        raise _invalid(f"price {price!r} must be 1 to 10 digits (won, no separators)", "price")


class PayssamClient:
    """The Payssam V2 bill API.

    Args:
        api_key, member, merchant: the partner credentials sent in every body.
        base_url: V2 base including ``/partner``; defaults to Paymint's V2 sandbox.
        policy: timeouts and retries; transport: injected transport for tests.

    Example::

        client = PayssamClient(api_key="...", member="...", merchant="...")
        sent = await client.send_bill(bill_id="INV000123", send_type="TALK", product_name="컨설팅",
                                      price="110000", member_name="김고객", phone="01012345678",
                                      callback_url="https://bot.example.com/webhooks/payssam")
    """

    def __init__(
        self,
        *,
        api_key: str,
        member: str,
        merchant: str,
        base_url: str = DEFAULT_BASE_URL,
        policy: HttpPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api_key = api_key
        self.member = member
        self.merchant = merchant
        self.http = ProviderHttp(PROVIDER, base_url, policy=policy, transport=transport)

    @classmethod
    def from_config(cls, config: PayssamConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> PayssamClient:
        if not config.configured or config.api_key is None or config.member is None or config.merchant is None:
            raise RequestInvalid(
                "payssam is not configured: api_key, member and merchant are all needed",
                provider=PROVIDER,
                code="config",
                user_hint=_CREDENTIAL_HINT,
            )
        return cls(
            api_key=config.api_key.get_secret_value(),
            member=config.member,
            merchant=config.merchant,
            base_url=config.api_url or DEFAULT_BASE_URL,
            policy=config.policy,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    def is_own_api_key(self, api_key: str) -> bool:
        """Constant-time comparison with our key (for authenticating callbacks)."""
        return hmac.compare_digest(api_key.encode("utf-8"), self._api_key.encode("utf-8"))

    # -- operations ----------------------------------------------------------------
    async def send_bill(
        self,
        *,
        bill_id: str,
        send_type: SendType,
        product_name: str,
        price: str,
        member_name: str,
        phone: str,
        callback_url: str,
        expire_dt: str | dt.date | None = None,
        message: str | None = None,
        bill_issuer: str | None = None,
        supply_price: str | None = None,
        tax: str | None = None,
        page_redirect_url: str | None = None,
    ) -> BillSendResult:
        """``POST /bill``: create the bill and send it (TALK: Payssam sends the 알림톡; URL: only the link)."""
        _check_bill_id(bill_id)
        _check_price(price)
        if send_type not in ("TALK", "URL"):
            raise _invalid(f"sendType must be TALK or URL, not {send_type!r}", "send_type")
        if not _PHONE.fullmatch(phone):
            raise _invalid(f"phone {phone!r} must be 8 to 15 digits (no dashes)", "phone")
        if not product_name.strip():
            raise _invalid("productName is required", "product_name")
        if not member_name.strip():
            raise _invalid("memberName (the customer's name) is required", "member_name")
        if not callback_url.strip():
            raise _invalid("callbackUrl is required", "callback_url")
        if bill_issuer is not None and len(bill_issuer) > MAX_BILL_ISSUER:
            raise _invalid(f"billIssuer must be at most {MAX_BILL_ISSUER} characters", "bill_issuer")
        for name, value in (("supplyPrice", supply_price), ("tax", tax)):
            if value is not None and not _PRICE.fullmatch(value):
                raise _invalid(f"{name} {value!r} must be 1 to 10 digits", name)
        expire = self._expire_dt(expire_dt)
        bill: dict[str, Any] = {
            "billId": bill_id,
            "sendType": send_type,
            "productName": product_name,
            "price": price,
            "memberName": member_name,
            "phone": phone,
            "callbackUrl": callback_url,
            "hash": send_hash(bill_id, phone, price),
        }
        optional = {
            "expireDt": expire,
            "message": message,
            "billIssuer": bill_issuer,
            "supplyPrice": supply_price,
            "tax": tax,
            "pageRedirectUrl": page_redirect_url,
        }
        bill.update({k: v for k, v in optional.items() if v is not None})
        reply = await self._call("/bill", bill, write=True, operation="send_bill")
        return BillSendResult.model_validate(reply.data)

    async def resend(self, bill_id: str) -> PayssamReply:
        """``POST /bill/resend``: send the KakaoTalk message of an unpaid bill again (costs points)."""
        _check_bill_id(bill_id)
        return await self._call("/bill/resend", {"billId": bill_id}, write=True, operation="resend")

    async def read(self, bill_id: str) -> BillInfo:
        """``POST /bill/read``: one bill's payment state. There is no list or batch query."""
        _check_bill_id(bill_id)
        reply = await self._call("/bill/read", {"billId": bill_id}, write=False, operation="read")
        return BillInfo.model_validate(reply.data)

    async def destroy(self, bill_id: str, price: str) -> PayssamReply:
        """``POST /bill/destroy``: void (파기) an unpaid bill so it can no longer be paid."""
        _check_bill_id(bill_id)
        _check_price(price)
        bill = {"billId": bill_id, "price": price, "hash": price_hash(bill_id, price)}
        return await self._call("/bill/destroy", bill, write=True, operation="destroy")

    async def cancel(self, bill_id: str, price: str, cancel_reason: str | None = None) -> BillCancelResult:
        """``POST /bill/cancel``: cancel the approval of a paid bill, full amount only."""
        _check_bill_id(bill_id)
        _check_price(price)
        bill: dict[str, Any] = {"billId": bill_id, "price": price, "hash": price_hash(bill_id, price)}
        if cancel_reason is not None:
            if len(cancel_reason) > MAX_CANCEL_REASON:
                raise _invalid(f"cancelReason must be at most {MAX_CANCEL_REASON} characters", "cancel_reason")
            bill["cancelReason"] = cancel_reason
        reply = await self._call("/bill/cancel", bill, write=True, operation="cancel")
        return BillCancelResult.model_validate(reply.data)

    # -- plumbing --------------------------------------------------------------------
    @staticmethod
    def _expire_dt(value: str | dt.date | None) -> str | None:
        if value is None:
            return None
        if isinstance(value, dt.date):
            return value.isoformat()
        if not _DATE.fullmatch(value):
            raise _invalid(f"expireDt {value!r} must be YYYY-MM-DD", "expire_dt")
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise _invalid(f"expireDt {value!r} is not a calendar date", "expire_dt") from None
        return value

    async def _call(self, path: str, bill: dict[str, Any], *, write: bool, operation: str) -> PayssamReply:
        envelope = {"apiKey": self._api_key, "member": self.member, "merchant": self.merchant, "bill": bill}
        response = await self.http.send(
            "POST",
            path,
            content=json.dumps(envelope, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=UTF-8", "Accept": "application/json"},
            write=write,
            operation=operation,
        )
        return read_reply(self.http, response, operation=operation, write=write)
