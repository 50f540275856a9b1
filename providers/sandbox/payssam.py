"""Payssam (결제선생) API V2 sandbox: bills, their payment state machine and the payment callback.

Routes (each served both under ``/partner`` and at the root, so a base URL with or
without ``/partner`` works; the real V2 base ends in ``/partner``)::

    POST /bill            create + send a bill (sendType TALK or URL)        -> billId, shortUrl
    POST /bill/resend     resend the KakaoTalk message (unpaid bills only)
    POST /bill/read       one bill's state and approval fields
    POST /bill/destroy    void an unpaid bill                       W -> D
    POST /bill/cancel     cancel a paid bill, full amount only      F -> C

Sandbox-only routes::

    POST /_sandbox/bill/pay        {"billId", "payType"}: the customer pays, W -> F, and the payment
                                   callback is POSTed to the bill's callbackUrl (retried until the
                                   answer has code "0000", like Paymint's hourly retries for 24 h)
    GET  /_sandbox/pay/{billId}    the pay page the shortUrl points at (POST pays by card)
    POST /_sandbox/callback-sink   a callback receiver that answers like a good partner

Wire behaviour, as measured or documented (``/work/shared/reference/providers.md`` §1):
credentials in the body (``apiKey``, ``member``, ``merchant``), business errors with HTTP
200 and a code other than "0000", answers with ``message`` (what Paymint's sandbox sends)
except ``/bill/resend``, which answers ``msg`` (what the docs say), so clients must read
both. Malformed JSON gets HTTP 400 with a Spring-style body and no code.

Choices where the V2 docs are silent (the V2 code table is unpublished):

* ``BILL_001`` for a billId used before (V1 says 9800);
* ``VALIDATION_001`` for a missing or malformed field, naming the field;
* ``BILL_006`` for every operation the bill's state forbids;
* injected faults answer ``ERROR`` (500), ``MAINTAINED_METHOD`` (503, the maintenance code
  seen in client code) and ``TOO_MANY_REQUESTS`` (429; Payssam publishes no rate limit);
* expiry: a bill is valid until the end of its ``expireDt`` (KST, default 7 days after
  sending). An expired unpaid bill keeps ``apprState`` W; ``/bill/read`` adds
  ``expired: true`` and the pay route refuses it. ``/bill/read`` also adds ``price``,
  ``supplyPrice``, ``tax``, ``expireDt`` and ``shortUrl`` (sandbox extras; the payment
  callback carries the same fields plus ``apiKey``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import html
import itertools
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

import httpx
from aiohttp import web

from providers.config import DEMO_PAYSSAM, PayssamConfig
from providers.payssam.callback import CALLBACK_SUCCESS
from providers.sandbox.base import Faults, Sandbox, SandboxClock, json_response

__all__ = ["PAY_TYPES", "PayssamSandbox"]

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

_BILL_ID = re.compile(r"[A-Za-z0-9]{1,20}")
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


def _sha256(*parts: str) -> str:
    return hashlib.sha256(",".join(parts).encode("utf-8")).hexdigest()


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


class PayssamSandbox(Sandbox):
    """The Payssam V2 bill API on loopback.

    Args:
        config: credentials to accept (the demo ones from `providers.config` when None or empty).
        callback_attempts, callback_interval: how the payment callback is retried (Paymint: hourly
            for 24 hours; here short so demos and tests see retries).
    """

    name: ClassVar[str] = "payssam"

    def __init__(
        self,
        config: PayssamConfig | None = None,
        *,
        faults: Faults | None = None,
        clock: SandboxClock | None = None,
        callback_attempts: int = 25,
        callback_interval: float = 1.0,
    ) -> None:
        creds = config if config is not None and config.configured else DEMO_PAYSSAM
        assert creds.api_key is not None and creds.member is not None and creds.merchant is not None
        self.api_key = creds.api_key.get_secret_value()
        self.member = creds.member
        self.merchant = creds.merchant
        self.callback_attempts = callback_attempts
        self.callback_interval = callback_interval
        self.bills: dict[str, _Bill] = {}
        self.sink: list[dict[str, Any]] = []
        self._numbers = itertools.count(1)
        super().__init__(faults=faults, clock=clock)

    # -- state -----------------------------------------------------------------------
    def reset_state(self) -> None:
        self.bills = {}
        self.sink = []
        self._numbers = itertools.count(1)

    def seed(self) -> None:
        today = self.clock.now_kst().date()
        for bill_id, product, price, state in (
            ("DEMO0001", "3월 교육비", "110000", "W"),
            ("DEMO0002", "2월 교육비", "55000", "F"),
        ):
            bill = _Bill(
                bill_id=bill_id, send_type="TALK", product_name=product, price=price, member_name="김데모",
                phone="01000000000", callback_url="http://127.0.0.1:9/payssam/callback",
                expire_dt=today + dt.timedelta(days=7), created_at=self.clock.now(), talk_sent=1,
            )
            self.bills[bill_id] = bill
            if state == "F":
                self._approve(bill, "CARD_VAN")

    def snapshot(self) -> dict[str, Any]:
        return {
            "bills": {
                bill_id: {
                    **self.read_data(bill),
                    "sendType": bill.send_type,
                    "productName": bill.product_name,
                    "memberName": bill.member_name,
                    "talkSent": bill.talk_sent,
                    "callbackUrl": bill.callback_url,
                    "cancelReason": bill.cancel_reason,
                }
                for bill_id, bill in self.bills.items()
            },
            "callbacks": self.callbacks,
            "sink": self.sink,
        }

    def is_expired(self, bill: _Bill) -> bool:
        """Valid until midnight (KST) at the end of expireDt."""
        return self.clock.now_kst().date() > bill.expire_dt

    def short_url(self, bill_id: str) -> str:
        return f"{self.base_url}/_sandbox/pay/{bill_id}"

    def read_data(self, bill: _Bill) -> dict[str, Any]:
        """``data`` of /bill/read (and the payment callback without apiKey)."""
        data: dict[str, Any] = {"billId": bill.bill_id, "apprState": bill.state}
        for name in _APPROVAL_FIELDS:
            data[name] = bill.approval.get(name)
        data.update(
            price=bill.price,
            supplyPrice=bill.supply_price,
            tax=bill.tax,
            expireDt=bill.expire_dt.isoformat(),
            expired=bill.state == "W" and self.is_expired(bill),
            shortUrl=self.short_url(bill.bill_id),
        )
        return data

    # -- routes ----------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        routes = {
            "/bill": self._send,
            "/bill/resend": self._resend,
            "/bill/read": self._read,
            "/bill/destroy": self._destroy,
            "/bill/cancel": self._cancel,
        }
        for prefix in ("/partner", ""):
            for path, op in routes.items():
                app.router.add_post(prefix + path, self._api(op, "msg" if path == "/bill/resend" else "message"))
        app.router.add_post("/_sandbox/bill/pay", self._admin_pay)
        app.router.add_get("/_sandbox/pay/{bill_id}", self._pay_page)
        app.router.add_post("/_sandbox/pay/{bill_id}", self._pay_page)
        app.router.add_post("/_sandbox/callback-sink", self._callback_sink)

    def _api(
        self, op: Callable[[dict[str, Any]], Answer], message_key: str
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            try:
                body = json.loads(await request.read())
            except (ValueError, UnicodeDecodeError):
                body = None
            if not isinstance(body, dict):
                return self._bad_request(request)
            answer = self._authenticate(body)
            if answer is None:
                bill = body.get("bill")
                answer = op(bill) if isinstance(bill, dict) else _invalid("bill", "필수 값입니다")
            code, message, data = answer
            return json_response({"code": code, message_key: message, "data": data})

        return handler

    @staticmethod
    def _bad_request(request: web.Request) -> web.Response:
        return json_response(
            {"timestamp": dt.datetime.now(dt.UTC).isoformat(), "status": 400, "error": "Bad Request",
             "path": request.path},
            status=400,
        )

    def _authenticate(self, body: dict[str, Any]) -> Answer | None:
        api_key = body.get("apiKey")
        if not isinstance(api_key, str) or not api_key or len(api_key) > 32:
            return _fail("PARTNER_002")
        if not hmac.compare_digest(api_key.encode("utf-8"), self.api_key.encode("utf-8")):
            return _fail("PARTNER_003")
        if body.get("member") != self.member or body.get("merchant") != self.merchant:
            return _fail("PARTNER_004")
        return None

    # -- operations ----------------------------------------------------------------------
    def _send(self, bill: dict[str, Any]) -> Answer:
        required = ("billId", "sendType", "productName", "price", "memberName", "phone", "callbackUrl", "hash")
        for name in required:
            if not isinstance(bill.get(name), str) or not bill[name]:
                return _invalid(name, "필수 값입니다")
        bill_id, price, phone = bill["billId"], bill["price"], bill["phone"]
        if not _BILL_ID.fullmatch(bill_id):
            return _invalid("billId", "영문, 숫자 20자 이내여야 합니다")
        if bill["sendType"] not in ("TALK", "URL"):
            return _invalid("sendType", "TALK 또는 URL이어야 합니다")
        if not _DIGITS10.fullmatch(price):
            return _invalid("price", "숫자 10자리 이내여야 합니다")
        for name in ("supplyPrice", "tax"):
            if bill.get(name) is not None and not (isinstance(bill[name], str) and _DIGITS10.fullmatch(bill[name])):
                return _invalid(name, "숫자 10자리 이내여야 합니다")
        if not _PHONE.fullmatch(phone):
            return _invalid("phone", "숫자만 입력하시기 바랍니다")
        issuer = bill.get("billIssuer")
        if issuer is not None and (not isinstance(issuer, str) or len(issuer) > 50):
            return _invalid("billIssuer", "50자 이내여야 합니다")
        today = self.clock.now_kst().date()
        expire = today + dt.timedelta(days=7)
        if bill.get("expireDt") is not None:
            raw = bill["expireDt"]
            try:
                if not (isinstance(raw, str) and _DATE.fullmatch(raw)):
                    raise ValueError(raw)
                expire = dt.date.fromisoformat(raw)
            except ValueError:
                return _invalid("expireDt", "YYYY-MM-DD 형식이어야 합니다")
            if expire < today:
                return _invalid("expireDt", "오늘 이후 날짜여야 합니다")
        if not hmac.compare_digest(str(bill["hash"]), _sha256(bill_id, phone, price)):
            return _fail("VALIDATION_002")
        if bill_id in self.bills:
            return _fail("BILL_001")
        created = _Bill(
            bill_id=bill_id, send_type=bill["sendType"], product_name=bill["productName"], price=price,
            member_name=bill["memberName"], phone=phone, callback_url=bill["callbackUrl"], expire_dt=expire,
            created_at=self.clock.now(), message=bill.get("message"), bill_issuer=issuer,
            supply_price=bill.get("supplyPrice"), tax=bill.get("tax"),
            page_redirect_url=bill.get("pageRedirectUrl"), talk_sent=1 if bill["sendType"] == "TALK" else 0,
        )
        self.bills[bill_id] = created
        return OK, MESSAGES[OK], {
            "apiKey": self.api_key, "member": self.member, "merchant": self.merchant, "billId": bill_id,
            "hash": bill["hash"], "shortUrl": self.short_url(bill_id),
        }

    def _lookup(self, bill: dict[str, Any]) -> _Bill | Answer:
        bill_id = bill.get("billId")
        if not isinstance(bill_id, str) or not bill_id:
            return _invalid("billId", "필수 값입니다")
        found = self.bills.get(bill_id)
        return found if found is not None else _fail("BILL_003")

    def _resend(self, bill: dict[str, Any]) -> Answer:
        found = self._lookup(bill)
        if not isinstance(found, _Bill):
            return found
        if found.state != "W":
            return _fail("BILL_006", "재발송할 수 없는 상태의 청구서입니다.")
        if self.is_expired(found):
            return _fail("BILL_006", "유효기간이 지난 청구서입니다.")
        found.talk_sent += 1
        return OK, MESSAGES[OK], {"apiKey": self.api_key, "billId": found.bill_id}

    def _read(self, bill: dict[str, Any]) -> Answer:
        found = self._lookup(bill)
        if not isinstance(found, _Bill):
            return found
        return OK, MESSAGES[OK], self.read_data(found)

    def _priced(self, bill: dict[str, Any]) -> _Bill | Answer:
        """Lookup for destroy and cancel: price and the two-part hash must match."""
        for name in ("billId", "price", "hash"):
            if not isinstance(bill.get(name), str) or not bill[name]:
                return _invalid(name, "필수 값입니다")
        if not hmac.compare_digest(bill["hash"], _sha256(bill["billId"], bill["price"])):
            return _fail("VALIDATION_002")
        found = self._lookup(bill)
        if isinstance(found, _Bill) and bill["price"] != found.price:
            return _invalid("price", "청구 금액과 일치하지 않습니다 (전액만 가능)")
        return found

    def _destroy(self, bill: dict[str, Any]) -> Answer:
        found = self._priced(bill)
        if not isinstance(found, _Bill):
            return found
        if found.state != "W":
            return _fail("BILL_006", "미결제 청구서만 파기할 수 있습니다.")
        found.state = "D"
        return OK, MESSAGES[OK], {"apiKey": self.api_key, "billId": found.bill_id}

    def _cancel(self, bill: dict[str, Any]) -> Answer:
        reason = bill.get("cancelReason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 20):
            return _invalid("cancelReason", "20자 이내여야 합니다")
        found = self._priced(bill)
        if not isinstance(found, _Bill):
            return found
        if found.state != "F":
            return _fail("BILL_006", "결제 완료된 청구서만 취소할 수 있습니다.")
        approval = found.approval
        now = self._appr_dt()
        approval.update(
            apprOriginNum=approval.get("apprNum"), apprOriginDt=approval.get("apprDt"),
            apprNum=self._approval_number(), apprDt=now, apprCancelDt=now,
        )
        found.state = "C"
        found.cancel_reason = reason
        return OK, MESSAGES[OK], {
            "apprNum": approval["apprNum"], "apprOriginNum": approval["apprOriginNum"], "apprCancelDt": now,
        }

    # -- paying (sandbox only) -------------------------------------------------------------
    def pay(self, bill_id: str, pay_type: str = "CARD_VAN") -> Answer:
        """The customer pays: W -> F, then the payment callback goes out (needs a running loop)."""
        bill = self.bills.get(bill_id)
        if bill is None:
            return _fail("BILL_003")
        if pay_type not in PAY_TYPES:
            return _invalid("payType", "CARD_VAN, KEYIN, OFFLINE_CARD, OFFLINE_CASH 중 하나여야 합니다")
        if bill.state != "W":
            return _fail("BILL_006", "결제할 수 없는 상태의 청구서입니다.")
        if self.is_expired(bill):
            return _fail("BILL_006", "유효기간이 지난 청구서입니다.")
        self._approve(bill, pay_type)
        payload = {"apiKey": self.api_key, **self.read_data(bill)}
        self.fire_callback(bill.callback_url, payload, attempts=self.callback_attempts,
                           interval=self.callback_interval, ok=_callback_ok)
        return OK, MESSAGES[OK], self.read_data(bill)

    def _approve(self, bill: _Bill, pay_type: str) -> None:
        cash = pay_type == "OFFLINE_CASH"
        bill.state = "F"
        bill.approval = {
            "apprPayType": pay_type,
            "apprCardType": None if cash else "신용",
            "apprDt": self._appr_dt(),
            "apprPrice": bill.price,
            "apprIssuer": None if cash else "현대카드",
            "apprIssuerCd": None if cash else "04",
            "apprIssuerNum": None if cash else "433012******1234",
            "apprAcquirerCd": None if cash else "04",
            "apprAcquirerNm": None if cash else "현대카드",
            "apprNum": self._approval_number(),
            "apprResCd": "0000",
            "apprMonthly": None if cash else "0",
            "apprCashNum": self._approval_number() if cash else None,
            "apprCashTrader": "0" if cash else None,
            "apprCashIssuanceNumber": "010****0000" if cash else None,
        }

    def _appr_dt(self) -> str:
        return self.clock.now_kst().strftime("%Y%m%d%H%M%S")

    def _approval_number(self) -> str:
        return f"{30000000 + next(self._numbers):08d}"

    async def _admin_pay(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("billId"), str):
            return self._bad_request(request)
        code, message, data = self.pay(body["billId"], str(body.get("payType") or "CARD_VAN"))
        return json_response({"code": code, "message": message, "data": data})

    async def _pay_page(self, request: web.Request) -> web.Response:
        bill = self.bills.get(request.match_info["bill_id"])
        if bill is None:
            return web.Response(text="<h1>청구서를 찾을 수 없습니다.</h1>", status=404, content_type="text/html")
        notice = ""
        if request.method == "POST":
            _code, message, _data = self.pay(bill.bill_id, "CARD_VAN")
            notice = f"<p><b>{html.escape(message)}</b></p>"
        payable = bill.state == "W" and not self.is_expired(bill)
        state = {"W": "미결제", "F": "결제완료", "C": "결제취소", "D": "파기"}[bill.state]
        if bill.state == "W" and not payable:
            state = "유효기간 만료"
        form = (
            f'<form method="post" action="/_sandbox/pay/{html.escape(bill.bill_id)}">'
            '<button type="submit">카드로 결제하기 (SANDBOX)</button></form>' if payable else ""
        )
        page = (
            "<!doctype html><html lang=ko><head><meta charset=utf-8><title>결제선생 SANDBOX</title></head><body>"
            f"<h1>{html.escape(bill.bill_issuer or '결제선생')} 청구서</h1>{notice}"
            f"<p>{html.escape(bill.product_name)}</p><p>{int(bill.price):,}원</p>"
            f"<p>유효기간 {bill.expire_dt.isoformat()} · 상태: {state}</p>{form}</body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    async def _callback_sink(self, request: web.Request) -> web.Response:
        try:
            self.sink.append(await request.json())
        except ValueError:
            return self._bad_request(request)
        return json_response(CALLBACK_SUCCESS)

    # -- errors in Payssam's format ------------------------------------------------------------
    def error_500(self) -> web.Response:
        return json_response({"code": "ERROR", "message": "알 수 없는 오류가 발생했습니다.", "data": None},
                             status=500)

    def error_503(self, retry_after: int) -> web.Response:
        return json_response({"code": "MAINTAINED_METHOD", "message": "서비스 점검 중입니다.", "data": None},
                             status=503, headers={"Retry-After": str(retry_after)})

    def error_429(self, retry_after: int) -> web.Response:
        return json_response({"code": "TOO_MANY_REQUESTS", "message": "요청이 너무 많습니다.", "data": None},
                             status=429, headers={"Retry-After": str(retry_after)})
