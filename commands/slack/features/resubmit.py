"""Edit and resubmit: the "Edit and resubmit" button on a rejected, expired or failed issue
request, the prefilled issue form it opens, and that form's submission.

The button is in the requester's message about the outcome; anyone can click a forwarded
one, so the workflow decides (`InvoiceService.reopen_issue`: its requester only, naming who
may). The form is the issue modal with the old request's values and its own callback id, so
the submission carries which request it replaces and becomes a new request linked to it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _
from commands.slack.features.announce import announce
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.replies import explain, read_metadata
from commands.slack.ids import RESUBMIT_ACTION_ID, RESUBMIT_CALLBACK_ID
from commands.slack.modal import build_issue_modal, parse_issue_submission
from commands.slack.slack_errors import slack_error
from commands.workflow import WorkflowError
from providers.errors import ProviderError

__all__ = ["register"]

log = logging.getLogger("invoicebot.commands")


def _approval_id(raw: Any) -> int | None:
    try:
        return int(str(raw))
    except (TypeError, ValueError):
        return None


async def _open_form(deps: SlackDeps, body: dict[str, Any], user: str, approval_id: int,
                     client: AsyncWebClient) -> None:
    """The issue form, prefilled from request `approval_id` (refusals go to the clicker)."""
    try:
        draft = await deps.service.reopen_issue(approval_id, user)
        old = await deps.service.get_approval(approval_id)
    except (WorkflowError, ProviderError) as exc:
        await deps.notifier.tell_clicker(body, user, explain("", exc).line())
        return
    metadata = json.dumps({"channel": old.origin_channel_id or user, "thread_ts": old.origin_thread_ts,
                           "resubmits": approval_id}, separators=(",", ":"))
    view = build_issue_modal(initial=draft, today=deps.today(), offered=deps.offered(),
                             private_metadata=metadata).to_dict()
    view.update(callback_id=RESUBMIT_CALLBACK_ID, title={"type": "plain_text", "text": _("Edit and resubmit")[:24]})
    try:
        await client.views_open(trigger_id=str(body.get("trigger_id", "")), view=view)
    except SlackApiError as exc:
        log.warning("views.open failed for %s: %s", user, slack_error(exc))
        await deps.notifier.tell_clicker(body, user, _("The form could not be opened. Click the button again."))


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """The "Edit and resubmit" button and the form's submission."""

    async def on_resubmit_click(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        # the work after the ack is queued: it runs when no ack waits (`AckPacer`), urgent: a trigger_id lives 3 s

        async def work() -> None:
            user = str((body.get("user") or {}).get("id", ""))
            approval_id = _approval_id((body.get("actions") or [{}])[0].get("value"))
            if approval_id is not None:
                await _open_form(deps, body, user, approval_id, client)

        await deps.pacer.run_or_now(work, urgent=True, name="the resubmit button")

    async def on_resubmission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                              client: AsyncWebClient) -> None:
        user = str((body.get("user") or {}).get("id", ""))
        metadata = read_metadata(view.get("private_metadata"))
        approval_id = _approval_id(metadata.get("resubmits"))
        channel = str(metadata.get("channel") or user)
        draft, errors, warnings = parse_issue_submission(view.get("state", {}).get("values", {}),
                                                         today=deps.today(), offered=deps.offered())
        if approval_id is None or errors or draft is None:
            await ack(response_action="errors", errors=errors or {"provider": _("Please check the form.")})
            return
        try:
            # database writes only (unless issuing needs no approval): a refusal belongs on the form
            approval = await deps.service.resubmit_issue(approval_id, draft, user, channel, metadata.get("thread_ts"))
        except (WorkflowError, ProviderError) as exc:
            await ack(response_action="errors", errors={"provider": explain("", exc).what[:1900]})
            return
        await ack()
        await announce(deps, approval, channel, client, warnings)

    app.action(RESUBMIT_ACTION_ID)(on_resubmit_click)
    app.view(RESUBMIT_CALLBACK_ID)(on_resubmission)
