"""The Popbill client against seed 001 where the sandbox alone could not tell: sendToNTS carries
the documented Memo (``ERR002`` simulates an NTS filing failure on the test bed), and an amended
tax invoice (수정세금계산서) is sent with ``modifyCode`` and ``orgNTSConfirmNum``."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from providers.config import DEMO_POPBILL, SellerConfig
from providers.errors import RequestInvalid
from providers.http import HttpPolicy
from providers.models import DocumentKind, DocumentRef, DocumentState, IssueRequest, LineItem, Party, Provider
from providers.popbill import MgtKeyType, PopbillService
from providers.sandbox.popbill import PopbillSandbox

SELL = MgtKeyType.SELL
BUYER = Party(name="주식회사 거래처", bizno="116-82-00276", ceo_name="김대표", email="buyer@example.com")


@pytest.fixture
async def sandbox():
    sb = PopbillSandbox()
    await sb.start()
    yield sb
    await sb.stop()


@pytest.fixture
async def service(sandbox):
    config = DEMO_POPBILL.model_copy(update={"api_url": sandbox.base_url,
                                            "policy": HttpPolicy(read_timeout=2.0, backoff=0.01)})
    svc = PopbillService(config, seller=SellerConfig(), sandbox=True, clock=sandbox.clock.time)
    yield svc
    await svc.aclose()


def request(key: str, kind: DocumentKind = DocumentKind.TAX_INVOICE, **changes: object) -> IssueRequest:
    fields: dict[str, object] = {"provider": Provider.POPBILL, "kind": kind, "key": key, "buyer": BUYER,
                                 "items": [LineItem(name="컨설팅", unit_price=100000)],
                                 "write_date": dt.date.today()}
    return IssueRequest.model_validate({**fields, **changes})


def last_body(sandbox: PopbillSandbox, path: str) -> object:
    raw = sandbox.requests_to(path, "POST")[-1]["body"]
    return json.loads(raw) if raw else None


async def test_send_to_nts_carries_the_memo_and_err002_simulates_a_filing_failure(sandbox, service) -> None:
    await service.issue(request("NTS-1"))
    await service.taxinvoice.send_to_nts(SELL, "NTS-1", memo=" ERR002 ")
    assert last_body(sandbox, "^/Taxinvoice/SELL/NTS-1$") == {"memo": " ERR002 "}
    sandbox.clock.advance(sandbox.nts_result_after)
    info = await service.taxinvoice.get_info(SELL, "NTS-1")
    assert (info["stateCode"], info["ntsresult"], info["ntssendErrCode"]) == (305, "실패", "ERR002")
    ref = DocumentRef(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE, provider_id="NTS-1")
    assert (await service.status(ref)).state is DocumentState.FILING_FAILED


async def test_send_to_nts_without_a_memo_sends_an_empty_body_and_files(sandbox, service) -> None:
    await service.issue(request("NTS-2"))
    await service.taxinvoice.send_to_nts(SELL, "NTS-2")
    assert last_body(sandbox, "^/Taxinvoice/SELL/NTS-2$") is None  # as the Python SDK sends it
    sandbox.clock.advance(sandbox.nts_result_after)
    assert (await service.taxinvoice.get_info(SELL, "NTS-2"))["stateCode"] == 304


async def test_a_memo_longer_than_200_characters_never_reaches_the_network(sandbox, service) -> None:
    with pytest.raises(RequestInvalid):
        await service.taxinvoice.send_to_nts(SELL, "NTS-3", memo="x" * 201)
    assert sandbox.requests == []


async def test_an_amended_invoice_sends_modify_code_and_the_original_confirm_number(sandbox, service) -> None:
    original = await service.issue(request("AMD-0"))
    confirm = (await service.taxinvoice.get_info(SELL, "AMD-0"))["ntsconfirmNum"]
    assert original.state is DocumentState.ISSUED
    await service.issue(request("AMD-1", modify_code=1, original_confirm_number=confirm))
    body = last_body(sandbox, "^/Taxinvoice$")
    assert isinstance(body, dict) and (body["modifyCode"], body["orgNTSConfirmNum"]) == (1, confirm)
    info = await service.taxinvoice.get_info(SELL, "AMD-1")
    assert info["modifyCode"] == 1
    amended = await service.taxinvoice.search(SELL, "R", "20000101", "29991231", invoice_type=["M"])
    assert [row["invoicerMgtKey"] for row in amended["list"]] == ["AMD-1"]


@pytest.mark.parametrize("changes", [{"modify_code": 2}, {"original_confirm_number": "20261121410000000000001"}])
async def test_an_amendment_needs_both_fields_before_any_io(sandbox, service, changes) -> None:
    with pytest.raises(RequestInvalid) as err:
        await service.issue(request("AMD-2", **changes))
    assert err.value.code == "modification"
    assert sandbox.requests_to("^/Taxinvoice$") == []


def test_the_model_allows_only_the_documented_modify_codes() -> None:
    for code in (0, 7, 9):
        with pytest.raises(ValueError):
            request("AMD-3", modify_code=code, original_confirm_number="X")


async def test_a_cash_receipt_is_never_amended(sandbox, service) -> None:
    with pytest.raises(RequestInvalid):
        await service.issue(request("AMD-4", DocumentKind.CASH_RECEIPT, modify_code=1, original_confirm_number="X"))


async def test_a_remark_longer_than_the_seed_allows_is_refused_before_io(sandbox, service) -> None:
    with pytest.raises(RequestInvalid):
        await service.issue(request("AMD-5", memo="비" * 151))
    assert sandbox.requests_to("^/Taxinvoice$") == []
