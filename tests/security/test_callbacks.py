"""Provider callbacks into the running app: authenticated by the token in their URL, worded
from a re-read of the provider, posted once per change of the provider's state.

Before, five forged Abillify notify bodies made five "❌ Abillify reports that its task …
failed" posts in the document's thread (the dedup key was the sender's); a Payssam
callback for an unknown bill was answered 503 (Payssam retries for 24 h); and a second
callback without ``apprNum`` for a paid bill posted "Payment received" again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.callback_auth import callback_signer
from bot.webhooks import abillify_notify_url, abillify_workflow_url, payssam_callback_url
from tests.app.harness import BotHarness, running_bot
from tests.faults.flows import issue_approved
from tests.local_http import LOCAL_TLS

SUCCESS = {"code": "0000", "msg": "성공하였습니다."}
SANDBOX_API_KEY = "SANDBOX-API-KEY"


def thread_posts(bot: BotHarness, *words: str) -> list[str]:
    """Texts the app posted in document threads that contain every one of `words`."""
    texts = [str(c.args.get("text", "")) for c in bot.slack.calls("chat.postMessage") if c.args.get("thread_ts")]
    return [t for t in texts if all(w in t for w in words)]


def forged_notifications() -> list[dict[str, Any]]:
    return [{"result": "ERROR", "resultcode": str(code), "job": f"job-{code}",
             "notification": f"<!channel> pay at <https://evil.example/pay|our portal> {code}"} for code in range(5)]


async def test_forged_abillify_notifications_post_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await issue_approved(bot, "abillify")
        signer = callback_signer(bot.runtime.settings)
        good = abillify_notify_url(bot.base_url, "INV-000001", signer)
        before = len(bot.slack.calls("chat.postMessage"))

        async with httpx.AsyncClient(verify=LOCAL_TLS) as client:
            for body in forged_notifications():  # no token, a wrong token, another document's token
                for url in (f"{bot.base_url}/webhooks/abillify/notify?ref=INV-000001",
                            good.replace("token=", "token=0"),
                            abillify_notify_url(bot.base_url, "INV-000002", signer).replace("INV-000002",
                                                                                           "INV-000001", 1)):
                    assert (await client.post(url, json=body)).status_code == 401
            # with the right token, a body is only a reason to re-read: Abillify says nothing changed
            for body in forged_notifications():
                assert (await client.post(good, json=body)).status_code == 200

        assert len(bot.slack.calls("chat.postMessage")) == before
        assert thread_posts(bot, "Abillify reports") == []


async def test_a_real_change_is_posted_once_worded_from_the_provider(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await issue_approved(bot, "abillify")
        doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
        assert doc is not None and doc.provider_id
        signer = callback_signer(bot.runtime.settings)
        async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=bot.sandbox("abillify").base_url) as admin:
            (await admin.post(f"/_sandbox/invoices/{doc.provider_id}/pay", json={})).raise_for_status()

        async with httpx.AsyncClient(verify=LOCAL_TLS) as client:
            for body in forged_notifications():  # five deliveries, each with its own "dedup key"
                assert (await client.post(abillify_notify_url(bot.base_url, doc.ref, signer), json=body)).is_success
            workflow = {"voucherReference": doc.provider_id, "state": "canceled", "job": "j-1", "workflow": "x"}
            assert (await client.post(abillify_workflow_url(bot.base_url, signer), json=workflow)).is_success

        [paid] = thread_posts(bot, "Paid", doc.ref)
        assert "evil.example" not in paid and "<!channel>" not in paid
        assert thread_posts(bot, "Canceled") == [], "the body said canceled; Abillify says paid"
        refreshed = await bot.runtime.store.documents.get(doc.id)
        assert refreshed is not None and refreshed.state is not None and refreshed.state.value == "paid"


async def pay_bill(bot: BotHarness, bill_id: str) -> None:
    thread = bot.runtime.providers.thread
    assert thread is not None
    sandbox: Any = bot.sandbox("payssam")
    thread.call(lambda: sandbox.pay(bill_id))


async def test_payssam_unknown_bill_is_answered_as_handled_and_a_paid_bill_posts_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path) as bot:
        await issue_approved(bot, "payssam")
        doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
        assert doc is not None and doc.provider_id
        await pay_bill(bot, doc.provider_id)
        url = payssam_callback_url(bot.base_url, doc.ref, callback_signer(bot.runtime.settings))
        paid = {"apiKey": SANDBOX_API_KEY, "billId": doc.provider_id, "apprState": "F"}

        async with httpx.AsyncClient(verify=LOCAL_TLS) as client:
            assert (await client.post(url.split("&token=")[0], json=paid)).status_code == 401  # no token
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="invoicebot.webhooks"):
                unknown = await client.post(url, json={**paid, "billId": "NOSUCHBILL01"})
            assert unknown.status_code == 200 and json.loads(unknown.content) == SUCCESS
            assert len([r for r in caplog.records if "no document of ours" in r.getMessage()]) == 1

            first = await client.post(url, json={**paid, "apprNum": await appr_num(bot, doc.provider_id)})
            again = await client.post(url, json=paid)  # no apprNum: a different "dedup key" before
        assert (first.status_code, again.status_code) == (200, 200)
        assert json.loads(again.content) == SUCCESS
        assert len(thread_posts(bot, "Payment received", doc.ref)) == 1


async def appr_num(bot: BotHarness, bill_id: str) -> str:
    service: Any = bot.runtime.providers.services[next(p for p in bot.runtime.providers.services
                                                       if p.value == "payssam")]
    status = await service.status(service._ref(bill_id))
    return str(status.confirm_number)
