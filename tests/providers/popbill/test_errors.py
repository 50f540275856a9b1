"""Every error class comes out of a sandbox fault or a Popbill rule, mapped with Popbill's
code and message kept; a write that got no answer is reconciled with `find` so nothing is
issued twice."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from providers.config import DEMO_POPBILL, SellerConfig
from providers.errors import (
    DocumentNotFound,
    OutcomeUnknown,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    RateLimited,
)
from providers.http import HttpPolicy
from providers.models import DocumentKind, DocumentState, IssueRequest, LineItem, Party, Provider
from providers.popbill import MgtKeyType, PopbillService
from providers.sandbox.base import FaultRule
from providers.sandbox.popbill import PopbillSandbox

FAST = HttpPolicy(read_timeout=0.3, backoff=0.01)
SELL = MgtKeyType.SELL


@pytest.fixture
async def sandbox():
    sb = PopbillSandbox()
    await sb.start()
    yield sb
    await sb.stop()


@pytest.fixture
async def service(sandbox):
    config = DEMO_POPBILL.model_copy(update={"api_url": sandbox.base_url, "policy": FAST})
    svc = PopbillService(config, seller=SellerConfig(), sandbox=True, clock=sandbox.clock.time)
    await svc.auth.token(svc.taxinvoice.scope, config.corp_num)  # faults below hit the API, not LinkHub
    yield svc
    await svc.aclose()


def request(key: str = "INV-ERR-1") -> IssueRequest:
    return IssueRequest(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE, key=key,
                        buyer=Party(name="거래처", bizno="116-82-00276", email="buyer@example.com"),
                        items=[LineItem(name="컨설팅", unit_price=50000)], write_date=dt.date(2026, 11, 21))


async def test_a_popbill_refusal_keeps_code_and_message(service) -> None:
    with pytest.raises(ProviderRejected) as err:
        await service.taxinvoice.cancel_issue(SELL, "DEMO-TI-001")  # filed: cannot be cancelled
    assert err.value.code == "-11000001"
    assert "300" in err.value.message and err.value.provider == "popbill"


async def test_not_found_is_document_not_found(service) -> None:
    with pytest.raises(DocumentNotFound) as err:
        await service.taxinvoice.get_info(SELL, "NO-SUCH-KEY")
    assert err.value.code == "-11000005"
    with pytest.raises(DocumentNotFound) as err:
        await service.cashbill.get_info("NO-SUCH-KEY")
    assert err.value.code == "-14000003"


async def test_429_is_rate_limited_with_retry_after(sandbox, service) -> None:
    sandbox.add_fault(FaultRule(kind="429", path="^/Taxinvoice$", method="POST", retry_after=7))
    with pytest.raises(RateLimited) as err:
        await service.issue(request())
    assert err.value.retry_after == 7
    assert await service.find(request()) is None  # refused before anything happened


async def test_a_read_rides_out_a_short_429(sandbox, service) -> None:
    sandbox.add_fault(FaultRule(kind="429", path="^/Taxinvoice/SELL/", retry_after=0))
    assert (await service.taxinvoice.get_info(SELL, "DEMO-TI-001"))["stateCode"] == 304


@pytest.mark.parametrize(("kind", "code"), [("503", "503"), ("500", "-99999999")])
async def test_503_and_500_are_provider_unavailable(sandbox, service, kind: str, code: str) -> None:
    sandbox.add_fault(FaultRule(kind=kind, path="^/Taxinvoice/", count=None, retry_after=0))
    with pytest.raises(ProviderUnavailable) as err:
        await service.taxinvoice.get_info(SELL, "DEMO-TI-001")
    assert err.value.code == code


@pytest.mark.parametrize("kind", ["html", "malformed"])
async def test_html_and_malformed_bodies_are_protocol_errors(sandbox, service, kind: str) -> None:
    sandbox.add_fault(FaultRule(kind=kind, path="^/Taxinvoice/"))
    with pytest.raises(ProviderProtocolError):
        await service.taxinvoice.get_info(SELL, "DEMO-TI-001")


async def test_an_error_body_without_a_code_is_a_protocol_error() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path.endswith("/Token"):
            return httpx.Response(200, json={"session_token": "t", "expiration": "2099-01-01T00:00:00.000Z"})
        return httpx.Response(500, json={"message": "no code here"})

    config = DEMO_POPBILL.model_copy(update={"api_url": "http://popbill.invalid", "policy": FAST})
    svc = PopbillService(config, seller=SellerConfig(), sandbox=True, transport=httpx.MockTransport(handler))
    try:
        with pytest.raises(ProviderProtocolError) as err:
            await svc.taxinvoice.get_info(SELL, "K-1")
    finally:
        await svc.aclose()
    assert err.value.code == "http_500"


async def test_a_token_answer_without_expiration_is_a_protocol_error() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"session_token": "t"})

    config = DEMO_POPBILL.model_copy(update={"api_url": "http://popbill.invalid", "policy": FAST})
    svc = PopbillService(config, seller=SellerConfig(), sandbox=True, transport=httpx.MockTransport(handler))
    try:
        with pytest.raises(ProviderProtocolError):
            await svc.closedown.check_corp_num("6798700433")
    finally:
        await svc.aclose()


async def test_a_read_timeout_is_unavailable_after_retries(sandbox, service) -> None:
    sandbox.add_fault(FaultRule(kind="timeout", path="^/Taxinvoice/SELL/", count=None, seconds=1.0))
    with pytest.raises(ProviderUnavailable) as err:
        await service.taxinvoice.get_info(SELL, "DEMO-TI-001")
    assert err.value.code == "timeout"
    assert len(sandbox.requests_to("^/Taxinvoice/SELL/DEMO-TI-001$")) == 3


async def test_a_dropped_issue_is_outcome_unknown_and_find_shows_it_exists(sandbox, service) -> None:
    sandbox.add_fault(FaultRule(kind="drop", path="^/Taxinvoice$", method="POST"))
    with pytest.raises(OutcomeUnknown):
        await service.issue(request("INV-DROP"))
    found = await service.find(request("INV-DROP"))
    assert found is not None and found.state is DocumentState.ISSUED
    with pytest.raises(ProviderRejected) as err:
        await service.issue(request("INV-DROP"))  # the key protects against a second invoice
    assert err.value.code == "-11001099"
    assert len(sandbox.requests_to("^/Taxinvoice$", "POST")) == 2


async def test_a_reset_issue_is_outcome_unknown_and_find_shows_nothing_happened(sandbox, service) -> None:
    sandbox.add_fault(FaultRule(kind="reset", path="^/Taxinvoice$", method="POST"))
    with pytest.raises(OutcomeUnknown):
        await service.issue(request("INV-RESET"))
    assert await service.find(request("INV-RESET")) is None
    issued = await service.issue(request("INV-RESET"))  # safe to issue now
    assert issued.state is DocumentState.ISSUED


async def test_a_write_is_never_retried_after_a_timeout(sandbox, service) -> None:
    sandbox.add_fault(FaultRule(kind="timeout", path="^/Taxinvoice$", method="POST", seconds=0.6))
    with pytest.raises(OutcomeUnknown):
        await service.issue(request("INV-SLOW"))
    assert len(sandbox.requests_to("^/Taxinvoice$", "POST")) == 1


async def test_bulk_submit_is_retried_safely_because_the_submit_id_is_idempotent(sandbox, service) -> None:
    body = service.taxinvoice_body(request("INV-BULK"))
    sandbox.add_fault(FaultRule(kind="reset", path="^/Taxinvoice$", method="POST"))
    receipt = await service.taxinvoice.bulk_submit("SUBMIT-1", [body])
    assert receipt["code"] == 1
    assert len(sandbox.requests_to("^/Taxinvoice$", "POST")) == 2


async def test_sandbox_error_bodies_use_popbills_shape(sandbox, service) -> None:
    sandbox.add_fault(FaultRule(kind="503", path="^/CloseDown", retry_after=3))
    token = await service.auth.token(("member", "170"), DEMO_POPBILL.corp_num)
    response = await service._api_http.client.get("/CloseDown?CN=6798700433",
                                                   headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "3"
    assert set(json.loads(response.text)) == {"code", "message"}
