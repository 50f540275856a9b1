"""After a day's work on every provider (issue, resend, destroy, status, closure, the payment
and workflow callbacks, a sweep, and an unanswered write on the way), nothing the bot
logged at DEBUG, by its own loggers or any library's, and nothing the Slack double recorded
in request headers, contains a credential: the bot token, the signing secret, a request
signature, the LinkHub secret key or a session token it issued, the Payssam apiKey or a
SHA-256 hash sent with a bill, the Hiworks tokens, the Abillify password or Basic header.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.callback_auth import callback_signer
from bot.webhooks import abillify_workflow_url, payssam_callback_url
from providers.config import DEMO_ABILLIFY, DEMO_HIWORKS, DEMO_PAYSSAM, DEMO_POPBILL
from providers.payssam.service import bill_id_for
from providers.sandbox.base import FaultRule
from tests.app.harness import BOT_TOKEN, SIGNING_SECRET, BotHarness, running_bot
from tests.faults.flows import add_fault, issue_approved, request_issue, requests_at
from tests.local_http import LOCAL_TLS

pytestmark = pytest.mark.slow  # a whole working day through the app, logs captured

ALL_LOGGERS = ("", "invoicebot")


def _secret(value: Any) -> str:
    return str(value.get_secret_value())


def provider_secrets(bot: BotHarness) -> dict[str, str]:
    """Every credential the providers saw, read back from what the sandboxes received or issued."""
    found = {
        "LinkHub secret key": _secret(DEMO_POPBILL.secret_key),
        "Payssam apiKey": _secret(DEMO_PAYSSAM.api_key),
        "Hiworks office token": _secret(DEMO_HIWORKS.office_token),
        "Hiworks bill access token": _secret(DEMO_HIWORKS.bill_access_token),
        "Abillify password": _secret(DEMO_ABILLIFY.password),
        "Abillify Basic credentials": base64.b64encode(
            f"{DEMO_ABILLIFY.username}:{_secret(DEMO_ABILLIFY.password)}".encode()).decode(),
    }
    popbill = bot.sandbox("popbill")
    thread = bot.runtime.providers.thread
    assert thread is not None
    tokens = thread.call(lambda: list(popbill.tokens))  # type: ignore[attr-defined]
    assert tokens, "Popbill issued session tokens during the flow"
    for i, token in enumerate(tokens):
        found[f"Popbill session token {i}"] = token
    hashes = set()
    for request in requests_at(bot, "payssam"):
        try:
            bill = json.loads(request["body"]).get("bill") or {}
        except (ValueError, AttributeError):
            continue
        if bill.get("hash"):
            hashes.add(str(bill["hash"]))
    assert hashes, "Payssam requests carried hashes"
    for i, digest in enumerate(sorted(hashes)):
        found[f"Payssam hash {i}"] = digest
    return found


async def on_sandbox_loop(bot: BotHarness, coro: Coroutine[Any, Any, None]) -> None:
    """Await a coroutine on the sandboxes' loop without blocking this one (the bot answers here)."""
    thread = bot.runtime.providers.thread
    assert thread is not None
    await asyncio.wait_for(asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, thread.loop)), 30)


async def run_every_provider(bot: BotHarness) -> None:
    for provider in ("popbill", "payssam", "hiworks", "abillify"):  # INV-000001 … INV-000004
        await issue_approved(bot, provider)
    card = await request_issue(bot, "popbill")  # INV-000005: its first answer is lost, then reconciled
    add_fault(bot, "popbill", FaultRule(kind="drop", path=r"^/Taxinvoice$", method="POST"))
    await bot.click(card, "approval_approve", user="U_BOB")

    await bot.command("resend INV-000001 email buyer@example.com")
    await bot.command("resend INV-000002 talk")
    await bot.command("resend INV-000004")
    await bot.command("status INV-000003")
    await bot.command("status INV-000004")
    await bot.command("closure 679-87-00433 123-12-12312 220-88-75476")

    # the payment callback of Payssam and the workflow webhook of Abillify, into the bot's /webhooks/
    payssam = bot.sandbox("payssam")
    thread = bot.runtime.providers.thread
    assert thread is not None
    bill = thread.call(lambda: payssam.bills[bill_id_for("INV-000002")])  # type: ignore[attr-defined]
    signer = callback_signer(bot.runtime.settings)
    bill.callback_url = payssam_callback_url(bot.base_url, "INV-000002", signer)
    thread.call(lambda: payssam.pay(bill_id_for("INV-000002")))  # type: ignore[attr-defined]
    await on_sandbox_loop(bot, payssam.wait_callbacks())
    abillify = bot.sandbox("abillify")
    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=abillify.base_url) as admin:
        webhook = abillify_workflow_url(bot.base_url, signer)
        (await admin.post("/_sandbox/webhook", json={"url": webhook})).raise_for_status()
        doc = await bot.runtime.store.documents.get_by_ref("INV-000004")
        assert doc is not None and doc.provider_id
        (await admin.post(f"/_sandbox/invoices/{doc.provider_id}/pay", json={})).raise_for_status()
    await on_sandbox_loop(bot, abillify.wait_callbacks())
    assert [c["delivered"] for c in thread.call(lambda: payssam.callbacks + abillify.callbacks)] == [True, True]

    for ref in ("INV-000001", "INV-000002"):
        await bot.command(f"destroy {ref} wrong buyer")
        await bot.click(bot.cards()[-1], "approval_approve", user="U_BOB")
    scheduler = bot.runtime.scheduler
    assert scheduler is not None and scheduler.sweep_job is not None
    await scheduler.sweep_job()


async def test_no_credential_reaches_a_log_line_or_a_recorded_header(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ALL_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    async with running_bot(tmp_path, provider_read_timeout=0.5, provider_max_attempts=2) as bot:
        signatures: list[str] = []
        send = bot.send

        async def send_and_remember(request: Any, **kwargs: Any) -> httpx.Response:
            signatures.append(request.headers["X-Slack-Signature"])
            return await send(request, **kwargs)

        bot.send = send_and_remember  # type: ignore[method-assign]
        await run_every_provider(bot)

        secrets = {"bot token": BOT_TOKEN, "signing secret": SIGNING_SECRET, **provider_secrets(bot)}
        secrets.update({f"X-Slack-Signature {i}": s for i, s in enumerate(signatures)})
        secrets.update({f"signature hex {i}": s.removeprefix("v0=") for i, s in enumerate(signatures)})
        recorded_headers = [json.dumps(call.headers) for call in bot.slack.calls()]

    formatter = logging.Formatter()
    lines = []
    for record in caplog.records:
        lines.append(f"{record.name}: {record.getMessage()}")
        if record.exc_info:
            lines.append(formatter.formatException(record.exc_info))
        if record.stack_info:
            lines.append(record.stack_info)
    assert len(lines) > 100, "the flow was logged at DEBUG"
    assert any("popbill" in line for line in lines) and any("payssam" in line for line in lines)
    for what, secret in secrets.items():
        assert secret, what
        for line in [*lines, *recorded_headers]:
            assert secret not in line, f"the {what} appears in: {line[:500]}"
