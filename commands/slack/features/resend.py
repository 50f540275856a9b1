"""Resending a document to its buyer: `/invoice resend <ref> [channel] [address]` and the
digest's "Resend" button on unpaid-bill reminders (the same request and approval rules)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import N_, _
from commands.slack.features.announce import announce, report_click, report_request
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.replies import explain
from commands.slack.features.router import Invocation
from commands.slack.ids import REMINDER_RESEND_ACTION_ID
from commands.slack.middleware import ReplayGate
from commands.slack.parser import ResendCommand
from commands.workflow import WorkflowError
from providers.errors import ProviderError
from providers.models import ResendRequest

__all__ = ["register"]

#: why a resend waits for an approval when resends otherwise need none
ELSEWHERE = N_("This address is not the one the document was issued to, so an approver has to agree first "
               "(an admin could resend it directly).")


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `resend` to the `/invoice` table and listen for the reminder's button."""

    async def on_resend(invocation: Invocation, parsed: ResendCommand) -> None:
        request = ResendRequest(channel=parsed.channel, address=parsed.address)
        approval = await deps.service.request_resend(str(parsed.ref), request, invocation.user, invocation.channel)
        if approval.is_pending and not deps.service.needs_approval("resend"):
            # only a resend to an address the document was not issued to waits (unless an admin asks)
            await announce(deps, approval, invocation.channel, invocation.client, [_(ELSEWHERE)])
            return
        await report_request(deps, approval, invocation.channel, invocation.respond, invocation.client,
                             verb="resend")

    gate = ReplayGate(deps.store, deps.clock)

    async def on_reminder_resend(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                                 context: AsyncBoltContext) -> None:
        await ack()
        # the work after the ack is queued: it runs when no ack waits (`AckPacer`)

        async def work() -> None:
            if not await gate.first(context):  # a replayed click resends nothing
                return
            user = str(body.get("user", {}).get("id", ""))
            ref = str((body.get("actions") or [{}])[0].get("value", ""))
            channel = str((body.get("channel") or {}).get("id") or user)
            try:
                approval = await deps.service.request_resend(ref, ResendRequest(), user, channel)
            except (WorkflowError, ProviderError) as exc:
                failure = explain(_("Resending {ref} failed").format(ref=ref), exc)
                await deps.notifier.tell_clicker(body, user, failure.text())
                return
            await report_click(deps, approval, body, user, channel, client)

        await deps.pacer.run_or_now(work, name="a reminder's resend")

    deps.router.add(ResendCommand, on_resend)
    app.action(REMINDER_RESEND_ACTION_ID)(on_reminder_resend)
