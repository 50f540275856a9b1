"""State, credentials and the request plumbing (envelope, auth, approvals, error format) of the Payssam sandbox."""

from __future__ import annotations

import datetime as dt
import hmac
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from aiohttp import web

from providers.config import DEMO_PAYSSAM, PayssamConfig
from providers.sandbox.base import Faults, Sandbox, SandboxClock, json_response
from providers.sandbox.payssam._store import _APPROVAL_FIELDS, Answer, _Bill, _fail, _invalid

__all__ = ["_PayssamCore"]


class _PayssamCore(Sandbox):
    """Bills in memory, the credentials it accepts, and what every route shares.

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
        """``data`` of /bill/read (and the payment callback without apiKey): billId, apprState, appr*."""
        data: dict[str, Any] = {"billId": bill.bill_id, "apprState": bill.state}
        for name in _APPROVAL_FIELDS:
            data[name] = bill.approval.get(name)
        # Only the fields public clients read from /bill/read (reference/providers.md §1.4); the
        # V2 seed documents no read at all, so nothing about what the bill asked for is sent.
        return data

    # -- plumbing --------------------------------------------------------------------
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

    # -- approvals -------------------------------------------------------------------
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
