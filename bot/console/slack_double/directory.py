"""Who is in the double's workspace: users, user groups, channel names, and the bot itself.

Answers ``auth.test``, ``users.info``, ``usergroups.users.list``, ``conversations.open`` and
``conversations.members`` (one page per `page_size` members, with Slack's cursor),
and resolves the channel a message names the way Slack does (``#name``, a user id meaning
that user's DM, or a channel id as is) for the chat and file methods.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bot.console.slack_double.records import MethodHandler, TeamIdentity, slack_error

__all__ = ["Directory"]


class Directory:
    """Users, groups and channel names; empty but for the bot user when created."""

    def __init__(self, identity: TeamIdentity) -> None:
        self.identity = identity
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, list[str]] = {}
        self.channel_names: dict[str, str] = {}
        self.channel_members: dict[str, list[str]] = {}
        self.page_size = 1000
        self.add_user(identity.bot_user_id, name="invoicebot", real_name="Invoice Bot", is_bot=True)

    def methods(self) -> dict[str, MethodHandler]:
        return {
            "auth.test": self.auth_test,
            "users.info": self.users_info,
            "usergroups.users.list": self.usergroups_users_list,
            "conversations.open": self.conversations_open,
            "conversations.members": self.conversations_members,
        }

    # -- set-up ---------------------------------------------------------------------------
    def add_user(self, user_id: str, *, name: str | None = None, real_name: str | None = None,
                 email: str | None = None, tz: str = "Asia/Seoul", is_admin: bool = False,
                 is_bot: bool = False) -> None:
        """Make `users.info` know a user."""
        name = name or user_id.lower()
        team_id = self.identity.team_id
        self.users[user_id] = {
            "id": user_id, "team_id": team_id, "name": name, "deleted": False,
            "real_name": real_name or name, "tz": tz, "tz_label": tz, "is_admin": is_admin,
            "is_owner": False, "is_bot": is_bot, "is_app_user": False,
            "profile": {"real_name": real_name or name, "display_name": name, "email": email, "team": team_id},
        }

    def set_group_members(self, group_id: str, user_ids: Collection[str]) -> None:
        """What `usergroups.users.list(usergroup=group_id)` answers."""
        self.groups[group_id] = list(user_ids)

    def set_channel_members(self, channel_id: str, user_ids: Collection[str]) -> None:
        """What `conversations.members(channel=channel_id)` answers."""
        self.channel_members[channel_id] = list(user_ids)

    def add_channel(self, name: str, channel_id: str) -> None:
        """Let ``#name`` resolve to `channel_id` (chat.postMessage accepts names)."""
        self.channel_names[name.lstrip("#")] = channel_id

    def resolve_channel(self, channel: Any) -> str | None:
        """The channel id Slack would post to for `channel`, or None when Slack answers channel_not_found."""
        if not isinstance(channel, str) or not channel:
            return None
        if channel.startswith("#"):
            return self.channel_names.get(channel[1:])
        if channel[0] in "UW":
            return "D" + channel[1:]  # a bot posting to a user id lands in their DM
        if channel[0] in "CGD":
            return channel
        return self.channel_names.get(channel)

    # -- methods ------------------------------------------------------------------------------
    def auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        me = self.identity
        return {"ok": True, "url": f"https://{me.team}.slack.com/", "team": me.team, "user": "invoicebot",
                "team_id": me.team_id, "user_id": me.bot_user_id, "bot_id": me.bot_id,
                "is_enterprise_install": False}

    def users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user", "")))
        if user is None:
            return slack_error("user_not_found")
        return {"ok": True, "user": user}

    def usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup", ""))
        if group not in self.groups:
            return slack_error("no_such_subteam")
        return {"ok": True, "users": list(self.groups[group])}

    def conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users and not args.get("channel"):
            return slack_error("users_list_not_supplied")
        if len(users) > 1:
            channel = "G" + "".join(sorted(u[1:] for u in users))[:20]
        else:
            channel = self.resolve_channel(users[0] if users else args["channel"]) or ""
        return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel}}

    def conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if channel not in self.channel_members:
            return slack_error("channel_not_found")
        members = self.channel_members[channel]
        try:
            start = int(str(args.get("cursor") or "0"))
        except ValueError:
            return slack_error("invalid_cursor")
        limit = min(int(str(args.get("limit") or self.page_size)), self.page_size)
        page = members[start:start + limit]
        following = start + limit if start + limit < len(members) else None
        return {"ok": True, "members": page,
                "response_metadata": {"next_cursor": str(following) if following else ""}}
