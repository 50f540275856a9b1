"""The Payssam sandbox's own rules, its state machine, and the payment callback it fires."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from providers.config import DEMO_PAYSSAM
from providers.errors import ProviderProtocolError
from providers.payssam import (
    CALLBACK_SUCCESS,
    CALLBACK_SUCCESS_BODY,
    authenticate_callback,
    callback_dedup_key,
    is_success_answer,
    parse_callback,
    price_hash,
    send_hash,
)
from providers.sandbox.base import KST, FaultRule
from providers.sandbox.payssam import PayssamSandbox
from tests.local_http import LOCAL_TLS

KEY = "SANDBOX-API-KEY"
ENVELOPE = {"apiKey": KEY, "member": "SANDBOX-MEMBER", "merchant": "SANDBOX-MERCHANT"}
READ_FIELDS = {
    "billId", "apprState", "apprPayType", "apprCardType", "apprDt", "apprOriginDt", "apprPrice", "apprIssuer",
    "apprIssuerCd", "apprIssuerNum", "apprAcquirerCd", "apprAcquirerNm", "apprNum", "apprOriginNum", "apprResCd",
    "apprMonthly", "apprCashNum", "apprCashTrader", "apprCashIssuanceNumber",
}


class Receiver:
    """The partner's webhook: records every callback and answers from a script (then success)."""

    def __init__(self, answers: list[tuple[int, str]] | None = None) -> None:
        self.answers = list(answers or [])
        self.received: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        status, body = self.answers.pop(0) if self.answers else (200, CALLBACK_SUCCESS_BODY.decode())
        return web.Response(status=status, text=body, content_type="application/json")

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/webhooks/payssam", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/webhooks/payssam"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def sandbox() -> AsyncIterator[PayssamSandbox]:
    sb = PayssamSandbox(callback_interval=0.01, callback_attempts=4)
    await sb.start()
    yield sb
    await sb.stop()


@pytest.fixture
async def http(sandbox: PayssamSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=sandbox.base_url, trust_env=False) as client:
        yield client


async def call(http: httpx.AsyncClient, path: str, bill: dict[str, Any] | None, **envelope: Any) -> dict[str, Any]:
    body: dict[str, Any] = {**ENVELOPE, **envelope}
    if bill is not None:
        body["bill"] = bill
    response = await http.post("/partner" + path, json=body)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def new_bill(bill_id: str = "INV000123", phone: str = "01012345678", price: str = "110000",
             **over: Any) -> dict[str, Any]:
    fields = {
        "billId": bill_id, "sendType": "TALK", "productName": "컨설팅", "price": price, "memberName": "김고객",
        "phone": phone, "callbackUrl": "http://127.0.0.1:9/cb", "hash": send_hash(bill_id, phone, price),
    }
    fields.update(over)
    return fields


# -- wire rules ------------------------------------------------------------------------------------
async def test_wrong_hash_is_validation_002(http: httpx.AsyncClient) -> None:
    answer = await call(http, "/bill", new_bill(hash=send_hash("INV000123", "01012345678", "1")))
    assert answer == {"code": "VALIDATION_002", "message": "해싱값을 확인하시기 바랍니다", "data": None}


async def test_destroy_hash_with_the_phone_in_it_is_refused(http: httpx.AsyncClient) -> None:
    await call(http, "/bill", new_bill())
    wrong = {"billId": "INV000123", "price": "110000", "hash": send_hash("INV000123", "01012345678", "110000")}
    assert (await call(http, "/bill/destroy", wrong))["code"] == "VALIDATION_002"
    right = {**wrong, "hash": price_hash("INV000123", "110000")}
    assert (await call(http, "/bill/destroy", right))["code"] == "0000"


async def test_missing_fields_and_bad_values_are_validation_001(http: httpx.AsyncClient) -> None:
    assert (await call(http, "/bill", None))["code"] == "VALIDATION_001"
    no_phone = new_bill()
    del no_phone["phone"]
    answer = await call(http, "/bill", no_phone)
    assert answer["code"] == "VALIDATION_001" and "phone" in answer["message"]
    yesterday = (dt.datetime.now(KST).date() - dt.timedelta(days=1)).isoformat()
    assert (await call(http, "/bill", new_bill(expireDt=yesterday)))["code"] == "VALIDATION_001"
    long_id = "A" * 21
    assert (await call(http, "/bill", new_bill(bill_id=long_id, hash=send_hash(long_id, "01012345678", "110000"))))[
        "code"] == "VALIDATION_001"
    dashed = "INV-1"  # seed 002 gives no character class: 1 to 20 characters of any kind
    assert (await call(http, "/bill", new_bill(bill_id=dashed, hash=send_hash(dashed, "01012345678", "110000"))))[
        "code"] == "0000"


async def test_resend_answers_message_as_the_v2_schema_says(http: httpx.AsyncClient) -> None:
    await call(http, "/bill", new_bill())
    answer = await call(http, "/bill/resend", {"billId": "INV000123"})
    assert answer["code"] == "0000" and answer["message"] and "msg" not in answer
    assert answer["data"]["billId"] == "INV000123"


async def test_malformed_json_is_http_400_without_a_code(http: httpx.AsyncClient) -> None:
    response = await http.post("/partner/bill", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request" and "code" not in response.json()


async def test_missing_api_key_is_partner_002(http: httpx.AsyncClient) -> None:
    response = await http.post("/partner/bill/read", json={"member": "SANDBOX-MEMBER", "bill": {"billId": "X1"}})
    assert response.json()["code"] == "PARTNER_002"


async def test_provider_errors_use_payssam_bodies(http: httpx.AsyncClient, sandbox: PayssamSandbox) -> None:
    sandbox.add_fault(FaultRule(kind="503", path=r"/bill/read$"))
    response = await http.post("/partner/bill/read", json={**ENVELOPE, "bill": {"billId": "DEMO0001"}})
    assert response.status_code == 503 and response.json()["code"] == "MAINTAINED_METHOD"
    assert response.headers["Retry-After"] == "1"


async def test_routes_answer_with_and_without_partner_prefix(http: httpx.AsyncClient) -> None:
    with_prefix = (await http.post("/partner/bill/read", json={**ENVELOPE, "bill": {"billId": "DEMO0001"}})).json()
    without = (await http.post("/bill/read", json={**ENVELOPE, "bill": {"billId": "DEMO0001"}})).json()
    assert with_prefix == without
    assert with_prefix["data"]["apprState"] == "W"


async def test_reset_brings_back_the_seeded_demo_bills(http: httpx.AsyncClient, sandbox: PayssamSandbox) -> None:
    await call(http, "/bill", new_bill())
    assert set(sandbox.bills) == {"DEMO0001", "DEMO0002", "INV000123"}
    await http.post("/_sandbox/reset")
    assert {k: v["apprState"] for k, v in sandbox.snapshot()["bills"].items()} == {"DEMO0001": "W", "DEMO0002": "F"}
    state = (await http.get("/_sandbox/state")).json()
    assert state["bills"]["DEMO0002"]["apprNum"]


def test_sandbox_accepts_the_configured_credentials() -> None:
    config = DEMO_PAYSSAM.model_copy(update={"member": "MY-MEMBER"})
    assert PayssamSandbox(config).member == "MY-MEMBER"
    assert PayssamSandbox().api_key == KEY


# -- the state machine ---------------------------------------------------------------------------
async def test_pay_moves_an_unpaid_bill_to_paid_once(http: httpx.AsyncClient, sandbox: PayssamSandbox) -> None:
    await call(http, "/bill", new_bill())
    paid = (await http.post("/_sandbox/bill/pay", json={"billId": "INV000123", "payType": "CARD_VAN"})).json()
    assert paid["code"] == "0000"
    data = paid["data"]
    assert (data["apprState"], data["apprPrice"], data["apprPayType"], data["apprMonthly"]) == (
        "F", "110000", "CARD_VAN", "0")
    assert re.fullmatch(r"\d{14}", data["apprDt"]) and re.fullmatch(r"\d{8}", data["apprNum"])
    again = (await http.post("/_sandbox/bill/pay", json={"billId": "INV000123"})).json()
    assert again["code"] == "BILL_006"
    unknown = (await http.post("/_sandbox/bill/pay", json={"billId": "NOPE1"})).json()
    assert unknown["code"] == "BILL_003"
    assert sandbox.pay("DEMO0001", "BITCOIN")[0] == "VALIDATION_001"


async def test_paid_to_cancelled_and_unpaid_to_destroyed(http: httpx.AsyncClient, sandbox: PayssamSandbox) -> None:
    await call(http, "/bill", new_bill("PAIDONE1"))
    await call(http, "/bill", new_bill("UNPAIDONE1"))
    sandbox.pay("PAIDONE1", "OFFLINE_CASH")
    priced = {"price": "110000"}
    destroy_paid = {"billId": "PAIDONE1", **priced, "hash": price_hash("PAIDONE1", "110000")}
    assert (await call(http, "/bill/destroy", destroy_paid))["code"] == "BILL_006"
    cancel = {**destroy_paid, "cancelReason": "환불"}
    assert (await call(http, "/bill/cancel", cancel))["code"] == "0000"
    assert (await call(http, "/bill/cancel", cancel))["code"] == "BILL_006"
    cancel_unpaid = {"billId": "UNPAIDONE1", **priced, "hash": price_hash("UNPAIDONE1", "110000")}
    assert (await call(http, "/bill/cancel", cancel_unpaid))["code"] == "BILL_006"
    assert (await call(http, "/bill/destroy", cancel_unpaid))["code"] == "0000"
    states = {k: v["apprState"] for k, v in sandbox.snapshot()["bills"].items()}
    assert (states["PAIDONE1"], states["UNPAIDONE1"]) == ("C", "D")
    assert sandbox.pay("UNPAIDONE1")[0] == "BILL_006"


async def test_cancel_reason_over_20_characters_is_refused(http: httpx.AsyncClient, sandbox: PayssamSandbox) -> None:
    cancel = {"billId": "DEMO0002", "price": "55000", "hash": price_hash("DEMO0002", "55000"),
              "cancelReason": "가" * 21}
    assert (await call(http, "/bill/cancel", cancel))["code"] == "VALIDATION_001"
    assert sandbox.bills["DEMO0002"].state == "F"


async def test_a_bill_is_payable_until_midnight_kst_of_its_expiry_date(sandbox: PayssamSandbox,
                                                                        http: httpx.AsyncClient) -> None:
    today = sandbox.clock.now_kst().date()
    await call(http, "/bill", new_bill(expireDt=today.isoformat()))
    midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), KST)
    sandbox.clock.advance((midnight - sandbox.clock.now_kst()).total_seconds() - 60)
    assert (await call(http, "/bill/resend", {"billId": "INV000123"}))["code"] == "0000"
    sandbox.clock.advance(120)
    assert (await call(http, "/bill/resend", {"billId": "INV000123"}))["code"] == "BILL_006"
    read = await call(http, "/bill/read", {"billId": "INV000123"})
    assert read["data"]["apprState"] == "W"
    assert "expired" not in read["data"] and "expireDt" not in read["data"]  # not documented fields
    assert sandbox.pay("INV000123") == ("BILL_006", "유효기간이 지난 청구서입니다.", None)


async def test_pay_page_shows_the_bill_and_pays_by_card(http: httpx.AsyncClient, sandbox: PayssamSandbox) -> None:
    sent = await call(http, "/bill", new_bill(sendType="URL", billIssuer="<인보이스봇>"))
    page_url = sent["data"]["shortUrl"].removeprefix(sandbox.base_url)
    page = await http.get(page_url)
    assert page.headers["content-type"].startswith("text/html")
    assert "110,000원" in page.text and "&lt;인보이스봇&gt;" in page.text and "<form" in page.text
    paid = await http.post(page_url)
    assert "성공하였습니다." in paid.text and "<form" not in paid.text
    assert sandbox.bills["INV000123"].state == "F"
    assert (await http.get("/_sandbox/pay/NOPE1")).status_code == 404


# -- the payment callback ---------------------------------------------------------------------------
@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def test_payment_fires_the_v2_callback_with_the_read_fields(
    http: httpx.AsyncClient, sandbox: PayssamSandbox, receiver: Receiver
) -> None:
    await call(http, "/bill", new_bill(callbackUrl=receiver.url))
    sandbox.pay("INV000123")
    await sandbox.wait_callbacks()
    assert len(receiver.received) == 1
    payload = receiver.received[0]
    read = (await call(http, "/bill/read", {"billId": "INV000123"}))["data"]
    assert payload == {"apiKey": KEY, **read}
    assert set(payload) >= READ_FIELDS
    assert (payload["apprState"], payload["apprPrice"]) == ("F", "110000")
    assert sandbox.callbacks[-1]["delivered"] is True and sandbox.callbacks[-1]["attempts"] == 1


async def test_callback_is_retried_until_the_answer_is_the_success_body(
    http: httpx.AsyncClient, sandbox: PayssamSandbox, receiver: Receiver
) -> None:
    receiver.answers = [(200, '{"result": "ok"}'), (500, '{"code": "0000"}'), (200, "<html>ok</html>")]
    await call(http, "/bill", new_bill(callbackUrl=receiver.url))
    sandbox.pay("INV000123")
    await sandbox.wait_callbacks()
    assert len(receiver.received) == 4
    assert len({callback_dedup_key(parse_callback(p)) for p in receiver.received}) == 1
    assert sandbox.callbacks[-1]["delivered"] is True and sandbox.callbacks[-1]["attempts"] == 4


async def test_callback_gives_up_after_the_configured_attempts(
    http: httpx.AsyncClient, sandbox: PayssamSandbox, receiver: Receiver
) -> None:
    receiver.answers = [(200, '{"code": "9999"}')] * 10
    await call(http, "/bill", new_bill(callbackUrl=receiver.url))
    sandbox.pay("INV000123")
    await sandbox.wait_callbacks()
    assert len(receiver.received) == 4
    assert sandbox.callbacks[-1]["delivered"] is False


def test_callback_success_answer_is_exactly_what_paymint_requires() -> None:
    assert CALLBACK_SUCCESS == {"code": "0000", "msg": "성공하였습니다."}
    assert json.loads(CALLBACK_SUCCESS_BODY) == CALLBACK_SUCCESS
    assert is_success_answer('{"code":"0000"}')
    assert not is_success_answer('{"code":"9999"}') and not is_success_answer("<html>")


def test_callback_model_tolerates_extra_fields_and_authenticates_by_api_key() -> None:
    payload = {"apiKey": KEY, "billId": "INV000123", "apprState": "F", "apprPrice": 110000, "apprNum": "30000001",
               "apprDt": "20260901120000", "somethingNew": "kept"}
    callback = parse_callback(json.dumps(payload).encode())
    assert (callback.bill_id, callback.appr_price, callback.appr_num) == ("INV000123", "110000", "30000001")
    assert callback.wire()["somethingNew"] == "kept" and callback.wire()["apiKey"] == KEY
    assert authenticate_callback(callback, KEY)
    assert DEMO_PAYSSAM.api_key is not None
    assert authenticate_callback(callback, DEMO_PAYSSAM.api_key)
    assert not authenticate_callback(callback, "SANDBOX-API-KEZ")
    assert callback_dedup_key(callback) == "payssam:INV000123:30000001"
    v1 = parse_callback({"apikey": KEY, "billId": "B1"})
    assert v1.api_key == KEY
    with pytest.raises(ProviderProtocolError):
        parse_callback(b'{"billId": "B1"}')
    with pytest.raises(ProviderProtocolError):
        parse_callback(b"not json")
