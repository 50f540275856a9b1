"""`/invoice amend <ref> [reason] …`, the status card's "Amend" button and the amendment form (수정세금계산서).

Without a reason the command opens the form (it must open within the trigger's 3 s, so the
route acknowledges itself); with one it asks at once. Either way one approval card covers the
documents the reason produces (see `commands.workflow.amend`).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _
from commands.slack.blocks.amend import build_amend_modal, parse_amend_submission
from commands.slack.features.announce import announce, report_request
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.replies import explain
from commands.slack.features.router import Invocation
from commands.slack.ids import AMEND_CALLBACK_ID, AMEND_REASON_BLOCK_ID, DOC_AMEND_ACTION_ID
from commands.slack.parser import AmendCommand
from commands.workflow import WorkflowError
from commands.workflow.amend import AmendDraft
from providers.errors import ProviderError

__all__ = ["register"]

log = logging.getLogger("invoicebot.commands")


async def _open_form(deps: SlackDeps, client: AsyncWebClient, trigger_id: str, ref: str, channel: str) -> str | None:
    """Open the form; the Slack error when it could not be opened."""
    view = build_amend_modal(ref, today=deps.today()).to_dict()
    view["private_metadata"] = f"{ref}|{channel}"
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("views.open (amend) failed: %s", exc.response.get("error"))
        return str(exc.response.get("error"))
    return None


async def _open_form_for_click(deps: SlackDeps, body: dict[str, Any], client: AsyncWebClient) -> None:
    """The amend button after its ack: the form, or why it did not open and what to type instead."""
    user = str(body.get("user", {}).get("id", ""))
    ref = str((body.get("actions") or [{}])[0].get("value", ""))
    channel = str((body.get("channel") or {}).get("id") or user)
    error = await _open_form(deps, client, str(body.get("trigger_id", "")), ref, channel)
    if error:
        told = _("The amendment form could not be opened (`{error}`): type `/invoice amend {ref}`.")
        await deps.notifier.tell_clicker(body, user, told.format(error=error, ref=ref))


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `amend` to the `/invoice` table, the "Amend" button and the form's submission."""

    async def on_amend_form(invocation: Invocation, parsed: AmendCommand) -> None:
        await invocation.ack()
        error = await _open_form(deps, invocation.client, invocation.trigger_id, str(parsed.ref), invocation.channel)
        if error:
            await invocation.respond(text=_("The amendment form could not be opened (Slack said `{error}`); type "
                                            "the reason too, e.g. `/invoice amend {ref} 4`.").format(
                                         error=error, ref=parsed.ref), response_type="ephemeral")

    async def on_amend(invocation: Invocation, parsed: AmendCommand) -> None:
        assert parsed.reason is not None
        draft = AmendDraft(reason=parsed.reason, supply=parsed.supply, note=parsed.note)
        approval = await deps.service.request_amend(str(parsed.ref), draft, invocation.user, invocation.channel)
        await report_request(deps, approval, invocation.channel, invocation.respond, invocation.client,
                             verb="amend")

    async def on_amend_button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        # queued (`AckPacer`), urgent: the form's trigger_id lives 3 s
        await deps.pacer.run_or_now(functools.partial(_open_form_for_click, deps, body, client), urgent=True,
                                    name="the amend button")

    async def on_amend_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                                  client: AsyncWebClient) -> None:
        user = str(body.get("user", {}).get("id", ""))
        ref, _sep, channel = str(view.get("private_metadata") or "").partition("|")
        fields, errors = parse_amend_submission(view.get("state", {}).get("values", {}))
        try:
            draft = AmendDraft(**fields) if not errors else None
        except ValidationError:
            draft, errors = None, {AMEND_REASON_BLOCK_ID: _("Please check the form.")}
        if draft is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()  # the request may ask the provider for the original's filing: not on the ack's clock
        # the work after the ack is queued: it runs when no ack waits (`AckPacer`)

        where, asked = channel or user, draft

        async def work() -> None:
            try:
                approval = await deps.service.request_amend(ref, asked, user, where)
            except (WorkflowError, ProviderError) as exc:
                failure = explain(_("{ref} was not amended").format(ref=ref), exc)
                await deps.notifier.ephemeral(where, user, failure.text(), failure.blocks())
                return
            await announce(deps, approval, where, client)

        await deps.pacer.run_or_now(work, name="an amendment form")

    deps.router.add(AmendCommand, on_amend_form, when=lambda parsed: parsed.reason is None, acks_itself=True)
    deps.router.add(AmendCommand, on_amend)
    app.action(DOC_AMEND_ACTION_ID)(on_amend_button)
    app.view(AMEND_CALLBACK_ID)(on_amend_submission)
