"""The Payssam sandbox's routes: the five bill operations and the sandbox-only paying pages."""

from __future__ import annotations

import datetime as dt
import hmac
import html
from typing import Any

from aiohttp import web

from providers.payssam.callback import CALLBACK_SUCCESS
from providers.payssam.client import bill_hash
from providers.sandbox.base import json_response
from providers.sandbox.payssam._core import _PayssamCore
from providers.sandbox.payssam._store import (
    _BILL_ID,
    _DATE,
    _DIGITS10,
    _PHONE,
    MESSAGES,
    OK,
    PAY_TYPES,
    Answer,
    _Bill,
    _callback_ok,
    _fail,
    _invalid,
)

__all__ = ["PayssamSandbox"]


class PayssamSandbox(_PayssamCore):
    """The Payssam V2 bill API on loopback (see the package docstring for the routes and choices)."""


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
                app.router.add_post(prefix + path, self._api(op, "message"))  # V2 schema: code/message/data
        app.router.add_post("/_sandbox/bill/pay", self._admin_pay)
        app.router.add_get("/_sandbox/pay/{bill_id}", self._pay_page)
        app.router.add_post("/_sandbox/pay/{bill_id}", self._pay_page)
        app.router.add_post("/_sandbox/callback-sink", self._callback_sink)

    # -- operations ----------------------------------------------------------------------
    def _send(self, bill: dict[str, Any]) -> Answer:
        required = ("billId", "sendType", "productName", "price", "memberName", "phone", "callbackUrl", "hash")
        for name in required:
            if not isinstance(bill.get(name), str) or not bill[name]:
                return _invalid(name, "필수 값입니다")
        bill_id, price, phone = bill["billId"], bill["price"], bill["phone"]
        if not _BILL_ID.fullmatch(bill_id):
            return _invalid("billId", "1자 이상 20자 이내여야 합니다")
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
        if not hmac.compare_digest(str(bill["hash"]), bill_hash(bill_id, phone, price)):
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
        if not hmac.compare_digest(bill["hash"], bill_hash(bill["billId"], bill["price"])):
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
