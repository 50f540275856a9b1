"""HiworksService against the Hiworks sandbox: issue, status(es), destroy, closure checks, and
the honest refusals (find, resend) that Hiworks' API forces on us."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from providers.base import InvoiceProvider
from providers.config import DEMO_HIWORKS, HiworksConfig, SellerConfig
from providers.errors import (
    DocumentNotFound,
    NotSupported,
    OutcomeUnknown,
    ProviderRejected,
    RequestInvalid,
)
from providers.hiworks import DEFAULT_BASE_URL, HiworksClient, HiworksService, create_service
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
from providers.sandbox.base import FaultRule
from providers.sandbox.hiworks import HiworksSandbox
from tests.local_http import LOCAL_TLS

WRITE_DATE = dt.date(2024, 5, 20)
POLICY = HttpPolicy(read_timeout=0.3, backoff=0.01, max_retry_after=0.5)


class CountingTransport(httpx.AsyncBaseTransport):
    """A real transport that counts requests in flight and can act just before one is sent."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport(verify=LOCAL_TLS)
        self.active = 0
        self.peak = 0
        self.before: Callable[[httpx.Request], None] | None = None
        self.answers: list[tuple[str, int]] = []  # (method, HTTP status) of every answer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.before is not None:
            self.before(request)
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            response = await self.inner.handle_async_request(request)
            self.answers.append((request.method, response.status_code))
            return response
        finally:
            self.active -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def sandbox() -> AsyncIterator[HiworksSandbox]:
    box = HiworksSandbox()
    await box.start()
    yield box
    await box.stop()


@pytest.fixture
def transport() -> CountingTransport:
    return CountingTransport()


def make_service(sandbox: HiworksSandbox, transport: httpx.AsyncBaseTransport | None = None,
                 **kwargs: Any) -> HiworksService:
    client = HiworksClient("sandbox-office-token", "sandbox-bill-access-token", base_url=sandbox.base_url,
                           policy=POLICY, transport=transport)
    return HiworksService(client, seller=SellerConfig(), sandbox=True, **kwargs)


@pytest.fixture
async def service(sandbox: HiworksSandbox, transport: CountingTransport) -> AsyncIterator[HiworksService]:
    svc = make_service(sandbox, transport)
    yield svc
    await svc.aclose()


def request(kind: DocumentKind = DocumentKind.TAX_INVOICE, key: str = "INV-000123", **changes: Any) -> IssueRequest:
    buyer = Party(name="가비아", bizno="214-86-39239", ceo_name="김가비아", email="buyer@example.com",
                  contact_name="구매담당", phone="010-1234-5678")
    fields: dict[str, Any] = {
        "provider": Provider.HIWORKS, "kind": kind, "key": key, "buyer": buyer, "write_date": WRITE_DATE,
        "items": [LineItem(name="컨설팅", unit_price=150000, quantity=2), LineItem(name="교통비", unit_price=33333)],
        "memo": "5월분",
    }
    fields.update(changes)
    return IssueRequest(**fields)


def sent_body(sandbox: HiworksSandbox) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(sandbox.requests_to("^/v4/invoices$", "POST")[-1]["body"])["data"]
    return data


# -- issue -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("kind", "type_code", "tax_type", "vat", "easy_sign"),
    [
        (DocumentKind.TAX_INVOICE, "A", "A", 33333, "Y"),
        (DocumentKind.ZERO_RATED_INVOICE, "A", "B", 0, "Y"),
        (DocumentKind.EXEMPT_INVOICE, "B", "B", 0, "Y"),
        (DocumentKind.STATEMENT, "D", "A", 33333, None),  # statements cannot be easy-signed
    ],
)
async def test_issue_maps_each_kind_to_its_invoice_type(service: HiworksService, sandbox: HiworksSandbox,
                                                        kind: DocumentKind, type_code: str, tax_type: str, vat: int,
                                                        easy_sign: str | None) -> None:
    status = await service.issue(request(kind))

    body = sent_body(sandbox)
    assert body["invoiceType"] == {"typeCode": type_code, "transactionType": "S", "purposeType": "C",
                                   "taxType": tax_type}
    assert body.get("easySign") == easy_sign
    assert status.ref == DocumentRef(provider=Provider.HIWORKS, kind=kind, provider_id=status.ref.provider_id)
    assert status.state is DocumentState.ISSUED
    assert status.amounts is not None and (status.amounts.supply, status.amounts.vat) == (333333, vat)
    assert status.ref.provider_id in sandbox.documents


async def test_issue_puts_our_key_in_the_serial_and_the_seller_as_the_office_number(
    service: HiworksService, sandbox: HiworksSandbox
) -> None:
    status = await service.issue(request(key="INV-000777"))

    body = sent_body(sandbox)
    assert body["information"]["serial"] == "INV-000777"
    assert body["information"]["memo"] == "5월분"
    assert body["invoicer"] == "679-87-00433"
    assert body["invoicee"]["companyNumber"] == "2148639239"
    assert body["invoicee"]["primaryContact"] == {"name": "구매담당", "email": "buyer@example.com",
                                                  "cell": "010-1234-5678"}
    assert body["information"]["uncollected"] == str(333333 + 33333)  # 청구: the whole total is still owed
    assert sandbox.find_by_serial("INV-000777") == [status.ref.provider_id]


async def test_receipt_purpose_is_sent_as_R_without_payment_means(service: HiworksService,
                                                                  sandbox: HiworksSandbox) -> None:
    await service.issue(request(purpose=Purpose.RECEIPT))

    body = sent_body(sandbox)
    assert body["invoiceType"]["purposeType"] == "R"
    assert "uncollected" not in body["information"]


@pytest.mark.parametrize(
    ("buyer", "code"),
    [
        (Party(name="개인", email="a@example.com", ceo_name="홍"), "buyer_bizno"),
        (Party(name="가비아", bizno="2148639239", ceo_name="김가비아"), "buyer_email"),
        (Party(name="가비아", bizno="2148639239", email="a@example.com"), "buyer_ceo"),
    ],
)
async def test_issue_refuses_an_incomplete_buyer_before_any_request(service: HiworksService, sandbox: HiworksSandbox,
                                                                    buyer: Party, code: str) -> None:
    with pytest.raises(RequestInvalid) as caught:
        await service.issue(request(buyer=buyer))
    assert caught.value.code == code
    assert sandbox.requests == []


async def test_issue_refuses_line_vat_that_breaks_the_zero_rate(service: HiworksService,
                                                                sandbox: HiworksSandbox) -> None:
    items = [LineItem(name="수출품", unit_price=1000, vat=100)]
    with pytest.raises(RequestInvalid, match="no tax"):
        await service.issue(request(DocumentKind.ZERO_RATED_INVOICE, items=items))
    assert sandbox.requests == []


async def test_issue_refuses_more_than_100_lines_before_any_request(service: HiworksService,
                                                                    sandbox: HiworksSandbox) -> None:
    items = [LineItem(name=f"line {n}", unit_price=1000) for n in range(101)]
    with pytest.raises(RequestInvalid, match="at most 100 items"):
        await service.issue(request(items=items))
    assert sandbox.requests == []


async def test_issue_refuses_kinds_hiworks_does_not_offer(service: HiworksService) -> None:
    with pytest.raises(NotSupported, match="cannot issue a cash receipt"):
        await service.issue(request(DocumentKind.CASH_RECEIPT))


async def test_drop_on_issue_is_outcome_unknown_and_find_sends_the_user_to_the_console(
    service: HiworksService, sandbox: HiworksSandbox
) -> None:
    sandbox.add_fault(FaultRule(kind="drop", path="^/v4/invoices$"))
    issue = request(key="INV-DROP-1")

    with pytest.raises(OutcomeUnknown):
        await service.issue(issue)
    with pytest.raises(NotSupported) as caught:
        await service.find(issue)

    assert caught.value.code == "find"
    assert "Hiworks console" in caught.value.message
    assert "serial INV-DROP-1" in caught.value.message
    # The document does exist at Hiworks, once: the bot must not issue it again blindly.
    assert len(sandbox.find_by_serial("INV-DROP-1")) == 1


async def test_find_never_calls_hiworks(service: HiworksService, sandbox: HiworksSandbox) -> None:
    with pytest.raises(NotSupported):
        await service.find(request())
    assert sandbox.requests == []


# -- status ----------------------------------------------------------------------------------------

async def test_easy_signed_invoice_moves_from_issued_through_filing_to_filed(service: HiworksService,
                                                                            sandbox: HiworksSandbox) -> None:
    ref = (await service.issue(request())).ref

    fresh = await service.status(ref)
    assert (fresh.state, fresh.raw_state) == (DocumentState.ISSUED, "approval=W,declare=0")
    assert fresh.confirm_number is None

    sandbox.clock.advance(15)
    sending = await service.status(ref)
    assert (sending.state, sending.raw_state) == (DocumentState.FILING, "approval=T,declare=1")

    sandbox.clock.advance(60)
    waiting = await service.status(ref)
    assert (waiting.state, waiting.raw_state) == (DocumentState.FILING, "approval=T,declare=2")

    sandbox.clock.advance(600)
    filed = await service.status(ref)
    assert (filed.state, filed.raw_state) == (DocumentState.FILED, "approval=T,declare=4")
    assert filed.confirm_number and len(filed.confirm_number) == 24
    assert filed.amounts is not None and filed.amounts.total == 333333 + 33333
    assert filed.buyer_bizno == "2148639239"
    assert filed.raw["status"]["declareStatusCode"] == "SUC001"


async def test_invoice_without_easy_sign_waits_for_the_buyer_before_filing(sandbox: HiworksSandbox) -> None:
    service = make_service(sandbox, easy_sign=False)
    try:
        ref = (await service.issue(request())).ref
        assert sent_body(sandbox).get("easySign") is None
        observed = []
        elapsed = 0.0
        for age in (0, 10, 3600, 86400, 86420, 87100):  # seconds since creation
            sandbox.clock.advance(age - elapsed)
            elapsed = age
            status = await service.status(ref)
            observed.append((status.state, status.raw_state))
    finally:
        await service.aclose()
    assert observed == [
        (DocumentState.ISSUED, "approval=W,declare=0"),
        (DocumentState.SENT, "approval=T,declare=0"),
        (DocumentState.SENT, "approval=R,declare=0"),
        (DocumentState.SENT, "approval=S,declare=0"),
        (DocumentState.FILING, "approval=S,declare=1"),
        (DocumentState.FILED, "approval=S,declare=4"),
    ]


async def test_buyer_refusal_is_canceled(sandbox: HiworksSandbox) -> None:
    service = make_service(sandbox, easy_sign=False)
    try:
        ref = (await service.issue(request())).ref
        sandbox.clock.advance(100)
        sandbox.set_approval(ref.provider_id, "B")
        sandbox.clock.advance(2 * 86400)
        status = await service.status(ref)
    finally:
        await service.aclose()
    assert (status.state, status.raw_state) == (DocumentState.CANCELED, "approval=B,declare=0")
    assert status.detail is not None and "refused by the buyer" in status.detail


async def test_nts_failure_is_filing_failed_with_the_nts_code_explained(service: HiworksService,
                                                                        sandbox: HiworksSandbox) -> None:
    unknown_buyer = Party(name="없는회사", bizno="1234567890", ceo_name="무명", email="x@example.com")
    ref = (await service.issue(request(buyer=unknown_buyer))).ref
    sandbox.clock.advance(1000)

    status = await service.status(ref)

    assert (status.state, status.raw_state) == (DocumentState.FILING_FAILED, "approval=T,declare=5")
    assert status.detail is not None and "ERR002" in status.detail and "not registered" in status.detail


async def test_status_of_an_unknown_document_is_not_found(service: HiworksService) -> None:
    ref = DocumentRef(provider=Provider.HIWORKS, kind=DocumentKind.TAX_INVOICE,
                      provider_id="20240101000000AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(DocumentNotFound):
        await service.status(ref)


async def test_statuses_reads_each_document_with_bounded_concurrency(sandbox: HiworksSandbox,
                                                                     transport: CountingTransport) -> None:
    service = make_service(sandbox, transport, concurrency=3)
    try:
        refs = [DocumentRef(provider=Provider.HIWORKS, kind=DocumentKind.TAX_INVOICE, provider_id=d)
                for d in sandbox.documents]
        missing = DocumentRef(provider=Provider.HIWORKS, kind=DocumentKind.TAX_INVOICE,
                              provider_id="20240101000000BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")
        sandbox.add_fault(FaultRule(kind="latency", ms=50, count=None))

        found = await service.statuses([*refs, missing])
    finally:
        await service.aclose()
    assert set(found) == {r.provider_id for r in refs}  # the unknown one is simply absent
    assert transport.peak == 3
    seeded_states = sorted(s.state.value for s in found.values())
    assert seeded_states == ["filed", "filing", "filing_failed", "issued", "sent"]


# -- resend / destroy ------------------------------------------------------------------------------

@pytest.mark.parametrize("channel", [ResendChannel.DEFAULT, ResendChannel.EMAIL, ResendChannel.SMS])
async def test_resend_is_not_supported(service: HiworksService, sandbox: HiworksSandbox,
                                       channel: ResendChannel) -> None:
    ref = DocumentRef(provider=Provider.HIWORKS, kind=DocumentKind.TAX_INVOICE,
                      provider_id=next(iter(sandbox.documents)))
    with pytest.raises(NotSupported) as caught:
        await service.resend(ref, ResendRequest(channel=channel))
    assert caught.value.message == ("hiworks cannot resend documents by e-mail or SMS through its API; "
                                    "resend from the Hiworks console")
    assert sandbox.requests == []


async def test_destroy_deletes_before_filing_whether_hiworks_answers_302_or_304(
    service: HiworksService, sandbox: HiworksSandbox, transport: CountingTransport
) -> None:
    refs = []
    for key in ("INV-A", "INV-B"):
        ref = (await service.issue(request(key=key))).ref
        destroyed = await service.destroy(ref, reason="wrong buyer")
        assert (destroyed.state, destroyed.raw_state) == (DocumentState.DELETED, "deleted")
        assert destroyed.amounts is not None and destroyed.amounts.total == 333333 + 33333
        refs.append(ref)

    assert [status for method, status in transport.answers if method == "DELETE"] == [302, 304]
    for ref in refs:
        with pytest.raises(DocumentNotFound):
            await service.status(ref)
        assert sandbox.snapshot()["documents"][ref.provider_id]["deleted"] is True


async def test_destroy_after_filing_is_refused_in_plain_language_without_deleting(service: HiworksService,
                                                                                  sandbox: HiworksSandbox) -> None:
    ref = (await service.issue(request())).ref
    sandbox.clock.advance(1000)

    with pytest.raises(ProviderRejected) as caught:
        await service.destroy(ref)

    assert "already reported to the National Tax Service; issue an amendment instead" in caught.value.message
    assert caught.value.user_hint is not None and "수정세금계산서" in caught.value.user_hint
    assert sandbox.requests_to("^/v4/invoices/", "DELETE") == []


async def test_destroy_maps_hiworks_own_refusal_when_filing_starts_in_between(service: HiworksService,
                                                                              sandbox: HiworksSandbox,
                                                                              transport: CountingTransport) -> None:
    ref = (await service.issue(request())).ref

    def filing_starts(req: httpx.Request) -> None:
        if req.method == "DELETE":
            sandbox.clock.advance(30)  # the NTS transmission begins between our read and our delete

    transport.before = filing_starts
    with pytest.raises(ProviderRejected) as caught:
        await service.destroy(ref)

    assert "already reported to the National Tax Service; issue an amendment instead" in caught.value.message
    assert "삭제할 수 없습니다" in caught.value.message  # Hiworks' own words are kept
    assert caught.value.code == "409"
    assert ref.provider_id in sandbox.documents and not sandbox.documents[ref.provider_id].deleted


async def test_destroy_after_an_nts_failure_is_allowed(service: HiworksService, sandbox: HiworksSandbox) -> None:
    unknown_buyer = Party(name="없는회사", bizno="1234567890", ceo_name="무명", email="x@example.com")
    ref = (await service.issue(request(buyer=unknown_buyer))).ref
    sandbox.clock.advance(1000)

    destroyed = await service.destroy(ref)
    assert destroyed.state is DocumentState.DELETED


async def test_destroy_of_an_unknown_document_is_not_found(service: HiworksService) -> None:
    ref = DocumentRef(provider=Provider.HIWORKS, kind=DocumentKind.TAX_INVOICE,
                      provider_id="20240101000000CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC")
    with pytest.raises(DocumentNotFound):
        await service.destroy(ref)


# -- closure check ---------------------------------------------------------------------------------

async def test_check_closure_for_the_seeded_numbers_and_hyphenated_input(service: HiworksService,
                                                                         sandbox: HiworksSandbox) -> None:
    results = await service.check_closure(["679-87-00433", "123-12-12312", "2208875476", "116-82-00278"])

    assert [(r.bizno, r.state) for r in results] == [
        ("6798700433", BusinessState.ACTIVE),
        ("1231212312", BusinessState.CLOSED),
        ("2208875476", BusinessState.SUSPENDED),
        ("1168200278", BusinessState.UNREGISTERED),
    ]
    closed = results[1]
    assert closed.state_date == dt.date(2023, 12, 31)
    assert closed.raw_state == "03"
    assert results[0].tax_type is not None and "general taxable" in results[0].tax_type
    assert results[3].detail == "not registered with the National Tax Service"
    assert [r["path"] for r in sandbox.requests] == ["/v4/check/6798700433", "/v4/check/1231212312",
                                                     "/v4/check/2208875476", "/v4/check/1168200278"]


async def test_check_closure_refuses_bad_numbers_before_any_call(service: HiworksService,
                                                                 sandbox: HiworksSandbox) -> None:
    with pytest.raises(RequestInvalid, match="10"):
        await service.check_closure(["6798700433", "12-345"])
    assert sandbox.requests == []


async def test_check_closure_runs_with_bounded_concurrency(sandbox: HiworksSandbox,
                                                           transport: CountingTransport) -> None:
    service = make_service(sandbox, transport, concurrency=2)
    sandbox.add_fault(FaultRule(kind="latency", ms=50, count=None))
    numbers = ["6798700433", "1231212312", "2208875476", "1168200276", "2148639239"]
    try:
        results = await service.check_closure(numbers)
    finally:
        await service.aclose()
    assert [r.bizno for r in results] == numbers
    assert transport.peak == 2


# -- wiring ----------------------------------------------------------------------------------------

def test_capabilities_are_honest() -> None:
    caps = HiworksService.capabilities
    assert caps.provider is Provider.HIWORKS
    assert caps.kinds == {DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE, DocumentKind.EXEMPT_INVOICE,
                          DocumentKind.STATEMENT}
    assert caps.resend_channels == frozenset()
    assert caps.closure_check and caps.destroy
    assert not caps.batch_status


async def test_create_service_uses_the_documented_host_by_default() -> None:
    service = create_service(DEMO_HIWORKS.model_copy(update={"sandbox": False}), seller=SellerConfig())
    try:
        assert isinstance(service, InvoiceProvider)
        assert service.client.base_url == DEFAULT_BASE_URL
        assert service.sandbox is False
    finally:
        await service.aclose()


async def test_create_service_against_a_sandbox_without_credentials_uses_the_demo_tokens(
    sandbox: HiworksSandbox,
) -> None:
    service = create_service(HiworksConfig(api_url=sandbox.base_url), seller=SellerConfig(), sandbox=True)
    try:
        assert service.sandbox is True
        check = await service.check_closure(["6798700433"])
    finally:
        await service.aclose()
    assert check[0].state is BusinessState.ACTIVE


def test_create_service_without_credentials_for_the_real_hiworks_is_refused() -> None:
    with pytest.raises(RequestInvalid, match="not configured"):
        create_service(HiworksConfig(), seller=SellerConfig())
