"""Closure checks (휴폐업 조회): `/invoice closure <numbers>` and the App Home button with its modal.

Long lists are checked in chunks with a progress message, so the user sees it working.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _
from commands.slack.blocks import build_closure_message, build_progress_message, closure_text
from commands.slack.cards import closure_rows
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.replies import Failure
from commands.slack.features.router import Invocation
from commands.slack.ids import CLOSURE_MODAL_CALLBACK_ID, HOME_CLOSURE_ACTION_ID
from commands.slack.parser import ClosureCommand
from commands.slack.provider_words import provider_words
from commands.slack.slack_errors import slack_error
from commands.workflow import ClosureItem

__all__ = ["CLOSURE_CHUNK", "CLOSURE_PROGRESS_THRESHOLD", "register"]

log = logging.getLogger("invoicebot.commands")

#: numbers per provider call when a closure check reports progress
CLOSURE_CHUNK = 100
#: above this many numbers the answer shows progress while it works
CLOSURE_PROGRESS_THRESHOLD = 20


async def check_closure(deps: SlackDeps, biznos: Sequence[str], user: str, respond: AsyncRespond) -> None:
    """Check the numbers chunk by chunk, showing progress for long lists, then answer once."""
    total = len(biznos)
    show_progress = total > CLOSURE_PROGRESS_THRESHOLD
    if show_progress:
        checking = _("Checking {count} numbers").format(count=total)
        await respond(text=f"{checking}…", blocks=build_progress_message(checking, 0, total),
                      response_type="ephemeral")
    items: list[ClosureItem] = []
    sandbox = False
    for start in range(0, total, CLOSURE_CHUNK):
        result = await deps.service.closure(list(biznos[start:start + CLOSURE_CHUNK]), user)
        if result.error:
            failure = Failure(_("The closure check failed"), provider_words(result.error),
                              provider_words(result.error_hint) if result.error_hint else None)
            await respond(text=failure.text(), blocks=failure.blocks(), replace_original=show_progress,
                          response_type="ephemeral")
            return
        if result.provider is not None and result.provider in deps.providers:
            sandbox = sandbox or deps.providers[result.provider].sandbox
        items.extend(result.items)
        if show_progress and start + CLOSURE_CHUNK < total:
            done = min(total, start + CLOSURE_CHUNK)
            checking = _("Checking {count} numbers").format(count=total)
            await respond(replace_original=True, text=f"{checking}… {done}/{total}",
                          blocks=build_progress_message(checking, done, total))
    rows = closure_rows(items)
    await respond(text=closure_text(rows, sandbox=sandbox),
                  blocks=build_closure_message(rows, sandbox=sandbox, tz=deps.tz),
                  replace_original=show_progress, response_type="ephemeral")


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """`/invoice closure`, the App Home "closure check" button and its modal."""

    async def on_closure(invocation: Invocation, parsed: ClosureCommand) -> None:
        await check_closure(deps, parsed.biznos, invocation.user, invocation.respond)

    async def on_home_closure(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        # the work after the ack is queued: it runs when no ack waits (`AckPacer`), urgent: a trigger_id lives 3 s

        async def work() -> None:
            from commands.slack.home import build_closure_modal  # on first use: App Home's code (idle RSS)

            try:
                await client.views_open(trigger_id=str(body.get("trigger_id", "")), view=build_closure_modal())
            except SlackApiError as exc:
                log.warning("could not open the closure modal: %s", slack_error(exc))

        await deps.pacer.run_or_now(work, urgent=True, name="App Home closure")

    async def on_closure_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        from commands.slack.home import parse_closure_submission  # on first use (idle RSS)

        command, errors = parse_closure_submission(view.get("state", {}).get("values", {}))
        if errors or command is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        # the work after the ack is queued: it runs when no ack waits (`AckPacer`)

        async def work() -> None:
            user = str(body.get("user", {}).get("id", ""))
            result = await deps.service.closure(list(command.biznos), user)
            if result.error:
                await deps.notifier.tell_user(user, _("The closure check failed: {error}").format(
                    error=provider_words(result.error)))
                return
            sandbox = bool(result.provider and deps.providers[result.provider].sandbox)
            rows = closure_rows(result.items)
            await deps.notifier.tell_user(user, closure_text(rows, sandbox=sandbox),
                                          build_closure_message(rows, sandbox=sandbox, tz=deps.tz))

        await deps.pacer.run_or_now(work, name="a closure form")

    deps.router.add(ClosureCommand, on_closure)
    app.action(HOME_CLOSURE_ACTION_ID)(on_home_closure)
    app.view(CLOSURE_MODAL_CALLBACK_ID)(on_closure_submission)
