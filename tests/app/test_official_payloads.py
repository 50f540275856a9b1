"""Slack's own sample payloads (shared/reference/slack-payloads), adapted only where the app's
ids must appear, replay through the running app: the formats the app parses are Slack's."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from tests.app.harness import BotHarness, text_of
from tests.app.test_flows import issue
from tests.paths import shared_path

PAYLOADS = shared_path("reference", "slack-payloads")


def load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


async def post_json(bot: BotHarness, body: dict[str, Any], **headers: str) -> Any:
    request = bot.factory.sign(json.dumps(body), "application/json", extra_headers=headers)
    return await bot.send(request)


async def test_url_verification_answers_the_challenge(bot: BotHarness) -> None:
    body = load("url_verification.json")
    response = await post_json(bot, body)
    assert response.status_code == 200
    assert response.json() == {"challenge": body["challenge"]}


async def test_the_bolt_slash_command_fixture_reaches_invoice_help(bot: BotHarness) -> None:
    fields = dict(urllib.parse.parse_qsl((PAYLOADS / "slash_command_bolt_fixture.txt").read_text().strip()))
    fields.update(command="/invoice", text="help", response_url=bot.slack.response_url())
    request = bot.factory.sign(urllib.parse.urlencode(fields), "application/x-www-form-urlencoded")
    response = await bot.send(request)
    assert response.status_code == 200 and "/invoice issue" in response.text


async def test_the_docs_app_home_opened_event_publishes_the_home_view(bot: BotHarness) -> None:
    body = load("app_home_opened_home_tab_docs.json")
    response = await post_json(bot, body)
    assert response.status_code == 200
    published = bot.slack.calls("views.publish")[-1].args
    assert published["user_id"] == body["event"]["user"]
    assert published["view"]["type"] == "home"


async def test_an_events_api_retry_is_answered_and_harmless(bot: BotHarness) -> None:
    retry = load("events_retry_http.json")
    response = await post_json(bot, retry["body"], **{"X-Slack-Retry-Num": "1",
                                                       "X-Slack-Retry-Reason": "http_timeout"})
    assert response.status_code == 200
    assert len(bot.slack.calls("views.publish")) == 1  # publishing the same home again would be harmless too


async def test_the_message_button_fixture_carries_an_approval_click(bot: BotHarness) -> None:
    card = await issue(bot, "payssam", "bill")
    payload = load("block_actions_message_button.json")
    approve = next(e for b in card["blocks"] for e in b.get("elements", []) if e.get("action_id") == "approval_approve")
    payload["actions"][0].update(action_id="approval_approve", value=approve["value"])
    payload["user"]["id"] = "U_BOB"
    # Slack's sample comes from its own workspace; a decision from another one is refused (issue 9)
    payload["team"]["id"] = payload["user"]["team_id"] = bot.factory.team_id
    payload["channel"]["id"] = payload["container"]["channel_id"] = card["channel"]
    payload["container"]["message_ts"] = card["ts"]
    payload["response_url"] = bot.slack.response_url(channel=card["channel"], ts=card["ts"])
    response = await bot.send(bot.factory.interactive(payload))
    assert response.status_code == 200
    assert "Approved and done" in text_of(bot.cards()[-1])
