"""Issue 9, checks before approval, over signed HTTP against the sandboxes: what is knowable when a
request is made is refused then (on the form's field, or in the command's reply), so no approver
ever sees a request bound to fail; closure (휴폐업) at request time with an override; N-of-M
approvals above an amount."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from commands.ledger import ApprovalState
from tests.app.harness import BotHarness, running_bot, text_of
from tests.local_http import LOCAL_TLS

BUYER = {
    "buyer_bizno": "220-81-62517",  # active at both sandboxes
    "buyer_name": "주식회사 구매자",
    "buyer_ceo": "김대표",
    "buyer_email": "buyer@example.com",
    "buyer_phone": "010-1234-5678",
    "items": "Consulting | 2 | 50000",
}
CLOSED = "123-12-12312"  # 폐업 since 2023-03-31 at the Popbill sandbox, 2023-12-31 at Hiworks
SUSPENDED = "220-88-75476"  # 휴업


async def submit_issue(bot: BotHarness, provider: str, kind: str, **answers: Any) -> httpx.Response:
    await bot.command(f"issue {provider}")
    fields = {**BUYER, "provider": provider, "kind": kind, **answers}
    return await bot.submit(bot.last_modal(), {k: v for k, v in fields.items() if v is not None}, user="U_ALICE")


def form_errors(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200
    body = json.loads(response.text or "null") or {}
    assert body.get("response_action") == "errors", response.text
    return dict(body["errors"])


async def test_hiworks_without_the_representative_is_refused_on_the_form(bot: BotHarness) -> None:
    errors = form_errors(await submit_issue(bot, "hiworks", "tax_invoice", buyer_ceo=None))
    assert set(errors) == {"buyer_ceo"} and "representative" in errors["buyer_ceo"]
    assert bot.cards() == []
    assert not bot.sandbox("hiworks").requests_to(r"^/v4/invoices")


async def test_a_quantity_with_four_decimals_is_refused_on_the_items(bot: BotHarness) -> None:
    errors = form_errors(await submit_issue(bot, "popbill", "tax_invoice", items="Consulting | 1.2345 | 50000"))
    assert set(errors) == {"items"} and "allows 2" in errors["items"]
    assert bot.cards() == []


async def test_unsupported_provider_and_kind_pairs_are_refused_in_the_command(bot: BotHarness) -> None:
    for text, offered in (("issue hiworks cash", "`statement`"), ("issue popbill bill", "`cash`")):
        response = await bot.command(text)  # a parser refusal is the ack's own answer
        reply = text_of(response.json())
        assert "does not issue" in reply and offered in reply, reply
    assert not bot.calls("views.open")  # no form offering seven kinds was opened


async def test_the_form_offers_only_the_providers_kinds_and_preselects_a_single_one(bot: BotHarness) -> None:
    await bot.command("issue payssam")
    kind = next(b for b in bot.last_modal()["blocks"] if b.get("block_id") == "kind")
    assert [o["value"] for o in kind["element"]["options"]] == ["bill"]
    assert kind["element"]["initial_option"]["value"] == "bill"


async def test_a_closed_buyer_is_refused_unless_an_override_reason_is_given(bot: BotHarness) -> None:
    errors = form_errors(await submit_issue(bot, "popbill", "tax_invoice", buyer_bizno=CLOSED))
    assert set(errors) == {"closure_override"}
    assert "closed (폐업)" in errors["closure_override"] and "2023-03-31" in errors["closure_override"]
    assert bot.cards() == []

    response = await submit_issue(bot, "popbill", "tax_invoice", buyer_bizno=CLOSED,
                                  closure_override="reopened in May; see the registration")
    assert response.text in ("", "null"), response.text
    card = bot.cards()[-1]
    assert "reopened in May" in text_of(card) and "0 of 2" in text_of(card)
    approval = (await bot.runtime.store.approvals.search())[-1]
    assert approval.override_reason == "reopened in May; see the registration"
    assert approval.required_approvals == 2

    # the usual one approval is not enough: Bob's counts, the card says who and how many more
    await bot.click(card, "approval_approve", user="U_BOB")
    card = bot.cards()[-1]
    assert "1 of 2" in text_of(card) and "U_BOB" in text_of(card) and "approval_approve" in text_of(card)
    assert not bot.sandbox("popbill").requests_to(r"^/Taxinvoice", "POST")
    await bot.click(card, "approval_approve", user="U_CAROL")
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.lifecycle.value == "issued"


async def test_a_closed_buyer_is_refused_at_hiworks_too(bot: BotHarness) -> None:
    errors = form_errors(await submit_issue(bot, "hiworks", "tax_invoice", buyer_bizno=CLOSED))
    assert set(errors) == {"closure_override"}


async def test_a_suspended_buyer_is_a_warning_on_the_card(bot: BotHarness) -> None:
    response = await submit_issue(bot, "popbill", "tax_invoice", buyer_bizno=SUSPENDED)
    assert response.text in ("", "null"), response.text
    assert "suspended (휴업)" in text_of(bot.cards()[-1])


async def test_an_unreachable_closure_service_is_said_on_the_card_and_does_not_block(bot: BotHarness) -> None:
    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=bot.sandbox("popbill").base_url) as admin:
        added = await admin.post("/_sandbox/faults", json={"kind": "503", "path": "^/CloseDown", "count": 10})
        assert added.status_code == 200, added.text
    response = await submit_issue(bot, "popbill", "tax_invoice", buyer_bizno="214-86-39239")
    assert response.text in ("", "null"), response.text
    assert "could not be checked" in text_of(bot.cards()[-1])


async def test_above_the_amount_two_distinct_approvers_are_needed(tmp_path: Path) -> None:
    async with running_bot(tmp_path, invoicebot_two_approvals_above=50_000) as bot:
        response = await submit_issue(bot, "popbill", "tax_invoice")  # 110,000 won
        assert response.text in ("", "null"), response.text
        card = bot.cards()[-1]
        assert "0 of 2" in text_of(card)
        # the same approver twice counts once
        await bot.click(card, "approval_approve", user="U_BOB")
        await bot.click(bot.cards()[-1], "approval_approve", user="U_BOB")
        approval = (await bot.runtime.store.approvals.search())[-1]
        assert approval.state is ApprovalState.PENDING
        assert await bot.runtime.store.approvals.voters(approval.id) == ["U_BOB"]
        assert "1 more needed" in text_of(bot.cards()[-1])
        # a second, different approver completes it; the provider is called once
        await bot.click(bot.cards()[-1], "approval_approve", user="U_DAVE")  # via the S_FINANCE_LEADS group
        approval = (await bot.runtime.store.approvals.search())[-1]
        assert approval.state is ApprovalState.SUCCEEDED
        assert len(bot.sandbox("popbill").requests_to(r"^/Taxinvoice", "POST")) == 1
        final = text_of(bot.cards()[-1])
        assert "U_BOB" in final and "U_DAVE" in final
