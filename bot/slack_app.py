"""The Bolt app with one Web API client per workspace instead of one per request.

Bolt (since 1.15) builds a new `AsyncWebClient` in `_init_context` for every request, so
a listener that changes `context.client.token` cannot race another request, and it does so
with OAuth installs too (the authorization middleware then sets the installation's token
on it). Building a client (retry handlers copied, headers merged) costs time on the path
that acknowledges, and we never change a client's token ourselves. `WorkspaceClientApp`
keeps one client per workspace (enterprise id, team id), built the first time a request
from that workspace arrives, with the arguments Bolt would use:

* one bot token (SLACK_BOT_TOKEN): the client carries it from the start;
* OAuth installs: the authorization middleware sets the workspace's installed token on the
  workspace's client, always the same bot token for one workspace (a rotated token replaces
  the old one for every request of it, which is what rotation wants). Our installs always
  carry a bot token (`bot.oauth` asks for bot scopes), so no user token lands on a shared client;
* a request carrying a custom function's own token (`function_bot_access_token`, valid for
  one execution): Bolt's client per request, since Bolt writes that token onto the client.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger import get_bolt_app_logger
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["WorkspaceClientApp"]

#: A bound on the cache: a bot installed in more workspaces than this falls back to Bolt's
#: client per request for the workspaces beyond it, rather than growing without end.
MAX_WORKSPACES = 1000

_Workspace = tuple[str | None, str | None]


class WorkspaceClientApp(AsyncApp):
    """`AsyncApp` whose requests share their workspace's Web API client."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._workspace_clients: dict[_Workspace, AsyncWebClient] = {}

    def workspace_client(self, team_id: str | None, enterprise_id: str | None = None) -> AsyncWebClient:
        """The one client of workspace `team_id` (of `enterprise_id`), built on first use."""
        key = (enterprise_id, team_id)
        client = self._workspace_clients.get(key)
        if client is None:
            base = self._async_client
            client = AsyncWebClient(
                token=self._token, base_url=base.base_url, timeout=base.timeout, ssl=base.ssl, proxy=base.proxy,
                session=base.session, trust_env_in_session=base.trust_env_in_session, headers=base.headers,
                team_id=team_id, logger=base.logger,
                retry_handlers=base.retry_handlers.copy() if base.retry_handlers is not None else None,
            )
            if len(self._workspace_clients) < MAX_WORKSPACES:
                self._workspace_clients[key] = client
        return client

    def _init_context(self, req: AsyncBoltRequest) -> None:
        if req.context.function_bot_access_token is not None:
            super()._init_context(req)  # Bolt writes the execution's own token onto this client
            return
        # Bolt's own `_init_context`, with the workspace's client instead of a new one
        req.context["logger"] = get_bolt_app_logger(app_name=self.name, base_logger=self._base_logger)
        req.context["token"] = self._token
        req.context["client"] = self.workspace_client(req.context.team_id, req.context.enterprise_id)
        req.context["listener_runner"] = self.listener_runner
