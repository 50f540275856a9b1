"""The tax calendar through the running app, over signed HTTP, on a frozen clock.

Today is Friday 6 March 2026 in Seoul for the whole app (workflow, cards, digest), so
every deadline below is fixed whatever day the tests run:

* written 2026-01-20: issuance deadline 2026-02-10, passed: 지연발급 1% of ₩130,000 = ₩1,300;
* written 2026-02-10: deadline Tuesday 2026-03-10, 4 days left: ₩1,300 at risk;
* written 2026-03-03: deadline 2026-04-10, not near;
* issued 2026-03-03 and not transmitted: transmission deadline 2026-03-04, passed: 지연전송 0.3% = ₩390.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from commands.ledger.schema import documents
from commands.slack.formatting import format_date
from tests.app.harness import APPROVALS, FINANCE, BotHarness, running_bot, text_of

NOW = dt.datetime(2026, 3, 6, 1, 0, tzinfo=dt.UTC)  # 10:00 in Seoul


def day(year: int, month: int, on: int) -> str:
    """A day as the messages write it (the formatter's, in the workspace language)."""
    return format_date(dt.date(year, month, on))
BUYER = {
    "buyer_bizno": "220-81-62517",
    "buyer_name": "주식회사 구매자",
    "buyer_ceo": "김대표",
    "buyer_email": "buyer@example.com",
    "items": "Consulting | 2 | 50000\nSupport | 1 | 30000",  # supply ₩130,000
}


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with running_bot(tmp_path, clock=lambda: NOW) as harness:
        yield harness


async def request_issue(bot: BotHarness, write_date: str, *, provider: str = "popbill") -> dict[str, Any]:
    """Ask for a tax invoice written on `write_date` through the modal; returns its approval card."""
    before = len(bot.cards())
    await bot.command(f"issue {provider}")
    response = await bot.submit(bot.last_modal(), {**BUYER, "provider": provider, "kind": "tax_invoice",
                                                   "write_date": write_date}, user="U_ALICE")
    assert response.text in ("", "null"), f"the modal was refused: {response.text}"
    assert len(bot.cards()) == before + 1
    return bot.cards()[-1]


def card_of(bot: BotHarness, ref: str) -> dict[str, Any]:
    return [c for c in bot.cards() if ref in text_of(c)][-1]


def approve_button(card: dict[str, Any]) -> dict[str, Any]:
    buttons = [e for b in card.get("blocks") or [] for e in b.get("elements") or []
               if isinstance(e, dict) and str(e.get("action_id", "")).startswith("approval_approve")]
    assert len(buttons) == 1, buttons
    return buttons[0]


async def test_an_issue_card_and_the_confirmation_show_the_issuance_deadline(bot: BotHarness) -> None:
    card = await request_issue(bot, "2026-02-10")
    text = text_of(card)
    assert f"Issuance deadline {day(2026, 3, 10)}" in text and "4 days left" in text
    assert "₩1,300" in text  # what missing it would cost
    assert approve_button(card)["action_id"] == "approval_approve"  # on time: the ordinary Approve
    told = [text_of(e) for e in bot.ephemerals(user="U_ALICE") if "waiting for approval" in text_of(e)]
    assert told and f"Issuance deadline {day(2026, 3, 10)}" in told[-1]

    await bot.command("status INV-000001")
    assert f"Issuance deadline {day(2026, 3, 10)}" in text_of(bot.replies()[-1])


async def test_a_payssam_bill_has_no_tax_deadline(bot: BotHarness) -> None:
    await bot.command("issue payssam")
    await bot.submit(bot.last_modal(), {**BUYER, "provider": "payssam", "kind": "bill",
                                        "buyer_phone": "010-1234-5678"}, user="U_ALICE")
    assert "deadline" not in text_of(bot.cards()[-1]).lower()


async def test_a_late_request_shows_its_penalty_and_needs_a_confirmed_approve(bot: BotHarness) -> None:
    card = await request_issue(bot, "2026-01-20")
    text = text_of(card)
    assert "Late" in text and day(2026, 2, 10) in text and "₩1,300" in text and "지연발급" in text
    button = approve_button(card)
    assert button["action_id"] == "approval_approve_late"
    assert "₩1,300" in button["confirm"]["text"]["text"]  # the dialog names the penalty
    popbill = bot.sandbox("popbill")

    # A click on an ordinary Approve (a card drawn before the deadline passed) issues nothing.
    stale = bot.factory.block_action(
        user_id="U_BOB", action_id="approval_approve", value=button["value"], block_id=f"approval:{button['value']}",
        channel_id=APPROVALS, message=dict(card),
        response_url=bot.slack.response_url(channel=APPROVALS, ts=str(card.get("ts"))))
    await bot.send(stale)
    assert popbill.requests_to(r"^/Taxinvoice$", "POST") == []
    assert any("past its issuance deadline" in text_of(e) for e in bot.ephemerals(user="U_BOB"))
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.lifecycle.value == "pending_approval"

    # The late Approve (its dialog confirmed) issues it, with Popbill's forceIssue.
    await bot.click(card_of(bot, "INV-000001"), "approval_approve_late", user="U_BOB")
    sent = popbill.requests_to(r"^/Taxinvoice$", "POST")
    assert len(sent) == 1
    assert json.loads(sent[0]["body"])["forceIssue"] is True
    doc = await bot.runtime.store.documents.get_by_ref("INV-000001")
    assert doc is not None and doc.lifecycle.value == "issued"
    approval = await bot.runtime.service.get_approval(int(button["value"]))
    assert approval.payload["late_issue"]["confirmed_by"] == "U_BOB"
    assert approval.payload["late_issue"]["penalty"] == 1300
    events = await bot.runtime.store.audit.search(document_id=doc.id, limit=40)
    assert [e.actor for e in events if e.operation == "issue.late_confirmed"] == ["U_BOB"]


async def test_an_on_time_issue_is_sent_without_force_issue(bot: BotHarness) -> None:
    card = await request_issue(bot, "2026-03-03")
    await bot.click(card, "approval_approve", user="U_BOB")
    sent = bot.sandbox("popbill").requests_to(r"^/Taxinvoice$", "POST")
    assert len(sent) == 1 and "forceIssue" not in json.loads(sent[0]["body"])


async def _four_documents(bot: BotHarness) -> None:
    await request_issue(bot, "2026-01-20")  # INV-000001: late
    await request_issue(bot, "2026-02-10")  # INV-000002: due in 4 days
    await request_issue(bot, "2026-03-03")  # INV-000003: not near
    issued = await request_issue(bot, "2026-03-03", provider="hiworks")  # INV-000004: issued, not transmitted
    await bot.click(issued, "approval_approve", user="U_BOB")
    async with bot.runtime.store.engine.begin() as conn:
        await conn.execute(sa.update(documents).where(documents.c.ref == "INV-000004").values(
            issued_at=dt.datetime(2026, 3, 3, 2, 0, tzinfo=dt.UTC), state="issued"))


def assert_the_deadlines(text: str) -> None:
    assert "INV-000001" in text and "INV-000002" in text and "INV-000004" in text
    assert "INV-000003" not in text
    assert "4 days left" in text  # INV-000002
    assert "₩390" in text and "지연전송" in text  # INV-000004
    assert "₩2,990" in text  # the total at risk: 1,300 + 1,300 + 390


async def test_the_digest_has_a_deadlines_section(bot: BotHarness) -> None:
    await _four_documents(bot)
    await bot.command("digest now", user="U_BOB")
    digests = [m for m in bot.slack.messages_in(FINANCE) if "Invoicing digest" in str(m.get("text"))]
    assert digests, "digest now posts in the channel"
    blocks = digests[-1]["blocks"]
    start = next(i for i, b in enumerate(blocks) if "Deadlines" in json.dumps(b, ensure_ascii=False))
    end = next(i for i, b in enumerate(blocks) if i > start and b["type"] == "divider")
    assert_the_deadlines(json.dumps(blocks[start:end], ensure_ascii=False))  # the section, not the pending list


@pytest.mark.parametrize("word", ["deadlines", "기한"])
async def test_invoice_deadlines_lists_the_same_privately(bot: BotHarness, word: str) -> None:
    await _four_documents(bot)
    await bot.command(word)
    reply = bot.replies()[-1]
    assert reply.get("response_type") == "ephemeral"
    assert f"Tax deadlines as of {day(2026, 3, 6)}" in text_of(reply)
    assert_the_deadlines(text_of(reply))


async def test_invoice_deadlines_with_nothing_due(bot: BotHarness) -> None:
    await bot.command("deadlines")
    assert "Nothing is near or past a tax deadline" in text_of(bot.replies()[-1])
