"""Who holds each role: Slack user ids, user-group ids and channel ids from the settings.

`ApproverDirectory` is the one place the Slack side answers "is this person a requester, an
approver, an admin" (`commands.workflow.roles.RoleDirectory`); the workflow asks it on
every state-changing call, and the decision buttons' middleware asks it for the quick refusal.

* approvers: `INVOICEBOT_APPROVERS` (users ``U…``/``W…`` and user groups ``S…``);
* admins: `INVOICEBOT_ADMINS` (the same);
* requesters: `INVOICEBOT_REQUESTERS` (the same, plus channels ``C…``/``G…``: their members);
  approvers and admins may request too. With no requester configured everyone may request,
  as before this setting existed.

Group and channel members are asked of Slack (`usergroups.users.list`, `conversations.members`)
and cached for a few minutes, so a click costs no API call most of the time; a failed lookup
denies (never grants on an error).

With per-workspace settings (`use_workspace_roles`), the approvers and admins of the workspace
being served are that workspace's (`commands.workflow.workspace_settings`: its row over these
environment values), so an admin's change in one workspace grants nothing in another.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _
from commands.slack.clients import current_client
from commands.slack.slack_errors import slack_error
from commands.workflow.access import current_workspace
from commands.workflow.roles import Role

__all__ = ["ApproverDirectory", "Holders"]

log = logging.getLogger("invoicebot.authz")

#: asks Slack for the members of a group or channel
Fetch = Callable[[AsyncWebClient, str], Awaitable[frozenset[str]]]

#: the approvers' and admins' ids of the workspace being served (None: the environment's)
RoleIds = Callable[[], Awaitable[Mapping[Role, Iterable[str]] | None]]

#: what a Slack id looks like; anything else in a setting is dropped (and never reaches mrkdwn)
_SLACK_ID = re.compile(r"^[A-Z][A-Z0-9_]{1,40}$")


class Holders:
    """The user ids, user groups and channels configured for one role."""

    def __init__(self, ids: Iterable[str]) -> None:
        clean = {i.strip() for i in ids if _SLACK_ID.match(i.strip())}
        self.users = frozenset(i for i in clean if i[0] in "UW")
        self.groups = frozenset(i for i in clean if i[0] == "S")
        self.channels = frozenset(i for i in clean if i[0] in "CG")

    def __bool__(self) -> bool:
        return bool(self.users or self.groups or self.channels)

    def describe(self) -> str:
        parts = ([f"<@{u}>" for u in sorted(self.users)] + [f"<!subteam^{g}>" for g in sorted(self.groups)]
                 + [_("members of <#{channel}>").format(channel=c) for c in sorted(self.channels)])
        return ", ".join(parts)


class ApproverDirectory:
    """Answers `has_role(user, role)` (and `is_approver`) for the configured users, groups and channels.

    Args:
        approvers: user ids (`U…`/`W…`) and user-group ids (`S…`).
        client: the Web API client used for group and channel lookups.
        admins: the same, for admins.
        requesters: the same, plus channel ids (`C…`/`G…`) whose members may request; empty
            means everyone may.
        ttl: seconds a group's or channel's member list is trusted.
        monotonic: the clock the ttl is measured on (tests pass one they move).
    """

    def __init__(self, approvers: Iterable[str], client: AsyncWebClient | None, *, ttl: float = 300.0,
                 monotonic: Callable[[], float] = time.monotonic, admins: Iterable[str] = (),
                 requesters: Iterable[str] = ()) -> None:
        self.holders = {Role.APPROVER: Holders(approvers), Role.ADMIN: Holders(admins),
                        Role.REQUESTER: Holders(requesters)}
        self._client = client
        self._ttl = ttl
        self._monotonic = monotonic
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = asyncio.Lock()
        self._workspace_ids: RoleIds | None = None
        #: each workspace's holders as last resolved (by team id), for the synchronous `describe_role`
        self._resolved: dict[str, dict[Role, Holders]] = {}

    def use_workspace_roles(self, role_ids: RoleIds) -> None:
        """Answer for the workspace being served from `role_ids` (its settings) before the environment."""
        self._workspace_ids = role_ids

    async def _holders_now(self) -> dict[Role, Holders]:
        """The holders for the workspace being served: its settings' approvers and admins, else ours."""
        if self._workspace_ids is None:
            return self.holders
        ids = await self._workspace_ids()
        if ids is None:
            return self.holders
        holders = {**self.holders, **{role: Holders(values) for role, values in ids.items()}}
        workspace = current_workspace()
        if workspace is not None and workspace.team_id is not None:
            self._resolved[workspace.team_id] = holders
        return holders

    def _holders_seen(self) -> dict[Role, Holders]:
        workspace = current_workspace()
        team = workspace.team_id if workspace is not None else None
        return self._resolved.get(team or "", self.holders) if self._workspace_ids is not None else self.holders

    @property
    def configured(self) -> bool:
        return bool(self.holders[Role.APPROVER])

    def describe(self) -> str:
        """The approvers, as mentions (the approval card and the requester's notice name them)."""
        return self._holders_seen()[Role.APPROVER].describe() or _("nobody (set INVOICEBOT_APPROVERS)")

    def describe_role(self, role: Role) -> str:
        described = self._holders_seen()[role].describe()
        if described:
            return described
        if role is Role.REQUESTER:
            return _("everyone")
        setting = "INVOICEBOT_APPROVERS" if role is Role.APPROVER else "INVOICEBOT_ADMINS"
        return _("nobody yet: set {setting}").format(setting=setting)

    async def is_approver(self, user_id: str) -> bool:
        return await self.has_role(user_id, Role.APPROVER)

    async def has_role(self, user: str, role: Role) -> bool:
        holders = await self._holders_now()
        if role is Role.REQUESTER:
            if not holders[Role.REQUESTER]:
                return True  # nothing configured: open, as before requesters could be configured
            for other in (Role.APPROVER, Role.ADMIN):
                if await self._holds(user, holders[other]):
                    return True
        return await self._holds(user, holders[role])

    async def _holds(self, user: str, holders: Holders) -> bool:
        if not user:
            return False
        if user in holders.users:
            return True
        for group in sorted(holders.groups):
            if user in await self._cached(group, self._group_members):
                return True
        for channel in sorted(holders.channels):
            if user in await self._cached(channel, self._channel_members):
                return True
        return False

    async def _cached(self, key: str, fetch: Fetch) -> frozenset[str]:
        cached = self._members.get(key)
        if cached and self._monotonic() - cached[0] < self._ttl:
            return cached[1]
        async with self._lock:
            cached = self._members.get(key)
            if cached and self._monotonic() - cached[0] < self._ttl:
                return cached[1]
            client = current_client() or self._client
            if client is None:
                return frozenset()
            try:
                members = await fetch(client, key)
            except SlackApiError as exc:
                log.warning("could not list members of %s: %s", key, slack_error(exc))
                return frozenset()
            self._members[key] = (self._monotonic(), members)
            return members

    @staticmethod
    async def _group_members(client: AsyncWebClient, group: str) -> frozenset[str]:
        response = await client.usergroups_users_list(usergroup=group)
        return frozenset(response.get("users") or [])

    @staticmethod
    async def _channel_members(client: AsyncWebClient, channel: str) -> frozenset[str]:
        members: set[str] = set()
        cursor = None
        for _page in range(50):  # 50 pages of 1000: a bound, not a limit anyone meets
            response = await client.conversations_members(channel=channel, limit=1000, cursor=cursor)
            members.update(response.get("members") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return frozenset(members)
