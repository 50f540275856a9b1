"""The Abillify sandbox's contract: idempotency as documented, the invoice life cycle, callbacks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from providers.config import DEMO_ABILLIFY, AbillifyConfig
from providers.sandbox.abillify import IDEMPOTENCY_TTL, AbillifySandbox
from tests.local_http import LOCAL_TLS

PASSWORD = DEMO_ABILLIFY.password.get_secret_value() if DEMO_ABILLIFY.password else ""
IDENTITY = "biz-2208162517"
ITEM = {"label": "Design", "quantity": 2, "unit": "EA", "unitprice": 10000, "detail": {"taxrate": 10}}


class Receiver:
    """A local aiohttp server standing in for our notifyUrl / webhook endpoint."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        self.arrived.set()
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def wait(self, count: int = 1) -> list[dict[str, Any]]:
        async with asyncio.timeout(5):
            while len(self.bodies) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.bodies


@pytest.fixture
async def sandbox() -> AsyncIterator[AbillifySandbox]:
    sb = AbillifySandbox()
    await sb.start()
    yield sb
    await sb.stop()


@pytest.fixture
async def http(sandbox: AbillifySandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.base_url, auth=(str(DEMO_ABILLIFY.username), PASSWORD),
                                 trust_env=False, verify=LOCAL_TLS) as c:
        assert (await c.put(f"/identities/{IDENTITY}", json={"kind": "incorporate"})).status_code == 200
        yield c


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.runner.cleanup()


async def create(http: httpx.AsyncClient, number: str = "INV-1", key: str | None = "k1",
                 **extra: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return await http.post(f"/identities/{IDENTITY}/invoices", headers=headers,
                           json={"number": number, "currency": "KRW", "items": [ITEM], **extra})


async def committed_invoice(http: httpx.AsyncClient, number: str = "INV-1") -> str:
    ref = str((await create(http, number, key=f"create-{number}")).json()["reference"])
    assert (await http.post(f"/invoices/{ref}/commitInvoice", headers={"Idempotency-Key": f"commit-{number}"},
                            json={})).status_code == 200
    return ref


# -- auth ----------------------------------------------------------------------------
async def test_missing_or_wrong_credentials_get_401_in_the_error_schema(sandbox: AbillifySandbox) -> None:
    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=sandbox.base_url, trust_env=False) as anon:
        missing = await anon.get("/invoices/inv-000001")
        wrong = await anon.get("/invoices/inv-000001", auth=("sandbox", "nope"))
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert response.json() == {"code": 401, "message": "Unauthorized", "name": "ClientError",
                                   "type": "ERR_UNAUTHORIZED"}


async def test_configured_credentials_replace_the_demo_ones() -> None:
    from pydantic import SecretStr

    sb = AbillifySandbox(AbillifyConfig(username="merchant", password=SecretStr("s3cret")))
    url = await sb.start()
    try:
        async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=url, trust_env=False) as c:
            assert (await c.get("/invoices/inv-000001", auth=("merchant", "s3cret"))).status_code == 200
            assert (await c.get("/invoices/inv-000001", auth=("sandbox", PASSWORD))).status_code == 401
    finally:
        await sb.stop()


# -- idempotency ------------------------------------------------------------------------
async def test_same_key_twice_replays_the_first_answer_and_creates_one_invoice(
        http: httpx.AsyncClient, sandbox: AbillifySandbox) -> None:
    first = await create(http, key="same")
    second = await create(http, key="same")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(sandbox.invoices_of(IDENTITY)) == 1


async def test_a_4xx_after_validation_is_stored_and_replayed(http: httpx.AsyncClient,
                                                             sandbox: AbillifySandbox) -> None:
    await create(http, "INV-1", key="a")
    conflict = await create(http, "INV-1", key="b")
    assert conflict.status_code == 409 and conflict.json()["type"] == "ERR_UNIQUE_VIOLATION"
    # Even after the conflicting invoice is gone from the way, key "b" keeps answering 409 for 24 h.
    sandbox.state.numbers.clear()
    replay = await create(http, "INV-1", key="b")
    assert replay.status_code == 409 and replay.content == conflict.content


async def test_a_500_inside_processing_is_stored_and_replayed_for_24_hours(
        http: httpx.AsyncClient, sandbox: AbillifySandbox) -> None:
    sandbox.add_processing_fault(r"/invoices$")
    failed = await create(http, key="flaky")
    again = await create(http, key="flaky")
    assert failed.status_code == again.status_code == 500
    assert failed.json() == {"code": 500, "message": "InternalServerError", "name": "ServerError",
                             "type": "ERR_INTERNAL"}
    assert again.content == failed.content and again.headers["Idempotent-Replayed"] == "true"
    assert sandbox.invoices_of(IDENTITY) == []

    sandbox.clock.advance(IDEMPOTENCY_TTL - 1)
    assert (await create(http, key="flaky")).status_code == 500
    sandbox.clock.advance(1)
    fresh = await create(http, key="flaky")
    assert fresh.status_code == 200 and "Idempotent-Replayed" not in fresh.headers
    assert len(sandbox.invoices_of(IDENTITY)) == 1


async def test_base_fault_middleware_500_is_not_stored(http: httpx.AsyncClient, sandbox: AbillifySandbox) -> None:
    """The base `500` fault answers before the handler runs (like a proxy error): nothing is stored."""
    from providers.sandbox.base import FaultRule

    sandbox.add_fault(FaultRule(kind="500", path=r"/invoices$"))
    assert (await create(http, key="edge")).status_code == 500
    assert (await create(http, key="edge")).status_code == 200


async def test_validation_failures_are_not_stored(http: httpx.AsyncClient, sandbox: AbillifySandbox) -> None:
    bad = await http.post(f"/identities/{IDENTITY}/invoices", headers={"Idempotency-Key": "v"},
                          json={"number": "INV-1", "currency": "KRW", "items": []})
    assert bad.status_code == 400
    assert bad.json()["details"][0]["fields"] == ["items"]
    good = await create(http, key="v")
    assert good.status_code == 200 and "Idempotent-Replayed" not in good.headers


async def test_same_key_with_another_body_replays_the_first_response(
    http: httpx.AsyncClient, sandbox: AbillifySandbox
) -> None:
    """Seed 003: a repeated Idempotency-Key gets the first request's response, whatever the body."""
    first = await create(http, "INV-1", key="reused")
    other = await create(http, "INV-2", key="reused")
    assert other.status_code == first.status_code == 200
    assert other.json() == first.json()
    assert other.headers["Idempotent-Replayed"] == "true"
    assert len(sandbox.invoices_of(IDENTITY)) == 1


async def test_without_a_key_every_post_is_processed(http: httpx.AsyncClient, sandbox: AbillifySandbox) -> None:
    await create(http, "INV-1", key=None)
    assert (await create(http, "INV-1", key=None)).status_code == 409


# -- validation in the error schema ----------------------------------------------------------
async def test_wrong_types_name_every_field_with_a_hint(http: httpx.AsyncClient) -> None:
    response = await http.post(f"/identities/{IDENTITY}/invoices", json={
        "currency": "won", "netbased": "yes",
        "items": [{"label": "A", "quantity": "two", "unitprice": {"x": 1}}]})
    body = response.json()
    assert response.status_code == 400
    assert (body["code"], body["name"], body["type"]) == (400, "ClientError", "ERR_INVALID_VALUE")
    assert body["message"] == "InvalidValue, see error details"
    fields = [d["fields"][0] for d in body["details"]]
    assert fields == ["items[0].quantity", "items[0].unitprice", "currency", "netbased"]
    assert body["details"][0]["hint"] == "Value must be a number or a string containing only a number."


async def test_unknown_references_are_404(http: httpx.AsyncClient) -> None:
    for response in (await http.get("/invoices/nope"), await http.get("/identities/nope/invoices"),
                     await http.post("/identities/nope/invoices", json={"items": [ITEM]})):
        assert response.status_code == 404 and response.json()["type"] == "ERR_NOT_FOUND"


# -- life cycle --------------------------------------------------------------------------------
async def test_commit_locks_the_invoice_and_fires_notify_url(http: httpx.AsyncClient, sandbox: AbillifySandbox,
                                                             receiver: Receiver) -> None:
    ref = (await create(http)).json()["reference"]
    answer = await http.post(f"/invoices/{ref}/commitInvoice", headers={"Idempotency-Key": "c"},
                             json={"notifyUrl": receiver.url, "data": "123"})
    assert answer.json() == {"job": answer.json()["job"], "result": "OK", "resultcode": "0"}
    [notice] = await receiver.wait()
    assert notice == {"result": "OK", "resultcode": "0", "job": answer.json()["job"],
                      "notification": notice["notification"]}
    update = await http.put(f"/invoices/{ref}", json={"items": [ITEM]})
    assert update.status_code == 400 and update.json()["type"] == "ERR_INVALID_STATE"
    again = await http.post(f"/invoices/{ref}/commitInvoice", headers={"Idempotency-Key": "c2"}, json={})
    assert again.status_code == 400


async def test_resend_answers_ok_only_for_committed_invoices(http: httpx.AsyncClient) -> None:
    draft = (await create(http, "INV-D", key="d")).json()["reference"]
    refused = await http.post(f"/invoices/{draft}/resendInvoice", headers={"Idempotency-Key": "r1"}, json={})
    assert refused.status_code == 400 and refused.json()["type"] == "ERR_INVALID_STATE"
    ref = await committed_invoice(http, "INV-C")
    ok = await http.post(f"/invoices/{ref}/resendInvoice", headers={"Idempotency-Key": "r2"}, json={"data": "123"})
    assert ok.status_code == 200 and ok.json()["result"] == "OK" and ok.json()["resultcode"] == "0"


async def test_pay_marks_paid_and_fires_the_workflow_webhook(http: httpx.AsyncClient, sandbox: AbillifySandbox,
                                                             receiver: Receiver) -> None:
    assert (await http.post("/_sandbox/webhook", json={"url": receiver.url})).status_code == 200
    ref = await committed_invoice(http)
    paid = (await http.post(f"/_sandbox/invoices/{ref}/pay", json={})).json()
    assert paid["state"] == "paid" and paid["unpaid"] == 0
    [event] = await receiver.wait()
    assert event["state"] == "paid" and event["voucherReference"] == ref and event["number"] == "INV-1"
    assert event["identityReference"] == IDENTITY and event["total"] == 22000.0 and event["unpaid"] == 0
    assert set(event) == {"client", "due", "identityReference", "job", "label", "number", "ordernumber", "state",
                          "total", "unpaid", "voucherReference", "workflow"}


async def test_a_full_credit_note_cancels_and_a_second_is_refused(http: httpx.AsyncClient) -> None:
    ref = await committed_invoice(http)
    note_body = {"currency": "KRW", "items": [ITEM], "detail": {"invoiceReference": ref}}
    note = await http.post(f"/identities/{IDENTITY}/creditnotes", headers={"Idempotency-Key": "n1"}, json=note_body)
    assert note.status_code == 200 and note.json()["total"] == 22000
    invoice = (await http.get(f"/invoices/{ref}")).json()
    assert invoice["state"] == "canceled" and invoice["cancelationdate"] and invoice["unpaid"] == 0
    again = await http.post(f"/identities/{IDENTITY}/creditnotes", headers={"Idempotency-Key": "n2"},
                            json=note_body)
    assert again.status_code == 400 and again.json()["message"] == "Invoice is already canceled"


async def test_a_partial_credit_note_only_reduces_unpaid(http: httpx.AsyncClient) -> None:
    ref = await committed_invoice(http)
    half = {**ITEM, "quantity": 1}
    await http.post(f"/identities/{IDENTITY}/creditnotes", json={"currency": "KRW", "items": [half],
                                                                "detail": {"invoiceReference": ref}})
    invoice = (await http.get(f"/invoices/{ref}")).json()
    assert invoice["state"] == "none" and invoice["unpaid"] == 11000 and invoice["cancelationdate"] is None


async def test_eur_amounts_round_to_cents(http: httpx.AsyncClient) -> None:
    response = await http.post(f"/identities/{IDENTITY}/invoices", json={
        "currency": "EUR", "items": [{"label": "A", "quantity": 3, "unit": "EA", "unitprice": 0.35,
                                      "detail": {"taxrate": 10}}]})
    invoice = response.json()
    assert (invoice["net"], invoice["tax"], invoice["total"]) == (1.05, 0.11, 1.16)


async def test_seed_and_reset(sandbox: AbillifySandbox, http: httpx.AsyncClient) -> None:
    numbers = {i["number"]: i for i in sandbox.state.invoices.values()}
    assert set(numbers) == {"DEMO-0001", "DEMO-0002", "DEMO-0003"}
    assert numbers["DEMO-0003"]["state"] == "paid" and numbers["DEMO-0003"]["currency"] == "EUR"
    await create(http)
    assert (await http.post("/_sandbox/reset")).status_code == 200
    assert len(sandbox.state.invoices) == 3 and IDENTITY not in sandbox.state.identities
    assert (await http.get("/_sandbox/state")).json()["invoices"].keys() == sandbox.state.invoices.keys()
