"""views.* in the double: trigger ids, hashes, the push limit and App Home."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble
from commands.slack.blocks import build_reject_modal
from commands.slack.modal import build_issue_modal


async def test_views_open_needs_a_fresh_trigger_id(client: AsyncWebClient, double: SlackWebApiDouble) -> None:
    opened = await client.views_open(trigger_id="T-1", view=build_issue_modal())
    view = opened["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "invoice_issue" and view["state"] == {"values": {}}
    with pytest.raises(SlackApiError, match="exchanged_trigger_id"):
        await client.views_open(trigger_id="T-1", view=build_issue_modal())
    double.expire_trigger("T-2")
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        await client.views_open(trigger_id="T-2", view=build_issue_modal())
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await client.api_call("views.open", json={"view": build_issue_modal().to_dict()})


async def test_views_update_checks_the_hash(client: AsyncWebClient) -> None:
    view = (await client.views_open(trigger_id="T-1", view=build_issue_modal()))["view"]
    updated = await client.views_update(view_id=view["id"], hash=view["hash"], view=build_reject_modal("42"))
    assert updated["view"]["id"] == view["id"] and updated["view"]["callback_id"] == "approval_reject_reason"
    with pytest.raises(SlackApiError, match="hash_conflict"):
        await client.views_update(view_id=view["id"], hash=view["hash"], view=build_reject_modal("42"))
    with pytest.raises(SlackApiError, match="not_found"):
        await client.views_update(view_id="V404", view=build_reject_modal("42"))


async def test_views_push_allows_two_views_above_the_root(client: AsyncWebClient) -> None:
    root = (await client.views_open(trigger_id="T-1", view=build_issue_modal()))["view"]
    pushed = (await client.views_push(trigger_id="T-2", view=build_reject_modal("1")))["view"]
    assert pushed["root_view_id"] == root["id"] and pushed["previous_view_id"] == root["id"]
    await client.views_push(trigger_id="T-3", view=build_reject_modal("2"))
    with pytest.raises(SlackApiError, match="push_limit_reached"):
        await client.views_push(trigger_id="T-4", view=build_reject_modal("3"))


async def test_views_publish_sets_a_users_home(client: AsyncWebClient, double: SlackWebApiDouble) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hello"}}]}
    published = await client.views_publish(user_id="U0KIM", view=home)
    assert double.home_views["U0KIM"]["id"] == published["view"]["id"]
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await client.views_publish(user_id="U0KIM", view=build_issue_modal())
