"""Amendments (수정세금계산서), send-nts (즉시전송) and PDFs in Slack, end to end over signed HTTP
against the Popbill and Hiworks sandboxes and the Slack Web API double."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.app.harness import BotHarness, find_button, running_bot, text_of
from tests.app.test_flows import issue, last_reply
from tests.local_http import LOCAL_TLS


async def _issued(bot: BotHarness, provider: str, ref: str = "INV-000001") -> Any:
    card = await issue(bot, provider, "tax_invoice")
    await bot.click(card, "approval_approve", user="U_BOB")
    doc = await bot.runtime.store.documents.get_by_ref(ref)
    assert doc is not None and doc.lifecycle.value == "issued" and doc.provider_id
    return doc


async def _file(bot: BotHarness, provider: str, provider_id: str) -> Any:
    """The sandbox files the document with the NTS now; the stored document, refreshed."""
    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=bot.sandbox(provider).base_url) as admin:
        if provider == "popbill":
            answer = await admin.post("/_sandbox/popbill/nts", json={
                "kind": "taxinvoice", "corpNum": "6798700433", "mgtKey": provider_id, "now": True})
        else:
            answer = await admin.post(f"/_sandbox/hiworks/documents/{provider_id}/declare",
                                      json={"declareStatus": "4"})
        assert answer.status_code == 200, answer.text
    await bot.runtime.service.status("INV-000001")
    return await bot.runtime.store.documents.get_by_ref("INV-000001")


def _bodies(bot: BotHarness, provider: str, path: str) -> list[dict[str, Any]]:
    return [json.loads(r.get("body") or "{}") for r in bot.sandbox(provider).requests_to(path, "POST")]


async def test_an_unfiled_original_is_refused_at_request_time(bot: BotHarness) -> None:
    await _issued(bot, "popbill")
    cards = len(bot.cards())
    await bot.command("amend INV-000001 4")
    assert "not filed with the NTS yet" in last_reply(bot)
    assert len(bot.cards()) == cards  # nothing to approve


@pytest.mark.parametrize(("reason", "extra", "totals"), [
    (1, "120000", [-143000, 132000]),
    (2, "-50000", [-55000]),
    (3, "30000", [-33000]),
    (4, "", [-143000]),
    (5, "L/C M1234", [-143000, 130000]),
    (6, "", [-143000]),
])
async def test_each_reason_on_popbill_produces_what_the_law_asks(bot: BotHarness, reason: int, extra: str,
                                                                 totals: list[int]) -> None:
    original = await _issued(bot, "popbill")
    await _file(bot, "popbill", original.provider_id)
    await bot.command(f"amend INV-000001 {reason} {extra}".strip())
    card = bot.cards()[-1]
    assert "approval_approve" in text_of(card) and "Amendment, reason" in text_of(card)
    await bot.click(card, "approval_approve", user="U_BOB")
    await bot.click(card, "approval_approve", user="U_CAROL")  # a second click issues nothing more
    amendments = await bot.runtime.store.documents.amendments_of(original.id)
    assert [d.total for d in amendments] == totals
    assert all(d.lifecycle.value == "issued" and d.modify_code == reason for d in amendments)
    sent = [b for b in _bodies(bot, "popbill", r"^/Taxinvoice$") if b.get("modifyCode")]
    assert len(sent) == len(totals)  # exactly one registIssue per produced document
    assert {b["modifyCode"] for b in sent} == {reason}
    assert {b["orgNTSConfirmNum"] for b in sent} == {original.confirm_number}
    if reason == 5:
        assert [b["taxType"] for b in sent] == ["과세", "영세"]
    await bot.command("status INV-000001")
    assert "Amended by" in last_reply(bot) and "INV-000002" in last_reply(bot)
    await bot.command("status INV-000002")
    assert "Amends" in last_reply(bot) and "INV-000001" in last_reply(bot)
    await bot.command("list")
    assert "amends" in last_reply(bot)


async def test_a_rejected_amendment_issues_nothing(bot: BotHarness) -> None:
    original = await _issued(bot, "popbill")
    await _file(bot, "popbill", original.provider_id)
    await bot.command("amend INV-000001 1 120000")
    await bot.runtime.service.decide(int(find_button(bot.cards()[-1]["blocks"], "approval_reject")["value"]),
                                     "U_BOB", approve=False, reason="wrong amount")
    amendments = await bot.runtime.store.documents.amendments_of(original.id)
    assert [d.lifecycle.value for d in amendments] == ["rejected", "rejected"]
    assert not [b for b in _bodies(bot, "popbill", r"^/Taxinvoice$") if b.get("modifyCode")]


async def test_an_amendment_on_hiworks_goes_through_its_amendment_endpoint(bot: BotHarness) -> None:
    original = await _issued(bot, "hiworks")
    original = await _file(bot, "hiworks", original.provider_id)
    await bot.command("amend INV-000001 1 120000 정정")
    await bot.click(bot.cards()[-1], "approval_approve", user="U_BOB")
    amendments = await bot.runtime.store.documents.amendments_of(original.id)
    assert [d.lifecycle.value for d in amendments] == ["issued", "issued"], text_of(bot.cards()[-1])
    sent = _bodies(bot, "hiworks", r"^/v4/invoices/amendment$")
    assert len(sent) == 1
    data = sent[0]["data"]
    assert data["amendment"] == {"originalIssueId": original.confirm_number, "modifyType": "01"}
    assert data["negative"]["invoiceType"]["typeCode"] == "M" and data["positive"]["invoiceType"]["typeCode"] == "M"
    assert all(d.provider_id for d in amendments)


async def test_the_amend_button_opens_the_form_and_the_form_asks_for_approval(bot: BotHarness) -> None:
    original = await _issued(bot, "popbill")
    await _file(bot, "popbill", original.provider_id)
    await bot.command("status INV-000001")
    status = bot.replies()[-1]
    await bot.click(status, "doc_amend", user="U_ALICE")
    modal = bot.last_modal()
    assert modal["callback_id"] == "invoice_amend"
    response = await bot.submit(modal, {"amend_reason": "4"}, user="U_ALICE")
    assert response.status_code == 200 and response.text in ("", "null"), response.text
    assert "reason 4" in text_of(bot.cards()[-1])


async def test_send_nts_runs_at_once_and_refuses_what_it_cannot_send(bot: BotHarness) -> None:
    original = await _issued(bot, "popbill")
    await bot.command("send-nts INV-000001")
    assert "sent to the NTS" in last_reply(bot)
    assert len(bot.sandbox("popbill").requests_to(r"^/Taxinvoice/SELL/", "POST")) >= 1
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.state is not None and doc.state.value in ("filing", "filed")
    await bot.command("send-nts INV-000001")
    assert "already" in last_reply(bot)
    await _issued(bot, "hiworks", "INV-000002")
    await bot.command("send-nts INV-000002")
    assert "only Popbill tax invoices" in last_reply(bot)
    assert original.provider_id


async def test_send_nts_goes_through_approval_when_configured(tmp_path: Any) -> None:
    async with running_bot(tmp_path, invoicebot_approval_actions="issue,destroy,send_nts") as bot:
        await _issued(bot, "popbill")
        await bot.command("send-nts INV-000001")
        card = bot.cards()[-1]
        assert "approval_approve" in text_of(card) and "send_nts" in text_of(card)
        assert not bot.sandbox("popbill").requests_to(r"^/Taxinvoice/SELL/", "POST")
        await bot.click(card, "approval_approve", user="U_BOB")
        assert len(bot.sandbox("popbill").requests_to(r"^/Taxinvoice/SELL/", "POST")) == 1


async def test_the_pdf_button_uploads_the_providers_pdf_to_the_thread(bot: BotHarness) -> None:
    await _issued(bot, "popbill")
    await bot.command("status INV-000001")
    await bot.click(bot.replies()[-1], "doc_pdf", user="U_ALICE")
    files = list(bot.slack.files.values())
    assert len(files) == 1
    upload = files[0]
    assert upload.data is not None and upload.data.startswith(b"%PDF-") and b"INV-000001" in upload.data
    assert b"Total: 143000 KRW" in upload.data
    assert [c for c in bot.calls("files.completeUploadExternal")]
    await bot.command("status INV-000001")
    assert "doc_pdf" in text_of(bot.replies()[-1])
