"""Installs for many workspaces through Bolt's OAuth flow, against the Web API double.

Two workspaces and one Enterprise Grid organisation (org-wide) install the app through
/slack/install and /slack/oauth_redirect; each one's requests are then served with its own bot
token (the double says whose token made each call), tokens rotate, and a workspace that never
installed the app is not served at all.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from commands.ledger.schema import slack_bots, slack_installations, slack_oauth_states
from commands.workflow.access import Workspace
from tests.app.harness import BotHarness
from tests.app.multi_harness import as_workspace, install, running_multi_bot
from tests.app.test_flows import BUYER


async def _issue(bot: BotHarness, user: str = "U_ALICE") -> None:
    await bot.command("issue popbill", user=user)
    modal = bot.last_modal()
    response = await bot.submit(modal, {**BUYER, "provider": "popbill", "kind": "tax_invoice"}, user=user)
    assert response.status_code == 200 and response.text in ("", "null"), response.text


async def _count(bot: BotHarness, table: object) -> int:
    async with bot.runtime.store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_two_workspaces_and_an_organisation_install_and_are_served_with_their_own_tokens(
        tmp_path: Path) -> None:
    async with running_multi_bot(tmp_path) as bot:
        for code, team, enterprise, org in (("code-a", "T_ALPHA", None, False), ("code-b", "T_BETA", None, False),
                                            ("code-org", None, "E_GRID", True)):
            done = await install(bot, code, team, enterprise_id=enterprise, org_wide=org)
            assert done.status_code == 200, done.text
            assert "Thank you" in done.text or "success" in done.text.lower(), done.text[:300]
        exchanged = bot.slack.calls("oauth.v2.access")
        assert [c.response["ok"] for c in exchanged] == [True, True, True]
        assert await _count(bot, slack_installations) == 3
        assert await _count(bot, slack_bots) == 3
        assert await _count(bot, slack_oauth_states) == 0  # each state was used once

        alpha, beta = as_workspace(bot, "T_ALPHA"), as_workspace(bot, "T_BETA")
        grid = as_workspace(bot, "T_GRID_SALES", enterprise_id="E_GRID", org_wide=True)
        for workspace, expected in ((alpha, "T_ALPHA"), (beta, "T_BETA"), (grid, "E_GRID")):
            await _issue(workspace)
            opened = bot.slack.calls("views.open")[-1]
            card = bot.slack.calls("chat.postMessage")[-1]
            assert opened.ok and card.ok
            assert opened.team_id == expected and card.team_id == expected

        approvals = await bot.runtime.store.approvals.search(limit=10)
        assert sorted((a.team_id or "", a.enterprise_id or "") for a in approvals) == [
            ("T_ALPHA", ""), ("T_BETA", ""), ("T_GRID_SALES", "E_GRID")]


async def test_a_state_is_good_for_one_install_and_a_wrong_code_installs_nothing(tmp_path: Path) -> None:
    async with running_multi_bot(tmp_path) as bot:
        page = await bot.http.get(bot.base_url + "/slack/install")
        cookie = page.headers["set-cookie"].split(";", 1)[0]
        state = cookie.split("=", 1)[1]
        wrong = await bot.http.get(bot.base_url + "/slack/oauth_redirect", params={"code": "nope", "state": state},
                                   headers={"Cookie": cookie})
        assert wrong.status_code == 401  # invalid_code: oauth.v2.access refused it
        again = await bot.http.get(bot.base_url + "/slack/oauth_redirect", params={"code": "nope", "state": state},
                                   headers={"Cookie": cookie})
        assert again.status_code == 401  # the state was consumed
        assert await _count(bot, slack_installations) == 0


async def test_an_uninstalled_workspace_is_not_served(tmp_path: Path) -> None:
    async with running_multi_bot(tmp_path) as bot:
        await install(bot, "code-a", "T_ALPHA")
        stranger = as_workspace(bot, "T_STRANGER")
        answer = await stranger.command("issue popbill")
        assert answer.status_code == 200
        assert not bot.slack.calls("views.open")
        # nothing was asked of Slack for the stranger: every Web API call after the install used T_ALPHA's token
        web_api = [c for c in bot.slack.calls() if c.method not in ("oauth.v2.access", "response_url")]
        assert all(c.team_id == "T_ALPHA" for c in web_api), [(c.method, c.team_id) for c in web_api]


async def test_tokens_rotate_before_they_expire(tmp_path: Path) -> None:
    async with running_multi_bot(tmp_path) as bot:
        bot.slack.installs.expires_in = 600  # well inside the two hours before expiry Bolt refreshes at
        await install(bot, "code-a", "T_ALPHA")
        alpha = as_workspace(bot, "T_ALPHA")
        await _issue(alpha)
        refreshes = [c for c in bot.slack.calls("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"]
        assert refreshes and refreshes[0].response["ok"]
        assert bot.slack.calls("chat.postMessage")[-1].team_id == "T_ALPHA"
        # work no request started (digests, sweeps) finds the token the same way, rotated and saved
        assert bot.runtime.tokens is not None
        token = await bot.runtime.tokens.token_for(Workspace(team_id="T_ALPHA"))
        issued = [c.response["access_token"] for c in bot.slack.calls("oauth.v2.access")]
        assert token == issued[-1] and len(issued) > len(refreshes) + 1
        assert await bot.runtime.tokens.token_for(Workspace(team_id="T_STRANGER")) is None


def test_serve_needs_a_bot_token_or_oauth_installs(tmp_path: Path) -> None:
    from pydantic import SecretStr

    from bot.serve import ServeError, check_mode
    from tests.app.harness import make_settings

    oauth = make_settings(tmp_path, "http://127.0.0.1:1/api/", slack_bot_token=None, slack_client_id="1.2",
                          slack_client_secret=SecretStr("s"))
    assert oauth.oauth_enabled and check_mode(oauth, False) == "http"
    neither = make_settings(tmp_path, "http://127.0.0.1:1/api/", slack_bot_token=None)
    try:
        check_mode(neither, False)
    except ServeError as exc:
        assert "SLACK_BOT_TOKEN" in str(exc)
    else:
        raise AssertionError("serve started with neither a token nor OAuth installs")
