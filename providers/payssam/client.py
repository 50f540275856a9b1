"""Payssam (결제선생) API V2: the bill calls, one method per documented operation.

Every call is ``POST <base>/<path>`` with a JSON body in UTF-8 and no auth header: the
credentials travel inside the body, in the envelope ``{apiKey, member, merchant, bill}``.
Writes that move money or a bill carry a ``hash``: the lowercase hex SHA-256 of
``billId,phone,price`` when the body has a ``phone`` (send) and of ``billId,price``
otherwise (destroy, cancel). It is computed from exactly the strings sent.

Answers come as ``{"code": "0000", "message"|"msg": ..., "data": {...}}``. Business
errors come back with HTTP 200 and another code, so the code decides, never the status;
the sandbox at Paymint answers ``message`` while the docs say ``msg``, so both are read.

Mapping: ``BILL_003`` -> `DocumentNotFound`; ``MAINTAINED_METHOD`` and HTTP 5xx ->
`ProviderUnavailable`; ``ERROR`` (unclassified server error) answered with HTTP 200 to a
write -> `OutcomeUnknown`, because the server took the request and may have acted; HTTP
400/404 -> `ProviderRejected` with the body's code or ``http_<status>``; an answer without
a code -> `ProviderProtocolError`; every other code -> `ProviderRejected`, code and message kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any, Final, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from providers.config import PayssamConfig
from providers.errors import (
    DocumentNotFound,
    OutcomeUnknown,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    RequestInvalid,
)
from providers.http import HttpPolicy, ProviderHttp

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

PROVIDER = "payssam"

#: V2 sandbox; the production host is only given out after the integration review (검수).
DEFAULT_BASE_URL: Final = "https://sandbox.paymint.co.kr/partner"

SUCCESS: Final = "0000"

SendType = Literal["TALK", "URL"]

#: "this billId was used before": V1 says 9800; the V2 table is unpublished, the sandbox uses BILL_001.
DUPLICATE_BILL_CODES: Final = frozenset({"BILL_001", "9800"})
_NOT_FOUND_CODES: Final = frozenset({"BILL_003", "9980"})
_UNAVAILABLE_CODES: Final = frozenset({"ERROR", "MAINTAINED_METHOD", "5000"})

_BILL_ID = re.compile(r"[A-Za-z0-9]{1,20}")
_PRICE = re.compile(r"[0-9]{1,10}")
_PHONE = re.compile(r"[0-9]{8,15}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_CANCEL_REASON: Final = 20
MAX_BILL_ISSUER: Final = 50
#: the largest price Payssam takes: `price` is 1 to 10 digits of won
MAX_PRICE: Final = 9_999_999_999

_CREDENTIAL_HINT = "Check PAYSSAM_API_KEY, PAYSSAM_MEMBER and PAYSSAM_MERCHANT (the sandbox and live keys differ)."
_HINTS: Final[dict[str, str]] = {
    "PARTNER_001": "This partner account is not enabled for API V2; ask Paymint to enable it.",
    "PARTNER_002": _CREDENTIAL_HINT,
    "PARTNER_003": _CREDENTIAL_HINT,
    "PARTNER_004": "The member/merchant pair is not mapped to this partner. Check PAYSSAM_MEMBER and PAYSSAM_MERCHANT.",
    "PARTNER_005": _CREDENTIAL_HINT,
    "PARTNER_006": "The partner contract with Paymint is not active.",
    "VALIDATION_002": "The request hash did not match; this is a bug in the bot, please report it.",
    "BILL_001": "A bill with this id already exists at Payssam. Look it up instead of issuing it again.",
    "BILL_003": "Payssam does not know this bill. Check the bill id.",
    "BILL_006": "The bill is not in a state that allows this (already paid, cancelled, destroyed or expired).",
    "POINT_001": "The Payssam point (쌤포인트) balance is used up; charge points before sending bills.",
    "PAYMENT_001": "The card network (VAN) refused the operation; try again later.",
    "PAYMENT_002": "The bank refused the operation; try again later.",
}


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
class _Wire(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields kept (the V2 table is incomplete)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True, coerce_numbers_to_str=True
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

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    data: dict[str, Any] = Field(default_factory=dict)


# -- validation --------------------------------------------------------------------------
def _invalid(message: str, field: str) -> RequestInvalid:
    return RequestInvalid(message, provider=PROVIDER, code=f"invalid_{field}")


def _check_bill_id(bill_id: str) -> None:
    if not _BILL_ID.fullmatch(bill_id):
        raise _invalid(f"billId {bill_id!r} must be 1 to 20 letters or digits", "bill_id")


def _check_price(price: str) -> None:
    if not _PRICE.fullmatch(price):
        raise _invalid(f"price {price!r} must be 1 to 10 digits (won, no separators)", "price")


def _text_of(body: Any, key: str) -> str | None:
    value = body.get(key) if isinstance(body, Mapping) else None
    return value if isinstance(value, str) and value else None


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
        return self._parse(response, operation=operation, write=write)

    def _parse(self, response: httpx.Response, *, operation: str, write: bool) -> PayssamReply:
        status = response.status_code
        if status in (400, 404, 405, 415):
            raise self._malformed(response, operation)
        body = self.http.json_body(response, operation=operation)
        code = body.get("code") if isinstance(body, Mapping) else None
        if isinstance(code, int) and not isinstance(code, bool):
            code = str(code)
        if not isinstance(code, str) or not code:
            if status >= 500:
                raise ProviderUnavailable(
                    f"{operation}: server error (HTTP {status})", provider=PROVIDER, code=str(status), status=status,
                    user_hint="Payssam had an internal error. Try again later.",
                )
            raise ProviderProtocolError(
                f"{operation}: the answer has no result code (HTTP {status})",
                provider=PROVIDER,
                code=f"http_{status}",
                status=status,
                body_excerpt=response.text,
                user_hint="Payssam's answer could not be read; I will check the bill's state before retrying.",
            )
        assert isinstance(body, Mapping)
        message = _text_of(body, "message") or _text_of(body, "msg") or ""
        if code == SUCCESS and status < 300:
            data = body.get("data")
            return PayssamReply(code=code, message=message, data=dict(data) if isinstance(data, Mapping) else {})
        raise self._business_error(code, message, status=status, operation=operation, write=write)

    @staticmethod
    def _business_error(code: str, message: str, *, status: int, operation: str, write: bool) -> ProviderError:
        text = message or f"{operation} refused"
        hint = _HINTS.get(code)
        if code in _NOT_FOUND_CODES:
            return DocumentNotFound(text, provider=PROVIDER, code=code, user_hint=hint)
        if code in _UNAVAILABLE_CODES or status >= 500:
            if code == "ERROR" and write and status < 500:
                # An unclassified server error after the request was taken: it may have acted.
                return OutcomeUnknown(
                    text, provider=PROVIDER, code=code,
                    user_hint="Payssam reported an internal error; I will check the bill before doing it again.",
                )
            return ProviderUnavailable(
                text, provider=PROVIDER, code=code, status=status,
                user_hint="Payssam is unavailable (maintenance or an internal error). Nothing was done; "
                "try again later.",
            )
        return ProviderRejected(text, provider=PROVIDER, code=code, user_hint=hint)

    @staticmethod
    def _malformed(response: httpx.Response, operation: str) -> ProviderRejected:
        """HTTP 400/404: the request itself was refused before any business rule (wrong path, bad JSON)."""
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        code = body.get("code") if isinstance(body, Mapping) else None
        message = (
            _text_of(body, "message") or _text_of(body, "msg") or _text_of(body, "error")
            or response.reason_phrase or f"HTTP {status}"
        )
        hint = (
            "Payssam has no such address: check PAYSSAM_API_URL (it ends in /partner)."
            if status == 404
            else "Payssam refused the request as malformed; this is a bug in the bot, please report it."
        )
        return ProviderRejected(
            f"{operation}: {message} (HTTP {status})",
            provider=PROVIDER,
            code=str(code) if isinstance(code, str | int) and code != "" else f"http_{status}",
            user_hint=hint,
        )
