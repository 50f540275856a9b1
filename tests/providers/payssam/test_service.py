"""PayssamService: issue, find, status(es), resend, destroy and the honest refusals."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from providers.base import InvoiceProvider
from providers.config import DEMO_PAYSSAM, PayssamConfig, SellerConfig
from providers.errors import NotSupported, OutcomeUnknown, ProviderRejected, RequestInvalid
from providers.http import HttpPolicy
from providers.issued import IssuedDocument, MemoryIssuedLedger
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
from providers.payssam import PayssamService, bill_id_for, create_service, parse_callback
from providers.sandbox.base import KST, FaultRule
from providers.sandbox.payssam import PayssamSandbox

FAST = HttpPolicy(read_timeout=0.3, backoff=0.01, max_retry_after=0.5)
CALLBACK = "http://127.0.0.1:9/webhooks/payssam"


def issue_request(key: str = "INV-000123", **over: Any) -> IssueRequest:
    fields: dict[str, Any] = {
        "provider": Provider.PAYSSAM,
        "kind": DocumentKind.BILL,
        "key": key,
        "buyer": Party(name="김고객", phone="010-1234-5678"),
        "items": [LineItem(name="컨설팅 3월분", unit_price=100000)],
        "write_date": dt.datetime.now(KST).date(),
        "callback_url": CALLBACK,
    }
    fields.update(over)
    return IssueRequest(**fields)


def ref(bill_id: str) -> DocumentRef:
    return DocumentRef(provider=Provider.PAYSSAM, kind=DocumentKind.BILL, provider_id=bill_id)


@pytest.fixture
async def sandbox() -> AsyncIterator[PayssamSandbox]:
    sb = PayssamSandbox(callback_interval=0.01, callback_attempts=2)
    await sb.start()
    yield sb
    await sb.stop()


def make_service(sandbox: PayssamSandbox, **kwargs: Any) -> PayssamService:
    # As the registry does it: the sandbox root URL (no /partner) and the demo credentials.
    config = DEMO_PAYSSAM.model_copy(update={"api_url": sandbox.base_url, "policy": FAST})
    return create_service(config, seller=SellerConfig(), sandbox=True, **kwargs)


@pytest.fixture
async def service(sandbox: PayssamSandbox) -> AsyncIterator[PayssamService]:
    svc = make_service(sandbox)
    yield svc
    await svc.aclose()


def test_bill_id_is_one_to_one_with_the_key() -> None:
    """Stripping punctuation made INV-1 and INV1 the same bill; the escaped form cannot collide."""
    assert bill_id_for("INV-000123") == "INVZ2D000123"
    assert bill_id_for("INV000123") == "INV000123"
    assert bill_id_for("INV-1") != bill_id_for("INV1")
    assert bill_id_for("INVZ2D1") != bill_id_for("INV-1")  # the escape letter is escaped too
    assert len({bill_id_for(k) for k in ("A-1", "A1", "A_1", "A/1", "AZ1", "A-1-")}) == 6
    with pytest.raises(RequestInvalid):
        bill_id_for("INV-" + "9" * 20)
    with pytest.raises(RequestInvalid):
        bill_id_for("청구서")


def test_the_service_is_an_invoice_provider_with_honest_capabilities(service: PayssamService) -> None:
    assert isinstance(service, InvoiceProvider)
    caps = service.capabilities
    assert caps.kinds == {DocumentKind.BILL}
    assert caps.resend_channels == {ResendChannel.TALK}
    assert not caps.closure_check and not caps.batch_status and caps.links
    assert service.sandbox


# -- issue ------------------------------------------------------------------------------------
async def test_issue_sends_a_bill_derived_from_the_request(service: PayssamService, sandbox: PayssamSandbox) -> None:
    request = issue_request(memo="3월 컨설팅 비용입니다.")
    status = await service.issue(request)
    assert status.ref == ref("INVZ2D000123")
    assert (status.state, status.raw_state) == (DocumentState.UNPAID, "W")
    assert status.amounts is not None and (status.amounts.supply, status.amounts.vat, status.amounts.total) == (
        100000, 10000, 110000)
    assert status.due_date == request.write_date + dt.timedelta(days=7)
    assert status.links == {"pay": f"{sandbox.base_url}/_sandbox/pay/INVZ2D000123"}
    sent = sandbox.bills["INVZ2D000123"]
    assert (sent.price, sent.supply_price, sent.tax) == ("110000", "100000", "10000")
    assert (sent.phone, sent.member_name, sent.product_name) == ("01012345678", "김고객", "컨설팅 3월분")
    assert (sent.send_type, sent.talk_sent, sent.callback_url) == ("TALK", 1, CALLBACK)
    assert sent.message == "3월 컨설팅 비용입니다."
    assert sent.bill_issuer == SellerConfig().name
    assert sent.expire_dt == status.due_date


async def test_issue_names_the_first_item_and_counts_the_rest(
    service: PayssamService, sandbox: PayssamSandbox
) -> None:
    items = [LineItem(name="교육비", unit_price=50000), LineItem(name="교재비", unit_price=10000),
             LineItem(name="재료비", unit_price=5000)]
    due = dt.datetime.now(KST).date() + dt.timedelta(days=3)
    await service.issue(issue_request(items=items, due_date=due))
    assert sandbox.bills["INVZ2D000123"].product_name == "교육비 외 2건"
    assert sandbox.bills["INVZ2D000123"].expire_dt == due


async def test_issue_without_a_buyer_phone_is_refused_clearly(
    service: PayssamService, sandbox: PayssamSandbox
) -> None:
    with pytest.raises(RequestInvalid) as err:
        await service.issue(issue_request(buyer=Party(name="김고객")))
    assert "phone" in err.value.message
    assert err.value.user_hint and "phone" in err.value.user_hint
    assert sandbox.requests_to(r"/bill$") == []


async def test_issue_of_another_kind_is_not_supported(service: PayssamService) -> None:
    with pytest.raises(NotSupported):
        await service.issue(issue_request(kind=DocumentKind.TAX_INVOICE))


async def test_url_send_type_returns_the_pay_link_without_kakaotalk(sandbox: PayssamSandbox) -> None:
    svc = make_service(sandbox, send_type="URL")
    status = await svc.issue(issue_request())
    assert status.links["pay"].endswith("/_sandbox/pay/INVZ2D000123")
    assert (sandbox.bills["INVZ2D000123"].send_type, sandbox.bills["INVZ2D000123"].talk_sent) == ("URL", 0)
    await svc.aclose()


async def test_sandboxed_service_without_callback_url_uses_the_sandbox_sink(
    service: PayssamService, sandbox: PayssamSandbox
) -> None:
    await service.issue(issue_request(callback_url=None))
    assert sandbox.bills["INVZ2D000123"].callback_url == f"{sandbox.base_url}/_sandbox/callback-sink"
    sandbox.pay("INVZ2D000123")
    await sandbox.wait_callbacks()
    assert [c["billId"] for c in sandbox.sink] == ["INVZ2D000123"]
    assert sandbox.callbacks[-1]["delivered"] is True


async def test_live_service_without_callback_url_is_refused(sandbox: PayssamSandbox) -> None:
    config = DEMO_PAYSSAM.model_copy(update={"api_url": sandbox.base_url, "policy": FAST, "sandbox": False})
    svc = create_service(config, seller=SellerConfig(), sandbox=False)
    with pytest.raises(RequestInvalid) as err:
        await svc.issue(issue_request(callback_url=None))
    assert err.value.code == "callback_url"
    assert sandbox.requests_to(r"/bill$") == []
    await svc.aclose()


async def test_drop_on_issue_then_find_shows_the_bill_and_nothing_is_issued_twice(
    service: PayssamService, sandbox: PayssamSandbox
) -> None:
    request = issue_request()
    sandbox.add_fault(FaultRule(kind="drop", path=r"/bill$"))
    with pytest.raises(OutcomeUnknown):
        await service.issue(request)
    found = await service.find(request)
    assert found is not None and found.state is DocumentState.UNPAID
    with pytest.raises(ProviderRejected) as again:
        await service.issue(request)
    assert again.value.code == "BILL_001"
    assert len(sandbox.bills) == 3  # two seeded demo bills + this one


async def test_find_is_none_when_payssam_has_no_such_bill(service: PayssamService) -> None:
    assert await service.find(issue_request(key="NEVER-SENT-1")) is None


# -- status ----------------------------------------------------------------------------------
async def test_status_follows_payment_and_keeps_the_approval(
    service: PayssamService, sandbox: PayssamSandbox
) -> None:
    await service.issue(issue_request())
    sandbox.pay("INVZ2D000123", "CARD_VAN")
    status = await service.status(ref("INVZ2D000123"))
    approval = sandbox.bills["INVZ2D000123"].approval
    assert (status.state, status.raw_state) == (DocumentState.PAID, "F")
    assert status.confirm_number == approval["apprNum"]
    assert status.amounts is not None and status.amounts.total == 110000
    assert status.updated_at is not None and status.updated_at.tzinfo is not None
    assert [e.raw_code for e in status.history] == ["F"]
    assert status.raw["apprPayType"] == "CARD_VAN"


async def test_statuses_reads_each_bill_and_leaves_out_unknown_ones(service: PayssamService) -> None:
    await service.issue(issue_request())
    result = await service.statuses([ref("INVZ2D000123"), ref("DEMO0001"), ref("DEMO0002"), ref("UNKNOWN1")])
    assert {k: v.state for k, v in result.items()} == {
        "INVZ2D000123": DocumentState.UNPAID, "DEMO0001": DocumentState.UNPAID, "DEMO0002": DocumentState.PAID,
    }


async def test_statuses_concurrency_is_bounded(sandbox: PayssamSandbox) -> None:
    svc = make_service(sandbox, concurrency=2)
    sandbox.add_fault(FaultRule(kind="latency", path=r"/bill/read$", ms=100, count=None))
    started = time.perf_counter()
    result = await svc.statuses([ref("DEMO0001"), ref("DEMO0002"), ref("DEMO0001"), ref("NOPE1"), ref("NOPE2")])
    # 4 distinct bills, 2 at a time, 100 ms each: at least two rounds.
    assert time.perf_counter() - started >= 0.2
    assert set(result) == {"DEMO0001", "DEMO0002"}
    await svc.aclose()


async def test_an_expired_unpaid_bill_reads_as_expired(sandbox: PayssamSandbox) -> None:
    svc = PayssamService(make_service(sandbox).client, sandbox=True, now=sandbox.clock.now)
    today = sandbox.clock.now_kst().date()
    await svc.issue(issue_request(due_date=today))
    assert (await svc.status(ref("INVZ2D000123"))).state is DocumentState.UNPAID
    sandbox.clock.advance(2 * 86400)
    status = await svc.status(ref("INVZ2D000123"))
    assert (status.state, status.raw_state) == (DocumentState.EXPIRED, "W")
    assert status.detail and today.isoformat() in status.detail
    code, _message, _ = sandbox.pay("INVZ2D000123")
    assert code == "BILL_006"
    with pytest.raises(ProviderRejected) as err:
        await svc.resend(ref("INVZ2D000123"), ResendRequest())
    assert err.value.code == "BILL_006"
    await svc.aclose()


async def test_the_service_clock_and_our_stored_expiry_date_alone_see_expiry(sandbox: PayssamSandbox) -> None:
    """/bill/read says nothing of expiry: the expireDt we sent (kept in our ledger) decides."""
    ledger = MemoryIssuedLedger()
    config = DEMO_PAYSSAM.model_copy(update={"api_url": sandbox.base_url, "policy": FAST})
    base = create_service(config, seller=SellerConfig(), sandbox=True, issued=ledger)
    issued = await base.issue(issue_request())
    ledger.remember(IssuedDocument(provider=Provider.PAYSSAM, provider_id="INVZ2D000123", amounts=issued.amounts,
                                   due_date=issued.due_date))
    later = PayssamService(base.client, sandbox=True, issued=ledger,
                           now=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    assert (await later.status(ref("INVZ2D000123"))).state is DocumentState.EXPIRED
    assert (await base.status(ref("INVZ2D000123"))).state is DocumentState.UNPAID
    # a bill we did not issue has no known expiry: it reads as Payssam says, unpaid
    assert (await later.status(ref("DEMO0001"))).state is DocumentState.UNPAID
    await base.aclose()


async def test_status_uses_only_documented_read_fields(service: PayssamService, sandbox: PayssamSandbox) -> None:
    """The sandbox's /bill/read answers only billId, apprState and appr*; amounts come from our issue."""
    await service.issue(issue_request())
    read = sandbox.read_data(sandbox.bills["INVZ2D000123"])
    assert set(read) - {"billId", "apprState"} <= {k for k in read if k.startswith("appr")}
    status = await service.status(ref("INVZ2D000123"))
    assert status.amounts is not None and status.amounts.total == 110000


# -- resend ----------------------------------------------------------------------------------------
async def test_resend_sends_the_kakaotalk_message_again(service: PayssamService, sandbox: PayssamSandbox) -> None:
    await service.issue(issue_request())
    await service.resend(ref("INVZ2D000123"), ResendRequest())
    await service.resend(ref("INVZ2D000123"), ResendRequest(channel=ResendChannel.TALK))
    assert sandbox.bills["INVZ2D000123"].talk_sent == 3


@pytest.mark.parametrize("channel", [ResendChannel.EMAIL, ResendChannel.SMS, ResendChannel.FAX])
async def test_resend_by_another_channel_is_not_supported(
    service: PayssamService, sandbox: PayssamSandbox, channel: ResendChannel
) -> None:
    with pytest.raises(NotSupported) as err:
        await service.resend(ref("DEMO0001"), ResendRequest(channel=channel, address="a@example.com"))
    assert "payssam can only resend the KakaoTalk message" in str(err.value)
    assert sandbox.requests_to(r"/bill/resend$") == []


async def test_resend_to_another_phone_is_not_supported(service: PayssamService) -> None:
    with pytest.raises(NotSupported):
        await service.resend(ref("DEMO0001"), ResendRequest(channel=ResendChannel.TALK, address="01099998888"))


async def test_resend_of_a_paid_bill_is_refused_by_payssam(service: PayssamService) -> None:
    with pytest.raises(ProviderRejected) as err:
        await service.resend(ref("DEMO0002"), ResendRequest())
    assert err.value.code == "BILL_006"


# -- destroy ------------------------------------------------------------------------------------------
async def test_destroy_of_an_unpaid_bill_destroys_it(service: PayssamService, sandbox: PayssamSandbox) -> None:
    await service.issue(issue_request())
    status = await service.destroy(ref("INVZ2D000123"))
    assert (status.state, status.raw_state) == (DocumentState.DESTROYED, "D")
    assert sandbox.requests_to(r"/bill/cancel$") == []


async def test_destroy_of_a_paid_bill_cancels_the_payment(service: PayssamService, sandbox: PayssamSandbox) -> None:
    await service.issue(issue_request())
    sandbox.pay("INVZ2D000123")
    status = await service.destroy(ref("INVZ2D000123"), "고객이 서비스 이용을 취소하여 전액 환불합니다")
    assert (status.state, status.raw_state) == (DocumentState.CANCELED, "C")
    assert sandbox.bills["INVZ2D000123"].cancel_reason == "고객이 서비스 이용을 취소하여 전액 환불합니다"[:20]
    assert sandbox.requests_to(r"/bill/destroy$") == []


async def test_destroy_of_an_expired_bill_still_destroys_it(sandbox: PayssamSandbox) -> None:
    svc = make_service(sandbox)
    await svc.issue(issue_request())
    sandbox.clock.advance(30 * 86400)
    assert (await svc.destroy(ref("INVZ2D000123"))).state is DocumentState.DESTROYED
    await svc.aclose()


async def test_destroy_of_a_bill_we_did_not_issue_is_refused_before_guessing_its_price(
    service: PayssamService, sandbox: PayssamSandbox
) -> None:
    with pytest.raises(ProviderRejected) as err:
        await service.destroy(ref("DEMO0001"))
    assert err.value.code == "price_unknown"
    assert sandbox.requests_to(r"/bill/destroy$") == []


@pytest.mark.parametrize(("setup", "what"), [("destroy", "destroyed"), ("cancel", "cancelled")])
async def test_destroy_twice_is_refused_plainly(
    service: PayssamService, sandbox: PayssamSandbox, setup: str, what: str
) -> None:
    await service.issue(issue_request())
    if setup == "cancel":
        sandbox.pay("INVZ2D000123")
    await service.destroy(ref("INVZ2D000123"))
    with pytest.raises(ProviderRejected) as err:
        await service.destroy(ref("INVZ2D000123"))
    assert f"already {what}" in err.value.message
    assert err.value.user_hint


async def test_destroy_after_a_restart_of_the_bot_uses_the_price_in_our_ledger(sandbox: PayssamSandbox) -> None:
    """The price comes from what we issued (the ledger outlives the process), never from /bill/read."""
    ledger = MemoryIssuedLedger()  # stands in for the database-backed ledger (commands.ledger.issued)
    first = make_service(sandbox)
    issued = await first.issue(issue_request())
    ledger.remember(IssuedDocument(provider=Provider.PAYSSAM, provider_id="INVZ2D000123", amounts=issued.amounts))
    await first.aclose()
    fresh = make_service(sandbox, issued=ledger)
    assert (await fresh.destroy(ref("INVZ2D000123"))).state is DocumentState.DESTROYED
    destroy = sandbox.requests_to(r"/bill/destroy$")[-1]
    assert json.loads(destroy["body"])["bill"]["price"] == "110000"
    await fresh.aclose()


# -- closure, callbacks, factory ------------------------------------------------------------------------
async def test_closure_check_is_not_supported_and_says_where_to_go(service: PayssamService) -> None:
    with pytest.raises(NotSupported) as err:
        await service.check_closure(["6798700433"])
    assert "payssam has no business closure check; use popbill or hiworks" in str(err.value)


async def test_payment_callback_is_authenticated_and_confirmed(
    service: PayssamService, sandbox: PayssamSandbox
) -> None:
    await service.issue(issue_request(callback_url=None))
    sandbox.pay("INVZ2D000123")
    await sandbox.wait_callbacks()
    callback = parse_callback(sandbox.callbacks[-1]["payload"])
    assert service.authenticate(callback)
    status = await service.confirm_payment(callback)
    assert status.state is DocumentState.PAID
    forged = callback.model_copy(update={"appr_num": "99999999"})
    with pytest.raises(ProviderRejected) as err:
        await service.confirm_payment(forged)
    assert err.value.code == "callback_mismatch"
    assert not service.authenticate(callback.model_copy(update={"api_key": "WRONG"}))


async def test_create_service_without_credentials() -> None:
    sandboxed = create_service(PayssamConfig(api_url="http://127.0.0.1:1"), seller=SellerConfig(), sandbox=True)
    assert sandboxed.sandbox and sandboxed.client.member == DEMO_PAYSSAM.member
    await sandboxed.aclose()
    with pytest.raises(RequestInvalid):
        create_service(PayssamConfig(), seller=SellerConfig())
