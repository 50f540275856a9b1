"""The bot in HTTP mode against a Slack Web API double and the provider sandboxes.

`BotHarness` sends signed requests in Slack's exact formats over real HTTP to
`POST /slack/events`, waits for the app's work after the ack, and reads what the app
asked Slack to do from the double.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from bot.console.app import settle_tasks
from bot.console.render import build_view_state, modal_to_prompts
from bot.console.slack_double import RecordedCall, SlackDoubleThread, SlackWebApiDouble
from bot.console.slack_requests import SignedRequest, SlackRequestFactory
from bot.runtime import Runtime, start_runtime
from bot.serve import start_http
from bot.settings import Settings
from providers.sandbox.base import Sandbox
from tests.db_fixtures import copy_migrated_sqlite

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test"
APPROVERS = "U_BOB,U_CAROL,S_FINANCE_LEADS"
FINANCE = "C_FINANCE"
APPROVALS = "C_APPROVALS"
#: settle_tasks' pause between looks after each request: three quiet looks at 10 ms (the console's)
#: cost 30 ms per request, about a quarter of the wall time of the app's end-to-end tests
SETTLE_POLL = 0.002


def bot_database(tmp_path: Path, overrides: Mapping[str, Any]) -> None:
    """Start the bot on a database already migrated to head (copied, not migrated again: half a
    second per test) unless the test chose its database or left one there to be migrated."""
    path = tmp_path / "bot.db"
    if "database_url" not in overrides and not path.exists():
        copy_migrated_sqlite(path)


def make_settings(tmp_path: Path, api_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "slack_bot_token": SecretStr(BOT_TOKEN),
        "slack_signing_secret": SecretStr(SIGNING_SECRET),
        "slack_app_token": None,
        "slack_api_url": api_url,
        "invoicebot_approvers": APPROVERS,
        "invoicebot_approvals_channel": APPROVALS,
        "provider_read_timeout": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class BotHarness:
    runtime: Runtime
    slack: SlackWebApiDouble
    factory: SlackRequestFactory
    base_url: str
    http: httpx.AsyncClient

    # -- sending --------------------------------------------------------------------
    async def send(self, request: SignedRequest, *, settle: bool = True) -> httpx.Response:
        response = await self.http.post(self.base_url + "/slack/events", content=request.body.encode(),
                                        headers=request.headers)
        if settle:
            await settle_tasks(60, poll=SETTLE_POLL)
        return response

    async def command(self, text: str, *, user: str = "U_ALICE", channel: str = FINANCE,
                      settle: bool = True) -> httpx.Response:
        response_url = self.slack.response_url(channel=channel)
        return await self.send(self.factory.slash_command(text, user_id=user, channel_id=channel,
                                                          response_url=response_url), settle=settle)

    async def click(self, message: Mapping[str, Any], action_id: str, *, user: str,
                    settle: bool = True) -> httpx.Response:
        """Click the button `action_id` of a message the app posted."""
        button = find_button(message.get("blocks") or [], action_id)
        channel = str(message.get("channel"))
        response_url = self.slack.response_url(channel=channel, ts=str(message.get("ts")))
        request = self.factory.block_action(user_id=user, action_id=action_id, value=button.get("value"),
                                            block_id=button.get("_block_id"), channel_id=channel,
                                            message=dict(message), response_url=response_url)
        return await self.send(request, settle=settle)

    async def submit(self, view: Mapping[str, Any], answers: Mapping[str, Any], *, user: str,
                     settle: bool = True) -> httpx.Response:
        values = build_view_state(modal_to_prompts(dict(view)), answers)
        return await self.send(self.factory.view_submission(user_id=user, view=view, values=values), settle=settle)

    # -- reading what the app asked Slack to do ------------------------------------------
    def calls(self, method: str) -> list[RecordedCall]:
        return self.slack.calls(method)

    def last_modal(self) -> dict[str, Any]:
        return dict(self.slack.calls("views.open")[-1].response["view"])

    def cards(self) -> list[dict[str, Any]]:
        """Approval cards in the approvals channel, as they are now (updates applied)."""
        return [m for m in self.slack.messages_in(APPROVALS) if not m.get("thread_ts")]

    def replies(self) -> list[dict[str, Any]]:
        """What `respond()` sent (ephemeral answers to commands)."""
        return [c.args for c in self.slack.calls("response_url")]

    def ephemerals(self, user: str | None = None) -> list[dict[str, Any]]:
        return self.slack.ephemerals(user=user)

    def dms(self, user: str) -> list[dict[str, Any]]:
        """Direct messages the app sent to `user` (conversations.open, then chat.postMessage)."""
        opened = {str(c.response["channel"]["id"]) for c in self.slack.calls("conversations.open")
                  if c.args.get("users") == user and c.response.get("ok")}
        return [m for channel in opened for m in self.slack.messages_in(channel)]

    def sandbox(self, name: str) -> Sandbox:
        return self.runtime.providers.sandboxes[name]


def find_button(blocks: list[Mapping[str, Any]], action_id: str) -> dict[str, Any]:
    for block in blocks:
        for element in block.get("elements", []) or []:
            if isinstance(element, Mapping) and element.get("action_id") == action_id:
                return {**element, "_block_id": block.get("block_id")}
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping) and accessory.get("action_id") == action_id:
            return {**accessory, "_block_id": block.get("block_id")}
    raise AssertionError(f"no button {action_id} in {json.dumps(blocks)[:500]}")


def text_of(message: Mapping[str, Any]) -> str:
    """Everything a person reads in a message: its text and every text in its blocks."""
    return str(message.get("text", "")) + "\n" + json.dumps(message.get("blocks") or [], ensure_ascii=False)


@asynccontextmanager
async def running_bot(tmp_path: Path, *, clock: Callable[[], dt.datetime] | None = None,
                      **overrides: Any) -> AsyncIterator[BotHarness]:
    """The bot over HTTP; `clock` freezes its "now" (tax deadlines depend on the day), `overrides` set settings."""
    slack_thread = SlackDoubleThread(SlackWebApiDouble(valid_tokens={BOT_TOKEN}))
    api_url = slack_thread.start()
    slack = slack_thread.double
    slack.set_group_members("S_FINANCE_LEADS", ["U_DAVE"])
    settings = make_settings(tmp_path, api_url, **overrides)
    bot_database(tmp_path, overrides)
    runtime = await (start_runtime(settings, sandbox_in_thread=True) if clock is None
                     else start_runtime(settings, sandbox_in_thread=True, clock=clock))
    try:
        runner = await start_http(runtime, "127.0.0.1", 0)
    except BaseException:  # refused to serve: nothing of the started bot is left running
        await runtime.aclose()
        slack_thread.stop()
        raise
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
