"""A workspace's language (App Home → Settings) is the language of what the bot posts to that
workspace's channels, over INVOICEBOT_LANGUAGE: with Alpha set to Korean and Beta to English,
each one's approval card (asked for and decided) and its scheduled digest come out in its
language, and so do the DMs of requesters who chose no language of their own."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from commands.ledger import utc_now
from commands.ledger.schema import approval_requests
from commands.slack.features.approvals import expire_approvals
from commands.slack.features.sweep import post_sweep_changes
from commands.workflow.sweep_report import StateChange, SweepReport
from providers.models import DocumentState
from tests.app.harness import BotHarness, text_of
from tests.app.multi_harness import as_workspace, install, running_multi_bot
from tests.app.test_flows import BUYER
from tests.app.test_workspace_settings import open_settings

SEOUL = ZoneInfo("Asia/Seoul")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
#: English messages quote the Korean legal term in brackets ("Tax invoice (세금계산서)")
GLOSS = re.compile(r"\([^()]*[\uac00-\ud7a3][^()]*\)")
#: a buyer whose own name and CEO carry no Hangul, so Hangul in a message is the bot's wording
LATIN_BUYER = {**BUYER, "buyer_name": "ACME Trading", "buyer_ceo": "Kim"}


def korean(message: dict[str, Any]) -> bool:
    """Whether the bot's own wording in `message` is Korean."""
    return bool(HANGUL.search(GLOSS.sub("", text_of(message))))


async def issue(bot: BotHarness, user: str = "U_ALICE") -> None:
    await bot.command("issue popbill", user=user)
    answer = await bot.submit(bot.last_modal(), {**LATIN_BUYER, "provider": "popbill", "kind": "tax_invoice"},
                              user=user)
    assert answer.status_code == 200 and answer.text in ("", "null"), answer.text


async def set_language(bot: BotHarness, language: str) -> None:
    modal = await open_settings(bot, "U_ADA")
    assert modal is not None
    saved = await bot.submit(modal, {"language": language}, user="U_ADA")
    assert saved.text in ("", "null"), saved.text


@contextlib.asynccontextmanager
async def korean_alpha_english_beta(tmp_path: Path) -> AsyncIterator[tuple[BotHarness, BotHarness, BotHarness]]:
    """Alpha and Beta installed; Alpha's admin set Korean, Beta's English, over INVOICEBOT_LANGUAGE=en."""
    async with running_multi_bot(tmp_path, invoicebot_admins="U_ADA", invoicebot_language="en") as bot:
        await install(bot, "code-a", "T_ALPHA")
        await install(bot, "code-b", "T_BETA")
        alpha, beta = as_workspace(bot, "T_ALPHA"), as_workspace(bot, "T_BETA")
        await set_language(alpha, "ko")
        await set_language(beta, "en")
        yield bot, alpha, beta


async def test_each_workspace_reads_its_own_language_in_its_channels(tmp_path: Path) -> None:
    async with korean_alpha_english_beta(tmp_path) as (bot, alpha, beta):

        await issue(alpha)
        alpha_card = bot.cards()[-1]
        await issue(beta, user="U_CAROL")
        beta_card = bot.cards()[-1]
        assert korean(alpha_card), text_of(alpha_card)
        assert not korean(beta_card), text_of(beta_card)

        await alpha.click(alpha_card, "approval_approve", user="U_BOB")
        await beta.click(beta_card, "approval_approve", user="U_BOB")
        alpha_card = next(c for c in bot.cards() if c["ts"] == alpha_card["ts"])
        beta_card = next(c for c in bot.cards() if c["ts"] == beta_card["ts"])
        assert korean(alpha_card) and not korean(beta_card)  # the decided cards, with their outcome
        # the requesters chose nothing: their own messages follow their workspace too
        assert korean(bot.dms("U_ALICE")[-1]) and not korean(bot.dms("U_CAROL")[-1])

        at = dt.datetime.now(SEOUL) - dt.timedelta(minutes=1)
        await alpha.command(f"digest schedule {at:%H:%M}", user="U_ALICE", channel="C_ALPHA_DIGEST")
        await beta.command(f"digest schedule {at:%H:%M}", user="U_ALICE", channel="C_BETA_DIGEST")
        scheduler = bot.runtime.scheduler
        assert scheduler is not None
        for channel in ("C_ALPHA_DIGEST", "C_BETA_DIGEST"):
            assert (await scheduler.run_digest(channel)).outcome.value == "posted"
        alpha_digest = bot.slack.messages_in("C_ALPHA_DIGEST")[0]
        beta_digest = bot.slack.messages_in("C_BETA_DIGEST")[0]
        assert korean(alpha_digest), text_of(alpha_digest)
        assert not korean(beta_digest), text_of(beta_digest)


async def test_the_sweeps_thread_notices_go_out_as_each_documents_workspace(tmp_path: Path) -> None:
    """The sweep runs with no request behind it: each change is posted in its document's thread with
    that document's workspace's token and in that workspace's language."""
    async with korean_alpha_english_beta(tmp_path) as (bot, alpha, beta):
        await issue(alpha)
        await alpha.click(bot.cards()[-1], "approval_approve", user="U_BOB")
        await issue(beta, user="U_CAROL")
        await beta.click(bot.cards()[-1], "approval_approve", user="U_BOB")
        changes = []
        for team in ("T_ALPHA", "T_BETA"):
            [doc] = [d for d in await _issued(bot) if d.team_id == team]
            changes.append(StateChange(
                document_id=doc.id, ref=doc.ref, provider=doc.provider, provider_id=doc.provider_id or "",
                sandbox=True, previous=doc.state, current=DocumentState.FILED, raw_state="301", detail=None,
                channel_id=None, thread_ts=None, team_id=team))
        before = len(bot.slack.calls("chat.postMessage"))

        await post_sweep_changes(bot.runtime.deps, SweepReport(started_at=dt.datetime.now(dt.UTC), changes=changes))

        notices = [c for c in bot.slack.calls("chat.postMessage")[before:] if c.args.get("thread_ts")]
        assert [c.team_id for c in notices] == ["T_ALPHA", "T_BETA"]
        alpha_notice, beta_notice = (str(c.args.get("text")) for c in notices)
        assert HANGUL.search(GLOSS.sub("", alpha_notice)), alpha_notice
        assert not HANGUL.search(GLOSS.sub("", beta_notice)), beta_notice


async def _issued(bot: BotHarness) -> list[Any]:
    rows = await bot.runtime.store.documents.search(limit=10)
    assert len(rows) == 2, rows
    return rows


async def test_cards_the_expiry_job_updates_go_out_as_each_requests_workspace(tmp_path: Path) -> None:
    """Expiry runs with no request behind it: each expired card is updated with its own workspace's
    token and in its workspace's language, and its requester is told likewise."""
    async with korean_alpha_english_beta(tmp_path) as (bot, alpha, beta):
        await issue(alpha)
        alpha_ts = bot.cards()[-1]["ts"]
        await issue(beta, user="U_CAROL")
        beta_ts = bot.cards()[-1]["ts"]
        async with bot.runtime.store.engine.begin() as conn:  # a day went by without a decision
            await conn.execute(sa.update(approval_requests).values(expires_at=utc_now() - dt.timedelta(minutes=1)))
        before = len(bot.slack.calls("chat.update"))

        await expire_approvals(bot.runtime.deps)

        updates = bot.slack.calls("chat.update")[before:]
        assert sorted((c.args["ts"], c.team_id) for c in updates) == sorted(
            [(alpha_ts, "T_ALPHA"), (beta_ts, "T_BETA")])
        alpha_card = next(c for c in bot.cards() if c["ts"] == alpha_ts)
        beta_card = next(c for c in bot.cards() if c["ts"] == beta_ts)
        assert korean(alpha_card), text_of(alpha_card)
        assert not korean(beta_card), text_of(beta_card)
        assert korean(bot.dms("U_ALICE")[-1]) and not korean(bot.dms("U_CAROL")[-1])
