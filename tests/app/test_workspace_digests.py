"""Two installed workspaces never see each other's digests or App Home entries: each digest
reads its workspace's documents only and posts with that workspace's token, and App Home
shows the viewer's workspace's last digest, pending approvals and requests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from commands.ledger import digest_queries as q
from commands.ledger.schema import audit_events
from tests.app.harness import BotHarness, text_of
from tests.app.multi_harness import as_workspace, install, running_multi_bot
from tests.app.test_workspace_settings import home_of, issue

SEOUL = ZoneInfo("Asia/Seoul")


async def _schedule_now(bot: BotHarness, channel: str) -> None:
    at = dt.datetime.now(SEOUL) - dt.timedelta(minutes=1)
    await bot.command(f"digest schedule {at:%H:%M}", user="U_ALICE", channel=channel)


async def test_digests_and_app_home_stay_in_their_workspace(tmp_path: Path) -> None:
    async with running_multi_bot(tmp_path) as bot:
        await install(bot, "code-a", "T_ALPHA")
        await install(bot, "code-b", "T_BETA")
        alpha, beta = as_workspace(bot, "T_ALPHA"), as_workspace(bot, "T_BETA")
        await issue(alpha)  # INV-000001, approved below
        await alpha.click(bot.cards()[-1], "approval_approve", user="U_BOB")
        await issue(beta, user="U_CAROL")  # INV-000002, left pending
        await _schedule_now(alpha, "C_ALPHA_DIGEST")
        await _schedule_now(beta, "C_BETA_DIGEST")
        schedules = {s.channel_id: s.team_id for s in await bot.runtime.store.digests.list_schedules()}
        assert schedules == {"C_ALPHA_DIGEST": "T_ALPHA", "C_BETA_DIGEST": "T_BETA"}

        scheduler = bot.runtime.scheduler
        assert scheduler is not None
        for channel in ("C_ALPHA_DIGEST", "C_BETA_DIGEST"):
            run = await scheduler.run_digest(channel)
            assert run.outcome.value == "posted", run
        posts = {c.args["channel"]: c for c in bot.slack.calls("chat.postMessage")
                 if c.args.get("channel") in ("C_ALPHA_DIGEST", "C_BETA_DIGEST")}
        # each digest went out with its own workspace's token
        assert posts["C_ALPHA_DIGEST"].team_id == "T_ALPHA" and posts["C_BETA_DIGEST"].team_id == "T_BETA"
        alpha_digest = text_of(bot.slack.messages_in("C_ALPHA_DIGEST")[0])
        assert "INV-000002" not in alpha_digest
        summaries = {p.channel_id: p.summary for p in [
            await _last(bot, "C_ALPHA_DIGEST"), await _last(bot, "C_BETA_DIGEST")]}
        assert summaries["C_ALPHA_DIGEST"]["issued"] == 1 and summaries["C_ALPHA_DIGEST"]["pending"] == 0
        assert summaries["C_BETA_DIGEST"]["issued"] == 0 and summaries["C_BETA_DIGEST"]["pending"] == 1

        # App Home: Beta's approver sees Beta's pending request and digest, Alpha's sees neither
        beta_home = str(await home_of(beta, "U_BOB"))
        assert "INV-000002" in beta_home and "C_BETA_DIGEST" in beta_home and "C_ALPHA_DIGEST" not in beta_home
        alpha_home = str(await home_of(alpha, "U_BOB"))
        assert "INV-000002" not in alpha_home and "C_BETA_DIGEST" not in alpha_home
        assert "C_ALPHA_DIGEST" in alpha_home

        # the audit trail records which workspace each decision and digest was for
        async with bot.runtime.store.engine.connect() as conn:
            rows = (await conn.execute(audit_events.select())).mappings().all()
        digests = {r["detail"]["channel"]: r["team_id"] for r in rows if r["action"] == "digest"}
        assert digests == {"C_ALPHA_DIGEST": "T_ALPHA", "C_BETA_DIGEST": "T_BETA"}
        assert {r["team_id"] for r in rows if r["approval_id"] == 1} == {"T_ALPHA"}


async def _last(bot: BotHarness, channel: str) -> q.PostedRun:
    posted = await q.last_posted_digest(bot.runtime.store, channel)
    assert posted is not None
    return posted
