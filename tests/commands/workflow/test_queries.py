"""Status, refs, lists, CSV export and closure checks."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from commands.ledger import Lifecycle
from commands.workflow import NotFound
from commands.workflow.refs import ExternalRef, InvalidRef, OurRef, parse_ref
from providers.errors import NotSupported, ProviderUnavailable, RequestInvalid
from providers.models import BusinessState, DocumentKind, DocumentState, Provider
from tests.commands.workflow.conftest import APPROVER, CHANNEL, REQUESTER, Env, make_draft


async def issue(env: Env, **draft: object) -> str:
    approval = await env.service.request_issue(make_draft(**draft), REQUESTER, CHANNEL)  # type: ignore[arg-type]
    await env.service.decide(approval.id, APPROVER, approve=True)
    return approval.document.ref


# --------------------------------------------------------------------------- refs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("INV-000123", OurRef(123)),
        ("inv-123", OurRef(123)),
        ("INV123", OurRef(123)),
        ("#123", OurRef(123)),
        ("123", OurRef(123)),
        (" `INV-000007` ", OurRef(7)),
        ("popbill:20240501-001", ExternalRef(Provider.POPBILL, DocumentKind.TAX_INVOICE, "20240501-001")),
        ("cashbill:CB-1", ExternalRef(Provider.POPBILL, DocumentKind.CASH_RECEIPT, "CB-1")),
        ("PAYSSAM:B0001", ExternalRef(Provider.PAYSSAM, DocumentKind.BILL, "B0001")),
        ("hiworks:9812", ExternalRef(Provider.HIWORKS, DocumentKind.TAX_INVOICE, "9812")),
        ("abillify:INV-2024-0001", ExternalRef(Provider.ABILLIFY, DocumentKind.INVOICE, "INV-2024-0001")),
    ],
)
def test_parse_ref_accepts_what_people_type(text: str, expected: object) -> None:
    assert parse_ref(text) == expected


@pytest.mark.parametrize("text", ["", "INV-", "INV-0", "stripe:ch_1", "popbill:", "hello world"])
def test_parse_ref_refuses_the_rest_and_says_what_works(text: str) -> None:
    with pytest.raises(InvalidRef, match="INV-000123"):
        parse_ref(text)


# --------------------------------------------------------------------------- status


async def test_status_refreshes_from_the_provider(env: Env) -> None:
    ref = await issue(env)
    env.popbill.documents["INV-000001"] = env.popbill.documents["INV-000001"].model_copy(
        update={"state": DocumentState.FILED, "raw_state": "310"}
    )
    env.clock.advance(hours=1)

    view = await env.service.status(ref)

    assert view.state is DocumentState.FILED and view.raw_state == "310"
    assert view.state_checked_at == env.clock.now
    assert view.error is None
    stored = await env.store.documents.get_by_ref(ref)
    assert stored is not None and stored.raw_state == "310"


async def test_status_shows_the_last_known_state_when_the_provider_is_down(env: Env) -> None:
    ref = await issue(env)
    env.popbill.fail("status", ProviderUnavailable("connect timeout", provider="popbill", user_hint="try later"))

    view = await env.service.status(ref)

    assert view.state is DocumentState.ISSUED and view.lifecycle is Lifecycle.ISSUED
    assert view.error == "popbill: connect timeout"
    assert view.error_code == "unavailable" and view.error_hint == "try later"


async def test_status_by_provider_ref_finds_our_document(env: Env) -> None:
    await issue(env)

    view = await env.service.status("popbill:INV-000001", refresh=False)

    assert view.ref == "INV-000001" and view.stored
    assert env.popbill.calls["status"] == 0


async def test_status_of_a_document_issued_elsewhere_asks_the_provider(env: Env) -> None:
    env.popbill.add_document("EXT-7", state=DocumentState.SENT)

    view = await env.service.status("popbill:EXT-7")
    missing = await env.service.status("popbill:NOPE")

    assert not view.stored and view.ref == "popbill:EXT-7"
    assert view.state is DocumentState.SENT and view.total == 11000
    assert missing.error is not None and missing.error_code == "not_found"
    assert await env.store.documents.search() == []  # looking does not adopt


async def test_status_of_an_unknown_ref(env: Env) -> None:
    with pytest.raises(NotFound, match="INV-000042 does not exist"):
        await env.service.status("INV-42")
    with pytest.raises(RequestInvalid):
        await env.service.status("what?")
    view = await env.service.status("abillify:A-1")  # not configured here
    assert view.error == "abillify is not configured on this bot"


async def test_a_pending_document_is_not_looked_up(env: Env) -> None:
    await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)

    view = await env.service.status("INV-000001")

    assert view.lifecycle is Lifecycle.PENDING_APPROVAL and view.provider_id is None
    assert env.popbill.calls["status"] == 0


# --------------------------------------------------------------------------- list and export


async def test_list_documents_filters(env: Env) -> None:
    await issue(env)
    await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)

    issued = await env.service.list_documents(state=DocumentState.ISSUED)
    everything = await env.service.list_documents()

    assert [d.ref for d in issued] == ["INV-000001"]
    assert [d.ref for d in everything] == ["INV-000002", "INV-000001"]


async def test_export_csv_opens_in_excel_with_korean_and_no_formulas(env: Env) -> None:
    await issue(env)  # 2024-05-01 09:00 KST
    await env.service.request_issue(make_draft(buyer_name="=HYPERLINK(\"x\")"), REQUESTER, CHANNEL)
    env.clock.advance(days=1)
    await env.service.request_issue(make_draft(), REQUESTER, CHANNEL)  # the next day: outside

    data = await env.service.export_csv(dt.date(2024, 5, 1), dt.date(2024, 5, 1))

    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["ref", "provider", "kind", "provider_id", "buyer", "bizno", "supply", "vat", "total",
                       "currency", "state", "raw_state", "issued_at", "requested_by"]
    assert rows[1] == ["INV-000001", "popbill", "tax_invoice", "INV-000001", "주식회사 가나다", "6798700433",
                       "100000", "10000", "110000", "KRW", "issued", "300", "2024-05-02T10:00:00+09:00", REQUESTER]
    assert rows[2][0] == "INV-000002" and rows[2][4] == "'=HYPERLINK(\"x\")" and rows[2][10] == "pending_approval"
    assert len(rows) == 3
    with pytest.raises(RequestInvalid):
        await env.service.export_csv(dt.date(2024, 5, 2), dt.date(2024, 5, 1))


# --------------------------------------------------------------------------- closure


async def test_closure_checks_valid_numbers_and_reports_invalid_ones(env: Env) -> None:
    result = await env.service.closure(["679-87-00433", "12-34", "abc", "6798700433", "123-12-12310"], REQUESTER)

    assert result.provider is Provider.POPBILL  # preferred over Hiworks
    assert [(i.input, i.bizno, i.error is not None) for i in result.items] == [
        ("679-87-00433", "6798700433", False),
        ("12-34", None, True),
        ("abc", None, True),
        ("123-12-12310", "1231212310", False),
    ]
    assert result.items[0].status is not None and result.items[0].status.state is BusinessState.ACTIVE
    assert result.items[3].warning is not None and len(result.warnings) == 1
    assert env.popbill.calls["check_closure"] == 1  # one batch
    assert not result.changed


async def test_closure_flags_changes_since_the_previous_check(env: Env) -> None:
    await env.service.closure(["6798700433", "1231212312"], REQUESTER)
    env.popbill.closure_states["6798700433"] = BusinessState.CLOSED
    env.clock.advance(days=1)

    result = await env.service.closure(["6798700433", "1231212312"], APPROVER)

    assert [(i.bizno, i.changed, i.previous_state) for i in result.items] == [
        ("6798700433", True, BusinessState.ACTIVE),
        ("1231212312", False, BusinessState.ACTIVE),
    ]
    changes = await env.store.closures.changes_since(env.clock.now)
    assert [c.bizno for c in changes] == ["6798700433"]


async def test_closure_provider_failure_is_reported_not_raised(env: Env) -> None:
    env.popbill.fail("check_closure", ProviderUnavailable("maintenance", provider="popbill"))

    result = await env.service.closure(["6798700433"], REQUESTER)

    assert result.error == "popbill: maintenance"
    assert result.items[0].status is None
    assert await env.store.closures.latest(["6798700433"]) == {}


async def test_closure_can_be_asked_of_a_named_provider(env: Env) -> None:
    result = await env.service.closure(["6798700433"], REQUESTER, provider=Provider.HIWORKS)

    assert result.provider is Provider.HIWORKS
    with pytest.raises(NotSupported):
        await env.service.closure(["6798700433"], REQUESTER, provider=Provider.PAYSSAM)
