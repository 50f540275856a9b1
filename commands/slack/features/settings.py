"""Workspace settings: the admins' "Settings" button on App Home, its modal and its submission.

The modal edits the `workspace_settings` row of the workspace the click came from (bound by
the middleware, never taken from the payload's metadata), so an admin of one workspace can
change nothing in another. Opening and saving both require the admin role of *that*
workspace (a forged submission is refused like a click). A bad value is answered in the
modal, one line under each bad field; provider credentials are encrypted before they reach
the database and only "set" / "not set" is ever shown back. Saving a digest time and
channel schedules that channel's digest for this workspace, as ``/invoice digest schedule``
does.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _
from commands.slack.features.deps import SlackDeps
from commands.slack.features.home import refresh_home
from commands.slack.features.jobs import JobScheduler
from commands.slack.ids import HOME_SETTINGS_ACTION_ID, SETTINGS_MODAL_CALLBACK_ID
from commands.workflow.credentials import CREDENTIAL_FIELDS
from commands.workflow.errors import NotAllowed
from commands.workflow.roles import Guarded
from commands.workflow.workspace_settings import WorkspaceSettings, validate
from commands.workflow.workspaces import current_scope

__all__ = ["register"]

log = logging.getLogger("invoicebot.settings")


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id", ""))


async def _open(deps: SlackDeps, settings: WorkspaceSettings, body: dict[str, Any], client: AsyncWebClient) -> None:
    scope = current_scope()
    try:
        await deps.service.require(_user(body), Guarded.SETTINGS)
        if scope is None:
            raise NotAllowed(_("Settings are per workspace, and this request names none."), code="no_workspace")
    except NotAllowed as exc:
        await deps.notifier.tell_user(_user(body), str(exc))
        return
    from commands.slack.blocks.settings import build_settings_modal  # on first use (idle RSS)

    status = await settings.credential_status(scope) if settings.vault is not None else None
    view = build_settings_modal(await settings.effective(scope), status)
    try:
        await client.views_open(trigger_id=str(body.get("trigger_id", "")), view=view)
    except SlackApiError as exc:
        log.warning("could not open the settings modal: %s", exc.response.get("error"))


async def _save(deps: SlackDeps, settings: WorkspaceSettings, scheduler: JobScheduler | None,
                body: dict[str, Any], view: dict[str, Any], ack: AsyncAck) -> bool:
    """Validate and store a submission; False (after answering the modal's errors) when refused."""
    user, scope = _user(body), current_scope()
    try:
        await deps.service.require(user, Guarded.SETTINGS)
    except NotAllowed as exc:
        await ack(response_action="errors", errors={"approvers_users": str(exc)})
        return False
    from commands.slack.blocks.settings import CREDENTIAL_BLOCK_PREFIX, block_for, parse_settings_submission

    raw, replacements = parse_settings_submission(view.get("state", {}).get("values", {}))
    clean, errors = validate(raw)
    shown = {block_for(field): line for field, line in errors.items()}
    if replacements and settings.vault is None:
        first = CREDENTIAL_BLOCK_PREFIX + next(iter(replacements))
        shown[first] = _("Provider credentials cannot be stored: this bot has no encryption key.")
    if scope is None:
        shown["approvers_users"] = _("Settings are per workspace, and this request names none.")
    if shown or scope is None:
        await ack(response_action="errors", errors=shown)
        return False
    await ack()
    saved = await settings.save(scope, clean, actor=user)
    if replacements:
        await settings.replace_credentials(scope, {k: v for k, v in replacements.items() if k in CREDENTIAL_FIELDS},
                                           actor=user)
    if scheduler is not None and saved.digest_time and saved.digest_channel and "digest_time" in saved.customised:
        await scheduler.schedule(saved.digest_channel, saved.digest_time, user=user)
    log.info("workspace %s settings changed by %s: %s", scope.team_id, user, sorted(clean))
    return True


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """The "Settings" button and modal, when the runtime keeps per-workspace settings."""
    settings = deps.workspace_settings
    if settings is None:
        return

    async def on_settings(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        # the work after the ack is queued: it runs when no ack waits (`AckPacer`), urgent: a trigger_id lives 3 s

        async def work() -> None:
            await _open(deps, settings, body, client)

        await deps.pacer.run_or_now(work, urgent=True, name="the settings button")

    async def on_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                            client: AsyncWebClient) -> None:
        if await _save(deps, settings, scheduler, body, view, ack):
            await refresh_home(deps, _user(body), client)

    app.action(HOME_SETTINGS_ACTION_ID)(on_settings)
    app.view(SETTINGS_MODAL_CALLBACK_ID)(on_submission)
