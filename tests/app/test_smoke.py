from __future__ import annotations

from tests.app.harness import BotHarness, text_of


async def test_help_answers_in_the_ack(bot: BotHarness) -> None:
    response = await bot.command("help")
    assert response.status_code == 200
    assert "/invoice issue" in response.text


async def test_issue_approve_status(bot: BotHarness) -> None:
    await bot.command("issue popbill tax")
    modal = bot.last_modal()
    await bot.submit(modal, {
        "buyer_bizno": "220-81-62517", "buyer_name": "주식회사 구매자", "buyer_ceo": "김대표",
        "buyer_email": "buyer@example.com", "items": "Consulting | 2 | 50000",
    }, user="U_ALICE")
    cards = bot.cards()
    assert len(cards) == 1, bot.slack.calls()
    await bot.click(cards[0], "approval_approve", user="U_BOB")
    card = bot.cards()[0]
    print(text_of(card))
    assert "approval_approve" not in text_of(card)
