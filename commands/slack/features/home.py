"""App Home: the view a user sees on the app's Home tab, published on open and after changes.

Registered always (not only when a scheduler runs): the Home tab reads the database, and
every feature that changes something a user sees there calls `refresh_home`.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import use_locale
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.slack_errors import slack_error
from commands.workflow.roles import Role
from commands.workflow.workspaces import current_scope

__all__ = ["refresh_home", "register"]

log = logging.getLogger("invoicebot.home")


async def refresh_home(deps: SlackDeps, user: str, client: AsyncWebClient) -> None:
    """Publish `user`'s App Home as it is now (best effort: a Slack refusal is logged)."""
    from commands.slack.home import load_home  # on first use: App Home's builders are not the idle bot's

    home = await load_home(deps.store, user, await deps.approvers.is_approver(user),
                           sandbox_providers=deps.sandboxed(), workspace=current_scope(),
                           is_admin=deps.workspace_settings is not None
                           and await deps.approvers.has_role(user, Role.ADMIN))
    with use_locale(await deps.languages.for_person(user)):  # someone else's action may refresh it
        view = home.view(deps.tz, now=deps.clock())
    try:
        await client.views_publish(user_id=user, view=view)
    except SlackApiError as exc:
        log.warning("could not publish the App Home of %s: %s", user, slack_error(exc))


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """`app_home_opened` publishes the Home tab (the Messages tab needs nothing)."""

    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") == "home":
            await refresh_home(deps, str(event.get("user", "")), client)

    app.event("app_home_opened")(on_home_opened)
