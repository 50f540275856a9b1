"""Installs for many workspaces: Bolt's OAuth flow over slack_sdk's SQLAlchemy stores.

With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET set, a workspace (or a whole Enterprise Grid
organisation, for an org-wide install) installs the bot at ``GET /slack/install``; Slack sends
the installer back to ``GET /slack/oauth_redirect`` with a code, which the flow exchanges
(``oauth.v2.access`` at SLACK_API_URL) for a rotating bot token. Installs and the flow's one-use
states are kept in the ledger's database (tables from migration ``0006_oauth``), so any replica
serves any workspace and an install survives a restart mid-flow.

Each request is then authorized by Bolt from the installation store (rotating the token when
it is near expiry, through the same client, so the refresh goes to SLACK_API_URL too), and
`commands.slack.clients` binds the workspace's client for the request. Work the bot does on
its own asks `WorkspaceTokens` for the workspace's client.

Without a client id and secret nothing here runs: the bot serves the one workspace
SLACK_BOT_TOKEN belongs to, as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings
from commands.workflow.access import Workspace

__all__ = ["OAuth", "WorkspaceTokens", "build_oauth"]

log = logging.getLogger("invoicebot.oauth")

#: refresh a rotating token this long before it expires (Bolt's default)
ROTATE_BEFORE_MINUTES = 120
#: how long an install may take between /slack/install and the redirect
STATE_TTL_SECONDS = 600


@dataclass
class OAuth:
    """What `AsyncApp` takes for installs: the flow (install and redirect pages) and the
    authorization that finds (and rotates) each workspace's token."""

    flow: AsyncOAuthFlow
    authorize: AsyncInstallationStoreAuthorize
    installations: AsyncSQLAlchemyInstallationStore


def build_oauth(settings: Settings, engine: AsyncEngine, client: AsyncWebClient) -> OAuth:
    """The OAuth flow and installation store on the ledger's engine; `client` (SLACK_API_URL,
    no token) makes the ``oauth.v2.access`` and ``auth.test`` calls."""
    assert settings.slack_client_id is not None and settings.slack_client_secret is not None
    client_id, secret = settings.slack_client_id, settings.slack_client_secret.get_secret_value()
    installations = AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine, logger=log)
    states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=STATE_TTL_SECONDS, engine=engine, logger=log)
    authorize = AsyncInstallationStoreAuthorize(
        logger=log, client_id=client_id, client_secret=secret, installation_store=installations,
        token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES, client=client,
        # the bot acts with its own token only; the installer's user token is never used
        bot_only=True,
    )
    oauth_settings = AsyncOAuthSettings(
        client_id=client_id, client_secret=secret, scopes=settings.scopes, user_scopes=[],
        redirect_uri=settings.slack_redirect_uri, installation_store=installations,
        installation_store_bot_only=True, state_store=states, state_expiration_seconds=STATE_TTL_SECONDS,
        token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES, authorization_url=settings.slack_authorization_url,
        logger=log,
    )
    flow = AsyncOAuthFlow(client=client, settings=oauth_settings, logger=log)
    return OAuth(flow=flow, authorize=authorize, installations=installations)


class WorkspaceTokens:
    """How the bot finds a workspace's bot token for work no Slack request started.

    Single-token mode: SLACK_BOT_TOKEN for every workspace. OAuth mode: the workspace's latest
    install (a team's own, else its organisation's org-wide one), rotated first when near expiry
    and the rotated token saved, so every replica uses the newest.

    Args:
        client: the shared client; a workspace's client reuses its HTTP session and base URL.
    """

    def __init__(self, client: AsyncWebClient, *, oauth: OAuth | None = None, client_id: str | None = None,
                 client_secret: str | None = None) -> None:
        self.client = client
        self.oauth = oauth
        self._rotator = (AsyncTokenRotator(client_id=client_id, client_secret=client_secret, client=client)
                         if oauth is not None and client_id and client_secret else None)

    async def token_for(self, workspace: Workspace | None) -> str | None:
        """The bot token to act for `workspace` with; None when it is not installed."""
        if self.oauth is None:
            return self.client.token
        if workspace is None:
            return None
        store = self.oauth.installations
        bot = None
        if workspace.team_id is not None:
            bot = await store.async_find_bot(enterprise_id=workspace.enterprise_id, team_id=workspace.team_id)
        if bot is None and workspace.enterprise_id is not None:
            bot = await store.async_find_bot(enterprise_id=workspace.enterprise_id, team_id=None,
                                             is_enterprise_install=True)
        if bot is None:
            return None
        if self._rotator is not None and bot.bot_refresh_token:
            refreshed = await self._rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=ROTATE_BEFORE_MINUTES)
            if refreshed is not None:
                await store.async_save_bot(refreshed)
                bot = refreshed
        return bot.bot_token

    async def client_for(self, workspace: Workspace | None) -> AsyncWebClient | None:
        """A client holding `workspace`'s token (sharing the HTTP session); None when not installed."""
        token = await self.token_for(workspace)
        if token is None:
            return None
        if token == self.client.token:
            return self.client
        return AsyncWebClient(token=token, base_url=self.client.base_url, session=self.client.session,
                              timeout=self.client.timeout, retry_handlers=self.client.retry_handlers)
