"""`/invoice retry <approval id | ref>`: run a failed request again (requester or approver only)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from commands.i18n import _
from commands.slack.blocks import build_error_message
from commands.slack.cards import approval_card
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.router import Invocation
from commands.slack.parser import RetryCommand
from commands.workflow import ExecutionResult

__all__ = ["register"]


async def _report_execution(result: ExecutionResult, respond: AsyncRespond) -> None:
    card = approval_card(result.approval)
    if result.ok:
        done = result.message or _("done")
        await respond(text=f"✅ {card.document.ref}: {done}", response_type="ephemeral")
    else:
        await respond(text=f"{card.document.ref}: {result.message}",
                      blocks=build_error_message(_("{ref}: not done").format(ref=card.document.ref),
                                                 result.message or _("the provider refused"),
                                                 result.user_hint or _("Check the request and try again.")),
                      response_type="ephemeral")


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `retry` to the `/invoice` table."""

    async def on_retry(invocation: Invocation, parsed: RetryCommand) -> None:
        if parsed.approval_id is not None:
            result = await deps.service.retry(parsed.approval_id, invocation.user)
        else:
            assert parsed.ref is not None
            result = await deps.service.retry_document(str(parsed.ref), invocation.user)
        await _report_execution(result, invocation.respond)
        await deps.notifier.update_card(result.approval)

    deps.router.add(RetryCommand, on_retry)
