"""Installs: ``oauth.v2.access`` (a code, or a refresh token) and ``auth.test`` per token.

A test grants a code for a workspace (`Installs.grant`), drives the app's real OAuth flow
(/slack/install, then /slack/oauth_redirect?code=…), and the app exchanges the code here as it
would at slack.com: HTTP Basic with the client id and secret, no bearer token. Tokens are
rotating ones (``expires_in`` and a ``refresh_token``), so ``grant_type=refresh_token`` answers
a fresh pair and retires the old refresh token. Each token issued is remembered with its
workspace, so ``auth.test`` answers the workspace the token belongs to and every recorded call
says which workspace's token made it.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass
from typing import Any

from bot.console.slack_double.records import slack_error

__all__ = ["Grant", "Installs"]


@dataclass(frozen=True)
class Grant:
    """A workspace (or, for an org-wide install, an Enterprise Grid organisation) that installs the app."""

    team_id: str | None
    team_name: str | None = None
    enterprise_id: str | None = None
    enterprise_name: str | None = None
    is_enterprise_install: bool = False
    installer: str = "U_INSTALLER"
    bot_user_id: str = "U0BOT"
    bot_id: str = "B0BOT"

    @property
    def key(self) -> str:
        return self.team_id or self.enterprise_id or "?"


class Installs:
    """Codes waiting to be exchanged and the tokens handed out for them.

    Args:
        client_id, client_secret: the only credentials ``oauth.v2.access`` accepts.
        app_id: answered as ``app_id``.
        expires_in: the lifetime of each bot token, in seconds (Slack: 12 hours).
    """

    def __init__(self, client_id: str, client_secret: str, app_id: str, *, expires_in: int = 43200) -> None:
        self.client_id, self.client_secret, self.app_id = client_id, client_secret, app_id
        self.expires_in = expires_in
        self._codes: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}
        self.tokens: dict[str, Grant] = {}
        self._serial = itertools.count(1)

    def grant(self, code: str, grant: Grant) -> None:
        """Let `code` be exchanged once for a bot token of `grant`'s workspace."""
        self._codes[code] = grant

    def team_of(self, token: str) -> str | None:
        """The workspace (team, or organisation) a token was issued to; None for other tokens."""
        grant = self.tokens.get(token)
        return grant.key if grant is not None else None

    def stamp_view(self, token: str, response: dict[str, Any]) -> None:
        """A view opened with an installed token belongs to that token's workspace (Bolt reads
        ``view.app_installed_team_id`` first to find whose install serves its submission)."""
        grant = self.tokens.get(token)
        view = response.get("view")
        if grant is None or not isinstance(view, dict):
            return
        view["team_id"] = grant.team_id
        view["app_installed_team_id"] = grant.team_id

    def _credentials_ok(self, authorization: str, args: dict[str, Any]) -> bool:
        client_id, client_secret = args.get("client_id"), args.get("client_secret")
        if authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
            except ValueError:
                return False
            client_id, _, client_secret = decoded.partition(":")
        return (client_id, client_secret) == (self.client_id, self.client_secret)

    def _issue(self, grant: Grant) -> tuple[str, str]:
        n = next(self._serial)
        token, refresh = f"xoxb-{grant.key}-{n}", f"xoxe-1-{grant.key}-{n}"
        self.tokens[token] = grant
        self._refresh[refresh] = grant
        return token, refresh

    def oauth_v2_access(self, args: dict[str, Any], authorization: str) -> dict[str, Any]:
        if not self._credentials_ok(authorization, args):
            return slack_error("invalid_client_id")
        if args.get("grant_type") == "refresh_token":
            grant = self._refresh.pop(str(args.get("refresh_token", "")), None)
            if grant is None:
                return slack_error("invalid_refresh_token")
            token, refresh = self._issue(grant)
            return {"ok": True, "app_id": self.app_id, "access_token": token, "refresh_token": refresh,
                    "expires_in": self.expires_in, "token_type": "bot", "scope": "commands,chat:write",
                    "team": {"id": grant.team_id}, "enterprise": _enterprise(grant)}
        grant = self._codes.pop(str(args.get("code", "")), None)
        if grant is None:
            return slack_error("invalid_code")
        token, refresh = self._issue(grant)
        return {
            "ok": True, "app_id": self.app_id, "authed_user": {"id": grant.installer},
            "scope": "commands,chat:write,files:write,im:write,usergroups:read,channels:read",
            "token_type": "bot", "access_token": token, "bot_user_id": grant.bot_user_id,
            "refresh_token": refresh, "expires_in": self.expires_in,
            "team": {"id": grant.team_id, "name": grant.team_name} if grant.team_id else None,
            "enterprise": _enterprise(grant), "is_enterprise_install": grant.is_enterprise_install,
        }

    def auth_test(self, token: str) -> dict[str, Any] | None:
        """``auth.test`` for a token issued here; None for other tokens (the default workspace answers)."""
        grant = self.tokens.get(token)
        if grant is None:
            return None
        host = grant.team_name or grant.enterprise_name or grant.key
        return {"ok": True, "url": f"https://{host}.slack.com/", "team": grant.team_name, "user": "invoicebot",
                "team_id": grant.team_id, "user_id": grant.bot_user_id, "bot_id": grant.bot_id,
                "enterprise_id": grant.enterprise_id, "is_enterprise_install": grant.is_enterprise_install}


def _enterprise(grant: Grant) -> dict[str, Any] | None:
    if grant.enterprise_id is None:
        return None
    return {"id": grant.enterprise_id, "name": grant.enterprise_name}
