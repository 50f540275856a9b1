"""Deciding requests: the Approve and Reject buttons (on cards and in App Home), the reject
modal, `/invoice list pending`, and the expiry job.

Who may decide is the workflow's rule: the approver middleware is the quick refusal for
people who are not approvers, and everything else (four eyes included) is the workflow's
`NotAllowed`, shown to the clicker as it is.

A click is acknowledged first, then claimed against replays (`ReplayGate`) and recorded
`patiently` (a locked database is waited for; the clicker is told if it never frees up). An
approved request goes to the provider at once: the card update runs alongside the call and
never gates it. The recovery job runs every `RECOVERY_INTERVAL`, so a request nobody ran or
an execution whose process died is taken over well within 30 seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _, use_locale
from commands.slack.blocks import (
    build_pending_list_message,
    build_reject_modal,
    parse_reject_submission,
    pending_list_text,
)
from commands.slack.blocks.kit import user_mention
from commands.slack.busy import DatabaseBusy, patiently
from commands.slack.cards import approval_card
from commands.slack.features.deps import SlackDeps
from commands.slack.features.home import refresh_home
from commands.slack.features.jobs import EXPIRY_JOB_ID, RECOVERY_JOB_ID, JobScheduler
from commands.slack.features.replies import explain
from commands.slack.features.router import Invocation
from commands.slack.formatting import approval_state_label
from commands.slack.ids import (
    APPROVE_ACTION_ID,
    APPROVE_LATE_ACTION_ID,
    REJECT_ACTION_ID,
    REJECT_CALLBACK_ID,
    REJECT_REASON_BLOCK_ID,
)
from commands.slack.middleware import ReplayGate, require_approver
from commands.slack.parser import ListCommand
from commands.slack.slack_errors import slack_error
from commands.workflow import (
    ApprovalView,
    DecisionOutcome,
    DecisionResult,
    ExecutionResult,
    NotAllowed,
    WorkflowError,
)
from commands.workflow.deadlines import LATE_UNCONFIRMED
from providers.errors import ProviderError

__all__ = ["EXPIRY_INTERVAL", "RECOVERY_INTERVAL", "expire_approvals", "recover_in_flight", "register"]

log = logging.getLogger("invoicebot.commands")

#: how often stale requests are expired (and old replay keys forgotten)
EXPIRY_INTERVAL = dt.timedelta(minutes=5)
#: how often approved-but-not-run requests are run and dead executions looked for: with the default
#: INVOICEBOT_EXECUTING_STALE_SECONDS (20) a stuck execution is taken over within about 25 s
RECOVERY_INTERVAL = dt.timedelta(seconds=5)


def _action_id(body: Mapping[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("action_id", ""))


async def _refuse_approval(deps: SlackDeps, body: Mapping[str, Any], user: str, approval_id: int,
                           exc: WorkflowError | ProviderError) -> None:
    """Tell the clicker why; a late issue approved from a card drawn before its deadline passed gets
    its card redrawn, with the penalty and the confirming Approve."""
    await deps.notifier.tell_clicker(body, user, explain("", exc).line())
    if getattr(exc, "code", None) == LATE_UNCONFIRMED:
        await deps.notifier.update_card(await deps.service.get_approval(approval_id))


def _approval_id(body: Mapping[str, Any]) -> int | None:
    actions = body.get("actions") or [{}]
    try:
        return int(str(actions[0].get("value", "")))
    except (TypeError, ValueError):
        return None


async def recover_in_flight(deps: SlackDeps) -> list[ExecutionResult]:
    """Re-drive requests a crash left approved or executing, then update their cards; post the
    card of any pending request whose card Slack refused when it was made."""
    with use_locale(await deps.notifier.channel_language()):  # outcomes are stored and shown on the cards
        results = await deps.service.recover()
    for result in results:
        await _show_outcome(deps, result.approval)
    if results:
        log.info("recovered %d request(s) left in flight", len(results))
    await _post_missing_cards(deps)
    return results


async def _show_outcome(deps: SlackDeps, approval: ApprovalView) -> None:
    """A job's outcome on the card and to the requester, posted as the request's workspace (its
    client, its channel language): a job serves no request, so nothing else says whose it is."""
    async with deps.notifier.posting_as(approval.team_id, approval.enterprise_id) as installed:
        if installed:
            await deps.notifier.update_card(approval)
            await deps.notifier.tell_requester(approval)


async def _post_missing_cards(deps: SlackDeps) -> None:
    """A request whose card could not be posted is still pending: post its card now."""
    for approval in await deps.service.pending_approvals(limit=100):
        if approval.message_ts:
            continue
        async with deps.notifier.posting_as(approval.team_id, approval.enterprise_id) as installed:
            posted = (await deps.notifier.post_card(approval, approval.origin_channel_id or approval.requester)
                      if installed else None)
        if posted is not None:
            await deps.service.attach_card(approval.id, *posted)
            log.info("posted the missing card of request %s", approval.id)


async def expire_approvals(deps: SlackDeps) -> None:
    """Expire stale requests (their cards lose the buttons), forget old replay keys, then
    take over dead executions."""
    with use_locale(await deps.notifier.channel_language()):  # the stored outcome is shown on the card
        expired = await deps.service.expire_stale()
    for approval in expired:
        await _show_outcome(deps, approval)
    await ReplayGate(deps.store, deps.clock).prune()
    # an execution whose process died mid-call is taken over once it is stale
    await recover_in_flight(deps)


async def _after_decision(deps: SlackDeps, body: dict[str, Any], user: str, result: DecisionResult,
                          client: AsyncWebClient) -> None:
    """Run an approved request, then update its card and tell the people involved."""
    approval = result.approval
    notifier = deps.notifier
    if result.outcome in (DecisionOutcome.ALREADY_DECIDED, DecisionOutcome.EXPIRED, DecisionOutcome.VOTED):
        # a counted vote that is not yet enough: the card shows who approved and how many are missing
        await notifier.tell_clicker(body, user, result.message)
        await notifier.update_card(approval)
        return
    if result.outcome is DecisionOutcome.APPROVED and result.execution is None:
        approval = await _execute_beside_the_card(deps, approval)
    await notifier.update_card(approval)
    await notifier.tell_requester(approval)
    await refresh_home(deps, user, client)
    await refresh_home(deps, approval.requester, client)


async def _execute_beside_the_card(deps: SlackDeps, approval: ApprovalView) -> ApprovalView:
    """Run an approved request while its card loses the buttons: the provider call never waits
    for Slack (a failed or hung chat.update only leaves the card behind, for the next update)."""
    first_update = asyncio.create_task(deps.notifier.update_card(approval))
    try:
        # the outcome is stored and shown on the channel's card: written in the channel language
        with use_locale(await deps.notifier.channel_language()):
            approval = (await deps.service.execute(approval.id)).approval
    except Exception:
        log.exception("executing approval %s failed", approval.id)
        approval = await patiently(lambda: deps.service.get_approval(approval.id), what="reading an approval")
    try:
        await first_update  # bounded by CARD_UPDATE_TIMEOUT; the update with the outcome must land last
    except Exception:
        log.exception("updating the card of approval %s failed", approval.id)
    return approval


async def _replayed_click(deps: SlackDeps, body: dict[str, Any], user: str, approval_id: int) -> None:
    """A replayed click does nothing; it is told where the request stands."""
    approval = await deps.service.get_approval(approval_id)
    if approval.decider:
        verb = _("rejected") if approval.state.value == "rejected" else _("approved")
        where = _("already {verb} by {who} ({state})").format(verb=verb, who=user_mention(approval.decider),
                                                               state=approval.state.value)
    elif approval.is_pending:
        where = _("being decided (this click arrived twice)")
    else:
        where = approval.state.value
    await deps.notifier.tell_clicker(body, user, _("Already handled: request #{id} is {where}.").format(
        id=approval_id, where=where))


async def _reject_form_refusal(deps: SlackDeps, approval_id: int, user: str) -> str | None:
    """Why `user` may not open the reject form, or None (the workflow owns the rule)."""
    try:
        approval = await deps.service.check_decider(approval_id, user)
    except NotAllowed as exc:
        return explain("", exc).line()
    return None if approval.is_pending else _("This request is already {state}.").format(
        state=approval_state_label(approval.state))


async def _approve_after_ack(deps: SlackDeps, gate: ReplayGate, body: dict[str, Any], client: AsyncWebClient,
                             context: AsyncBoltContext) -> None:
    """An Approve click after its ack: claim it against replays, record the decision, run it."""
    user = str(body.get("user", {}).get("id", ""))
    approval_id = _approval_id(body)
    if approval_id is None:
        return
    late = _action_id(body) == APPROVE_LATE_ACTION_ID  # its confirm dialog named the penalty
    try:
        if not await gate.first(context):
            await _replayed_click(deps, body, user, approval_id)
            return
        result = await patiently(lambda: deps.service.decide(approval_id, user, True, execute=False,
                                                                 late_confirmed=late),
                                 what=f"recording the approval of #{approval_id}")
    except (WorkflowError, ProviderError) as exc:
        await _refuse_approval(deps, body, user, approval_id, exc)
        return
    except DatabaseBusy:
        await deps.notifier.tell_clicker(body, user, _(
            "⚠️ Your approval of request #{id} could not be recorded: the bot's database stayed busy. "
            "Nothing was done; click Approve again in a minute.").format(id=approval_id))
        return
    await _after_decision(deps, body, user, result, client)


async def _open_reject_form(deps: SlackDeps, body: dict[str, Any], client: AsyncWebClient) -> None:
    """A Reject click after its ack: the form asking why, unless the clicker may not reject."""
    approval_id = _approval_id(body)
    user = str(body.get("user", {}).get("id", ""))
    if approval_id is None:
        return
    try:
        refusal = await _reject_form_refusal(deps, approval_id, user)
    except (WorkflowError, ProviderError) as exc:
        refusal = explain("", exc).line()
    if refusal is not None:
        await deps.notifier.tell_clicker(body, user, refusal)
        return
    try:
        await client.views_open(trigger_id=str(body.get("trigger_id", "")),
                                view=build_reject_modal(str(approval_id)))
    except SlackApiError as exc:
        refusal = _("The reject form could not be opened ({error}). Click Reject again.")
        await deps.notifier.tell_clicker(body, user, refusal.format(error=slack_error(exc)))


def _register_buttons(app: AsyncApp, deps: SlackDeps) -> None:
    decision_guard = require_approver(deps.approvers, deps.notifier)
    gate = ReplayGate(deps.store, deps.clock)

    async def on_approve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                         context: AsyncBoltContext) -> None:
        """Acknowledge first, then claim the click against replays, record the decision and run it.

        Recording before the ack would survive a crash between the two, but under a burst of
        clicks (a thousand duplicates in the fault suite) or a locked database the database
        work pushes acks past Slack's 3 seconds. After the ack the click is recorded
        `patiently`; if the database never frees up the clicker is told to click again, and a
        click lost to a crash leaves the card with its buttons, visibly pending.
        """
        await ack()
        # the click's work is queued like a command's: it runs when no ack waits (`AckPacer`)
        await deps.pacer.run_or_now(lambda: _approve_after_ack(deps, gate, body, client, context),
                                    name="an approval click")

    async def on_reject_click(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        # urgent, ahead of other queued work: the reject form's trigger_id lives 3 s
        await deps.pacer.run_or_now(lambda: _open_reject_form(deps, body, client), urgent=True,
                                    name="a reject click")

    app.action(APPROVE_ACTION_ID, middleware=[decision_guard])(on_approve)
    app.action(APPROVE_LATE_ACTION_ID, middleware=[decision_guard])(on_approve)
    app.action(REJECT_ACTION_ID, middleware=[decision_guard])(on_reject_click)


def _register_reject_modal(app: AsyncApp, deps: SlackDeps) -> None:
    gate = ReplayGate(deps.store, deps.clock)

    async def on_reject_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                                   client: AsyncWebClient, context: AsyncBoltContext) -> None:
        reason, errors = parse_reject_submission(view.get("state", {}).get("values", {}))
        if errors or reason is None:
            await ack(response_action="errors", errors=errors)
            return
        user = str(body.get("user", {}).get("id", ""))
        try:
            approval_id = int(str(view.get("private_metadata", "")))
        except ValueError:
            await ack()
            return
        if not await gate.first(context):  # the same form submitted again: it was handled once
            await ack()
            return
        try:
            result = await deps.service.decide(approval_id, user, False, reason)
        except (WorkflowError, ProviderError) as exc:
            failure = explain("", exc)
            await ack(response_action="errors", errors={REJECT_REASON_BLOCK_ID: failure.what[:1900]})
            await deps.notifier.tell_clicker(body, user, f"🚫 {failure.what}")
            return
        await ack()
        # the decision is recorded: its card and notices follow when no ack waits, never dropped
        await deps.pacer.run_or_now(lambda: _after_decision(deps, body, user, result, client),
                                    name="a rejection's card")

    app.view(REJECT_CALLBACK_ID)(on_reject_submission)


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """The decision buttons and modal, `list pending`, and the expiry job."""
    _register_buttons(app, deps)
    _register_reject_modal(app, deps)

    async def on_pending(invocation: Invocation, parsed: ListCommand) -> None:
        cards = [approval_card(a) for a in await deps.service.pending_approvals(limit=100)]
        await invocation.respond(text=pending_list_text(cards),
                                 blocks=build_pending_list_message(cards, tz=deps.tz), response_type="ephemeral")

    deps.router.add(ListCommand, on_pending, when=lambda parsed: bool(parsed.pending))
    if scheduler is not None:
        async def expire() -> None:
            await expire_approvals(deps)

        async def recover() -> None:
            await recover_in_flight(deps)

        scheduler.add_job(expire, IntervalTrigger(seconds=EXPIRY_INTERVAL.total_seconds(), timezone=scheduler.tz),
                          id=EXPIRY_JOB_ID, misfire_grace_time=max(1, int(EXPIRY_INTERVAL.total_seconds())))
        scheduler.add_job(recover, IntervalTrigger(seconds=RECOVERY_INTERVAL.total_seconds(), timezone=scheduler.tz),
                          id=RECOVERY_JOB_ID, misfire_grace_time=max(1, int(RECOVERY_INTERVAL.total_seconds())))
