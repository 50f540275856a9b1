"""`/invoice send-nts <ref>` and the status card's "Send to NTS now" button (즉시전송, Popbill).

Through approval when ``send_nts`` is among `INVOICEBOT_APPROVAL_ACTIONS`; otherwise it runs at
once and the requester hears how it went.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _
from commands.slack.features.announce import report_click, report_request
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.replies import explain
from commands.slack.features.router import Invocation
from commands.slack.ids import DOC_SEND_NTS_ACTION_ID
from commands.slack.parser import SendNtsCommand
from commands.workflow import WorkflowError
from providers.errors import ProviderError

__all__ = ["register"]


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `send-nts` to the `/invoice` table and listen for the status card's button."""

    async def on_send_nts(invocation: Invocation, parsed: SendNtsCommand) -> None:
        approval = await deps.service.request_send_nts(str(parsed.ref), invocation.user, invocation.channel)
        await report_request(deps, approval, invocation.channel, invocation.respond, invocation.client,
                             verb="send to the NTS")

    async def on_send_nts_button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        # the work after the ack is queued: it runs when no ack waits (`AckPacer`)

        async def work() -> None:
            user = str(body.get("user", {}).get("id", ""))
            ref = str((body.get("actions") or [{}])[0].get("value", ""))
            channel = str((body.get("channel") or {}).get("id") or user)
            try:
                approval = await deps.service.request_send_nts(ref, user, channel)
            except (WorkflowError, ProviderError) as exc:
                failed = _("Sending {ref} to the NTS failed").format(ref=ref)
                await deps.notifier.tell_clicker(body, user, explain(failed, exc).text())
                return
            await report_click(deps, approval, body, user, channel, client)

        await deps.pacer.run_or_now(work, name="the send-to-NTS button")

    deps.router.add(SendNtsCommand, on_send_nts)
    app.action(DOC_SEND_NTS_ACTION_ID)(on_send_nts_button)
