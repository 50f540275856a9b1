"""Wires the scheduled and event-driven parts into a running `Runtime`: digests, sweeps,
approval expiry, App Home, and provider callbacks."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Runtime
from bot.scheduler import create_scheduler
from bot.webhooks import WebhookDeps, register_webhooks
from commands.slack.blocks import build_closure_message, closure_text
from commands.slack.cards import closure_rows
from commands.slack.digest import handle_digest_command
from commands.slack.formatting import state_label
from commands.slack.home import build_closure_modal, load_home, parse_closure_submission
from commands.slack.ids import CLOSURE_MODAL_CALLBACK_ID, HOME_CLOSURE_ACTION_ID, HOME_ISSUE_ACTION_ID
from commands.slack.parser import DigestCommand
from commands.workflow.sweep import SweepReport

__all__ = ["attach_scheduler", "attach_webhooks", "register_home"]

log = logging.getLogger("invoicebot.wiring")


async def attach_scheduler(runtime: Runtime) -> None:
    """Start the digest/sweep/expiry scheduler and route `/invoice digest` and App Home to it."""
    settings = runtime.settings

    async def expire_approvals() -> None:
        for approval in await runtime.service.expire_stale():
            await runtime.notifier.update_card(approval)
            await runtime.notifier.tell_requester(approval)
        # an execution whose process died mid-call is taken over once it is stale
        await runtime.recover()

    async def on_sweep(report: SweepReport) -> None:
        for change in report.changes:
            text = (f"🔄 {change.ref} is now {state_label(change.current)} at {change.provider.value} "
                    f"(raw {change.raw_state})" + (f": {change.detail}" if change.detail else ""))
            await runtime.notifier.post_in_thread(change.document_id, text)

    scheduler = create_scheduler(settings, runtime.store, runtime.client, runtime.providers.services,
                                 expire_approvals=expire_approvals, on_sweep=on_sweep)
    await scheduler.start()
    runtime.scheduler = scheduler

    async def digest(command: DigestCommand, channel: str, user: str, _client: AsyncWebClient) -> list[Block]:
        return await handle_digest_command(runtime.store, scheduler, channel, command, user=user,
                                           tz=settings.timezone)

    runtime.handlers.deps.digest = digest
    register_home(runtime)


def register_home(runtime: Runtime) -> None:
    """App Home: the view on `app_home_opened`, its buttons, and the closure modal."""
    app = runtime.app
    handlers = runtime.handlers
    settings = runtime.settings

    async def publish_home(user: str, client: AsyncWebClient) -> None:
        home = await load_home(runtime.store, user, await runtime.approvers.is_approver(user),
                               sandbox_providers=runtime.providers.sandboxed())
        try:
            await client.views_publish(user_id=user, view=home.view(settings.timezone))
        except SlackApiError as exc:
            log.warning("could not publish the App Home of %s: %s", user, exc.response.get("error"))

    handlers.deps.refresh_home = publish_home

    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") == "home":
            await publish_home(str(event.get("user", "")), client)

    async def on_home_issue(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = str(body.get("user", {}).get("id", ""))
        await handlers.open_issue_modal(client, str(body.get("trigger_id", "")), user, user, None, None)

    async def on_home_closure(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        try:
            await client.views_open(trigger_id=str(body.get("trigger_id", "")), view=build_closure_modal())
        except SlackApiError as exc:
            log.warning("could not open the closure modal: %s", exc.response.get("error"))

    async def on_closure_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                                    client: AsyncWebClient) -> None:
        command, errors = parse_closure_submission(view.get("state", {}).get("values", {}))
        if errors or command is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        user = str(body.get("user", {}).get("id", ""))
        result = await runtime.service.closure(list(command.biznos), user)
        if result.error:
            await runtime.notifier.tell_user(user, f"The closure check failed: {result.error}")
            return
        sandbox = bool(result.provider and runtime.providers.services[result.provider].sandbox)
        rows = closure_rows(result.items)
        await runtime.notifier.tell_user(user, closure_text(rows, sandbox=sandbox),
                                         build_closure_message(rows, sandbox=sandbox, tz=settings.timezone))

    app.event("app_home_opened")(on_home_opened)
    app.action(HOME_ISSUE_ACTION_ID)(on_home_issue)
    app.action(HOME_CLOSURE_ACTION_ID)(on_home_closure)
    app.view(CLOSURE_MODAL_CALLBACK_ID)(on_closure_submission)


def attach_webhooks(runtime: Runtime, web_app: web.Application) -> None:
    """Provider callbacks under /webhooks/, each posting in the document's thread."""

    async def notify(document_ref: str, text: str, blocks: list[Block]) -> None:
        doc = await runtime.store.documents.get_by_ref(document_ref)
        if doc is not None:
            await runtime.notifier.post_in_thread(doc.id, text, blocks)

    register_webhooks(web_app, WebhookDeps(store=runtime.store, providers=runtime.providers.services,
                                           notify=notify, settings=runtime.settings))
