"""HiworksClient against the Hiworks sandbox: every call round-trips, errors keep Hiworks' own
status/title/message, and every fault lands in the right error class."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Literal

import pytest

from providers.errors import (
    DocumentNotFound,
    OutcomeUnknown,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    RateLimited,
    RequestInvalid,
)
from providers.hiworks import (
    AmendmentInfo,
    AmendmentRequest,
    Contact,
    HiworksClient,
    HiworksRejected,
    Invoice,
    InvoiceInformation,
    InvoiceItem,
    InvoiceParty,
    InvoiceType,
)
from providers.http import HttpPolicy
from providers.sandbox.base import FaultRule
from providers.sandbox.hiworks import HiworksSandbox, HiworksTimings

ISSUE_DATE = dt.date(2024, 5, 20)
OFFICE_TOKEN = "sandbox-office-token"
BILL_TOKEN = "sandbox-bill-access-token"
POLICY = HttpPolicy(read_timeout=0.3, backoff=0.01, max_retry_after=0.5)
DOCUMENT_ID = r"^\d{14}[A-Z0-9]{32}$"


@pytest.fixture
async def sandbox() -> AsyncIterator[HiworksSandbox]:
    box = HiworksSandbox()
    await box.start()
    yield box
    await box.stop()


def make_client(sandbox: HiworksSandbox, *, office: str = OFFICE_TOKEN, bill: str | None = BILL_TOKEN,
                reseller: str | None = None) -> HiworksClient:
    return HiworksClient(office, bill, base_url=sandbox.base_url, policy=POLICY, reseller_code=reseller)


@pytest.fixture
async def client(sandbox: HiworksSandbox) -> AsyncIterator[HiworksClient]:
    c = make_client(sandbox)
    yield c
    await c.aclose()


def buyer(number: str = "2148639239") -> InvoiceParty:
    return InvoiceParty(company_number=number, company_name="가비아", ceo_name="김가비아", party_type_code="01",
                        primary_contact=Contact(name="구매담당", email="buyer@example.com"))


def invoice(kind: InvoiceType | None = None, *, supplies: tuple[int, ...] = (100, 100), tax_rate: int = 10,
            easy_sign: Literal["Y", "N"] | None = None, total_tax: int | None = None,
            buyer_number: str = "2148639239") -> Invoice:
    kind = kind or InvoiceType.taxable()
    taxed = kind.tax_type == "A"
    items = [InvoiceItem.on(ISSUE_DATE, subject=f"항목{n}", unit="EA", supply_price=s,
                            tax=s * tax_rate // 100 if taxed else 0)
             for n, s in enumerate(supplies, start=1)]
    tax = sum(i.tax for i in items) if total_tax is None else total_tax
    return Invoice(
        easy_sign=easy_sign,
        information=InvoiceInformation(issue_date=ISSUE_DATE, serial="INV-1", memo="메모",
                                       total_supply_price=sum(supplies), total_tax=tax),
        invoice_type=kind,
        invoicer="679-87-00433",
        invoicee=buyer(buyer_number),
        items=items,
    )


def last_headers(sandbox: HiworksSandbox) -> dict[str, str]:
    return {k.lower(): v for k, v in sandbox.requests[-1]["headers"]}


# -- round trips ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("kind", "type_code", "tax_type"),
    [
        (InvoiceType.taxable(), "A", "A"),
        (InvoiceType.zero_rated(), "A", "B"),
        (InvoiceType.exempt(), "B", "B"),
        (InvoiceType.statement(), "D", "A"),
    ],
)
async def test_create_then_get_round_trips_every_document_type(
    client: HiworksClient, kind: InvoiceType, type_code: str, tax_type: str
) -> None:
    result = await client.create_invoice(invoice(kind))

    assert len(result.document_ids) == 1
    detail = await client.get_invoice(result.document_ids[0])
    assert detail.invoice_type["typeCode"] == type_code
    assert detail.invoice_type["taxType"] == tax_type
    assert detail.information["serial"] == "INV-1"
    assert detail.information["totalSupplyPrice"] == "200"
    assert detail.status.approval_status == "W"
    assert detail.status.declare_status == "0"


async def test_create_sends_the_documented_envelope_and_headers(client: HiworksClient,
                                                                sandbox: HiworksSandbox) -> None:
    await client.create_invoice(invoice())

    sent = sandbox.requests[-1]
    headers = last_headers(sandbox)
    assert headers["office-authorization"] == OFFICE_TOKEN  # raw token, no "Bearer"
    assert headers["bill-access-authorization"] == BILL_TOKEN
    assert headers["content-type"] == "application/json"
    body = json.loads(sent["body"])
    assert set(body) == {"data"}
    assert body["data"]["invoicer"] == "679-87-00433"
    assert body["data"]["information"]["totalSupplyPrice"] == "200"  # number strings, as documented
    assert body["data"]["items"][0] == {"month": "05", "day": "20", "subject": "항목1", "unit": "EA",
                                        "supplyPrice": "100", "tax": "10"}


async def test_document_ids_look_like_hiworks_ids(client: HiworksClient) -> None:
    result = await client.create_invoice(invoice())

    assert re.match(DOCUMENT_ID, result.document_ids[0])


async def test_easy_sign_create_returns_the_issue_message(client: HiworksClient) -> None:
    result = await client.create_invoice(invoice(easy_sign="Y"))

    assert result.easy_sign_messages == ["문서 발급이 완료되었습니다. 발급된 문서는 국세청으로 즉시 전송합니다."]


async def test_reseller_code_is_sent_on_create(sandbox: HiworksSandbox) -> None:
    client = make_client(sandbox, reseller="GABIA-RS-1")
    try:
        result = await client.create_invoice(invoice())
    finally:
        await client.aclose()
    assert last_headers(sandbox)["x-reseller-code"] == "GABIA-RS-1"
    assert sandbox.snapshot()["documents"][result.document_ids[0]]["reseller"] == "GABIA-RS-1"


async def test_amendment_of_a_filed_invoice_returns_the_negative_and_positive_ids(
    client: HiworksClient, sandbox: HiworksSandbox
) -> None:
    original = (await client.create_invoice(invoice(easy_sign="Y"))).document_ids[0]
    sandbox.clock.advance(3600)
    issue_id = (await client.get_invoice(original)).status.issue_id
    assert issue_id

    negative = invoice(supplies=(-100, -100))
    positive = invoice(supplies=(150, 50))
    result = await client.create_amendment(AmendmentRequest(
        amendment=AmendmentInfo(original_issue_id=issue_id, modify_type="01"), negative=negative, positive=positive,
    ))

    assert len(result.document_ids) == 2
    amended = await client.get_invoice(result.document_ids[0])
    assert amended.invoice_type["typeCode"] == "M"  # amendments read back as M (tax invoice) / N
    assert amended.amendment == {"originalIssueId": issue_id, "modifyType": "01"}
    assert amended.information["description"] == issue_id


@pytest.mark.parametrize("spelling", ["1", "01", 1])
async def test_amendment_takes_the_seeds_example_and_its_table_alike(
    client: HiworksClient, sandbox: HiworksSandbox, spelling: str | int
) -> None:
    """Seed 004's amendment example sends ``"modifyType": "1"``; its field table says ``"01"``."""
    original = (await client.create_invoice(invoice(easy_sign="Y"))).document_ids[0]
    sandbox.clock.advance(3600)
    issue_id = (await client.get_invoice(original)).status.issue_id
    result = await client.create_amendment({
        "amendment": {"originalIssueId": issue_id, "modifyType": spelling},
        "negative": invoice(supplies=(-100, -100)).wire(), "positive": invoice(supplies=(150, 50)).wire(),
    })
    sent = json.loads(sandbox.requests_to("/v4/invoices/amendment")[-1]["body"])
    assert sent["data"]["amendment"]["modifyType"] == "01"
    assert len(result.document_ids) == 2


async def test_amendment_needing_two_documents_is_refused_before_sending(client: HiworksClient,
                                                                         sandbox: HiworksSandbox) -> None:
    with pytest.raises(RequestInvalid, match="two documents"):
        await client.create_amendment({"amendment": {"originalIssueId": "X", "modifyType": "05"},
                                       "negative": invoice(supplies=(-100,)).wire()})
    assert sandbox.requests_to("/v4/invoices") == []


async def test_amendment_of_an_unknown_original_keeps_hiworks_message(client: HiworksClient) -> None:
    with pytest.raises(HiworksRejected) as caught:
        await client.create_amendment(AmendmentRequest(
            amendment=AmendmentInfo(original_issue_id="20240101410000370000XXXX", modify_type="04"),
            negative=invoice(supplies=(-100,)),
        ))
    assert caught.value.code == "400"
    assert "당초 승인번호" in caught.value.message


async def test_get_unknown_document_is_document_not_found(client: HiworksClient) -> None:
    with pytest.raises(DocumentNotFound) as caught:
        await client.get_invoice("20240101000000AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert caught.value.code == "404"
    assert "Not Found" in caught.value.message


@pytest.mark.parametrize("answer", [302, 304])
async def test_delete_treats_302_and_304_as_success(client: HiworksClient, sandbox: HiworksSandbox,
                                                    answer: int) -> None:
    sandbox.delete_status = answer
    document_id = (await client.create_invoice(invoice())).document_ids[0]

    assert await client.delete_invoice(document_id) == answer

    with pytest.raises(DocumentNotFound):
        await client.get_invoice(document_id)
    assert len(sandbox.requests_to(r"^/v4/invoices$")) == 1  # the 302 Location was not followed


async def test_delete_after_declaration_keeps_hiworks_refusal(client: HiworksClient, sandbox: HiworksSandbox) -> None:
    document_id = (await client.create_invoice(invoice(easy_sign="Y"))).document_ids[0]
    sandbox.clock.advance(30)  # declaration under way

    with pytest.raises(HiworksRejected) as caught:
        await client.delete_invoice(document_id)
    assert caught.value.code == "409"
    assert caught.value.title == "Document Already Declared"
    assert "삭제할 수 없습니다" in caught.value.message


async def test_check_closure_normalises_hyphens_and_sends_both_tokens(
    client: HiworksClient, sandbox: HiworksSandbox
) -> None:
    """Seed 004 lists Bill-Access-Authorization as (필수) on 사업자 휴폐업 단일 조회."""
    check = await client.check_closure("123-12-12312")

    assert sandbox.requests[-1]["path"] == "/v4/check/1231212312"
    assert last_headers(sandbox)["bill-access-authorization"] == "sandbox-bill-access-token"
    assert (check.idn, check.status_code, check.status, check.end_date) == ("1231212312", "03", "폐업자", "20231231")


async def test_check_closure_without_a_bill_access_token_is_refused_as_hiworks_would(sandbox: HiworksSandbox) -> None:
    client = make_client(sandbox, bill=None)
    try:
        with pytest.raises(ProviderRejected, match="Bill-Access-Authorization"):
            await client.check_closure("6798700433")
    finally:
        await client.aclose()


async def test_check_closure_refuses_a_number_that_is_not_ten_digits(client: HiworksClient,
                                                                     sandbox: HiworksSandbox) -> None:
    with pytest.raises(RequestInvalid, match="10"):
        await client.check_closure("123-45-678")
    assert sandbox.requests == []


async def test_validate_business_round_trips(client: HiworksClient) -> None:
    genuine = await client.validate_business({"idn": "679-87-00433", "startDate": "20150302",
                                              "representative": "홍길동"})
    assert genuine.genuine
    assert genuine.status is not None and genuine.status.status_code == "01"
    assert genuine.request_data["idn"] == "6798700433"

    wrong = await client.validate_business({"idn": "6798700433", "startDate": "20150302", "representative": "다른사람"})
    assert not wrong.genuine
    assert wrong.validation_code == "02"
    assert wrong.validation_message == "확인할 수 없습니다."


# -- refused before sending ------------------------------------------------------------------------

async def test_totals_that_do_not_add_up_are_refused_before_any_request(client: HiworksClient,
                                                                        sandbox: HiworksSandbox) -> None:
    with pytest.raises(RequestInvalid, match="totalTax 25 is not the sum") as caught:
        await client.create_invoice(invoice(total_tax=25))
    assert caught.value.code == "totals"

    bad_supply = invoice().wire()
    bad_supply["information"]["totalSupplyPrice"] = "300"
    with pytest.raises(RequestInvalid, match="totalSupplyPrice 300"):
        await client.create_invoice(bad_supply)
    assert sandbox.requests == []


async def test_more_than_100_items_are_refused_before_any_request(client: HiworksClient,
                                                                  sandbox: HiworksSandbox) -> None:
    with pytest.raises(RequestInvalid, match="at most 100 items"):
        await client.create_invoice(invoice(supplies=(10,) * 101))
    assert sandbox.requests == []


async def test_tax_on_a_zero_rated_invoice_is_refused_before_any_request(client: HiworksClient,
                                                                         sandbox: HiworksSandbox) -> None:
    body = invoice(InvoiceType.zero_rated()).wire()
    body["items"][0]["tax"] = "10"
    body["information"]["totalTax"] = "10"
    with pytest.raises(RequestInvalid, match="no tax"):
        await client.create_invoice(body)
    assert sandbox.requests == []


# -- Hiworks refusals ------------------------------------------------------------------------------

async def test_provider_validation_error_keeps_status_title_and_message(client: HiworksClient) -> None:
    wrong_seller = invoice().model_copy(update={"invoicer": "220-88-75476"})

    with pytest.raises(HiworksRejected) as caught:
        await client.create_invoice(wrong_seller)
    error = caught.value
    assert isinstance(error, ProviderRejected)
    assert (error.provider, error.code, error.title, error.http_status) == ("hiworks", "400", "Validation Error", 400)
    assert "등록된 사업자 번호가 아닙니다" in error.message
    assert error.errors[0]["status"] == "400"


@pytest.mark.parametrize(
    ("office", "bill", "status", "wording"),
    [
        ("", BILL_TOKEN, "401", "Office-Authorization"),
        ("wrong-token", BILL_TOKEN, "401", "오피스 토큰"),
        (f"Bearer {OFFICE_TOKEN}", BILL_TOKEN, "401", "Bearer"),
        (OFFICE_TOKEN, None, "401", "Bill-Access-Authorization"),
        (OFFICE_TOKEN, "wrong-bill-token", "403", "세금계산서 API 토큰"),
    ],
)
async def test_auth_refusals_come_back_with_hiworks_errors(sandbox: HiworksSandbox, office: str, bill: str | None,
                                                           status: str, wording: str) -> None:
    client = make_client(sandbox, office=office, bill=bill)
    try:
        with pytest.raises(HiworksRejected) as caught:
            await client.get_invoice(next(iter(sandbox.documents)))
    finally:
        await client.aclose()
    assert caught.value.code == status
    assert wording in caught.value.message
    assert caught.value.user_hint is not None and "token" in caught.value.user_hint


async def test_closure_check_with_a_wrong_office_token_is_refused(sandbox: HiworksSandbox) -> None:
    client = make_client(sandbox, office="nope")
    try:
        with pytest.raises(HiworksRejected) as caught:
            await client.check_closure("6798700433")
    finally:
        await client.aclose()
    assert caught.value.code == "401"


# -- faults ----------------------------------------------------------------------------------------

async def test_maintenance_503_is_unavailable_with_a_maintenance_hint(client: HiworksClient,
                                                                      sandbox: HiworksSandbox) -> None:
    sandbox.add_fault(FaultRule(kind="503", count=None))

    with pytest.raises(ProviderUnavailable) as caught:
        await client.get_invoice(next(iter(sandbox.documents)))
    assert caught.value.code == "maintenance"
    assert caught.value.status == 503
    assert caught.value.user_hint is not None and "Hiworks is under maintenance" in caught.value.user_hint


async def test_maintenance_on_create_is_unavailable_and_nothing_is_created(client: HiworksClient,
                                                                           sandbox: HiworksSandbox) -> None:
    before = len(sandbox.documents)
    sandbox.add_fault(FaultRule(kind="503", path="/v4/invoices"))

    with pytest.raises(ProviderUnavailable, match="maintenance"):
        await client.create_invoice(invoice())
    assert len(sandbox.documents) == before


async def test_500_is_unavailable(client: HiworksClient, sandbox: HiworksSandbox) -> None:
    sandbox.add_fault(FaultRule(kind="500", count=None))

    with pytest.raises(ProviderUnavailable) as caught:
        await client.get_invoice(next(iter(sandbox.documents)))
    assert caught.value.code == "500"
    assert not isinstance(caught.value, RateLimited)


async def test_429_is_rate_limited_with_retry_after(client: HiworksClient, sandbox: HiworksSandbox) -> None:
    sandbox.add_fault(FaultRule(kind="429", retry_after=7))

    with pytest.raises(RateLimited) as caught:
        await client.check_closure("6798700433")
    assert caught.value.retry_after == 7


@pytest.mark.parametrize("kind", ["html", "malformed"])
async def test_unreadable_answers_are_protocol_errors(client: HiworksClient, sandbox: HiworksSandbox,
                                                      kind: str) -> None:
    sandbox.add_fault(FaultRule(kind=kind))

    with pytest.raises(ProviderProtocolError):
        await client.check_closure("6798700433")


async def test_timeout_on_a_read_is_unavailable_after_retries(client: HiworksClient, sandbox: HiworksSandbox) -> None:
    sandbox.add_fault(FaultRule(kind="timeout", seconds=0.6, count=None, path="/v4/invoices/"))

    with pytest.raises(ProviderUnavailable) as caught:
        await client.get_invoice(next(iter(sandbox.documents)))
    assert caught.value.code == "timeout"
    assert len(sandbox.requests_to("/v4/invoices/", "GET")) == POLICY.max_attempts


async def test_drop_on_create_is_outcome_unknown_but_the_document_exists(client: HiworksClient,
                                                                         sandbox: HiworksSandbox) -> None:
    sandbox.add_fault(FaultRule(kind="drop", path="^/v4/invoices$"))

    with pytest.raises(OutcomeUnknown):
        await client.create_invoice(invoice())
    assert sandbox.find_by_serial("INV-1") != []
    assert len(sandbox.requests_to("^/v4/invoices$")) == 1  # never retried


async def test_reset_on_create_is_outcome_unknown_and_nothing_is_created(client: HiworksClient,
                                                                         sandbox: HiworksSandbox) -> None:
    sandbox.add_fault(FaultRule(kind="reset", path="^/v4/invoices$"))

    with pytest.raises(OutcomeUnknown):
        await client.create_invoice(invoice())
    assert sandbox.find_by_serial("INV-1") == []


async def test_drop_on_delete_is_outcome_unknown(client: HiworksClient, sandbox: HiworksSandbox) -> None:
    document_id = (await client.create_invoice(invoice())).document_ids[0]
    sandbox.add_fault(FaultRule(kind="drop", method="DELETE"))

    with pytest.raises(OutcomeUnknown):
        await client.delete_invoice(document_id)


# -- rate limit headers ----------------------------------------------------------------------------

async def test_rate_limit_headers_are_recorded_and_count_down(client: HiworksClient) -> None:
    assert client.rate_limit is None

    await client.check_closure("6798700433")
    first = client.rate_limit
    await client.check_closure("6798700433")
    second = client.rate_limit

    assert first is not None and second is not None
    assert first.limit == second.limit == 1000
    assert first.remaining is not None and second.remaining == first.remaining - 1


async def test_rate_limit_headers_are_kept_on_refusals_too(client: HiworksClient) -> None:
    with pytest.raises(DocumentNotFound):
        await client.get_invoice("20240101000000AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert client.rate_limit is not None and client.rate_limit.limit == 1000


async def test_a_document_id_that_could_escape_the_path_is_refused(client: HiworksClient,
                                                                   sandbox: HiworksSandbox) -> None:
    with pytest.raises(RequestInvalid):
        await client.get_invoice("../check/6798700433")
    assert sandbox.requests == []


async def test_slow_declaration_timings_are_configurable() -> None:
    box = HiworksSandbox(timings=HiworksTimings(declare_after=0, result_wait=1, result_after=2))
    await box.start()
    client = make_client(box)
    try:
        document_id = (await client.create_invoice(invoice(easy_sign="Y"))).document_ids[0]
        assert (await client.get_invoice(document_id)).status.declare_status == "1"
        box.clock.advance(2)
        assert (await client.get_invoice(document_id)).status.declare_status == "4"
    finally:
        await client.aclose()
        await box.stop()


async def test_a_shrinking_budget_is_logged_once_below_10_percent_and_once_when_spent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    box = HiworksSandbox(rate_limit=20)
    await box.start()
    client = make_client(box)
    try:
        with caplog.at_level(logging.WARNING, logger="invoicebot.providers.hiworks"):
            for _ in range(25):
                await client.check_closure("6798700433")
    finally:
        await client.aclose()
        await box.stop()
    warnings = [r.getMessage() for r in caplog.records if r.name == "invoicebot.providers.hiworks"]
    assert warnings == ["hiworks: 2 of 20 calls left today for this office token",
                        "hiworks: 0 of 20 calls left today for this office token"]
    assert not any("sandbox-office-token" in m for m in caplog.messages)
