"""Messages in the double's channels: ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``
and ``chat.delete``, kept so tests can read a channel as a user would see it now, and read
back by the bot with ``conversations.history``.

Message metadata (``metadata={"event_type", "event_payload"}`` on ``chat.postMessage``) is kept
with the message and returned by ``conversations.history`` when asked with
``include_all_metadata``, as Slack does.

A deleted message stays in the list marked ``deleted`` (so its ts is never handed out again)
and is hidden from `messages_in`; ephemerals are kept apart because only one user sees them.
"""

from __future__ import annotations

from typing import Any

from bot.console.slack_double.checks import invalid_blocks
from bot.console.slack_double.directory import Directory
from bot.console.slack_double.records import MethodHandler, Stamps, TeamIdentity, slack_error

__all__ = ["Chat"]

_MAX_TEXT = 40_000  # Slack truncates longer text rather than refusing it
_EDITABLE = ("text", "blocks", "attachments")
_HIDDEN = ("channel", "deleted")  # the double's bookkeeping, not part of Slack's message object


def _flag(value: Any) -> bool:
    """A boolean argument as Slack reads it (JSON true, or form-encoded ``true``/``1``)."""
    return value is True or str(value).lower() in ("true", "1")


def _ts_arg(value: Any, default: float) -> float | None:
    """``oldest``/``latest`` as a number; None when it is not one (Slack: ``invalid_ts_oldest``)."""
    if value in (None, ""):
        return default
    try:
        return float(str(value))
    except ValueError:
        return None


class Chat:
    """Channel messages and ephemerals, keyed by resolved channel id."""

    def __init__(self, identity: TeamIdentity, directory: Directory, stamps: Stamps) -> None:
        self.identity = identity
        self.directory = directory
        self.stamps = stamps
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.ephemeral_messages: list[dict[str, Any]] = []

    def methods(self) -> dict[str, MethodHandler]:
        return {
            "chat.postMessage": self.post_message,
            "chat.update": self.update,
            "chat.postEphemeral": self.post_ephemeral,
            "chat.delete": self.delete,
            "conversations.history": self.history,
        }

    # -- reading ------------------------------------------------------------------------------
    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """Messages currently in `channel` (updates applied, deleted ones gone), oldest first."""
        key = self.directory.resolve_channel(channel) or channel
        return [dict(m) for m in self.messages.get(key, []) if not m.get("deleted")]

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        return [dict(m) for m in self.ephemeral_messages
                if (channel is None or m["channel"] == channel) and (user is None or m["user"] == user)]

    def find(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The live stored message (edits to it are edits to the channel)."""
        for message in self.messages.get(channel, []):
            if message["ts"] == ts and not message.get("deleted"):
                return message
        return None

    def append(self, channel: str, message: dict[str, Any]) -> None:
        """Store a message the bot caused in another way (a file share)."""
        self.messages.setdefault(channel, []).append(message)

    def replace(self, message: dict[str, Any], body: dict[str, Any]) -> None:
        """Apply a ``replace_original`` or ``delete_original`` answer from a response URL."""
        if body.get("delete_original"):
            message["deleted"] = True
        elif body.get("replace_original"):
            message.update({key: body[key] for key in _EDITABLE if key in body})

    # -- methods ------------------------------------------------------------------------------
    def _message_args(self, args: dict[str, Any]) -> dict[str, Any] | str:
        """The target channel and content, or the error Slack gives for them."""
        channel = self.directory.resolve_channel(args.get("channel"))
        if channel is None:
            return "channel_not_found"
        text, blocks, attachments = args.get("text"), args.get("blocks"), args.get("attachments")
        if not text and not blocks and not attachments:
            return "no_text"
        if invalid_blocks(blocks):
            return "invalid_blocks"
        if isinstance(text, str) and len(text) > _MAX_TEXT:
            text = text[:_MAX_TEXT]
        return {"channel": channel, "text": text or "", "blocks": blocks, "attachments": attachments}

    def post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        parsed = self._message_args(args)
        if isinstance(parsed, str):
            return slack_error(parsed, invalid_blocks(args.get("blocks")))
        me, ts = self.identity, self.stamps.next_ts()
        message = {"type": "message", "user": me.bot_user_id, "bot_id": me.bot_id, "app_id": me.app_id,
                   "ts": ts, "text": parsed["text"], "team": me.team_id}
        for key in ("blocks", "attachments"):
            if parsed[key] is not None:
                message[key] = parsed[key]
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        if args.get("metadata") is not None:
            message["metadata"] = args["metadata"]
        self.append(parsed["channel"], dict(message, channel=parsed["channel"]))
        return {"ok": True, "channel": parsed["channel"], "ts": ts, "message": message}

    def update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.directory.resolve_channel(args.get("channel"))
        if channel is None:
            return slack_error("channel_not_found")
        message = self.find(channel, str(args.get("ts", "")))
        if message is None:
            return slack_error("message_not_found")
        problems = invalid_blocks(args.get("blocks"))
        if problems:
            return slack_error("invalid_blocks", problems)
        message.update({key: args[key] for key in _EDITABLE if key in args})
        message["edited"] = {"user": self.identity.bot_user_id, "ts": self.stamps.next_ts()}
        shown = {k: v for k, v in message.items() if k not in ("channel", "deleted")}
        return {"ok": True, "channel": channel, "ts": message["ts"], "text": message.get("text", ""),
                "message": shown}

    def post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        parsed = self._message_args(args)
        if isinstance(parsed, str):
            return slack_error(parsed, invalid_blocks(args.get("blocks")))
        user = args.get("user")
        if not isinstance(user, str) or not user:
            return slack_error("user_not_in_channel")
        ts = self.stamps.next_ts()
        self.ephemeral_messages.append({"channel": parsed["channel"], "user": user, "ts": ts,
                                        "text": parsed["text"], "blocks": parsed["blocks"]})
        return {"ok": True, "message_ts": ts}

    def delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.directory.resolve_channel(args.get("channel"))
        if channel is None:
            return slack_error("channel_not_found")
        message = self.find(channel, str(args.get("ts", "")))
        if message is None:
            return slack_error("message_not_found")
        message["deleted"] = True
        return {"ok": True, "channel": channel, "ts": message["ts"]}

    def history(self, args: dict[str, Any]) -> dict[str, Any]:
        """``conversations.history``: the channel's messages (no thread replies), newest first,
        between ``oldest`` and ``latest`` (exclusive unless ``inclusive``), ``limit`` a page with
        Slack's cursor; metadata only with ``include_all_metadata``."""
        channel = self.directory.resolve_channel(args.get("channel"))
        if channel is None or channel.startswith("#"):
            return slack_error("channel_not_found")
        oldest, latest = _ts_arg(args.get("oldest"), 0.0), _ts_arg(args.get("latest"), float("inf"))
        if oldest is None or latest is None:
            return slack_error("invalid_ts_oldest" if oldest is None else "invalid_ts_latest")
        inclusive = _flag(args.get("inclusive"))
        with_metadata = _flag(args.get("include_all_metadata"))

        def within(ts: float) -> bool:
            return (oldest <= ts <= latest) if inclusive else (oldest < ts < latest)

        found = [m for m in reversed(self.messages.get(channel, []))
                 if not m.get("deleted") and within(float(m["ts"]))
                 and (not m.get("thread_ts") or m.get("thread_ts") == m["ts"])]
        start = int(str(args.get("cursor") or "0")) if str(args.get("cursor") or "0").isdigit() else 0
        limit = max(1, min(int(str(args.get("limit") or 100)), 999))
        page = found[start:start + limit]
        more = start + limit < len(found)
        messages = [{k: v for k, v in m.items() if k not in _HIDDEN and (with_metadata or k != "metadata")}
                    for m in page]
        return {"ok": True, "messages": messages, "has_more": more, "pin_count": 0,
                "channel_actions_ts": None, "channel_actions_count": 0,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}
