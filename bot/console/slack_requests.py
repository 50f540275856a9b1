"""Requests exactly as Slack sends them: bodies, encodings and signatures.

The console uses these to drive the app without Slack, and the tests use them to
send signed HTTP requests; the shapes follow Slack's own sample payloads in
`shared/reference/slack-payloads` (slash commands form-encoded; interactivity as a
form with one `payload` field; events as JSON).
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.signature import SignatureVerifier

__all__ = ["SignedRequest", "SlackRequestFactory", "values_of"]

_counter = itertools.count(1)


@dataclass(frozen=True)
class SignedRequest:
    """A request body with the headers Slack signs it with, ready for HTTP or Bolt's dispatch."""

    body: str
    headers: dict[str, str]
    content_type: str


@dataclass
class SlackRequestFactory:
    """Builds signed requests for one workspace and app.

    Args:
        signing_secret: the app's signing secret (use a wrong one to test refusals).
        clock: seconds since the epoch, for the signature timestamp and every time inside a
            payload (tests move it to make requests stale).
    """

    signing_secret: str
    team_id: str = "T0INVOICE"
    team_domain: str = "invoicebot-dev"
    api_app_id: str = "A0INVOICE"
    #: an Enterprise Grid organisation the team belongs to, and whether the app is installed org-wide
    enterprise_id: str | None = None
    enterprise_install: bool = False
    clock: Callable[[], float] = field(default=time.time)

    # -- signing ------------------------------------------------------------------
    def sign(self, body: str, content_type: str, *, timestamp: int | None = None,
             extra_headers: Mapping[str, str] | None = None) -> SignedRequest:
        ts = int(self.clock()) if timestamp is None else timestamp
        signature = SignatureVerifier(self.signing_secret).generate_signature(timestamp=str(ts), body=body)
        assert signature is not None
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature,
        }
        headers.update(extra_headers or {})
        return SignedRequest(body=body, headers=headers, content_type=content_type)

    # -- slash commands -----------------------------------------------------------------
    def slash_command(self, text: str, *, user_id: str, channel_id: str, response_url: str,
                      command: str = "/invoice", user_name: str | None = None, channel_name: str | None = None,
                      trigger_id: str | None = None, timestamp: int | None = None) -> SignedRequest:
        fields = {
            "token": "unused-verification-token",
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name or channel_id.lower(),
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "true" if self.enterprise_install else "false",
            "response_url": response_url,
            "trigger_id": trigger_id or self.trigger_id(),
        }
        if self.enterprise_id is not None:
            fields["enterprise_id"] = self.enterprise_id
        return self.sign(urllib.parse.urlencode(fields), "application/x-www-form-urlencoded", timestamp=timestamp)

    # -- interactivity ---------------------------------------------------------------
    def interactive(self, payload: Mapping[str, Any], *, timestamp: int | None = None) -> SignedRequest:
        body = urllib.parse.urlencode({"payload": json.dumps(payload, separators=(",", ":"), ensure_ascii=False)})
        return self.sign(body, "application/x-www-form-urlencoded", timestamp=timestamp)

    def _user(self, user_id: str) -> dict[str, Any]:
        return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": self.team_id}

    def _enterprise(self) -> dict[str, Any] | None:
        return {"id": self.enterprise_id, "name": self.enterprise_id} if self.enterprise_id else None

    def _team(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": self.team_domain}

    def block_action(self, *, user_id: str, action_id: str, value: str | None, block_id: str | None = None,
                     channel_id: str | None = None, message: Mapping[str, Any] | None = None,
                     response_url: str | None = None, view: Mapping[str, Any] | None = None,
                     is_ephemeral: bool = False, timestamp: int | None = None) -> SignedRequest:
        """A button click in a message (channel_id + message) or in a view (App Home, modal)."""
        action = {
            "action_id": action_id,
            "block_id": block_id or "actions",
            "text": {"type": "plain_text", "text": action_id, "emoji": True},
            "type": "button",
            "action_ts": f"{self.clock():.6f}",
        }
        if value is not None:
            action["value"] = value
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": "unused-verification-token",
            "trigger_id": self.trigger_id(),
            "team": self._team(),
            "enterprise": self._enterprise(),
            "is_enterprise_install": self.enterprise_install,
            "actions": [action],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = dict(view)
        else:
            ts = str((message or {}).get("ts", ""))
            payload["container"] = {"type": "message", "message_ts": ts, "channel_id": channel_id,
                                    "is_ephemeral": is_ephemeral}
            payload["channel"] = {"id": channel_id, "name": (channel_id or "").lower()}
            payload["message"] = dict(message or {})
            payload["response_url"] = response_url
            payload["state"] = {"values": {}}
        return self.interactive(payload, timestamp=timestamp)

    def view_select(self, *, user_id: str, view: Mapping[str, Any], block_id: str, values: Mapping[str, Any],
                    timestamp: int | None = None) -> SignedRequest:
        """A choice in a modal's select whose input block sets ``dispatch_action``: a ``block_actions``
        from the view (``container.type=view``), the view carrying its id, hash and the form's state so far
        (`values`, which holds the choice), as in Slack's ``block_actions_modal_static_select`` sample."""
        chosen: dict[str, Any] = dict(values.get(block_id) or {})
        action_id: str = next(iter(chosen), "")
        entry: dict[str, Any] = dict(chosen.get(action_id) or {})
        action = {"type": entry.get("type", "static_select"), "action_id": action_id, "block_id": block_id,
                  "selected_option": entry.get("selected_option"), "action_ts": f"{self.clock():.6f}"}
        shown = dict(view)
        shown["state"] = {"values": dict(values)}
        payload = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": "unused-verification-token",
            "container": {"type": "view", "view_id": view.get("id")},
            "trigger_id": self.trigger_id(),
            "team": self._team(),
            "enterprise": self._enterprise(),
            "is_enterprise_install": self.enterprise_install,
            "view": shown,
            "actions": [action],
        }
        return self.interactive(payload, timestamp=timestamp)

    def view_submission(self, *, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any],
                        timestamp: int | None = None) -> SignedRequest:
        submitted = dict(view)
        submitted["state"] = {"values": dict(values)}
        submitted.setdefault("id", f"V{next(_counter):08d}")
        submitted.setdefault("team_id", self.team_id)
        submitted.setdefault("hash", f"{int(self.clock())}.{next(_counter):08d}")
        payload = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": "unused-verification-token",
            "trigger_id": self.trigger_id(),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": self.enterprise_install,
            "enterprise": self._enterprise(),
        }
        return self.interactive(payload, timestamp=timestamp)

    # -- events ---------------------------------------------------------------------
    def event(self, event: Mapping[str, Any], *, retry_num: int | None = None, retry_reason: str = "http_timeout",
              event_id: str | None = None, timestamp: int | None = None) -> SignedRequest:
        envelope = {
            "token": "unused-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_counter):010d}",
            "event_time": int(self.clock()),
            "authorizations": [{"enterprise_id": self.enterprise_id, "team_id": self.team_id, "user_id": "U0BOT",
                                "is_bot": True, "is_enterprise_install": self.enterprise_install}],
            "is_ext_shared_channel": False,
        }
        extra = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self.sign(json.dumps(envelope), "application/json", timestamp=timestamp, extra_headers=extra)

    def app_home_opened(self, user_id: str, **kwargs: Any) -> SignedRequest:
        return self.event({"type": "app_home_opened", "user": user_id, "channel": f"D{user_id[1:]}",
                           "tab": "home", "event_ts": f"{self.clock():.6f}"}, **kwargs)

    def trigger_id(self) -> str:
        """A fresh trigger id (Slack's start with the time it was issued)."""
        return f"{int(self.clock())}.{next(_counter)}.console"


def values_of(blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    """Button values of a message's blocks (handy in tests)."""
    found: list[str] = []
    for block in blocks:
        for element in block.get("elements", []) or []:
            if isinstance(element, Mapping) and element.get("type") == "button" and "value" in element:
                found.append(str(element["value"]))
    return found
