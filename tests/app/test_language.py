"""Each person reads the bot in their language, channels in the workspace's, over signed HTTP."""

from __future__ import annotations

from pathlib import Path

from tests.app.harness import running_bot, text_of
from tests.app.test_flows import issue


async def test_lang_is_stored_and_every_answer_to_that_person_follows_it(tmp_path: Path) -> None:
    async with running_bot(tmp_path, invoicebot_language="en") as bot:
        await bot.command("list", user="U_ALICE")
        assert "document(s)" in text_of(bot.replies()[-1])

        await bot.command("lang ko", user="U_ALICE")
        assert "한국어" in text_of(bot.replies()[-1])
        await bot.command("list", user="U_ALICE")
        assert "문서" in text_of(bot.replies()[-1]) and "document(s)" not in text_of(bot.replies()[-1])
        await bot.command("lang", user="U_ALICE")
        assert "`/invoice lang`으로 직접 선택했습니다" in text_of(bot.replies()[-1])
        await bot.command("list", user="U_BOB")  # someone else still reads the workspace language
        assert "document(s)" in text_of(bot.replies()[-1])

        card = await issue(bot, "popbill", "tax_invoice", user="U_ALICE")
        assert "Approve" in text_of(card) and "승인" not in text_of(card)  # a card is the channel's
        waiting = text_of(bot.ephemerals("U_ALICE")[-1])
        assert "승인을 기다립니다" in waiting  # ... the note to Alice is hers
        assert (await bot.runtime.store.user_prefs.get("U_ALICE")).language == "ko"  # type: ignore[union-attr]

        await bot.command("lang auto", user="U_ALICE")
        await bot.command("list", user="U_ALICE")
        assert "document(s)" in text_of(bot.replies()[-1])


async def test_in_auto_a_person_reads_their_slack_locale_and_channels_the_majority(tmp_path: Path) -> None:
    async with running_bot(tmp_path, invoicebot_language="auto") as bot:
        bot.slack.add_user("U_ALICE", locale="ko-KR")
        bot.slack.add_user("U_BOB", locale="en-US")
        await bot.command("list", user="U_ALICE")
        assert "문서" in text_of(bot.replies()[-1])
        await bot.command("list", user="U_BOB")
        assert "document(s)" in text_of(bot.replies()[-1])
        assert any(str(c.args.get("include_locale")).lower() in ("true", "1") for c in bot.calls("users.info"))

        card = await issue(bot, "popbill", "tax_invoice", user="U_ALICE")
        assert "반려" in text_of(card)  # one Korean and one English reader: a tie is Korean
