"""Through the running app: hostile text typed as a buyer name, an item, a memo, a reject reason
and a destroy reason never reaches Slack raw, on any surface the app writes to (cards and their
updates, DMs, ephemeral answers, App Home, thread replies, the digest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.harness import BotHarness, running_bot
from tests.faults.flows import FAST, issue_approved, request_issue
from tests.security.hostile import HOSTILE, raw_markers

SURFACES = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url", "views.publish")


def leaks(bot: BotHarness) -> list[tuple[str, str, str]]:
    found = []
    for call in bot.slack.calls():
        if call.method in SURFACES:
            payload = call.args if call.method != "views.publish" else call.args.get("view")
            found.extend((call.method, marker, text) for marker, text in raw_markers(payload))
    return found


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_hostile_text_in_a_request_reaches_no_surface_raw(tmp_path: Path, hostile: str) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        card = await request_issue(bot, "popbill", answers={
            "buyer_name": hostile[:60], "items": f"{hostile[:60].replace('|', ' ')} | 1 | 10000", "memo": hostile})
        await bot.click(card, "approval_reject", user="U_BOB")
        reject_form = bot.last_modal()
        from bot.console.render import build_view_state, modal_to_prompts

        values = build_view_state(modal_to_prompts(reject_form), {"reason": hostile})
        await bot.send(bot.factory.view_submission(user_id="U_BOB", view=reject_form, values=values))
        await bot.send(bot.factory.app_home_opened("U_BOB"))
        await bot.send(bot.factory.app_home_opened("U_ALICE"))

        assert not leaks(bot), leaks(bot)[:3]


@pytest.mark.parametrize("hostile", HOSTILE[:3])
async def test_a_hostile_destroy_reason_reaches_no_surface_raw(tmp_path: Path, hostile: str) -> None:
    async with running_bot(tmp_path, **FAST) as bot:
        await issue_approved(bot, "popbill")
        await bot.command(f"destroy INV-000001 {hostile}")
        await bot.command("list pending", user="U_BOB")
        await bot.command("status INV-000001")

        assert not leaks(bot), leaks(bot)[:3]
