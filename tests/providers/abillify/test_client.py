"""AbillifyClient against the sandbox: every call round-trips, every error lands in the hierarchy."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from providers.abillify import DEFAULT_BASE_URL, AbillifyClient
from providers.config import DEMO_ABILLIFY
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
from providers.sandbox.abillify import AbillifySandbox
from providers.sandbox.base import FaultRule

POLICY = HttpPolicy(read_timeout=0.3, backoff=0.01, max_retry_after=0.5)
PASSWORD = DEMO_ABILLIFY.password.get_secret_value() if DEMO_ABILLIFY.password else ""
IDENTITY = "biz-2208162517"


def invoice_body(number: str = "INV-1", **extra: Any) -> dict[str, Any]:
    return {
        "number": number,
        "currency": "KRW",
        "netbased": True,
        "paymentkind": "CT",
        "items": [{"label": "Design", "quantity": 3, "unit": "EA", "unitprice": 10000, "detail": {"taxrate": 10}}],
        **extra,
    }


@pytest.fixture
async def sandbox() -> AsyncIterator[AbillifySandbox]:
    sb = AbillifySandbox()
    await sb.start()
    yield sb
    await sb.stop()


@pytest.fixture
async def client(sandbox: AbillifySandbox) -> AsyncIterator[AbillifyClient]:
    c = AbillifyClient(str(DEMO_ABILLIFY.username), PASSWORD, base_url=sandbox.base_url, policy=POLICY)
    await c.upsert_identity(IDENTITY, {"kind": "incorporate", "name": {"company": "가나다 상사"}})
    yield c
    await c.aclose()


def invoice_count(sandbox: AbillifySandbox) -> int:
    return len(sandbox.invoices_of(IDENTITY))


# -- round trips -----------------------------------------------------------------
async def test_identity_invoice_commit_resend_payments_round_trip(client: AbillifyClient,
                                                                  sandbox: AbillifySandbox) -> None:
    identity = await client.upsert_identity(IDENTITY, {"kind": "incorporate", "detail": {"vatId": "2208162517"}})
    assert identity["reference"] == IDENTITY and identity["detail"] == {"vatId": "2208162517"}

    created = await client.create_invoice(IDENTITY, invoice_body(), idempotency_key="k-create")
    ref = created["reference"]
    assert created["state"] == "none" and created["committed"] is None
    assert (created["net"], created["tax"], created["total"]) == (30000, 3000, 33000)

    assert (await client.get_invoice(ref))["number"] == "INV-1"
    assert [i["reference"] for i in await client.list_invoices(IDENTITY)] == [ref]

    updated = await client.update_invoice(ref, {"items": [{"label": "Design", "quantity": 1, "unit": "EA",
                                                           "unitprice": 5000}]})
    assert updated["total"] == 5500

    committed = await client.commit_invoice(ref, idempotency_key="k-commit", data="123")
    assert committed["result"] == "OK" and committed["resultcode"] == "0" and committed["job"]
    assert (await client.get_invoice(ref))["committed"] is not None

    resent = await client.resend_invoice(ref, idempotency_key="k-resend")
    assert resent == {"job": resent["job"], "result": "OK", "resultcode": "0"}
    assert sandbox.state.invoices[ref]["resent"] == 1

    note = await client.create_credit_note(
        IDENTITY, {"currency": "KRW", "items": updated["items"], "detail": {"invoiceReference": ref}},
        idempotency_key="k-credit")
    assert note["total"] == 5500
    payments = await client.get_payments(ref)
    assert [p["kind"] for p in payments] == ["creditnote"]


async def test_every_request_carries_basic_auth_and_posts_carry_the_idempotency_key(
        client: AbillifyClient, sandbox: AbillifySandbox) -> None:
    created = await client.create_invoice(IDENTITY, invoice_body(), idempotency_key="key-1")
    await client.get_invoice(created["reference"])
    expected = "Basic " + base64.b64encode(f"{DEMO_ABILLIFY.username}:{PASSWORD}".encode()).decode()
    for request in sandbox.requests:
        headers = {k.lower(): v for k, v in request["headers"]}
        assert headers["authorization"] == expected
    post = sandbox.requests_to(r"/invoices$", "POST")[0]
    assert dict((k.lower(), v) for k, v in post["headers"])["idempotency-key"] == "key-1"
    assert json.loads(post["body"])["items"][0]["unitprice"] == 10000


def test_default_base_url_is_the_documented_staging_host() -> None:
    c = AbillifyClient("u", "p")
    assert c.base_url.rstrip("/") == DEFAULT_BASE_URL == "https://staging1.abillify.dev/api"


async def test_routes_are_also_served_under_api_prefix(sandbox: AbillifySandbox) -> None:
    c = AbillifyClient(str(DEMO_ABILLIFY.username), PASSWORD, base_url=sandbox.base_url + "/api", policy=POLICY)
    try:
        assert (await c.list_invoices("biz-1018204851"))[0]["number"] == "DEMO-0001"
    finally:
        await c.aclose()


# -- refusals in the error schema ----------------------------------------------------
async def test_wrong_password_is_refused_with_abillify_401(sandbox: AbillifySandbox) -> None:
    c = AbillifyClient(str(DEMO_ABILLIFY.username), "wrong", base_url=sandbox.base_url, policy=POLICY)
    try:
        with pytest.raises(ProviderRejected) as err:
            await c.get_invoice("inv-000001")
    finally:
        await c.aclose()
    assert err.value.code == "ERR_UNAUTHORIZED"
    assert "password" in (err.value.user_hint or "")
    assert not isinstance(err.value, DocumentNotFound)


async def test_wrong_type_is_refused_with_details_fields_and_hint(client: AbillifyClient,
                                                                  sandbox: AbillifySandbox) -> None:
    body = invoice_body()
    body["items"][0]["quantity"] = "three"
    with pytest.raises(ProviderRejected) as err:
        await client.create_invoice(IDENTITY, body, idempotency_key="k")
    assert err.value.code == "ERR_INVALID_VALUE"
    assert "InvalidValue, see error details" in err.value.message
    assert "items[0].quantity" in err.value.message
    assert "Value must be a number or a string containing only a number." in err.value.message
    assert err.value.user_hint == "Value must be a number or a string containing only a number."
    assert invoice_count(sandbox) == 0


async def test_missing_items_are_refused(client: AbillifyClient) -> None:
    with pytest.raises(ProviderRejected) as err:
        await client.create_invoice(IDENTITY, {"number": "X", "currency": "KRW"}, idempotency_key="k")
    assert err.value.code == "ERR_INVALID_VALUE" and "fields: items" in err.value.message


async def test_unknown_invoice_is_document_not_found(client: AbillifyClient) -> None:
    with pytest.raises(DocumentNotFound) as err:
        await client.get_invoice("no-such-invoice")
    assert err.value.code == "ERR_NOT_FOUND"


async def test_unknown_identity_is_document_not_found(client: AbillifyClient) -> None:
    with pytest.raises(DocumentNotFound):
        await client.list_invoices("biz-0000000000")


async def test_duplicate_number_is_409_unique_violation(client: AbillifyClient, sandbox: AbillifySandbox) -> None:
    await client.create_invoice(IDENTITY, invoice_body("INV-9"), idempotency_key="first")
    with pytest.raises(ProviderRejected) as err:
        await client.create_invoice(IDENTITY, invoice_body("INV-9"), idempotency_key="second")
    assert err.value.code == "ERR_UNIQUE_VIOLATION"
    assert "INV-9" in err.value.message
    assert invoice_count(sandbox) == 1


async def test_too_long_idempotency_key_is_refused_before_sending(client: AbillifyClient,
                                                                  sandbox: AbillifySandbox) -> None:
    before = len(sandbox.requests)
    with pytest.raises(RequestInvalid):
        await client.create_invoice(IDENTITY, invoice_body(), idempotency_key="k" * 256)
    assert len(sandbox.requests) == before


# -- transport and server faults ---------------------------------------------------------
async def test_429_with_retry_after_is_rate_limited(client: AbillifyClient, sandbox: AbillifySandbox) -> None:
    sandbox.add_fault(FaultRule(kind="429", path="/invoices/", retry_after=30))
    with pytest.raises(RateLimited) as err:
        await client.get_invoice("inv-000001")
    assert err.value.retry_after == 30


async def test_503_is_unavailable_after_retries(client: AbillifyClient, sandbox: AbillifySandbox) -> None:
    sandbox.add_fault(FaultRule(kind="503", path="/invoices/", retry_after=0, count=3))
    with pytest.raises(ProviderUnavailable) as err:
        await client.get_invoice("inv-000001")
    assert err.value.status == 503 and not isinstance(err.value, RateLimited)
    assert len(sandbox.requests_to("/invoices/")) == 3


async def test_500_is_unavailable_with_abillify_type(client: AbillifyClient, sandbox: AbillifySandbox) -> None:
    sandbox.add_fault(FaultRule(kind="500", path="/invoices/"))
    with pytest.raises(ProviderUnavailable) as err:
        await client.get_invoice("inv-000001")
    assert err.value.code == "ERR_INTERNAL" and err.value.status == 500


@pytest.mark.parametrize("kind", ["html", "malformed"])
async def test_unreadable_body_is_a_protocol_error(client: AbillifyClient, sandbox: AbillifySandbox,
                                                   kind: str) -> None:
    sandbox.add_fault(FaultRule(kind=kind, path="/invoices/"))
    with pytest.raises(ProviderProtocolError):
        await client.get_invoice("inv-000001")


async def test_read_timeout_is_unavailable_after_retries(client: AbillifyClient, sandbox: AbillifySandbox) -> None:
    sandbox.add_fault(FaultRule(kind="timeout", path="/invoices/", seconds=0.5, count=3))
    with pytest.raises(ProviderUnavailable) as err:
        await client.get_invoice("inv-000001")
    assert err.value.code == "timeout"


async def test_drop_on_create_is_retried_with_the_same_key_and_creates_one_invoice(
        client: AbillifyClient, sandbox: AbillifySandbox) -> None:
    sandbox.add_fault(FaultRule(kind="drop", path="/invoices$", method="POST"))
    created = await client.create_invoice(IDENTITY, invoice_body(), idempotency_key="drop-key")
    attempts = sandbox.requests_to("/invoices$", "POST")
    assert len(attempts) == 2
    assert {dict((k.lower(), v) for k, v in a["headers"])["idempotency-key"] for a in attempts} == {"drop-key"}
    assert invoice_count(sandbox) == 1
    assert created == sandbox.invoices_of(IDENTITY)[0] | {"committed": None}


async def test_reset_on_create_is_retried_and_creates_one_invoice(client: AbillifyClient,
                                                                  sandbox: AbillifySandbox) -> None:
    sandbox.add_fault(FaultRule(kind="reset", path="/invoices$", method="POST"))
    await client.create_invoice(IDENTITY, invoice_body(), idempotency_key="reset-key")
    assert len(sandbox.requests_to("/invoices$", "POST")) == 2
    assert invoice_count(sandbox) == 1


async def test_timeout_on_create_then_late_processing_still_one_invoice(client: AbillifyClient,
                                                                        sandbox: AbillifySandbox) -> None:
    sandbox.add_fault(FaultRule(kind="timeout", path="/invoices$", method="POST", seconds=0.4))
    created = await client.create_invoice(IDENTITY, invoice_body(), idempotency_key="slow-key")
    await asyncio.sleep(0.5)  # the first, hung request is handled now: a replay
    assert invoice_count(sandbox) == 1
    assert created["reference"] == sandbox.invoices_of(IDENTITY)[0]["reference"]


async def test_drop_on_every_attempt_is_outcome_unknown(client: AbillifyClient, sandbox: AbillifySandbox) -> None:
    sandbox.add_fault(FaultRule(kind="drop", path="/invoices$", method="POST", count=3))
    with pytest.raises(OutcomeUnknown):
        await client.create_invoice(IDENTITY, invoice_body(), idempotency_key="lost")
    assert invoice_count(sandbox) == 1  # it exists; only the answers were lost


async def test_mock_transport_can_be_injected() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"reference": "x", "state": "none"})

    c = AbillifyClient("u", "p", transport=httpx.MockTransport(handler), policy=POLICY)
    try:
        assert (await c.get_invoice("x"))["reference"] == "x"
    finally:
        await c.aclose()
    assert str(seen[0].url) == "https://staging1.abillify.dev/api/invoices/x"
