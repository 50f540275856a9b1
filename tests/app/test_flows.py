"""A team's day, end to end over signed HTTP: issue, approve as a second person, status,
resend, destroy (approved again) and closure — for Popbill, Payssam and Hiworks (and
Abillify), each against its sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from commands.ledger import ApprovalAction
from tests.app.harness import APPROVALS, FINANCE, BotHarness, running_bot, text_of
from tests.local_http import LOCAL_TLS

BUYER = {
    "buyer_bizno": "220-81-62517",
    "buyer_name": "주식회사 구매자",
    "buyer_ceo": "김대표",
    "buyer_email": "buyer@example.com",
    "buyer_phone": "010-1234-5678",
    "items": "Consulting | 2 | 50000\nSupport | 1 | 30000",
}

FLOWS = [
    # provider, kind answer, resend command, what the destroyed document reads as
    ("popbill", "tax_invoice", "email buyer@example.com", "deleted"),
    ("payssam", "bill", "talk", "destroyed"),
    ("hiworks", "tax_invoice", None, "deleted"),
    ("abillify", "invoice", "email", "canceled"),
]


async def issue(bot: BotHarness, provider: str, kind: str, *, user: str = "U_ALICE") -> dict[str, Any]:
    """Open the modal with /invoice issue, fill it, and return the approval card."""
    before = len(bot.cards())
    await bot.command(f"issue {provider}", user=user)
    modal = bot.last_modal()
    response = await bot.submit(modal, {**BUYER, "provider": provider, "kind": kind}, user=user)
    assert response.status_code == 200
    assert response.text in ("", "null"), f"the modal was refused: {response.text}"
    cards = bot.cards()
    assert len(cards) == before + 1
    return cards[-1]


def only_card(bot: BotHarness, ref: str) -> dict[str, Any]:
    matching = [c for c in bot.cards() if ref in text_of(c)]
    assert matching, f"no card for {ref}"
    return matching[-1]


def last_reply(bot: BotHarness) -> str:
    replies = bot.replies()
    assert replies, "the command got no reply"
    return text_of(replies[-1])


@pytest.mark.parametrize(("provider", "kind", "resend", "destroyed"), FLOWS)
async def test_issue_approve_status_resend_destroy(bot: BotHarness, provider: str, kind: str,
                                                   resend: str | None, destroyed: str) -> None:
    card = await issue(bot, provider, kind)
    text = text_of(card)
    assert "INV-000001" in text
    assert "SANDBOX" in text  # every message about a sandbox document says so
    assert "approval_approve" in text and "approval_reject" in text

    # Alice is told where her request went.
    assert any("waiting for approval" in text_of(e) for e in bot.ephemerals(user="U_ALICE"))

    # Bob approves: the provider issues it once, the card loses its buttons, Alice hears back.
    await bot.click(card, "approval_approve", user="U_BOB")
    decided = only_card(bot, "INV-000001")
    assert "approval_approve" not in text_of(decided)
    assert "U_BOB" in text_of(decided)
    assert any("INV-000001" in text_of(m) for m in bot.dms("U_ALICE"))
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.lifecycle.value == "issued" and doc.provider_id

    # Status asks the provider and shows state and amounts.
    await bot.command("status INV-000001")
    status = last_reply(bot)
    # issue 11: an Abillify invoice is in the seller's currency (EUR unless configured), not won
    symbol = "€" if provider == "abillify" else "₩"
    assert "INV-000001" in status and symbol in status and "SANDBOX" in status

    # Resend (no approval needed by default), or a clear "cannot" where the provider can't.
    if resend is None:
        await bot.command("resend INV-000001")
        assert "cannot resend" in last_reply(bot)
    else:
        await bot.command(f"resend INV-000001 {resend}")
        assert "resend done" in last_reply(bot), last_reply(bot)

    # Destroy needs approval too; Carol approves it.
    await bot.command("destroy INV-000001 wrong buyer")
    destroy_card = bot.cards()[-1]
    assert "destroy" in text_of(destroy_card).lower() and "wrong buyer" in text_of(destroy_card)
    await bot.click(destroy_card, "approval_approve", user="U_CAROL")
    assert "approval_approve" not in text_of(bot.cards()[-1])
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.lifecycle.value == "destroyed", doc
    assert doc.state is not None and doc.state.value == destroyed


async def test_popbill_status_offers_the_providers_page_as_a_button_not_a_dead_link(bot: BotHarness) -> None:
    card = await issue(bot, "popbill", "tax_invoice")
    await bot.click(card, "approval_approve", user="U_BOB")
    await bot.command("status INV-000001")
    reply = last_reply(bot)
    # Popbill's URLs live 30 seconds: the card has buttons that fetch them (tests/app/test_status_links.py)
    assert "/App/API" not in reply and "doc_open" in reply and "doc_pdf" in reply


async def test_a_filed_popbill_invoice_cannot_be_destroyed_and_the_user_is_told_why(bot: BotHarness) -> None:
    card = await issue(bot, "popbill", "tax_invoice")
    await bot.click(card, "approval_approve", user="U_BOB")
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None
    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=bot.sandbox("popbill").base_url) as admin:
        filed = await admin.post("/_sandbox/popbill/nts", json={
            "kind": "taxinvoice", "corpNum": "6798700433", "mgtKey": doc.provider_id, "now": True})
        assert filed.status_code == 200, filed.text
    cards_before = len(bot.cards())
    await bot.command("destroy INV-000001 too late")
    # issue 9: refused when asked, after reading Popbill's current state; no approver ever sees it
    assert len(bot.cards()) == cards_before
    reply = last_reply(bot)
    assert "filed" in reply and "can no longer be destroyed" in reply, reply
    assert "amendment" in reply and "수정" in reply
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.lifecycle.value == "issued" and doc.state is not None
    assert doc.state.value == "filed"  # the state read at request time is kept
    assert not await bot.runtime.store.approvals.search(action=ApprovalAction.DESTROY)


async def test_closure_check_many_numbers_with_dates(bot: BotHarness) -> None:
    await bot.command("closure 679-87-00433, 123-12-12312 220-88-75476 1234567890")
    reply = last_reply(bot)
    assert "closed" in reply and "suspended" in reply and "active" in reply
    assert "Fri, 31 Mar 2023" in reply  # the closing date
    assert "check digit" in reply  # 1234567890 is still checked, with a warning


async def test_a_long_closure_check_reports_progress_then_replaces_it(bot: BotHarness) -> None:
    numbers = " ".join(f"{n:010d}" for n in range(1231212312, 1231212312 + 45))
    await bot.command(f"closure {numbers}")
    replies = bot.replies()
    assert "Checking 45 numbers" in text_of(replies[0])
    assert replies[-1].get("replace_original") is True
    assert "45 number" in text_of(replies[-1])


async def test_list_and_pending(bot: BotHarness) -> None:
    await issue(bot, "payssam", "bill")
    await bot.command("list pending", user="U_BOB")
    assert "INV-000001" in last_reply(bot)
    await bot.command("list")
    assert "INV-000001" in last_reply(bot)


async def test_export_sends_a_csv_to_the_approver_who_asked_only(bot: BotHarness) -> None:
    """Issue 9: the file goes to the asker's direct messages, never into the channel."""
    card = await issue(bot, "popbill", "tax_invoice")
    await bot.click(card, "approval_approve", user="U_BOB")
    await bot.command("export", user="U_BOB")
    upload = bot.slack.calls("files.completeUploadExternal")[-1]
    assert upload.args.get("channel_id") == "D_BOB"
    assert not [m for m in bot.slack.messages_in(FINANCE) if m.get("files")]
    stored = [f for f in bot.slack.files.values() if f.completed] if isinstance(bot.slack.files, dict) else [
        f for f in bot.slack.files if f.completed]
    csv = stored[-1].data or b""
    assert csv.startswith("\ufeff".encode()) and b"INV-000001" in csv
    assert "Export ready" in last_reply(bot)


async def test_reject_asks_for_a_reason_and_tells_the_requester(bot: BotHarness) -> None:
    card = await issue(bot, "hiworks", "tax_invoice")
    await bot.click(card, "approval_reject", user="U_BOB")
    modal = bot.last_modal()
    assert modal["callback_id"] == "approval_reject_reason"
    refused = await bot.submit(modal, {"reason": "no"}, user="U_BOB")
    assert refused.json()["response_action"] == "errors"
    await bot.submit(modal, {"reason": "wrong amount"}, user="U_BOB")
    final = text_of(only_card(bot, "INV-000001"))
    assert "Rejected" in final and "wrong amount" in final and "approval_approve" not in final
    assert any("wrong amount" in text_of(m) for m in bot.dms("U_ALICE"))
    assert bot.sandbox("hiworks").requests_to(r"^/v4/invoices$", "POST") == []


async def test_digest_subcommands(bot: BotHarness) -> None:
    await bot.command("digest schedule 09:00")
    assert "09:00" in last_reply(bot)
    await bot.command("digest show")
    assert "09:00" in last_reply(bot)
    await bot.command("digest now")
    assert bot.slack.messages_in(FINANCE), "digest now posts in the channel"
    await bot.command("digest off")
    assert "off" in last_reply(bot).lower() or "stopped" in last_reply(bot).lower()


async def test_app_home_shows_waiting_approvals_with_buttons(bot: BotHarness) -> None:
    await issue(bot, "popbill", "tax_invoice")
    await bot.send(bot.factory.app_home_opened("U_BOB"))
    home = bot.slack.calls("views.publish")[-1].args
    assert home["user_id"] == "U_BOB"
    assert "INV-000001" in text_of(home["view"]) and "approval_approve" in text_of(home["view"])


async def test_approvals_channel_receives_the_cards(bot: BotHarness) -> None:
    await issue(bot, "payssam", "bill")
    assert bot.slack.messages_in(APPROVALS)


async def test_the_same_day_on_each_database(tmp_path: Path, database_url: str) -> None:
    """The app on each supported database: issue, approve, status, destroy."""
    async with running_bot(tmp_path, database_url=database_url) as bot:
        card = await issue(bot, "popbill", "tax_invoice")
        await bot.click(card, "approval_approve", user="U_BOB")
        await bot.command("status INV-000001")
        assert "INV-000001" in last_reply(bot)
        await bot.command("destroy INV-000001 duplicate")
        await bot.click(bot.cards()[-1], "approval_approve", user="U_CAROL")
        doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
        assert doc is not None and doc.lifecycle.value == "destroyed"
