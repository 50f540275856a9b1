"""Issue 11 over signed HTTP against the sandboxes: cash receipts as they are (a 지출증빙 receipt and
its cancellation receipt), a VAT-free (면세) Payssam bill, and an Abillify invoice in euros with 19% VAT."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.app.harness import BotHarness, text_of
from tests.app.test_checks import form_errors
from tests.local_http import LOCAL_TLS


def _bodies(bot: BotHarness, sandbox: str, path: str) -> list[dict[str, Any]]:
    return [{"headers": dict(r["headers"]), **json.loads(r["body"] or "null")}
            for r in bot.sandbox(sandbox).requests_to(path, "POST") if r["body"].startswith("{")]


def _blocks(view: dict[str, Any]) -> list[str]:
    return [str(b.get("block_id")) for b in view["blocks"]]


async def test_a_cash_receipt_form_asks_usage_and_identity_and_not_business_number_due_date_or_purpose(
        bot: BotHarness) -> None:
    await bot.command("issue popbill cash")
    blocks = _blocks(bot.last_modal())
    assert {"trade_usage", "identity_number", "taxation"} <= set(blocks)
    assert not {"buyer_bizno", "due_date", "purpose"} & set(blocks)

    answers = {"provider": "popbill", "kind": "cash_receipt", "buyer_name": "김고객", "items": "Books | 1 | 11000",
               "trade_usage": "expense_proof", "identity_number": "220-81-62518"}  # check digit wrong
    errors = form_errors(await bot.submit(bot.last_modal(), answers, user="U_ALICE"))
    assert set(errors) == {"identity_number"} and "check digit" in errors["identity_number"]
    answers.update(trade_usage="income_deduction", identity_number="02-123-4567")  # a landline
    errors = form_errors(await bot.submit(bot.last_modal(), answers, user="U_ALICE"))
    assert set(errors) == {"identity_number"} and "mobile" in errors["identity_number"]
    assert bot.cards() == []


async def test_an_expense_proof_cash_receipt_and_its_cancellation_receipt(bot: BotHarness) -> None:
    await bot.command("issue popbill cash")
    response = await bot.submit(bot.last_modal(), {
        "provider": "popbill", "kind": "cash_receipt", "buyer_name": "주식회사 구매자",
        "items": "Stationery | 2 | 50000", "trade_usage": "expense_proof", "identity_number": "220-81-62517",
        "taxation": "taxable"}, user="U_ALICE")
    assert response.text in ("", "null"), response.text
    await bot.click(bot.cards()[-1], "approval_approve", user="U_BOB")
    issued = [b for b in _bodies(bot, "popbill", r"^/Cashbill$") if b["headers"].get("X-HTTP-Method-Override")
              == "ISSUE"]
    assert len(issued) == 1
    body = issued[0]
    assert (body["tradeUsage"], body["identityNum"], body["taxationType"], body["tradeType"], body["tradeOpt"]) == (
        "지출증빙용", "2208162517", "과세", "승인거래", "일반")
    assert (body["supplyCost"], body["tax"], body["totalAmount"]) == ("100000", "10000", "110000")
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.lifecycle.value == "issued"

    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=bot.sandbox("popbill").base_url) as admin:
        filed = await admin.post("/_sandbox/popbill/nts", json={
            "kind": "cashbill", "corpNum": "6798700433", "mgtKey": doc.provider_id, "now": True})
        assert filed.status_code == 200, filed.text
    await bot.command("destroy INV-000001 issued to the wrong business")
    card = bot.cards()[-1]
    assert "issued to the wrong business" in text_of(card)  # through approval, not refused
    assert not [b for b in _bodies(bot, "popbill", r"^/Cashbill$")
                if b["headers"].get("X-HTTP-Method-Override") == "REVOKEISSUE"]
    await bot.click(card, "approval_approve", user="U_CAROL")
    revoked = [b for b in _bodies(bot, "popbill", r"^/Cashbill$")
               if b["headers"].get("X-HTTP-Method-Override") == "REVOKEISSUE"]
    assert len(revoked) == 1
    assert revoked[0]["mgtKey"] == f"{doc.provider_id}-C" and revoked[0]["orgConfirmNum"]
    assert revoked[0]["orgTradeDate"].isdigit() and len(revoked[0]["orgTradeDate"]) == 8
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.lifecycle.value == "destroyed"

    await bot.command("status INV-000001")
    reply = text_of(bot.replies()[-1])
    assert f"{doc.provider_id}-C" in reply and "cancellation cash receipt" in reply, reply


async def test_a_vat_free_payssam_bill_asks_no_vat(bot: BotHarness) -> None:
    await bot.command("issue payssam")
    assert "taxation" in _blocks(bot.last_modal())
    response = await bot.submit(bot.last_modal(), {
        "provider": "payssam", "kind": "bill", "buyer_name": "학부모", "buyer_phone": "010-1234-5678",
        "items": "Tuition, May | 1 | 250000\nTextbook | 2 | 15000", "taxation": "exempt"}, user="U_ALICE")
    assert response.text in ("", "null"), response.text
    card = bot.cards()[-1]
    assert "₩280,000" in text_of(card) and "VAT ₩0" in text_of(card) and "₩308,000" not in text_of(card)
    await bot.click(card, "approval_approve", user="U_BOB")
    bill = _bodies(bot, "payssam", r"/bill$")[-1]["bill"]
    assert (bill["price"], bill["supplyPrice"], bill["tax"]) == ("280000", "280000", "0")
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and (doc.supply, doc.vat, doc.total) == (280_000, 0, 280_000)


async def test_an_abillify_invoice_in_euros_with_19_percent_vat(bot: BotHarness) -> None:
    await bot.command("issue abillify")
    modal = bot.last_modal()
    currency = next(b for b in modal["blocks"] if b.get("block_id") == "currency")
    assert currency["element"]["initial_option"]["value"] == "EUR"
    rate = next(b for b in modal["blocks"] if b.get("block_id") == "vat_rate")
    assert rate["element"]["initial_option"]["value"] == "19"
    response = await bot.submit(modal, {
        "provider": "abillify", "kind": "invoice", "buyer_name": "Muster GmbH", "buyer_email": "ap@muster.de",
        "items": "Beratung | 1 | 1,234.56"}, user="U_ALICE")
    assert response.text in ("", "null"), response.text
    card = text_of(bot.cards()[-1])
    assert "€1,469.13" in card and "€1,234.56 · VAT €234.57" in card, card
    await bot.click(bot.cards()[-1], "approval_approve", user="U_BOB")
    created = _bodies(bot, "abillify", r"/invoices$")[-1]
    assert created["currency"] == "EUR"
    assert [(i["unitprice"], i["detail"]["taxrate"]) for i in created["items"]] == [(1234.56, 19)]
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.lifecycle.value == "issued"
    assert (doc.currency, doc.supply, doc.vat, doc.total) == ("EUR", 123_456, 23_457, 146_913)


async def test_abillify_takes_decimal_prices_and_a_rate_per_line(bot: BotHarness) -> None:
    await bot.command("issue abillify usd")
    modal = bot.last_modal()
    currency = next(b for b in modal["blocks"] if b.get("block_id") == "currency")
    assert currency["element"]["initial_option"]["value"] == "USD"
    response = await bot.submit(modal, {
        "provider": "abillify", "kind": "invoice", "buyer_name": "Muster GmbH", "currency": "EUR",
        "items": "Beratung | 3 | 120.50\nFachbuch | 1 | 20.00 | 7%"}, user="U_ALICE")
    assert response.text in ("", "null"), response.text
    # 361.50 at 19% = 68.685 -> 68.69; 20.00 at 7% = 1.40
    assert "€381.50 · VAT €70.09" in text_of(bot.cards()[-1]), text_of(bot.cards()[-1])
    errors = form_errors(await bot.submit(modal, {
        "provider": "abillify", "kind": "invoice", "buyer_name": "Muster GmbH",
        "items": "Beratung | 3 | 120.50 | 16%"}, user="U_ALICE"))
    assert set(errors) == {"items"} and "16%" in errors["items"]


async def test_korean_providers_stay_in_won(bot: BotHarness) -> None:
    response = await bot.command("issue popbill eur")
    assert "KRW only" in text_of(response.json())
    await bot.command("issue popbill tax")
    assert "currency" not in _blocks(bot.last_modal())
