"""PayssamClient against the wire contract: envelope, hash, validation, every call, every error."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from providers.config import DEMO_PAYSSAM
from providers.errors import (
    DocumentNotFound,
    OutcomeUnknown,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    RateLimited,
    RequestInvalid,
)
from providers.http import HttpPolicy
from providers.payssam import PayssamClient, bill_hash, price_hash, send_hash
from providers.sandbox.base import FaultRule
from providers.sandbox.payssam import PayssamSandbox

FAST = HttpPolicy(read_timeout=0.3, backoff=0.01, max_retry_after=0.5)
KEY = "SANDBOX-API-KEY"
MEMBER = "SANDBOX-MEMBER"
MERCHANT = "SANDBOX-MERCHANT"


def bill(bill_id: str = "INV000123", **over: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "bill_id": bill_id,
        "send_type": "TALK",
        "product_name": "컨설팅 3월분",
        "price": "110000",
        "member_name": "김고객",
        "phone": "01012345678",
        "callback_url": "http://127.0.0.1:9/webhooks/payssam",
    }
    fields.update(over)
    return fields


@pytest.fixture
async def sandbox() -> AsyncIterator[PayssamSandbox]:
    sb = PayssamSandbox(callback_interval=0.01, callback_attempts=2)
    await sb.start()
    yield sb
    await sb.stop()


def make_client(base_url: str, *, transport: httpx.AsyncBaseTransport | None = None) -> PayssamClient:
    return PayssamClient(api_key=KEY, member=MEMBER, merchant=MERCHANT, base_url=base_url, policy=FAST,
                         transport=transport)


@pytest.fixture
async def client(sandbox: PayssamSandbox) -> AsyncIterator[PayssamClient]:
    c = make_client(sandbox.base_url + "/partner")
    yield c
    await c.aclose()


class Recorder:
    """A MockTransport that answers every request with one canned response and keeps the requests."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or (lambda _r: httpx.Response(200, json={"code": "0000", "message": "성공", "data": {}}))
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


# -- hash -------------------------------------------------------------------------------
def test_hash_is_lowercase_hex_sha256_of_the_comma_joined_parts() -> None:
    assert send_hash("INV000123", "01012345678", "110000") == (
        "391b942c6f1d2b4db1683407db3d2d957a6c4b641ca1cfbc6f2f8d6af7137d7b"
    )
    assert price_hash("INV000123", "110000") == "67f784d1c23f4535d1aeeafdf51bee94e9274aade6df86eddb0b28267e463ab4"
    assert send_hash("TEST0000000001", "01012345678", "1000") == hashlib.sha256(
        b"TEST0000000001,01012345678,1000"
    ).hexdigest()
    assert bill_hash("A1", "5") == hashlib.sha256(b"A1,5").hexdigest()
    assert send_hash("A1", "0101", "5") != price_hash("A1", "5")


async def test_each_write_hashes_exactly_the_strings_it_sends() -> None:
    rec = Recorder()
    c = make_client("https://payssam.test/partner", transport=rec.transport)
    await c.send_bill(**bill(price="000110000"))
    await c.destroy("INV000123", "110000")
    await c.cancel("INV000123", "110000", "고객 요청")
    send, destroy, cancel = (b["bill"] for b in rec.bodies())
    assert send["hash"] == hashlib.sha256(f"{send['billId']},{send['phone']},{send['price']}".encode()).hexdigest()
    assert send["price"] == "000110000"
    assert destroy["hash"] == hashlib.sha256(b"INV000123,110000").hexdigest()
    assert cancel["hash"] == hashlib.sha256(b"INV000123,110000").hexdigest()
    assert "phone" not in destroy and "phone" not in cancel
    await c.aclose()


async def test_envelope_is_json_post_with_credentials_in_the_body_and_no_auth_header() -> None:
    rec = Recorder()
    c = make_client("https://payssam.test/partner", transport=rec.transport)
    await c.read("INV000123")
    request = rec.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/partner/bill/read"
    assert request.headers["content-type"].startswith("application/json")
    assert "authorization" not in request.headers
    assert rec.bodies()[0] == {"apiKey": KEY, "member": MEMBER, "merchant": MERCHANT, "bill": {"billId": "INV000123"}}
    await c.aclose()


async def test_default_base_url_is_the_v2_sandbox() -> None:
    rec = Recorder()
    c = PayssamClient(api_key=KEY, member=MEMBER, merchant=MERCHANT, transport=rec.transport)
    await c.read("INV000123")
    assert str(rec.requests[0].url) == "https://sandbox.paymint.co.kr/partner/bill/read"
    await c.aclose()


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.send_bill(**bill(bill_id="")), "invalid_bill_id"),
        (lambda c: c.send_bill(**bill(bill_id="A" * 21)), "invalid_bill_id"),
        (lambda c: c.send_bill(**bill(price="110,000")), "invalid_price"),
        (lambda c: c.send_bill(**bill(price="12345678901")), "invalid_price"),
        (lambda c: c.send_bill(**bill(phone="010-1234-5678")), "invalid_phone"),
        (lambda c: c.send_bill(**bill(expire_dt="2026/09/01")), "invalid_expire_dt"),
        (lambda c: c.send_bill(**bill(expire_dt="2026-02-30")), "invalid_expire_dt"),
        (lambda c: c.send_bill(**bill(send_type="SMS")), "invalid_send_type"),
        (lambda c: c.cancel("INV000123", "110000", "가" * 21), "invalid_cancel_reason"),
        (lambda c: c.destroy("INV000123", "-1"), "invalid_price"),
    ],
)
async def test_invalid_input_is_refused_before_anything_is_sent(call: Any, code: str) -> None:
    rec = Recorder()
    c = make_client("https://payssam.test/partner", transport=rec.transport)
    with pytest.raises(RequestInvalid) as err:
        await call(c)
    assert err.value.code == code
    assert rec.requests == []
    await c.aclose()


# -- round trips against the sandbox -----------------------------------------------------------
async def test_send_then_read_shows_an_unpaid_bill(client: PayssamClient, sandbox: PayssamSandbox) -> None:
    sent = await client.send_bill(**bill(expire_dt="2099-12-31"))
    assert sent.bill_id == "INV000123"
    assert sent.short_url == f"{sandbox.base_url}/_sandbox/pay/INV000123"
    info = await client.read("INV000123")
    assert info.appr_state == "W"
    assert info.appr_num is None
    # /bill/read is not in the V2 seed: only billId, apprState and the appr* fields come back
    assert "expireDt" not in info.wire() and "price" not in info.wire() and "shortUrl" not in info.wire()
    assert sandbox.bills["INV000123"].talk_sent == 1


async def test_a_bill_id_of_any_20_characters_is_taken_as_seed_002_allows(
    client: PayssamClient, sandbox: PayssamSandbox
) -> None:
    """Seed 002: billId is a string of 1 to 20 characters, no character class."""
    sent = await client.send_bill(**bill(bill_id="INV-2026_03/0000001"))
    assert sent.bill_id == "INV-2026_03/0000001"
    assert (await client.read("INV-2026_03/0000001")).appr_state == "W"


async def test_url_send_type_only_returns_the_link(client: PayssamClient, sandbox: PayssamSandbox) -> None:
    sent = await client.send_bill(**bill(send_type="URL"))
    assert sent.short_url and sent.short_url.endswith("/_sandbox/pay/INV000123")
    assert sandbox.bills["INV000123"].talk_sent == 0


async def test_resend_sends_the_kakaotalk_message_again(client: PayssamClient, sandbox: PayssamSandbox) -> None:
    await client.send_bill(**bill())
    reply = await client.resend("INV000123")
    assert reply.code == "0000"
    assert reply.message == "성공하였습니다."  # /bill/resend answers `msg`
    assert sandbox.bills["INV000123"].talk_sent == 2


async def test_destroy_voids_an_unpaid_bill(client: PayssamClient) -> None:
    await client.send_bill(**bill())
    await client.destroy("INV000123", "110000")
    assert (await client.read("INV000123")).appr_state == "D"


async def test_cancel_reverses_a_paid_bill(client: PayssamClient, sandbox: PayssamSandbox) -> None:
    await client.send_bill(**bill())
    assert sandbox.pay("INV000123")[0] == "0000"
    paid = await client.read("INV000123")
    result = await client.cancel("INV000123", "110000", "고객 요청")
    assert result.appr_origin_num == paid.appr_num
    assert result.appr_num and result.appr_num != paid.appr_num
    assert result.appr_cancel_dt
    assert (await client.read("INV000123")).appr_state == "C"


async def test_a_base_url_without_partner_works_too(sandbox: PayssamSandbox) -> None:
    c = make_client(sandbox.base_url)
    assert (await c.read("DEMO0001")).appr_state == "W"
    await c.aclose()


# -- provider refusals ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("creds", "code", "message"),
    [
        ({"api_key": "WRONG-KEY"}, "PARTNER_003", "유효한 파트너가 아닙니다."),
        ({"api_key": "K" * 33}, "PARTNER_002", "API KEY가 존재하지 않거나 형식이 올바르지 않습니다."),
        ({"api_key": ""}, "PARTNER_002", "API KEY가 존재하지 않거나 형식이 올바르지 않습니다."),
        ({"merchant": "OTHER-MERCHANT"}, "PARTNER_004", "가맹점 매핑 정보를 찾을 수 없습니다."),
        ({"member": "OTHER-MEMBER"}, "PARTNER_004", "가맹점 매핑 정보를 찾을 수 없습니다."),
    ],
)
async def test_bad_credentials_are_refused_with_payssam_codes(
    sandbox: PayssamSandbox, creds: dict[str, str], code: str, message: str
) -> None:
    c = PayssamClient(
        api_key=creds.get("api_key", KEY),
        member=creds.get("member", MEMBER),
        merchant=creds.get("merchant", MERCHANT),
        base_url=sandbox.base_url + "/partner",
        policy=FAST,
    )
    with pytest.raises(ProviderRejected) as err:
        await c.read("DEMO0001")
    assert (err.value.code, err.value.message) == (code, message)
    assert err.value.user_hint and "PAYSSAM_" in err.value.user_hint
    assert not isinstance(err.value, DocumentNotFound)
    await c.aclose()


async def test_unknown_bill_is_document_not_found(client: PayssamClient) -> None:
    with pytest.raises(DocumentNotFound) as err:
        await client.read("NOSUCHBILL")
    assert (err.value.code, err.value.message) == ("BILL_003", "청구서를 찾을 수 없습니다.")


async def test_a_billid_is_never_reused(client: PayssamClient) -> None:
    await client.send_bill(**bill())
    with pytest.raises(ProviderRejected) as err:
        await client.send_bill(**bill(price="5000"))
    assert err.value.code == "BILL_001"


async def test_business_error_with_http_200_and_message_keeps_code_and_text(
    client: PayssamClient, sandbox: PayssamSandbox
) -> None:
    await client.send_bill(**bill())
    sandbox.pay("INV000123")
    with pytest.raises(ProviderRejected) as err:
        await client.destroy("INV000123", "110000")
    assert (err.value.code, err.value.message) == ("BILL_006", "미결제 청구서만 파기할 수 있습니다.")
    body = json.loads(sandbox.requests_to(r"/bill/destroy$")[-1]["body"])
    assert body["bill"]["billId"] == "INV000123"


async def test_business_error_with_msg_instead_of_message_is_read(client: PayssamClient) -> None:
    await client.send_bill(**bill())
    await client.destroy("INV000123", "110000")
    with pytest.raises(ProviderRejected) as err:
        await client.resend("INV000123")  # the sandbox's /bill/resend answers with `msg`
    assert (err.value.code, err.value.message) == ("BILL_006", "재발송할 수 없는 상태의 청구서입니다.")


async def test_cancel_of_an_unpaid_bill_and_partial_cancel_are_refused(client: PayssamClient) -> None:
    await client.send_bill(**bill())
    with pytest.raises(ProviderRejected) as unpaid:
        await client.cancel("INV000123", "110000")
    assert unpaid.value.code == "BILL_006"
    with pytest.raises(ProviderRejected) as partial:
        await client.destroy("INV000123", "100000")
    assert partial.value.code == "VALIDATION_001"


@pytest.mark.parametrize("key", ["msg", "message"])
async def test_either_message_field_is_read(key: str) -> None:
    body = {"code": "POINT_001", key: "포인트가 부족합니다.", "data": None}
    rec = Recorder(lambda _r: httpx.Response(200, json=body))
    c = make_client("https://payssam.test/partner", transport=rec.transport)
    with pytest.raises(ProviderRejected) as err:
        await c.send_bill(**bill())
    assert (err.value.code, err.value.message) == ("POINT_001", "포인트가 부족합니다.")
    assert err.value.user_hint and "포인트" in err.value.user_hint
    await c.aclose()


async def test_http_400_malformed_request_is_a_refusal() -> None:
    spring = {"timestamp": "2026-08-05T01:02:03Z", "status": 400, "error": "Bad Request", "path": "/partner/bill"}
    rec = Recorder(lambda _r: httpx.Response(400, json=spring))
    c = make_client("https://payssam.test/partner", transport=rec.transport)
    with pytest.raises(ProviderRejected) as err:
        await c.send_bill(**bill())
    assert err.value.code == "http_400"
    assert "Bad Request" in err.value.message
    await c.aclose()


async def test_http_404_wrong_address_is_a_refusal_pointing_at_the_url(sandbox: PayssamSandbox) -> None:
    c = make_client(sandbox.base_url + "/partner/v9")
    with pytest.raises(ProviderRejected) as err:
        await c.read("DEMO0001")
    assert err.value.code == "http_404"
    assert err.value.user_hint and "PAYSSAM_API_URL" in err.value.user_hint
    await c.aclose()


async def test_an_answer_without_a_code_is_a_protocol_error() -> None:
    rec = Recorder(lambda _r: httpx.Response(200, json={"message": "ok", "data": {}}))
    c = make_client("https://payssam.test/partner", transport=rec.transport)
    with pytest.raises(ProviderProtocolError):
        await c.read("INV000123")
    await c.aclose()


async def test_unclassified_error_on_a_write_is_outcome_unknown() -> None:
    rec = Recorder(lambda _r: httpx.Response(200, json={"code": "ERROR", "message": "시스템 오류", "data": None}))
    c = make_client("https://payssam.test/partner", transport=rec.transport)
    with pytest.raises(OutcomeUnknown) as err:
        await c.send_bill(**bill())
    assert err.value.code == "ERROR"
    with pytest.raises(ProviderUnavailable):
        await c.read("INV000123")
    await c.aclose()


# -- transport faults ------------------------------------------------------------------------------
async def test_429_is_rate_limited_with_retry_after(client: PayssamClient, sandbox: PayssamSandbox) -> None:
    sandbox.add_fault(FaultRule(kind="429", path=r"/bill$", retry_after=7))
    with pytest.raises(RateLimited) as err:
        await client.send_bill(**bill())
    assert err.value.retry_after == 7
    assert "INV000123" not in sandbox.bills


async def test_503_maintenance_is_unavailable(client: PayssamClient, sandbox: PayssamSandbox) -> None:
    sandbox.add_fault(FaultRule(kind="503", path=r"/bill/read$", count=None, retry_after=5))
    with pytest.raises(ProviderUnavailable) as err:
        await client.read("DEMO0001")
    assert err.value.code == "503"


async def test_503_on_a_read_is_retried(client: PayssamClient, sandbox: PayssamSandbox) -> None:
    sandbox.add_fault(FaultRule(kind="503", path=r"/bill/read$", count=1, retry_after=0))
    assert (await client.read("DEMO0001")).appr_state == "W"
    assert len(sandbox.requests_to(r"/bill/read$")) == 2


async def test_500_is_unavailable_with_payssam_error_code(client: PayssamClient, sandbox: PayssamSandbox) -> None:
    sandbox.add_fault(FaultRule(kind="500", path=r"/bill/read$"))
    with pytest.raises(ProviderUnavailable) as err:
        await client.read("DEMO0001")
    assert err.value.code == "ERROR"


@pytest.mark.parametrize("kind", ["html", "malformed"])
async def test_unreadable_bodies_are_protocol_errors(
    client: PayssamClient, sandbox: PayssamSandbox, kind: str
) -> None:
    sandbox.add_fault(FaultRule(kind=kind, path=r"/bill/read$"))
    with pytest.raises(ProviderProtocolError):
        await client.read("DEMO0001")


async def test_read_timeout_is_unavailable_after_retries(client: PayssamClient, sandbox: PayssamSandbox) -> None:
    sandbox.add_fault(FaultRule(kind="timeout", path=r"/bill/read$", count=3, seconds=0.6))
    with pytest.raises(ProviderUnavailable) as err:
        await client.read("DEMO0001")
    assert err.value.code == "timeout"
    assert len(sandbox.requests_to(r"/bill/read$")) == 3


async def test_drop_on_send_is_outcome_unknown_and_the_bill_exists(
    client: PayssamClient, sandbox: PayssamSandbox
) -> None:
    sandbox.add_fault(FaultRule(kind="drop", path=r"/bill$"))
    with pytest.raises(OutcomeUnknown):
        await client.send_bill(**bill())
    assert len(sandbox.requests_to(r"/bill$")) == 1  # never retried blindly
    assert (await client.read("INV000123")).appr_state == "W"


async def test_reset_on_send_is_outcome_unknown_and_nothing_was_created(
    client: PayssamClient, sandbox: PayssamSandbox
) -> None:
    sandbox.add_fault(FaultRule(kind="reset", path=r"/bill$"))
    with pytest.raises(OutcomeUnknown):
        await client.send_bill(**bill())
    with pytest.raises(DocumentNotFound):
        await client.read("INV000123")


async def test_timeout_on_a_write_is_outcome_unknown_and_not_retried(
    client: PayssamClient, sandbox: PayssamSandbox
) -> None:
    sandbox.add_fault(FaultRule(kind="timeout", path=r"/bill/destroy$", seconds=0.5))
    with pytest.raises(OutcomeUnknown):
        await client.destroy("DEMO0001", "110000")
    assert len(sandbox.requests_to(r"/bill/destroy$")) == 1


async def test_from_config_uses_the_configured_url(sandbox: PayssamSandbox) -> None:
    config = DEMO_PAYSSAM.model_copy(update={"api_url": sandbox.base_url + "/partner", "policy": FAST})
    c = PayssamClient.from_config(config)
    assert (await c.read("DEMO0002")).appr_state == "F"
    await c.aclose()
