"""Who holds each role: users, user groups and channel members, asked of Slack and cached."""

from __future__ import annotations

from typing import Any, cast

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from commands.slack.authz import ApproverDirectory
from commands.workflow.roles import Role


class FakeClient:
    """`usergroups.users.list` and a paged `conversations.members`; counts the calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def usergroups_users_list(self, usergroup: str) -> dict[str, Any]:
        self.calls.append(f"group {usergroup}")
        if usergroup == "S_BROKEN":
            raise SlackApiError("no", cast(AsyncSlackResponse, _Response({"ok": False, "error": "fatal"})))
        return {"users": ["U_DAVE"]}

    async def conversations_members(self, channel: str, limit: int, cursor: str | None) -> dict[str, Any]:
        self.calls.append(f"channel {channel} {cursor}")
        if cursor is None:
            return {"members": ["U_ALICE"], "response_metadata": {"next_cursor": "2"}}
        return {"members": ["U_ZED"], "response_metadata": {"next_cursor": ""}}


class _Response:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.status_code = 200

    def get(self, key: str) -> Any:
        return self.data.get(key)


def directory(client: FakeClient, **roles: str) -> ApproverDirectory:
    return ApproverDirectory(roles.get("approvers", "U_BOB,S_LEADS").split(","), cast(AsyncWebClient, client),
                             admins=roles.get("admins", "U_ADA").split(","),
                             requesters=[r for r in roles.get("requesters", "").split(",") if r])


async def test_with_no_requesters_configured_everyone_may_request() -> None:
    roles = directory(FakeClient())

    assert await roles.has_role("U_ANYONE", Role.REQUESTER)
    assert not await roles.has_role("U_ANYONE", Role.ADMIN)
    assert roles.describe_role(Role.REQUESTER) == "everyone"


async def test_requesters_are_channel_members_across_pages_and_approvers_and_admins() -> None:
    client = FakeClient()
    roles = directory(client, requesters="C_FINANCE")

    assert await roles.has_role("U_ZED", Role.REQUESTER)  # on the second page
    assert await roles.has_role("U_ADA", Role.REQUESTER)  # admins may request
    assert await roles.has_role("U_DAVE", Role.REQUESTER)  # an approver through the group
    assert not await roles.has_role("U_EVE", Role.REQUESTER)
    assert await roles.has_role("U_ALICE", Role.REQUESTER)
    assert client.calls.count("channel C_FINANCE None") == 1, "member lists are cached"
    assert roles.describe_role(Role.REQUESTER) == "members of <#C_FINANCE>"


async def test_a_failed_lookup_denies_and_settings_that_are_not_ids_are_dropped() -> None:
    roles = directory(FakeClient(), approvers="S_BROKEN,<!channel>,u_lower", admins="")

    assert not await roles.has_role("U_DAVE", Role.APPROVER)
    assert roles.describe_role(Role.APPROVER) == "<!subteam^S_BROKEN>"
    assert roles.describe_role(Role.ADMIN) == "nobody yet: set INVOICEBOT_ADMINS"
