"""AbillifyService: issue / find / status / statuses / resend / destroy / closure against the sandbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from providers.abillify import AbillifyService, create_service, identity_reference
from providers.base import InvoiceProvider
from providers.config import DEMO_ABILLIFY, AbillifyConfig, SellerConfig
from providers.errors import (
    DocumentNotFound,
    NotSupported,
    OutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
    RequestInvalid,
)
from providers.http import HttpPolicy
from providers.models import (
    DocumentKind,
    DocumentRef,
    DocumentState,
    IssueRequest,
    LineItem,
    Party,
    Provider,
    ResendChannel,
    ResendRequest,
)
from providers.sandbox.abillify import IDEMPOTENCY_TTL, AbillifySandbox
from providers.sandbox.base import FaultRule
from tests.local_http import json_posts

POLICY = HttpPolicy(read_timeout=0.3, backoff=0.01, max_retry_after=0.5)
BUYER = Party(name="가나다 상사", bizno="2208162517", email="ap@ganada.example")


def request(key: str = "INV-000123", currency: str = "KRW", unit_price: int = 10000, quantity: str = "3",
            callback_url: str | None = None, **extra: Any) -> IssueRequest:
    return IssueRequest(
        provider=Provider.ABILLIFY, kind=DocumentKind.INVOICE, key=key, buyer=extra.pop("buyer", BUYER),
        items=extra.pop("items", [LineItem(name="Design", quantity=Decimal(quantity), unit_price=unit_price)]),
        write_date=dt.date(2025, 3, 2), due_date=dt.date(2025, 3, 31), currency=currency,
        callback_url=callback_url, **extra,
    )


def ref(provider_id: str) -> DocumentRef:
    return DocumentRef(provider=Provider.ABILLIFY, kind=DocumentKind.INVOICE, provider_id=provider_id)


@pytest.fixture
async def sandbox() -> AsyncIterator[AbillifySandbox]:
    sb = AbillifySandbox()
    await sb.start()
    yield sb
    await sb.stop()


@pytest.fixture
async def service(sandbox: AbillifySandbox) -> AsyncIterator[AbillifyService]:
    config = DEMO_ABILLIFY.model_copy(update={"api_url": sandbox.base_url, "policy": POLICY})
    svc = create_service(config, seller=SellerConfig(), sandbox=True)
    yield svc
    await svc.aclose()


def invoices_numbered(sandbox: AbillifySandbox, number: str) -> list[dict[str, Any]]:
    return [i for i in sandbox.state.invoices.values() if i["number"] == number]


# -- issue ---------------------------------------------------------------------------------
async def test_service_satisfies_the_protocol_with_honest_capabilities(service: AbillifyService) -> None:
    assert isinstance(service, InvoiceProvider)
    assert service.sandbox is True
    caps = service.capabilities
    assert caps.kinds == {DocumentKind.INVOICE}
    assert caps.resend_channels == {ResendChannel.EMAIL}
    assert not caps.closure_check and not caps.batch_status


async def test_issue_krw_upserts_creates_commits_and_reports_unpaid(service: AbillifyService,
                                                                    sandbox: AbillifySandbox) -> None:
    status = await service.issue(request())
    assert status.state is DocumentState.UNPAID and status.raw_state == "none/committed"
    assert status.amounts is not None
    assert (status.amounts.supply, status.amounts.vat, status.amounts.total, status.amounts.currency) == (
        30000, 3000, 33000, "KRW")
    assert status.buyer_name == "가나다 상사" and status.buyer_bizno == "2208162517"
    assert status.due_date == dt.date(2025, 3, 31) and status.confirm_number == "INV-000123"
    identity = sandbox.state.identities["biz-2208162517"]
    assert identity["kind"] == "incorporate" and identity["detail"] == {"vatId": "2208162517"}
    [invoice] = invoices_numbered(sandbox, "INV-000123")
    assert invoice["meta"]["invoicebot_key"] == "INV-000123"
    assert invoice["items"][0]["unitprice"] == 10000 and invoice["items"][0]["detail"]["taxrate"] == 10
    keys = [dict((k.lower(), v) for k, v in r["headers"]).get("idempotency-key")
            for r in sandbox.requests if r["method"] == "POST"]
    assert keys == ["invoicebot:INV-000123:create", "invoicebot:INV-000123:commit"]


async def test_issue_eur_sends_unitprice_in_euros_and_reports_cents(service: AbillifyService,
                                                                    sandbox: AbillifySandbox) -> None:
    status = await service.issue(request("INV-EUR", currency="EUR", unit_price=1250, quantity="3"))
    [create] = [json.loads(r["body"]) for r in sandbox.requests_to("/invoices$", "POST")]
    assert create["items"][0]["unitprice"] == 12.5 and create["currency"] == "EUR"
    assert status.amounts is not None
    assert (status.amounts.supply, status.amounts.vat, status.amounts.total, status.amounts.currency) == (
        3750, 375, 4125, "EUR")
    assert status.amounts == request("INV-EUR", currency="EUR", unit_price=1250, quantity="3").amounts()


async def test_issue_passes_callback_url_as_notify_url_and_abillify_calls_it(service: AbillifyService) -> None:
    async with json_posts("/abillify/notify") as notify:
        await service.issue(request(callback_url=notify.url))
        await asyncio.wait_for(notify.arrived.wait(), 5)
    got = notify.received
    assert got[0]["result"] == "OK" and got[0]["resultcode"] == "0" and got[0]["job"] and got[0]["notification"]


async def test_issue_twice_is_one_invoice(service: AbillifyService, sandbox: AbillifySandbox) -> None:
    first = await service.issue(request())
    second = await service.issue(request())
    assert first.ref == second.ref
    assert len(invoices_numbered(sandbox, "INV-000123")) == 1


async def test_drop_on_create_is_retried_with_the_same_key_and_one_invoice_exists(
        service: AbillifyService, sandbox: AbillifySandbox) -> None:
    sandbox.add_fault(FaultRule(kind="drop", path="/invoices$", method="POST"))
    status = await service.issue(request())
    assert status.state is DocumentState.UNPAID
    creates = sandbox.requests_to("/invoices$", "POST")
    assert len(creates) == 2 and creates[0]["body"] == creates[1]["body"]
    assert len(invoices_numbered(sandbox, "INV-000123")) == 1


async def test_find_after_every_create_answer_was_lost_then_issue_resumes(
        service: AbillifyService, sandbox: AbillifySandbox) -> None:
    sandbox.add_fault(FaultRule(kind="drop", path="/invoices$", method="POST", count=3))
    with pytest.raises(OutcomeUnknown):
        await service.issue(request())
    found = await service.find(request())
    assert found is not None and found.state is DocumentState.ISSUED and found.raw_state == "none/draft"
    resumed = await service.issue(request())
    assert resumed.ref == found.ref and resumed.state is DocumentState.UNPAID
    assert len(invoices_numbered(sandbox, "INV-000123")) == 1


async def test_find_returns_none_for_unknown_customer_or_key(service: AbillifyService) -> None:
    assert await service.find(request()) is None
    await service.issue(request())
    assert await service.find(request("INV-OTHER")) is None


async def test_a_stored_500_is_replayed_until_a_new_attempt(service: AbillifyService,
                                                            sandbox: AbillifySandbox) -> None:
    sandbox.add_processing_fault(r"/invoices$")
    with pytest.raises(ProviderUnavailable) as err:
        await service.issue(request())
    assert err.value.code == "ERR_INTERNAL" and "24 hours" in (err.value.user_hint or "")
    with pytest.raises(ProviderUnavailable):
        await service.issue(request())
    status = await service.issue(request(), attempt=2)
    assert status.state is DocumentState.UNPAID
    assert len(invoices_numbered(sandbox, "INV-000123")) == 1


async def test_after_the_key_expired_a_repeat_reconciles_through_409(service: AbillifyService,
                                                                     sandbox: AbillifySandbox) -> None:
    first = await service.issue(request())
    sandbox.clock.advance(IDEMPOTENCY_TTL + 1)
    again = await service.issue(request())
    assert again.ref == first.ref
    assert len(invoices_numbered(sandbox, "INV-000123")) == 1
    with pytest.raises(ProviderRejected) as err:
        await service.issue(request(unit_price=99999), attempt=3)
    assert err.value.code == "ERR_UNIQUE_VIOLATION" and "different amounts" in err.value.message


async def test_issue_refuses_other_kinds_and_inconsistent_lines(service: AbillifyService,
                                                                sandbox: AbillifySandbox) -> None:
    with pytest.raises(NotSupported):
        await service.issue(request().model_copy(update={"kind": DocumentKind.TAX_INVOICE}))
    with pytest.raises(RequestInvalid) as err:
        await service.issue(request(items=[LineItem(name="A", unit_price=1000, vat=55)]))
    assert err.value.code == "vat"
    with pytest.raises(RequestInvalid):
        await service.issue(request(currency="won"))
    assert sandbox.requests == []


def test_identity_reference_prefers_bizno_then_a_name_slug() -> None:
    assert identity_reference(Party(name="x", bizno="220-81-62517")) == "biz-2208162517"
    assert identity_reference(Party(name="ACME GmbH & Co. KG")) == "name-acme-gmbh-co-kg"
    korean = identity_reference(Party(name="홍길동"))
    assert korean.startswith("name-") and len(korean) == 21 and korean == identity_reference(Party(name="홍길동"))


# -- status ----------------------------------------------------------------------------------
async def test_status_follows_payment(service: AbillifyService, sandbox: AbillifySandbox) -> None:
    issued = await service.issue(request())
    sandbox._pay(sandbox.state.invoices[issued.ref.provider_id], Decimal(10000), sandbox.clock.now())
    partly = await service.status(issued.ref)
    assert partly.state is DocumentState.UNPAID and "23000" in (partly.detail or "")
    sandbox._pay(sandbox.state.invoices[issued.ref.provider_id], None, sandbox.clock.now())
    paid = await service.status(issued.ref)
    assert paid.state is DocumentState.PAID and paid.raw_state == "paid/committed"
    assert paid.raw["unpaid"] == 0


async def test_status_of_unknown_invoice_is_not_found(service: AbillifyService) -> None:
    with pytest.raises(DocumentNotFound):
        await service.status(ref("inv-999999"))


async def test_statuses_reads_many_with_bounded_concurrency_and_skips_unknown(
        service: AbillifyService, sandbox: AbillifySandbox) -> None:
    issued = [await service.issue(request(f"INV-{n}")) for n in range(5)]
    seeded = [ref(r) for r in sandbox.state.invoices if r.startswith("inv-00000") and r <= "inv-000003"]
    result = await service.statuses([s.ref for s in issued] + seeded + [ref("missing")])
    assert set(result) == {s.ref.provider_id for s in issued} | {r.provider_id for r in seeded}
    assert {result[r.provider_id].state for r in seeded} == {DocumentState.ISSUED, DocumentState.UNPAID,
                                                              DocumentState.PAID}


async def test_statuses_never_exceeds_the_concurrency_limit(sandbox: AbillifySandbox,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = DEMO_ABILLIFY.model_copy(update={"api_url": sandbox.base_url, "policy": POLICY})
    svc = create_service(config, seller=SellerConfig(), concurrency=2)
    sandbox.add_fault(FaultRule(kind="latency", path="/invoices/", ms=50, count=None))
    in_flight = peak = 0
    original = svc.client.get_invoice

    async def counting(reference: str) -> dict[str, Any]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await original(reference)
        finally:
            in_flight -= 1

    monkeypatch.setattr(svc.client, "get_invoice", counting)
    try:
        result = await svc.statuses([ref(r) for r in sandbox.state.invoices] * 2)
    finally:
        await svc.aclose()
    assert len(result) == 3 and peak == 2


# -- resend ------------------------------------------------------------------------------------
async def test_resend_by_email_with_a_key_is_idempotent(service: AbillifyService, sandbox: AbillifySandbox) -> None:
    issued = await service.issue(request())
    await service.resend(issued.ref, ResendRequest(), idempotency_key="slack-action-1")
    await service.resend(issued.ref, ResendRequest(channel=ResendChannel.EMAIL), idempotency_key="slack-action-1")
    assert sandbox.state.invoices[issued.ref.provider_id]["resent"] == 1
    await service.resend(issued.ref, ResendRequest(), idempotency_key="slack-action-2")
    await service.resend(issued.ref, ResendRequest())
    assert sandbox.state.invoices[issued.ref.provider_id]["resent"] == 3
    keys = [dict((k.lower(), v) for k, v in r["headers"])["idempotency-key"]
            for r in sandbox.requests_to("/resendInvoice$")]
    assert keys[0] == f"invoicebot:{issued.ref.provider_id}:resend:slack-action-1"


async def test_resend_refuses_other_channels_addresses_and_drafts(service: AbillifyService,
                                                                  sandbox: AbillifySandbox) -> None:
    issued = await service.issue(request())
    with pytest.raises(NotSupported) as err:
        await service.resend(issued.ref, ResendRequest(channel=ResendChannel.SMS))
    assert "email" in err.value.message
    with pytest.raises(NotSupported):
        await service.resend(issued.ref, ResendRequest(address="other@example.com"))
    draft = next(r for r, i in sandbox.state.invoices.items() if i["number"] == "DEMO-0001")
    with pytest.raises(ProviderRejected) as refused:
        await service.resend(ref(draft), ResendRequest())
    assert refused.value.code == "ERR_INVALID_STATE"


# -- destroy -------------------------------------------------------------------------------------
async def test_destroy_cancels_by_a_full_credit_note(service: AbillifyService, sandbox: AbillifySandbox) -> None:
    issued = await service.issue(request())
    canceled = await service.destroy(issued.ref, reason="wrong customer")
    assert canceled.state is DocumentState.CANCELED and canceled.raw_state == "canceled/committed"
    assert canceled.raw["cancelationdate"] and "credit note" in (canceled.detail or "")
    [note] = sandbox.state.creditnotes.values()
    assert note["total"] == 33000 and note["detail"] == {"invoiceReference": issued.ref.provider_id}
    assert note["meta"]["reason"] == "wrong customer"


async def test_destroy_of_a_paid_invoice_credits_it_and_says_a_refund_is_owed(
        service: AbillifyService, sandbox: AbillifySandbox) -> None:
    issued = await service.issue(request())
    sandbox._pay(sandbox.state.invoices[issued.ref.provider_id], None, sandbox.clock.now())
    canceled = await service.destroy(issued.ref)
    assert canceled.state is DocumentState.CANCELED
    assert "refund" in (canceled.detail or "") and "33000 KRW" in (canceled.detail or "")
    assert canceled.raw["unpaid"] == -33000


async def test_destroy_of_an_already_canceled_invoice_is_refused(service: AbillifyService) -> None:
    issued = await service.issue(request())
    await service.destroy(issued.ref)
    with pytest.raises(ProviderRejected) as err:
        await service.destroy(issued.ref)
    assert err.value.code == "already_canceled" and err.value.user_hint


async def test_destroy_of_a_draft_cancels_it_without_a_credit_note(service: AbillifyService,
                                                                   sandbox: AbillifySandbox) -> None:
    draft = next(r for r, i in sandbox.state.invoices.items() if i["number"] == "DEMO-0001")
    canceled = await service.destroy(ref(draft))
    assert canceled.state is DocumentState.CANCELED and canceled.raw_state == "canceled/draft"
    assert sandbox.state.creditnotes == {}


# -- closure and configuration --------------------------------------------------------------------
async def test_closure_check_is_not_supported(service: AbillifyService) -> None:
    with pytest.raises(NotSupported) as err:
        await service.check_closure(["2208162517"])
    assert str(err.value.message).startswith("abillify has no business closure check")


def test_create_service_needs_credentials_and_defaults_to_staging() -> None:
    with pytest.raises(RequestInvalid):
        create_service(AbillifyConfig(), seller=SellerConfig())
    svc = create_service(DEMO_ABILLIFY.model_copy(update={"sandbox": False}), seller=SellerConfig())
    assert svc.client.base_url.rstrip("/") == "https://staging1.abillify.dev/api" and svc.sandbox is False
