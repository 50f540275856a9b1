"""LinkHub token issuance: the signer matches the SDK's test vectors, the sandbox verifies it,
and the per-instance cache issues one token for many concurrent callers and refreshes early."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import time

import pytest
from pydantic import SecretStr

from providers.config import DEMO_POPBILL, PopbillConfig, SellerConfig
from providers.errors import ProviderRejected, RequestInvalid
from providers.http import HttpPolicy
from providers.popbill import (
    LinkhubAuth,
    MgtKeyType,
    PopbillService,
    format_lh_date,
    linkhub_signature,
    linkhub_signed_string,
    parse_expiration,
    token_request_body,
)
from providers.sandbox.popbill import PopbillSandbox
from tests.paths import shared_path

GOLDEN = json.loads(shared_path("reference", "popbill-golden-requests.json").read_text())
FAST = HttpPolicy(read_timeout=0.5, backoff=0.01)


@pytest.fixture
async def sandbox():
    sb = PopbillSandbox()
    await sb.start()
    yield sb
    await sb.stop()


def make_service(sandbox: PopbillSandbox, config: PopbillConfig = DEMO_POPBILL, **kwargs: object) -> PopbillService:
    config = config.model_copy(update={"api_url": sandbox.base_url, "policy": FAST})
    kwargs.setdefault("clock", sandbox.clock.time)
    return PopbillService(config, seller=SellerConfig(), sandbox=True, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def service(sandbox):
    svc = make_service(sandbox)
    yield svc
    await svc.aclose()


def token_requests(sandbox: PopbillSandbox) -> list[dict]:
    return sandbox.requests_to(r"^/POPBILL(_TEST)?/Token$", "POST")


# -- the signer ------------------------------------------------------------------------------------
@pytest.mark.parametrize("vector", GOLDEN["test_vectors"], ids=lambda v: f"{v['uri']}:{v['body'][-12:]}")
def test_signer_matches_every_official_test_vector(vector: dict) -> None:
    body = vector["body"].encode()
    signed = linkhub_signed_string(method="POST", body=body, date=vector["x_lh_date"],
                                   forwarded=vector["x_lh_forwarded"], version="2.0", uri=vector["uri"])
    assert signed == vector["signed_string"]
    signature = linkhub_signature(vector["secret_key"], body=body, date=vector["x_lh_date"], uri=vector["uri"],
                                  forwarded=vector["x_lh_forwarded"])
    assert signature == vector["signature"]
    assert vector["headers"]["Authorization"] == f"LINKHUB {vector['link_id']} {signature}"


def test_token_body_is_byte_identical_to_the_sdk() -> None:
    assert token_request_body("1234567890", ["member", "110"]).decode() == GOLDEN["test_vectors"][0]["body"]
    assert token_request_body("1234567890", ("member", "170")).decode() == GOLDEN["test_vectors"][2]["body"]


def test_lh_date_and_expiration_formats() -> None:
    at = dt.datetime(2026, 11, 21, 1, 2, 3, tzinfo=dt.UTC).timestamp()
    assert format_lh_date(at + 0.9) == "2026-11-21T01:02:03Z"
    assert parse_expiration("2026-11-21T02:02:03.000Z").timestamp() == at + 3600
    assert parse_expiration("2026-11-21T02:02:03Z").timestamp() == at + 3600


def test_a_secret_that_is_not_base64_is_refused_before_any_io() -> None:
    with pytest.raises(RequestInvalid) as err:
        linkhub_signature("not base64!", body=b"{}", date="2026-11-21T01:02:03Z", uri="/POPBILL/Token")
    assert err.value.code == "secret_key"


# -- issuing against the sandbox -------------------------------------------------------------------
async def test_token_request_on_the_wire_matches_the_sdk(sandbox, service) -> None:
    await service.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-001")
    (request,) = token_requests(sandbox)
    headers = dict(request["headers"])
    golden = GOLDEN["operations"][0]["requests"][0]
    assert request["path"] == "/POPBILL_TEST/Token"
    assert headers["Content-Type"] == "Application/json"
    assert headers["x-lh-version"] == "2.0"
    assert headers["Authorization"].startswith(f"LINKHUB {DEMO_POPBILL.link_id} ")
    assert "x-lh-forwarded" not in headers
    assert set(json.loads(request["body"])) == set(golden["body_json"])
    assert json.loads(request["body"]) == {"access_id": DEMO_POPBILL.corp_num, "scope": ["member", "110"]}
    # default separators, as the signature covers the bytes
    assert request["body"] == json.dumps({"access_id": DEMO_POPBILL.corp_num, "scope": ["member", "110"]})


async def test_production_service_id_and_ip_unrestricted_token(sandbox) -> None:
    config = DEMO_POPBILL.model_copy(update={"is_test": False, "ip_restrict": False})
    svc = make_service(sandbox, config)
    try:
        await svc.closedown.check_corp_num("6798700433")
    finally:
        await svc.aclose()
    (request,) = token_requests(sandbox)
    assert request["path"] == "/POPBILL/Token"
    assert dict(request["headers"])["x-lh-forwarded"] == "*"
    assert json.loads(request["body"])["scope"] == ["member", "170"]


async def test_each_service_scope_gets_its_own_token(sandbox, service) -> None:
    await service.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-001")
    await service.cashbill.get_info("DEMO-CB-001")
    await service.closedown.check_corp_num("6798700433")
    await service.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-002")
    scopes = [json.loads(r["body"])["scope"] for r in token_requests(sandbox)]
    assert scopes == [["member", "110"], ["member", "140"], ["member", "170"]]


async def test_fifty_concurrent_callers_without_a_token_cause_one_token_request(sandbox, service) -> None:
    infos = await asyncio.gather(*(service.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-001") for _ in range(50)))
    assert len(infos) == 50
    assert len(token_requests(sandbox)) == 1
    assert service.auth.issued == 1


async def test_fifty_concurrent_callers_with_an_expired_token_cause_one_token_request(sandbox, service) -> None:
    await service.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-001")
    sandbox.clock.advance(3600)  # the cached token has expired for client and server alike
    await asyncio.gather(*(service.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-002") for _ in range(50)))
    assert len(token_requests(sandbox)) == 2
    assert not [r for r in sandbox.requests if '"code": -10000033' in r["body"]]


async def test_a_token_expiring_mid_run_is_refreshed_before_it_expires(sandbox) -> None:
    sandbox.token_ttl = 120.0
    svc = make_service(sandbox, token_margin=60.0)
    try:
        await svc.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-001")
        sandbox.clock.advance(30)
        await svc.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-001")
        assert len(token_requests(sandbox)) == 1  # still comfortably valid
        sandbox.clock.advance(40)  # 50 s left: inside the safety margin
        await svc.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-001")
        assert len(token_requests(sandbox)) == 2
        sandbox.clock.advance(100)  # the first token has now expired; calls keep working
        await svc.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-001")
    finally:
        await svc.aclose()
    bearers = {dict(r["headers"])["Authorization"] for r in sandbox.requests_to("^/Taxinvoice/")}
    assert len(bearers) == 3


async def test_a_token_the_api_rejects_is_dropped_and_reissued_once(sandbox, service) -> None:
    await service.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-001")
    sandbox.expire_tokens()  # e.g. revoked server-side while the client still trusts it
    info = await service.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-001")
    assert info["invoicerMgtKey"] == "DEMO-TI-001"
    assert len(token_requests(sandbox)) == 2
    assert len(sandbox.requests_to(r"^/Taxinvoice/SELL/DEMO-TI-001$")) == 3


async def test_a_reissued_token_rejected_again_is_an_error_not_a_loop(sandbox, service) -> None:
    sandbox.token_ttl = 0.0  # every token is dead on arrival
    with pytest.raises(ProviderRejected) as err:
        await service.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-001")
    assert err.value.code == "-10000033"
    assert "expired" in err.value.message
    assert len(token_requests(sandbox)) == 2


async def test_a_wrong_secret_is_refused_with_the_linkhub_error(sandbox) -> None:
    wrong = DEMO_POPBILL.model_copy(update={"secret_key": SecretStr(base64.b64encode(b"wrong-secret").decode())})
    svc = make_service(sandbox, wrong)
    try:
        with pytest.raises(ProviderRejected) as err:
            await svc.taxinvoice.get_info(MgtKeyType.SELL, "DEMO-TI-001")
    finally:
        await svc.aclose()
    assert err.value.code == "-99999996"
    assert "signature" in err.value.message
    assert "SecretKey" in (err.value.user_hint or "")
    assert not sandbox.requests_to("^/Taxinvoice")  # nothing was attempted without a token


async def test_an_unknown_link_id_is_refused(sandbox) -> None:
    svc = make_service(sandbox, DEMO_POPBILL.model_copy(update={"link_id": "NOBODY"}))
    try:
        with pytest.raises(ProviderRejected) as err:
            await svc.cashbill.get_info("DEMO-CB-001")
    finally:
        await svc.aclose()
    assert err.value.code == "-99999997"


async def test_a_stale_x_lh_date_is_refused(sandbox) -> None:
    svc = make_service(sandbox, clock=lambda: time.time() - 3600)  # a client clock an hour slow
    try:
        with pytest.raises(ProviderRejected) as err:
            await svc.closedown.check_corp_num("6798700433")
    finally:
        await svc.aclose()
    assert err.value.code == "-99999995"


async def test_the_sandbox_answers_time_like_linkhub(sandbox, service) -> None:
    """`/Time` answers the sandbox clock in LinkHub's form (read before and after the call: the
    answer may fall on either side of a second boundary)."""
    before = sandbox.clock.time()
    response = await service._auth_http.client.get("/Time")
    after = sandbox.clock.time()
    assert response.status_code == 200
    assert response.text in {format_lh_date(before), format_lh_date(after)}


async def test_the_sandbox_issues_24_character_expirations_with_the_configured_ttl(sandbox, service) -> None:
    auth: LinkhubAuth = service.auth
    token = await auth.issue(("member", "110"), DEMO_POPBILL.corp_num)
    expiration = token.raw["expiration"]
    assert len(expiration) == 24 and expiration.endswith("Z") and expiration[19] == "."
    assert abs(token.expires_at - (sandbox.clock.time() + 3600)) < 2
    assert token.raw["serviceID"] == "POPBILL_TEST"
    assert "session_token" not in token.raw and "session_token" not in repr(token)


async def test_a_token_for_one_service_cannot_call_another(sandbox, service) -> None:
    token = await service.auth.token(("member", "170"), DEMO_POPBILL.corp_num)
    response = await service._api_http.client.get("/Taxinvoice/SELL/DEMO-TI-001",
                                                   headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["code"] == -10000033
    assert "scope" in response.json()["message"]


async def test_a_call_without_a_token_is_refused(sandbox, service) -> None:
    response = await service._api_http.client.get("/CloseDown?CN=6798700433")
    assert response.json() == {"code": -10000034, "message": response.json()["message"]}


async def test_tokens_are_cached_per_instance_not_per_process(sandbox) -> None:
    first, second = make_service(sandbox), make_service(sandbox)
    try:
        await first.closedown.check_corp_num("6798700433")
        await second.closedown.check_corp_num("6798700433")
    finally:
        await first.aclose()
        await second.aclose()
    assert len(token_requests(sandbox)) == 2
