"""Provider callbacks end to end: the real sandboxes call the bot's real aiohttp webhook server."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiohttp import web
from pydantic import SecretStr
from slack_sdk.models.blocks import Block

from bot.callback_auth import callback_signer
from bot.webhooks import (
    WebhookDeps,
    abillify_notify_url,
    abillify_workflow_url,
    payssam_callback_url,
    register_webhooks,
)
from commands.ledger import DocumentRecord, Lifecycle, Store
from commands.ledger.schema import documents
from commands.ledger.workspaces import WorkspaceScope
from commands.workflow.errors import NotAllowed
from providers import abillify, payssam
from providers.config import DEMO_ABILLIFY, DEMO_PAYSSAM, SellerConfig
from providers.http import HttpPolicy
from providers.models import DocumentKind, DocumentState, IssueRequest, LineItem, Party, Provider
from providers.sandbox.abillify import AbillifySandbox
from providers.sandbox.base import FaultRule
from providers.sandbox.payssam import PayssamSandbox
from tests.local_http import LOCAL_TLS

POLICY = HttpPolicy(read_timeout=2.0, backoff=0.01, max_attempts=1)
SUCCESS = {"code": "0000", "msg": "성공하였습니다."}


@dataclass
class Thread:
    """The lead's notifier: what would be posted in each document's thread."""

    posts: list[tuple[str, str, list[Block]]] = field(default_factory=list)

    async def __call__(self, ref: str, text: str, blocks: list[Block]) -> None:
        self.posts.append((ref, text, blocks))


@dataclass
class Bot:
    url: str
    thread: Thread
    payssam: payssam.PayssamService
    abillify: abillify.AbillifyService
    payssam_sandbox: PayssamSandbox
    abillify_sandbox: AbillifySandbox


@contextlib.asynccontextmanager
async def serving(deps: WebhookDeps) -> AsyncIterator[str]:
    """The provider callback routes of `deps`, served on a free loopback port; yields the base URL."""
    web_app = web.Application()
    register_webhooks(web_app, deps)
    runner = web.AppRunner(web_app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


@pytest.fixture
async def bot(store: Store) -> AsyncIterator[Bot]:
    pay_box = PayssamSandbox(callback_attempts=4, callback_interval=0.05)
    ab_box = AbillifySandbox()
    await pay_box.start()
    await ab_box.start()
    thread = Thread()
    web_app = web.Application()
    runner = web.AppRunner(web_app)
    pay = ab = None
    try:
        # the URL is known once the server listens; the services get it afterwards
        providers: dict[Provider, Any] = {}
        register_webhooks(web_app, WebhookDeps(store=store, providers=providers, notify=thread))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        pay = payssam.create_service(DEMO_PAYSSAM.model_copy(update={"api_url": pay_box.base_url, "policy": POLICY}),
                                     seller=SellerConfig(), sandbox=True)
        ab = abillify.create_service(DEMO_ABILLIFY.model_copy(update={"api_url": ab_box.base_url, "policy": POLICY}),
                                     seller=SellerConfig(), sandbox=True)
        providers.update({Provider.PAYSSAM: pay, Provider.ABILLIFY: ab})
        yield Bot(url, thread, pay, ab, pay_box, ab_box)
    finally:
        await pay_box.wait_callbacks()
        await ab_box.wait_callbacks()
        for service in (pay, ab):
            if service is not None:
                await service.aclose()
        await runner.cleanup()
        await pay_box.stop()
        await ab_box.stop()


def request(provider: Provider, kind: DocumentKind, key: str, callback_url: str | None = None) -> IssueRequest:
    return IssueRequest(
        provider=provider, kind=kind, key=key, callback_url=callback_url,
        buyer=Party(name="김고객", phone="010-1234-5678", email="ap@example.com", bizno="2208162517"),
        items=[LineItem(name="3월 교육비", unit_price=100_000)], write_date=dt.date.today(),
        due_date=dt.date.today() + dt.timedelta(days=7),
    )


SIGNER = callback_signer(None)  # what WebhookDeps uses without settings: this process's key


def callback_url(provider: Provider, base_url: str, ref: str) -> str:
    """The URL the bot gives the provider for document `ref` (with its token)."""
    if provider is Provider.PAYSSAM:
        return payssam_callback_url(base_url, ref, SIGNER)
    return abillify_notify_url(base_url, ref, SIGNER)


async def issue(store: Store, service: Any, provider: Provider, kind: DocumentKind,
                base_url: str | None = None) -> DocumentRecord:
    """Issue through the provider like the bot does: row first, provider call, status recorded."""
    draft = request(provider, kind, "PENDING")
    doc = await store.documents.create(provider=provider, kind=kind, lifecycle=Lifecycle.ISSUING, request=draft,
                                       sandbox=True, channel_id="C1", thread_ts="1700000000.000100")
    url = callback_url(provider, base_url, doc.ref) if base_url else None
    status = await service.issue(request(provider, kind, doc.ref, url))
    await store.documents.record_status(doc.id, status, lifecycle=Lifecycle.ISSUED)
    found = await store.documents.get(doc.id)
    assert found is not None
    return found


async def test_a_payment_callback_is_confirmed_marked_paid_and_posted_once_even_when_retried(
    store: Store, bot: Bot
) -> None:
    doc = await issue(store, bot.payssam, Provider.PAYSSAM, DocumentKind.BILL, bot.url)
    assert doc.state is DocumentState.UNPAID

    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=bot.payssam_sandbox.base_url) as client:
        paid = await client.post("/_sandbox/bill/pay", json={"billId": doc.provider_id, "payType": "CARD_VAN"})
    assert paid.json()["code"] == "0000"
    await bot.payssam_sandbox.wait_callbacks()

    [delivery] = bot.payssam_sandbox.callbacks
    assert delivery["delivered"] and delivery["attempts"] == 1 and json.loads(delivery["answer"]) == SUCCESS
    assert len(bot.payssam_sandbox.requests_to(r"/bill/read$")) == 1  # confirmed before marking paid
    refreshed = await store.documents.get(doc.id)
    assert refreshed is not None and refreshed.state is DocumentState.PAID and refreshed.raw_state == "F"
    [(ref, text, _blocks)] = bot.thread.posts
    assert ref == doc.ref and "Payment received" in text and "₩110,000" in text and "card" in text

    # Paymint retries until it sees the success answer; a retry must answer it again and post nothing
    async with httpx.AsyncClient(verify=LOCAL_TLS) as client:
        again = await client.post(delivery["url"], json=delivery["payload"])
    assert again.status_code == 200
    assert again.content == json.dumps(SUCCESS, ensure_ascii=False).encode("utf-8")
    assert len(bot.thread.posts) == 1
    assert len(await store.callbacks.recent("payssam")) == 1


async def test_a_callback_with_a_wrong_api_key_is_refused_and_changes_nothing(store: Store, bot: Bot) -> None:
    doc = await issue(store, bot.payssam, Provider.PAYSSAM, DocumentKind.BILL, bot.url)
    forged = {"apiKey": "NOT-OUR-KEY", "billId": doc.provider_id, "apprState": "F", "apprNum": "30000099",
              "apprPrice": "110000", "apprPayType": "CARD_VAN"}

    async with httpx.AsyncClient(verify=LOCAL_TLS) as client:
        answer = await client.post(callback_url(Provider.PAYSSAM, bot.url, doc.ref), json=forged)

    assert answer.status_code == 401
    assert answer.json()["code"] != "0000"
    still = await store.documents.get(doc.id)
    assert still is not None and still.state is DocumentState.UNPAID
    assert bot.thread.posts == [] and await store.callbacks.recent() == []
    assert bot.payssam_sandbox.requests_to(r"/bill/read$") == []  # refused before asking Payssam anything


async def test_a_payment_payssam_does_not_confirm_is_not_marked_paid(store: Store, bot: Bot) -> None:
    doc = await issue(store, bot.payssam, Provider.PAYSSAM, DocumentKind.BILL, bot.url)
    claimed = {"apiKey": "SANDBOX-API-KEY", "billId": doc.provider_id, "apprState": "F", "apprNum": "30000099",
               "apprPrice": "110000"}

    async with httpx.AsyncClient(verify=LOCAL_TLS) as client:
        answer = await client.post(callback_url(Provider.PAYSSAM, bot.url, doc.ref), json=claimed)

    assert answer.status_code == 409 and answer.json()["code"] != "0000"
    still = await store.documents.get(doc.id)
    assert still is not None and still.state is DocumentState.UNPAID
    assert bot.thread.posts == []


async def test_when_payssam_cannot_confirm_the_callback_is_retried_and_then_accepted(store: Store, bot: Bot) -> None:
    doc = await issue(store, bot.payssam, Provider.PAYSSAM, DocumentKind.BILL, bot.url)
    bot.payssam_sandbox.add_fault(FaultRule(kind="503", path=r"/bill/read$", count=1))

    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=bot.payssam_sandbox.base_url) as client:
        await client.post("/_sandbox/bill/pay", json={"billId": doc.provider_id})
    await bot.payssam_sandbox.wait_callbacks()

    [delivery] = bot.payssam_sandbox.callbacks
    assert delivery["attempts"] == 2 and delivery["delivered"]
    assert len(bot.thread.posts) == 1
    refreshed = await store.documents.get(doc.id)
    assert refreshed is not None and refreshed.state is DocumentState.PAID


async def test_abillify_notifications_and_workflow_webhooks_refresh_record_and_post_once(
    store: Store, bot: Bot
) -> None:
    doc = await issue(store, bot.abillify, Provider.ABILLIFY, DocumentKind.INVOICE, bot.url)
    await bot.abillify_sandbox.wait_callbacks()
    [notify] = bot.abillify_sandbox.callbacks
    assert notify["delivered"] and "ref=INV-" in notify["url"] and "token=" in notify["url"]
    # the re-read finds what the issue already recorded (committed, unpaid): nothing new to say
    assert len(await store.callbacks.recent("abillify")) + len(bot.thread.posts) in (0, 2)
    before = len(bot.thread.posts)

    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=bot.abillify_sandbox.base_url) as client:
        await client.post("/_sandbox/webhook", json={"url": abillify_workflow_url(bot.url, SIGNER)})
        paid = await client.post(f"/_sandbox/invoices/{doc.provider_id}/pay", json={})
    assert paid.status_code == 200
    await bot.abillify_sandbox.wait_callbacks()

    refreshed = await store.documents.get(doc.id)
    assert refreshed is not None and refreshed.state is DocumentState.PAID
    [(ref, text, _)] = bot.thread.posts[before:]
    assert ref == doc.ref and text.startswith(f"💳 *Paid*: `{doc.ref}`")

    async with httpx.AsyncClient(verify=LOCAL_TLS) as client:  # both deliveries again, as an at-least-once sender may
        for delivery in bot.abillify_sandbox.callbacks:
            again = await client.post(delivery["url"], json=delivery["payload"])
            assert again.status_code == 200 and again.json()["ok"] is True
    assert len(bot.thread.posts) == before + 1
    assert len(await store.callbacks.recent("abillify")) == before + 1


async def test_a_workflow_webhook_is_never_trusted_for_the_state(store: Store, bot: Bot) -> None:
    doc = await issue(store, bot.abillify, Provider.ABILLIFY, DocumentKind.INVOICE)
    forged = {"voucherReference": doc.provider_id, "state": "paid", "job": "forged-1", "workflow": "payment",
              "unpaid": 0}

    async with httpx.AsyncClient(verify=LOCAL_TLS) as client:
        answer = await client.post(abillify_workflow_url(bot.url, SIGNER), json=forged)

    assert answer.status_code == 200
    still = await store.documents.get(doc.id)
    assert still is not None and still.state is DocumentState.UNPAID  # Abillify itself says unpaid
    assert bot.thread.posts == []  # and that is no change: nothing to say


async def test_a_workspaces_own_payssam_account_authenticates_and_confirms_its_bills_callbacks(
    store: Store, bot: Bot
) -> None:
    """A workspace that stored its own Payssam account: its bills' callbacks carry that account's
    apiKey, are checked against it (not the environment's) and confirmed with its /bill/read."""
    own_config = DEMO_PAYSSAM.model_copy(update={"api_key": SecretStr("ALPHA-OWN-KEY"), "member": "ALPHA"})
    own_box = PayssamSandbox(own_config, callback_attempts=4, callback_interval=0.05)
    await own_box.start()
    own = payssam.create_service(own_config.model_copy(update={"api_url": own_box.base_url, "policy": POLICY}),
                                 seller=SellerConfig(), sandbox=True)
    asked: list[str | None] = []

    async def providers_for(team_id: str | None) -> dict[Provider, Any]:
        asked.append(team_id)
        return {Provider.PAYSSAM: own} if team_id == "T_ALPHA" else {Provider.PAYSSAM: bot.payssam}

    deps = WebhookDeps(store=store, providers={Provider.PAYSSAM: bot.payssam}, notify=bot.thread,
                       providers_for=providers_for)
    async with serving(deps) as base:
        try:
            draft = request(Provider.PAYSSAM, DocumentKind.BILL, "PENDING")
            doc = await store.documents.create(provider=Provider.PAYSSAM, kind=DocumentKind.BILL,
                                               lifecycle=Lifecycle.ISSUING, request=draft, sandbox=True,
                                               channel_id="C1", thread_ts="1700000000.000100",
                                               workspace=WorkspaceScope("T_ALPHA"))
            status = await own.issue(request(Provider.PAYSSAM, DocumentKind.BILL, doc.ref,
                                             callback_url(Provider.PAYSSAM, base, doc.ref)))
            await store.documents.record_status(doc.id, status, lifecycle=Lifecycle.ISSUED)

            async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=own_box.base_url) as client:
                await client.post("/_sandbox/bill/pay", json={"billId": status.ref.provider_id, "payType": "CARD_VAN"})
            await own_box.wait_callbacks()

            [delivery] = own_box.callbacks
            assert delivery["delivered"] and json.loads(delivery["answer"]) == SUCCESS, delivery
            assert asked == ["T_ALPHA"]
            assert len(own_box.requests_to(r"/bill/read$")) == 1  # confirmed with the workspace's own account
            assert bot.payssam_sandbox.requests_to(r"/bill/read$") == []
            paid = await store.documents.get(doc.id)
            assert paid is not None and paid.state is DocumentState.PAID
        finally:
            await own.aclose()
            await own_box.stop()


async def test_a_callback_for_a_workspace_whose_account_cannot_be_used_is_answered_503_and_changes_nothing(
    store: Store, bot: Bot
) -> None:
    """The bill belongs to a workspace whose stored credentials cannot be read: the environment's
    account never stands in (503, Payssam retries later), and nothing is recorded or posted."""
    async def unreadable(team_id: str | None) -> dict[Provider, Any]:
        raise NotAllowed("cannot read this workspace's credentials")

    deps = WebhookDeps(store=store, providers={Provider.PAYSSAM: bot.payssam}, notify=bot.thread,
                       providers_for=unreadable)
    async with serving(deps) as base:
        doc = await issue(store, bot.payssam, Provider.PAYSSAM, DocumentKind.BILL, base)
        async with store.engine.begin() as conn:
            await conn.execute(sa.update(documents).where(documents.c.id == doc.id).values(team_id="T_LOCKED"))
        paid = {"apiKey": DEMO_PAYSSAM.api_key.get_secret_value(), "billId": doc.provider_id,  # type: ignore[union-attr]
                "apprState": "F", "apprNum": "30000099", "apprPrice": "110000", "apprPayType": "CARD_VAN"}

        async with httpx.AsyncClient(verify=LOCAL_TLS) as client:
            answer = await client.post(callback_url(Provider.PAYSSAM, base, doc.ref), json=paid)

        assert answer.status_code == 503 and answer.json()["code"] != "0000"
        still = await store.documents.get(doc.id)
        assert still is not None and still.state is DocumentState.UNPAID
        assert bot.thread.posts == [] and await store.callbacks.recent() == []
        assert bot.payssam_sandbox.requests_to(r"/bill/read$") == []  # the environment's account was not asked
