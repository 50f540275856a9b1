"""The double's directory: who the bot is, users, user groups and channel names."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble


async def test_auth_test_answers_with_the_bot_identity(client: AsyncWebClient, double: SlackWebApiDouble) -> None:
    answer = await client.auth_test()
    assert answer["ok"] and answer["user_id"] == double.bot_user_id and answer["team_id"] == double.team_id


async def test_users_and_group_membership_are_configurable(client: AsyncWebClient,
                                                           double: SlackWebApiDouble) -> None:
    double.add_user("U0LEE", real_name="Lee Approver", email="lee@example.co.kr", is_admin=True)
    double.set_group_members("S0APPROVERS", ["U0LEE"])
    user = (await client.users_info(user="U0LEE"))["user"]
    assert user["real_name"] == "Lee Approver" and user["profile"]["email"] == "lee@example.co.kr"
    assert (await client.usergroups_users_list(usergroup="S0APPROVERS"))["users"] == ["U0LEE"]
    with pytest.raises(SlackApiError, match="user_not_found"):
        await client.users_info(user="U0NOBODY")
    with pytest.raises(SlackApiError, match="no_such_subteam"):
        await client.usergroups_users_list(usergroup="S0NONE")


async def test_channel_names_resolve_when_registered(client: AsyncWebClient, double: SlackWebApiDouble) -> None:
    double.add_channel("finance", "C0FIN")
    assert (await client.chat_postMessage(channel="#finance", text="x"))["channel"] == "C0FIN"
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await client.chat_postMessage(channel="#nowhere", text="x")


async def test_users_info_reports_the_locale_only_when_asked(client: AsyncWebClient,
                                                             double: SlackWebApiDouble) -> None:
    double.add_user("U0KIM", locale="ko-KR")
    assert "locale" not in (await client.users_info(user="U0KIM"))["user"]
    assert (await client.users_info(user="U0KIM", include_locale=True))["user"]["locale"] == "ko-KR"
    double.set_locale("U0KIM", "en-GB")
    assert (await client.users_info(user="U0KIM", include_locale=True))["user"]["locale"] == "en-GB"
    double.add_user("U0LEE")
    assert (await client.users_info(user="U0LEE", include_locale=True))["user"]["locale"] == "en-US"
