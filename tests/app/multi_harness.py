"""The bot with OAuth installs (SLACK_CLIENT_ID/SECRET, no bot token) and helpers to install
workspaces through the real flow: GET /slack/install, then the redirect Slack would send the
installer to, with a code the Web API double exchanges in ``oauth.v2.access``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from bot.console.app import settle_tasks
from bot.console.slack_double import SlackDoubleThread, SlackWebApiDouble
from bot.console.slack_requests import SlackRequestFactory
from bot.runtime import start_runtime
from bot.serve import start_http
from tests.app.harness import SETTLE_POLL, SIGNING_SECRET, BotHarness, bot_database, make_settings

CLIENT_ID = "111.222"
CLIENT_SECRET = "double-client-secret"


async def install(harness: BotHarness, code: str, team_id: str | None, *, enterprise_id: str | None = None,
                  org_wide: bool = False, team_name: str | None = None) -> httpx.Response:
    """Install the app the way a browser does, and return the redirect page's answer."""
    harness.slack.grant_install(code, team_id, team_name=team_name or team_id, enterprise_id=enterprise_id,
                                enterprise_name=enterprise_id, is_enterprise_install=org_wide)
    page = await harness.http.get(harness.base_url + "/slack/install")
    assert page.status_code == 200, page.text
    found = re.search(r"state=([0-9a-f-]+)", page.text)
    assert found, page.text[:500]
    state = found.group(1)
    cookie = page.headers["set-cookie"].split(";", 1)[0]
    assert cookie.endswith(state)
    return await harness.http.get(harness.base_url + "/slack/oauth_redirect",
                                  params={"code": code, "state": state}, headers={"Cookie": cookie})


def as_workspace(harness: BotHarness, team_id: str, *, enterprise_id: str | None = None,
                 org_wide: bool = False) -> BotHarness:
    """The same bot, with requests signed as coming from another workspace."""
    factory = replace(harness.factory, team_id=team_id, team_domain=team_id.lower(), enterprise_id=enterprise_id,
                      enterprise_install=org_wide)
    return replace(harness, factory=factory)


@asynccontextmanager
async def running_multi_bot(tmp_path: Path, **overrides: Any) -> AsyncIterator[BotHarness]:
    """The bot in OAuth mode; the double accepts only the tokens its installs handed out."""
    slack_thread = SlackDoubleThread(SlackWebApiDouble(valid_tokens=set(), client_id=CLIENT_ID,
                                                       client_secret=CLIENT_SECRET))
    api_url = slack_thread.start()
    slack = slack_thread.double
    slack.set_group_members("S_FINANCE_LEADS", ["U_DAVE"])
    settings = make_settings(tmp_path, api_url, slack_bot_token=None, slack_client_id=CLIENT_ID,
                             slack_client_secret=SecretStr(CLIENT_SECRET), **overrides)
    bot_database(tmp_path, overrides)
    runtime = await start_runtime(settings, sandbox_in_thread=True)
    runner = await start_http(runtime, "127.0.0.1", 0)
    port = runner.addresses[0][1]
    # plain HTTP to 127.0.0.1: no TLS, so no CA bundle to load (about 35 ms of CPU per client)
    http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_keepalive_connections=0), verify=False)
    harness = BotHarness(runtime, slack, SlackRequestFactory(SIGNING_SECRET, team_id=slack.team_id,
                                                             api_app_id=slack.app_id),
                         f"http://127.0.0.1:{port}", http)
    try:
        await settle_tasks(10, poll=SETTLE_POLL)
        yield harness
    finally:
        await http.aclose()
        await runner.cleanup()
        await runtime.aclose()
        slack_thread.stop()
