"""Who may approve: Slack user ids and user-group ids from `INVOICEBOT_APPROVERS`.

Group membership is asked of Slack (`usergroups.users.list`) and cached for a few
minutes, so a click costs no API call most of the time; a failed lookup denies
(never approves on an error).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.slack.slack_errors import slack_error

__all__ = ["ApproverDirectory"]

log = logging.getLogger("invoicebot.authz")


class ApproverDirectory:
    """Answers `is_approver(user_id)` for the configured users and user groups.

    Args:
        approvers: user ids (`U…`/`W…`) and user-group ids (`S…`).
        client: the Web API client used for group lookups.
        ttl: seconds a group's member list is trusted.
        monotonic: the clock the ttl is measured on (tests pass one they move).
    """

    def __init__(self, approvers: Iterable[str], client: AsyncWebClient | None, *, ttl: float = 300.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        ids = {a.strip() for a in approvers if a.strip()}
        self.users = frozenset(i for i in ids if not i.startswith("S"))
        self.groups = frozenset(i for i in ids if i.startswith("S"))
        self._client = client
        self._ttl = ttl
        self._monotonic = monotonic
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.users or self.groups)

    def describe(self) -> str:
        parts = [f"<@{u}>" for u in sorted(self.users)] + [f"<!subteam^{g}>" for g in sorted(self.groups)]
        return ", ".join(parts) if parts else "nobody (set INVOICEBOT_APPROVERS)"

    async def is_approver(self, user_id: str) -> bool:
        if user_id in self.users:
            return True
        for group in self.groups:
            if user_id in await self._group_members(group):
                return True
        return False

    async def _group_members(self, group: str) -> frozenset[str]:
        cached = self._members.get(group)
        if cached and self._monotonic() - cached[0] < self._ttl:
            return cached[1]
        async with self._lock:
            cached = self._members.get(group)
            if cached and self._monotonic() - cached[0] < self._ttl:
                return cached[1]
            if self._client is None:
                return frozenset()
            try:
                response = await self._client.usergroups_users_list(usergroup=group)
            except SlackApiError as exc:
                log.warning("could not list members of %s: %s", group, slack_error(exc))
                return frozenset()
            members = frozenset(response.get("users") or [])
            self._members[group] = (self._monotonic(), members)
            return members
