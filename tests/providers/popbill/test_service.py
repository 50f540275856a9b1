"""`PopbillService` behaves as the bot expects: issue (tax, zero-rated, exempt invoices and
cash receipts), status (getInfo only) and fresh popup URLs on demand, batch statuses, resend
channels, destroy by state with clear refusals, find for reconciliation, and closure checks."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from providers.base import InvoiceProvider
from providers.config import DEMO_POPBILL, SellerConfig
from providers.errors import DocumentNotFound, NotSupported, ProviderRejected, RequestInvalid
from providers.http import HttpPolicy
from providers.models import (
    BusinessState,
    DocumentKind,
    DocumentRef,
    DocumentState,
    IssueRequest,
    LineItem,
    Party,
    Provider,
    Purpose,
    ResendChannel,
    ResendRequest,
)
from providers.popbill import MgtKeyType, PopbillService, create_service
from providers.sandbox.popbill import PopbillSandbox

DAY = 86400.0
BUYER = Party(name="주식회사 거래처", bizno="116-82-00276", ceo_name="김대표", email="buyer@example.com",
              phone="010-2222-3333")


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


def issue_request(key: str, kind: DocumentKind = DocumentKind.TAX_INVOICE, **changes: object) -> IssueRequest:
    fields: dict[str, object] = {
        "provider": Provider.POPBILL, "kind": kind, "key": key, "buyer": BUYER,
        "items": [LineItem(name="컨설팅", unit_price=100000, quantity=2), LineItem(name="출장비", unit_price=33333)],
        "write_date": dt.date(2026, 11, 21), "purpose": Purpose.RECEIPT,
    }
    fields.update(changes)
    return IssueRequest.model_validate(fields)


def ref(key: str, kind: DocumentKind = DocumentKind.TAX_INVOICE) -> DocumentRef:
    return DocumentRef(provider=Provider.POPBILL, kind=kind, provider_id=key)


def last_body(sandbox: PopbillSandbox, path: str) -> dict:
    return json.loads(sandbox.requests_to(path, "POST")[-1]["body"])


def test_the_service_is_an_invoice_provider_with_honest_capabilities(service) -> None:
    assert isinstance(service, InvoiceProvider)
    caps = service.capabilities
    assert caps.kinds == {DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE, DocumentKind.EXEMPT_INVOICE,
                          DocumentKind.CASH_RECEIPT}
    assert caps.resend_channels == {ResendChannel.EMAIL, ResendChannel.SMS, ResendChannel.FAX}
    assert caps.closure_check and caps.batch_status and caps.batch_size == 1000 and caps.links
    assert "cash receipts by email only" in caps.notes["resend"]
    assert service.sandbox is True


async def test_create_service_uses_the_sandbox_url_for_auth_and_api(sandbox) -> None:
    svc = create_service(DEMO_POPBILL.model_copy(update={"api_url": sandbox.base_url}), seller=SellerConfig(),
                         sandbox=True)
    try:
        assert svc._auth_http.base_url.rstrip("/") == sandbox.base_url
        assert (await svc.status(ref("DEMO-TI-002"))).state is DocumentState.ISSUED
    finally:
        await svc.aclose()
    production = create_service(DEMO_POPBILL.model_copy(update={"is_test": False, "sandbox": False}),
                                seller=SellerConfig())
    try:
        assert production._api_http.base_url.rstrip("/") == "https://popbill.linkhub.co.kr"
        assert production._auth_http.base_url.rstrip("/") == "https://auth.linkhub.co.kr"
    finally:
        await production.aclose()


async def test_issue_a_tax_invoice(sandbox, service) -> None:
    status = await service.issue(issue_request("INV-000123"))
    assert (status.state, status.raw_state) == (DocumentState.ISSUED, "300")
    assert (status.amounts.supply, status.amounts.vat, status.amounts.total) == (233333, 23333, 256666)
    assert status.confirm_number and status.buyer_bizno == "1168200276"
    assert status.links == {} and status.history == ()  # a status reads getInfo only
    assert [e.raw_code for e in await service.history(ref("INV-000123"))] == ["230"]
    body = last_body(sandbox, "^/Taxinvoice$")
    assert body["invoicerCorpNum"] == DEMO_POPBILL.corp_num and body["invoicerMgtKey"] == "INV-000123"
    assert (body["taxType"], body["purposeType"], body["writeDate"]) == ("과세", "영수", "20261121")
    assert (body["supplyCostTotal"], body["taxTotal"], body["totalAmount"]) == ("233333", "23333", "256666")
    assert body["invoiceeEmail1"] == "buyer@example.com"
    assert body["detailList"][0] == {"serialNum": 1, "purchaseDT": "20261121", "itemName": "컨설팅", "qty": "2",
                                     "unitCost": "100000", "supplyCost": "200000", "tax": "20000"}


@pytest.mark.parametrize(("kind", "tax_type"), [(DocumentKind.ZERO_RATED_INVOICE, "영세"),
                                                (DocumentKind.EXEMPT_INVOICE, "면세")])
async def test_zero_rated_and_exempt_invoices(sandbox, service, kind: DocumentKind, tax_type: str) -> None:
    status = await service.issue(issue_request(f"INV-{tax_type.encode().hex()[:8]}", kind))
    assert status.amounts.vat == 0 and status.ref.kind is kind
    body = last_body(sandbox, "^/Taxinvoice$")
    assert (body["taxType"], body["taxTotal"]) == (tax_type, "0")


async def test_issue_a_cash_receipt(sandbox, service) -> None:
    status = await service.issue(issue_request("CB-000001", DocumentKind.CASH_RECEIPT))
    assert status.state is DocumentState.ISSUED and status.ref.kind is DocumentKind.CASH_RECEIPT
    assert status.amounts.total == 256666 and status.confirm_number
    body = last_body(sandbox, "^/Cashbill$")
    assert (body["tradeUsage"], body["identityNum"], body["tradeType"]) == ("지출증빙용", "1168200276", "승인거래")
    assert body["itemName"] == "컨설팅 외 1건" and body["memo"] is None and "emailSubject" in body


async def test_a_consumer_without_numbers_gets_a_voluntary_cash_receipt(sandbox, service) -> None:
    consumer = Party(name="손님")
    await service.issue(issue_request("CB-000002", DocumentKind.CASH_RECEIPT, buyer=consumer))
    body = last_body(sandbox, "^/Cashbill$")
    assert (body["tradeUsage"], body["identityNum"]) == ("소득공제용", "0100001234")


async def test_issue_refusals_before_any_io(sandbox, service) -> None:
    with pytest.raises(RequestInvalid) as err:
        await service.issue(issue_request("INV 1/2"))
    assert err.value.code == "mgt_key"
    with pytest.raises(RequestInvalid) as err:
        await service.issue(issue_request("INV-NOBIZ", buyer=Party(name="개인 고객")))
    assert "business number" in err.value.message
    with pytest.raises(NotSupported):
        await service.issue(issue_request("BILL-1", DocumentKind.BILL))
    with pytest.raises(RequestInvalid):
        await service.issue(issue_request("INV-SELLER", seller=Party(name="Other", bizno="2208875476")))
    assert not sandbox.requests_to("^/(Taxinvoice|Cashbill)")


async def test_a_repeated_issue_is_refused_as_a_duplicate(service) -> None:
    await service.issue(issue_request("INV-TWICE"))
    with pytest.raises(ProviderRejected) as err:
        await service.issue(issue_request("INV-TWICE"))
    assert err.value.code == "-11001099"


def _document_reads(sandbox: PopbillSandbox) -> list[str]:
    """What the service asked Popbill about one document (paths, and TG= for URL calls)."""
    return [r["path"] + ("?" + r["query"] if r["query"] else "") for r in sandbox.requests
            if r["method"] == "GET" and r["path"].startswith(("/Taxinvoice/", "/Cashbill/"))]


@pytest.mark.parametrize(("key", "kind"), [("DEMO-TI-002", DocumentKind.TAX_INVOICE),
                                           ("DEMO-CB-001", DocumentKind.CASH_RECEIPT)])
async def test_a_status_is_one_get_info_and_fetches_no_urls_or_logs(sandbox, service, key, kind) -> None:
    sandbox.requests.clear()
    status = await service.status(ref(key, kind))
    assert status.links == {}
    reads = _document_reads(sandbox)
    assert len(reads) == 1 and reads[0].endswith(key), reads
    assert not [r for r in reads if "TG=" in r or r.endswith("/Logs")]


@pytest.mark.parametrize(("key", "kind"), [("DEMO-TI-002", DocumentKind.TAX_INVOICE),
                                           ("DEMO-CB-001", DocumentKind.CASH_RECEIPT)])
async def test_popup_url_fetches_a_fresh_url_when_asked(sandbox, service, key, kind) -> None:
    sandbox.requests.clear()
    url = await service.popup_url(ref(key, kind))
    assert url.startswith(sandbox.base_url) and "/App/API" in url
    assert [r for r in _document_reads(sandbox) if "TG=POPUP" in r]
    with pytest.raises(RequestInvalid):
        await service.popup_url(DocumentRef(provider=Provider.HIWORKS, kind=kind, provider_id=key))


async def test_find_reconciles_by_key(service) -> None:
    assert await service.find(issue_request("INV-FIND")) is None
    await service.issue(issue_request("INV-FIND"))
    found = await service.find(issue_request("INV-FIND"))
    assert found is not None and found.ref == ref("INV-FIND")
    assert await service.find(issue_request("DEMO-CB-001", DocumentKind.CASH_RECEIPT)) is not None


async def test_status_follows_nts_filing(sandbox, service) -> None:
    await service.issue(issue_request("INV-NTS"))
    sandbox.clock.advance(DAY)
    filing = await service.status(ref("INV-NTS"))
    assert (filing.state, filing.raw_state) == (DocumentState.FILING, "302")
    sandbox.clock.advance(60)
    filed = await service.status(ref("INV-NTS"))
    assert (filed.state, filed.raw_state) == (DocumentState.FILED, "304")
    assert [e.raw_code for e in await service.history(ref("INV-NTS"))] == ["230", "250", "252", "254"]


async def test_a_failed_filing_says_why(sandbox, service) -> None:
    failed = await service.status(ref("DEMO-TI-004"))
    assert (failed.state, failed.raw_state) == (DocumentState.FILING_FAILED, "305")
    assert "SYN002" in (failed.detail or "")


async def test_statuses_use_batches_and_skip_unknown_keys(sandbox, service) -> None:
    refs = [ref("DEMO-TI-001"), ref("DEMO-TI-002"), ref("DEMO-TI-003"), ref("NOPE-1"),
            ref("DEMO-CB-001", DocumentKind.CASH_RECEIPT), ref("DEMO-CB-002", DocumentKind.CASH_RECEIPT)]
    result = await service.statuses(refs)
    assert {k: v.state for k, v in result.items()} == {
        "DEMO-TI-001": DocumentState.FILED, "DEMO-TI-002": DocumentState.ISSUED,
        "DEMO-TI-003": DocumentState.CANCELED, "DEMO-CB-001": DocumentState.ISSUED,
        "DEMO-CB-002": DocumentState.FILED,
    }
    assert len(sandbox.requests_to(r"^/Taxinvoice/SELL$", "POST")) == 1
    assert len(sandbox.requests_to(r"^/Cashbill/States$", "POST")) == 1


async def test_statuses_of_2500_documents_take_three_calls(sandbox, service) -> None:
    refs = [ref(f"K-{n}") for n in range(2500)]
    assert await service.statuses(refs) == {}
    assert len(sandbox.requests_to(r"^/Taxinvoice/SELL$", "POST")) == 3


async def test_resend_channels(sandbox, service) -> None:
    await service.resend(ref("DEMO-TI-002"), ResendRequest())
    assert last_body(sandbox, "^/Taxinvoice/SELL/DEMO-TI-002$") == {"receiver": "buyer@example.com"}
    await service.resend(ref("DEMO-TI-002"), ResendRequest(channel=ResendChannel.SMS))
    sms = last_body(sandbox, "^/Taxinvoice/SELL/DEMO-TI-002$")
    assert sms["receiver"] == "01012345678" and sms["sender"] == "0212345678"
    assert len(sms["contents"].encode("cp949")) <= 90
    await service.resend(ref("DEMO-TI-002"), ResendRequest(channel=ResendChannel.FAX, address="02-3333-4444"))
    assert last_body(sandbox, "^/Taxinvoice/SELL/DEMO-TI-002$") == {"sender": "0212345678", "receiver": "0233334444"}
    await service.resend(ref("DEMO-CB-001", DocumentKind.CASH_RECEIPT), ResendRequest(address="x@example.com"))
    assert last_body(sandbox, "^/Cashbill/DEMO-CB-001$") == {"receiver": "x@example.com"}


async def test_resend_refusals_are_clear(service) -> None:
    with pytest.raises(NotSupported) as err:
        await service.resend(ref("DEMO-CB-001", DocumentKind.CASH_RECEIPT), ResendRequest(channel=ResendChannel.SMS))
    assert "only by email" in err.value.message
    with pytest.raises(NotSupported):
        await service.resend(ref("DEMO-TI-002"), ResendRequest(channel=ResendChannel.TALK))
    with pytest.raises(RequestInvalid):
        await service.resend(ref("DEMO-TI-002"), ResendRequest(channel=ResendChannel.FAX))
    with pytest.raises(RequestInvalid):
        await service.resend(ref("DEMO-TI-002"), ResendRequest(address="not-an-email"))


async def test_destroy_an_issued_invoice_cancels_then_deletes(sandbox, service) -> None:
    await service.issue(issue_request("INV-DEL"))
    destroyed = await service.destroy(ref("INV-DEL"), "wrong amount")
    assert destroyed.state is DocumentState.DELETED and destroyed.raw_state == "600"
    sent = sandbox.requests_to("^/Taxinvoice/SELL/INV-DEL$", "POST")
    overrides = [dict(r["headers"]).get("X-HTTP-Method-Override") for r in sent]
    assert overrides == ["CANCELISSUE", "DELETE"]
    with pytest.raises(DocumentNotFound):
        await service.status(ref("INV-DEL"))
    assert (await service.issue(issue_request("INV-DEL"))).state is DocumentState.ISSUED  # key reusable


async def test_destroy_a_cancelled_invoice_deletes_it(service) -> None:
    destroyed = await service.destroy(ref("DEMO-TI-003"))
    assert destroyed.state is DocumentState.DELETED


@pytest.mark.parametrize("advance", [DAY, DAY + 60])
async def test_destroy_refuses_once_filing_started(sandbox, service, advance: float) -> None:
    await service.issue(issue_request("INV-FILED"))
    sandbox.clock.advance(advance)
    with pytest.raises(ProviderRejected) as err:
        await service.destroy(ref("INV-FILED"))
    state = "302" if advance == DAY else "304"
    assert err.value.message == (f"INV-FILED was already sent to the National Tax Service (state {state}): it cannot "
                                 "be cancelled; issue an amended (수정) invoice instead")
    assert "수정세금계산서" in (err.value.user_hint or "")


async def test_destroy_cash_receipts(sandbox, service) -> None:
    issued = await service.destroy(ref("DEMO-CB-001", DocumentKind.CASH_RECEIPT))
    assert issued.state is DocumentState.DELETED
    revoked = await service.destroy(ref("DEMO-CB-002", DocumentKind.CASH_RECEIPT), "refund")
    assert revoked.state is DocumentState.CANCELED and "DEMO-CB-002-C" in (revoked.detail or "")
    cancel = await service.cashbill.get_info("DEMO-CB-002-C")
    assert (cancel["tradeType"], cancel["orgConfirmNum"]) == ("취소거래", revoked.confirm_number)
    again = await service.destroy(ref("DEMO-CB-002", DocumentKind.CASH_RECEIPT))  # idempotent
    assert again.state is DocumentState.CANCELED
    assert len([r for r in sandbox.requests_to("^/Cashbill$", "POST")]) == 2


async def test_check_closure(sandbox, service) -> None:
    answers = await service.check_closure(["679-87-00433", "1231212312", "220-88-75476", "1234567890"])
    assert [a.state for a in answers] == [BusinessState.ACTIVE, BusinessState.CLOSED, BusinessState.SUSPENDED,
                                          BusinessState.UNREGISTERED]
    closed = answers[1]
    assert closed.state_date == dt.date(2023, 3, 31) and closed.tax_type_code == "10"
    assert closed.tax_type == "general taxable business (일반과세자)"
    assert answers[2].tax_type_code == "30" and "simplified" in (answers[2].tax_type or "")
    assert answers[0].checked_at is not None
    with pytest.raises(RequestInvalid):
        await service.check_closure(["12-34"])


async def test_check_closure_of_1500_numbers_takes_two_calls(sandbox, service) -> None:
    numbers = [f"{n:010d}" for n in range(1500)]
    answers = await service.check_closure(numbers)
    assert [a.bizno for a in answers] == numbers
    assert len(sandbox.requests_to(r"^/CloseDown$", "POST")) == 2


async def test_closure_answers_are_configurable_through_the_admin_route(sandbox, service) -> None:
    response = await service._api_http.client.post("/_sandbox/popbill/closedown",
                                                    json={"1168200276": {"state": None, "taxType": None}})
    assert response.status_code == 200
    (answer,) = await service.check_closure(["1168200276"])
    assert answer.state is BusinessState.UNKNOWN and answer.raw_state is None


async def test_nts_outcome_is_configurable_through_the_admin_route(sandbox, service) -> None:
    await service.issue(issue_request("INV-ADMIN"))
    response = await service._api_http.client.post(
        "/_sandbox/popbill/nts", json={"mgtKey": "INV-ADMIN", "fail": True, "code": "SYN003", "now": True})
    assert response.json()["stateCode"] == 305
    status = await service.status(ref("INV-ADMIN"))
    assert status.state is DocumentState.FILING_FAILED and "SYN003" in (status.detail or "")


async def test_ten_thousand_documents_progress_on_read(sandbox, service) -> None:
    """NTS progress is computed on read: 10,000 stored documents all move to filed (304) when the
    clock passes a day, without any background work (how fast is a benchmark's question)."""
    body = service.taxinvoice_body(issue_request("BENCH"))
    token = sandbox.tokens[await service.auth.token(("member", "110"), DEMO_POPBILL.corp_num)]
    for n in range(10_000):
        sandbox._ti_issue({**body, "invoicerMgtKey": f"BENCH-{n}"}, token)
    sandbox.clock.advance(DAY + 60)
    infos = await service.taxinvoice.get_infos(MgtKeyType.SELL, [f"BENCH-{n}" for n in range(10_000)])
    assert len(infos) == 10_000 and {i["stateCode"] for i in infos} == {304}


async def test_a_cash_receipt_as_asked_usage_identity_and_tax_free(sandbox, service) -> None:
    from providers.models import TaxType, TradeUsage
    request = issue_request("CB-ASKED-1", DocumentKind.CASH_RECEIPT).model_copy(update={
        "trade_usage": TradeUsage.INCOME_DEDUCTION, "identity_number": "010-9876-5432",
        "taxation": TaxType.EXEMPT})
    status = await service.issue(request)
    body = last_body(sandbox, "^/Cashbill$")
    assert (body["tradeUsage"], body["identityNum"], body["taxationType"], body["tax"]) == (
        "소득공제용", "01098765432", "비과세", "0")
    assert status.amounts.vat == 0


async def test_a_filed_cash_receipt_is_revoked_with_revoke_regist_issue_and_status_links_both(
        sandbox, service) -> None:
    await service.destroy(ref("DEMO-CB-002", DocumentKind.CASH_RECEIPT), "refund")
    revoke = [r for r in sandbox.requests_to("^/Cashbill$", "POST")
              if dict(r["headers"]).get("X-HTTP-Method-Override") == "REVOKEISSUE"]
    assert len(revoke) == 1
    body = json.loads(revoke[0]["body"])
    assert body["mgtKey"] == "DEMO-CB-002-C" and body["orgConfirmNum"] and len(body["orgTradeDate"]) == 8
    original = await service.status(ref("DEMO-CB-002", DocumentKind.CASH_RECEIPT))
    assert original.state is DocumentState.CANCELED and "DEMO-CB-002-C" in (original.detail or "")
    cancel = await service.status(ref("DEMO-CB-002-C", DocumentKind.CASH_RECEIPT))
    assert original.confirm_number and original.confirm_number in (cancel.detail or "")


async def test_a_batch_answer_is_read_in_slices_that_let_other_tasks_run(service, monkeypatch) -> None:
    """1,000 statuses are ~20 ms of CPU: read in one piece they held up every other answer in the sweep.
    Read `YIELD_EVERY` at a time, with the same result."""
    import asyncio

    from providers.popbill import service as module
    from providers.popbill._answers import taxinvoice_status

    infos = [{"itemKey": f"I{n}", "invoicerMgtKey": f"K-{n}", "stateCode": 300 + n % 5} for n in range(250)]
    infos.append({"invoicerMgtKey": "K-no-item"})  # no itemKey: not Popbill's document, skipped as before

    async def get_infos(_key_type: object, keys: list[str]) -> list[dict[str, object]]:
        return infos

    ticks = 0
    seen: list[int] = []

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    def recorded(info: dict[str, object], ref: DocumentRef) -> object:
        seen.append(ticks)
        return taxinvoice_status(info, ref)

    monkeypatch.setattr(service.taxinvoice, "get_infos", get_infos)
    monkeypatch.setattr(module, "taxinvoice_status", recorded)
    refs = [ref(f"K-{n}") for n in range(250)] + [ref("K-no-item")]
    other = asyncio.create_task(ticker())
    try:
        result = await service.statuses(refs)
    finally:
        other.cancel()
    assert result == {f"K-{n}": taxinvoice_status(infos[n], refs[n]) for n in range(250)}
    slices = [seen[i:i + module.YIELD_EVERY] for i in range(0, len(seen), module.YIELD_EVERY)]
    assert len(slices) == 3 and all(len(set(s)) == 1 for s in slices)  # each slice in one piece
    assert slices[0][0] < slices[1][0] < slices[2][0]  # the other task ran between the slices
