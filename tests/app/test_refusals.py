"""What the bot refuses, and how the refusal reads: four-eyes, non-approvers, bad signatures,
stale requests, malformed commands, a double click, a provider error and a timeout."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from providers.sandbox.base import FaultRule
from tests.app.harness import BotHarness, running_bot, text_of
from tests.app.test_flows import BUYER, issue, last_reply


async def test_the_requester_cannot_approve_their_own_request(bot: BotHarness) -> None:
    card = await issue(bot, "popbill", "tax_invoice", user="U_BOB")  # Bob is an approver himself
    await bot.click(card, "approval_approve", user="U_BOB")
    refusal = bot.ephemerals(user="U_BOB")[-1]
    assert "four-eyes" in text_of(refusal)
    assert "approval_approve" in text_of(bot.cards()[-1])  # still pending, buttons still there
    assert bot.sandbox("popbill").requests_to(r"^/Taxinvoice$", "POST") == []


async def test_a_non_approver_cannot_approve(bot: BotHarness) -> None:
    card = await issue(bot, "popbill", "tax_invoice")
    await bot.click(card, "approval_approve", user="U_MALLORY")
    assert "Only approvers" in text_of(bot.ephemerals(user="U_MALLORY")[-1])
    await bot.click(card, "approval_reject", user="U_MALLORY")
    assert bot.slack.calls("views.open")[-1].args["view"]["callback_id"] != "approval_reject_reason"
    assert bot.sandbox("popbill").requests_to(r"^/Taxinvoice$", "POST") == []


async def test_a_member_of_an_approver_user_group_may_approve(bot: BotHarness) -> None:
    card = await issue(bot, "payssam", "bill")
    await bot.click(card, "approval_approve", user="U_DAVE")  # in S_FINANCE_LEADS
    assert "approval_approve" not in text_of(bot.cards()[-1])
    assert len(bot.sandbox("payssam").requests_to(r"/bill$", "POST")) == 1


async def test_a_bad_signature_is_refused_before_any_listener(bot: BotHarness) -> None:
    request = bot.factory.slash_command("help", user_id="U_ALICE", channel_id="C_FINANCE",
                                        response_url=bot.slack.response_url())
    forged = dict(request.headers, **{"X-Slack-Signature": "v0=" + "0" * 64})
    response = await bot.http.post(bot.base_url + "/slack/events", content=request.body, headers=forged)
    assert response.status_code == 401


async def test_a_signed_request_is_verified_once_at_the_edge_not_again_by_bolt(
        bot: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    made: list[bytes] = []
    original = hmac.new

    def counted(key: bytes, msg: bytes | None = None, digestmod: object = None) -> hmac.HMAC:
        made.append(msg or b"")
        return original(key, msg, digestmod)  # type: ignore[arg-type]

    request = bot.factory.slash_command("help", user_id="U_ALICE", channel_id="C_FINANCE",
                                        response_url=bot.slack.response_url())  # signed here, before counting
    monkeypatch.setattr(hmac, "new", counted)
    response = await bot.send(request)
    assert response.status_code == 200
    assert len([m for m in made if m.startswith(b"v0:")]) == 1, "the signature is computed once per request"


async def test_an_unsigned_request_is_refused(bot: BotHarness) -> None:
    response = await bot.http.post(bot.base_url + "/slack/events", content=b"command=%2Finvoice&text=help",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 401


async def test_a_stale_request_is_refused(bot: BotHarness) -> None:
    stale = bot.factory.slash_command("help", user_id="U_ALICE", channel_id="C_FINANCE",
                                      response_url=bot.slack.response_url(), timestamp=int(time.time()) - 301)
    response = await bot.send(stale)
    assert response.status_code == 401


async def test_a_malformed_command_says_what_to_type_instead(bot: BotHarness) -> None:
    response = await bot.command("staus INV-1")
    assert response.status_code == 200
    assert "Did you mean `status`" in response.text
    response = await bot.command("closure 12345")
    assert "10" in response.text  # a business number has 10 digits


async def test_a_double_click_issues_exactly_once(bot: BotHarness) -> None:
    card = await issue(bot, "popbill", "tax_invoice")
    clicks = [bot.click(card, "approval_approve", user=user, settle=False) for user in ("U_BOB", "U_CAROL") * 5]
    responses = await asyncio.gather(*clicks)
    assert all(r.status_code == 200 for r in responses)
    await asyncio.sleep(0.5)
    from bot.console.app import settle_tasks

    await settle_tasks(30)
    assert len(bot.sandbox("popbill").requests_to(r"^/Taxinvoice$", "POST")) == 1
    told = [text_of(e) for e in bot.slack.ephemerals()]
    assert any("already" in t for t in told)


async def test_a_provider_refusal_reads_as_what_happened_and_what_to_do(bot: BotHarness) -> None:
    card = await issue(bot, "popbill", "tax_invoice")
    popbill = bot.sandbox("popbill")
    rule = FaultRule(kind="503", path=r"^/Taxinvoice$", count=10, retry_after=0)
    assert bot.runtime.providers.thread is not None
    bot.runtime.providers.thread.call(lambda: popbill.add_fault(rule))
    await bot.click(card, "approval_approve", user="U_BOB")
    final = text_of(bot.cards()[-1])
    assert "maintenance" in final or "unavailable" in final
    assert "Traceback" not in final
    assert "retry" in final.lower()  # what to do: /invoice retry <id>
    approval = (await bot.runtime.service.pending_approvals()) or None
    assert approval is None  # decided, failed-retryable, not pending
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.lifecycle.value == "failed"

    # The provider is back: /invoice retry issues it once.
    bot.runtime.providers.thread.call(popbill.clear_faults)
    await bot.command("retry INV-000001", user="U_ALICE")
    assert "✅" in last_reply(bot)
    # one refused send while down, one after: never two documents
    assert len(popbill.requests_to(r"^/Taxinvoice$", "POST")) == 2
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.lifecycle.value == "issued"


async def test_a_timeout_on_issue_is_reconciled_before_anything_is_retried(tmp_path: Path) -> None:
    async with running_bot(tmp_path, provider_read_timeout=0.5, provider_max_attempts=2) as bot:
        card = await issue(bot, "payssam", "bill")
        payssam = bot.sandbox("payssam")
        rule = FaultRule(kind="timeout", path=r"/bill$", seconds=1.0)
        assert bot.runtime.providers.thread is not None
        bot.runtime.providers.thread.call(lambda: payssam.add_fault(rule))
        await bot.click(card, "approval_approve", user="U_BOB")
        sends = payssam.requests_to(r"/bill$", "POST")
        reads = payssam.requests_to(r"/bill/read$", "POST")
        assert reads, "the bot asked Payssam before deciding what happened"
        assert len(sends) <= 2
        bills = bot.runtime.providers.thread.call(lambda: dict(payssam.bills))  # type: ignore[attr-defined]
        assert len([b for b in bills if b.startswith("INV")]) == 1  # exactly one bill for INV-000001
        final = text_of(bot.cards()[-1])
        assert "Traceback" not in final


@pytest.mark.parametrize("text", ["issue nowhere", "status", "resend", "destroy", "export 2026-13-01"])
async def test_every_refusal_carries_a_usage_line(bot: BotHarness, text: str) -> None:
    response = await bot.command(text)
    assert response.status_code == 200
    assert "/invoice" in response.text


async def test_the_issue_modal_shows_errors_on_the_fields(bot: BotHarness) -> None:
    await bot.command("issue popbill")
    modal = bot.last_modal()
    response = await bot.submit(modal, {**BUYER, "kind": "tax_invoice", "buyer_bizno": "12345",
                                        "items": "Consulting | two | 50000"}, user="U_ALICE")
    errors = response.json()["errors"]
    assert "buyer_bizno" in errors and "items" in errors
    response = await bot.submit(modal, {**BUYER, "kind": "tax_invoice", "buyer_bizno": "1234567890"},
                                user="U_ALICE")
    assert "check digit" in response.json()["errors"]["buyer_bizno"]
    assert bot.cards() == []


async def test_slack_is_not_served_over_http_without_the_secret_that_verifies_it(tmp_path: Path) -> None:
    """The edge is the only check of Slack's signature, so there is no HTTP route to the listeners without it."""
    from bot.serve import ServeError

    with pytest.raises(ServeError, match="SLACK_SIGNING_SECRET"):
        async with running_bot(tmp_path, slack_signing_secret=None):
            pass
