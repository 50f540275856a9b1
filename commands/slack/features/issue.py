"""Issuing a document: `/invoice issue`, the App Home "Issue" button, and the issue modal's submission.

The modal opens within the trigger_id's 3 s (the command's work is queued urgent, after the ack); the
submission is checked on the form (errors go back to the form), recorded, and announced.

A submission is one request however often it arrives: it is keyed by its view id and a hash
of its values (`ReplayGate`), so a replay or a double submit records nothing more. Recording
waits for the database `patiently`, but Slack's answer does not: after `ACK_BUDGET` the form
is closed and the request is recorded (and announced, or its refusal told) once the
database frees up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _, current_locale, use_locale
from commands.slack.blocks import build_error_message
from commands.slack.busy import DatabaseBusy, patiently
from commands.slack.features import issue_dispatch
from commands.slack.features.announce import announce
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.replies import explain, private_metadata, read_metadata
from commands.slack.features.router import Invocation
from commands.slack.ids import HOME_ISSUE_ACTION_ID, ISSUE_CALLBACK_ID
from commands.slack.middleware import ReplayGate
from commands.slack.modal import build_issue_modal, parse_issue_submission, submission_errors
from commands.slack.parser import IssueCommand
from commands.slack.slack_errors import slack_error
from commands.workflow import ApprovalView, IssueDraft, WorkflowError
from providers.base import Capabilities
from providers.errors import ProviderError
from providers.models import DocumentKind, Provider
from providers.registry import CAPABILITIES

__all__ = ["ACK_BUDGET", "open_issue_modal", "register"]

log = logging.getLogger("invoicebot.commands")

#: seconds a submission may spend recording before the form is closed anyway (Slack waits 3)
ACK_BUDGET = 2.0


_MoneyKey = tuple[tuple[str, tuple[Decimal, ...], Decimal | None, str], ...]


def _money_key(deps: SlackDeps) -> _MoneyKey:
    """The live providers' VAT rates and default currency, hashable for the modal cache."""
    return tuple(sorted((p.value, s.capabilities.vat_rates, s.capabilities.default_vat_rate,
                         s.capabilities.default_currency) for p, s in deps.providers.items()))


def _capabilities(money: _MoneyKey) -> dict[Provider, Capabilities]:
    """The declared capabilities with the seller's configured VAT rates and currencies."""
    caps = dict(CAPABILITIES)
    for name, rates, default, currency in money:
        provider = Provider(name)
        caps[provider] = caps[provider].model_copy(update={"vat_rates": rates, "default_vat_rate": default,
                                                           "default_currency": currency})
    return caps


def live_capabilities(deps: SlackDeps) -> dict[Provider, Capabilities]:
    """Each running provider's capabilities (configured VAT rates and currencies included)."""
    return {**CAPABILITIES, **{p: s.capabilities for p, s in deps.providers.items()}}


@functools.lru_cache(maxsize=256)
def _issue_modal(provider: Provider | None, kind: DocumentKind | None, today: dt.date,
                 offered: tuple[tuple[str, tuple[str, ...]], ...], override_reason: str | None = None,
                 money: _MoneyKey = (), currency: str | None = None, locale: str = "en") -> dict[str, Any]:
    """The issue modal as Slack JSON, validated once per (provider, kind, day, language): serialising
    `slack_sdk.models` checks every limit and costs milliseconds on the acknowledging path."""
    kinds = {Provider(p): frozenset(DocumentKind(k) for k in ks) for p, ks in offered}
    with use_locale(locale):
        return build_issue_modal(provider, kind, offered=kinds, today=today, override_reason=override_reason,
                                 capabilities=_capabilities(money), currency=currency).to_dict()


async def open_issue_modal(deps: SlackDeps, client: AsyncWebClient, trigger_id: str, channel: str, user: str,
                           provider: Provider | None, kind: DocumentKind | None,
                           respond: AsyncRespond | None = None, override_reason: str | None = None,
                           currency: str | None = None) -> None:
    """Open the issue form; when Slack refuses and we can answer, say why and what to do."""
    offered = tuple(sorted((p.value, tuple(sorted(k.value for k in kinds)))
                           for p, kinds in deps.offered().items()))
    view = dict(_issue_modal(provider, kind, deps.today(), offered, override_reason, _money_key(deps), currency,
                             current_locale()),
                private_metadata=private_metadata(channel))
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        error = slack_error(exc)
        log.warning("views.open failed for %s: %s", user, error)
        if respond is not None:
            await respond(
                text=_("The issue form could not be opened") + ".",
                blocks=build_error_message(
                    _("The issue form could not be opened"),
                    _("Slack said `{error}` (a form has to open within 3 seconds of the command).").format(error=error),
                    _("Type the command again."),
                ),
                response_type="ephemeral",
            )


async def _issue_now(deps: SlackDeps, draft: IssueDraft, user: str, channel: str, thread_ts: str | None,
                     client: AsyncWebClient, warnings: Sequence[str]) -> None:
    """No approval needed: issue after the submission's ack, tell the requester how it went."""
    try:
        approval = await deps.service.request_issue(draft, user, channel, thread_ts)
    except (WorkflowError, ProviderError) as exc:
        failure = explain(_("The document was not issued"), exc)
        await deps.notifier.ephemeral(channel, user, failure.text(), failure.blocks())
        return
    await announce(deps, approval, channel, client, warnings)


async def _record(deps: SlackDeps, gate: ReplayGate, context: AsyncBoltContext, draft: IssueDraft, user: str,
                  channel: str, thread_ts: str | None) -> ApprovalView | None:
    """Record the request once: None for a replay. A failure gives the key back, so the same
    form submitted again (after a refusal or a database failure) is tried again."""
    if not await gate.first(context):
        return None
    try:
        return await patiently(lambda: deps.service.request_issue(draft, user, channel, thread_ts),
                               what="recording an issue request")
    except BaseException:
        await gate.forget(context)
        raise


async def _finish_late(deps: SlackDeps, recording: asyncio.Task[ApprovalView | None], user: str, channel: str,
                       client: AsyncWebClient, warnings: Sequence[str]) -> None:
    """The form is closed already: announce the request, or tell its refusal, when recording ends."""
    try:
        approval = await recording
    except (WorkflowError, ProviderError) as exc:
        failure = explain(_("The request was not recorded"), exc)
        await deps.notifier.ephemeral(channel, user, failure.text(), failure.blocks())
        return
    except DatabaseBusy:
        await deps.notifier.ephemeral(channel, user, _(
            "⚠️ Your issue request could not be recorded: the bot's database stayed busy. Nothing was sent "
            "for approval; please fill in the form again in a minute."))
        return
    if approval is not None:
        await announce(deps, approval, channel, client, warnings)


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """`/invoice issue`, the App Home button and the modal's submission."""
    gate = ReplayGate(deps.store, deps.clock)

    async def on_issue_command(invocation: Invocation, parsed: IssueCommand) -> None:
        # after the router's ack, ahead of other queued work (urgent): a trigger_id lives 3 s
        await open_issue_modal(deps, invocation.client, invocation.trigger_id, invocation.channel,
                               invocation.user, parsed.provider, parsed.kind, invocation.respond,
                               override_reason=parsed.override_reason, currency=parsed.currency)

    async def on_home_issue(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = str(body.get("user", {}).get("id", ""))
        # queued like `/invoice issue`: urgent, ahead of other work (the trigger_id lives 3 s)
        await deps.pacer.run_or_now(functools.partial(open_issue_modal, deps, client, str(body.get("trigger_id", "")),
                                                      user, user, None, None), urgent=True, name="App Home issue")

    async def on_issue_submission(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                                  client: AsyncWebClient, context: AsyncBoltContext) -> None:
        user = str(body.get("user", {}).get("id", ""))
        metadata = read_metadata(view.get("private_metadata"))
        channel = str(metadata.get("channel") or user)
        draft, errors, warnings = parse_issue_submission(view.get("state", {}).get("values", {}),
                                                         today=deps.today(), offered=deps.offered(),
                                                         capabilities=live_capabilities(deps))
        if errors or draft is None:
            await ack(response_action="errors", errors=errors or {"provider": _("Please check the form.")})
            return
        if not deps.service.needs_approval("issue"):
            # Issuing right away calls the provider: that must not hold the submission's answer.
            await ack()
            if await gate.first(context):
                await _issue_now(deps, draft, user, channel, metadata.get("thread_ts"), client, warnings)
            return
        # Database writes before the ack on purpose (a refusal belongs on the form), but never
        # past ACK_BUDGET: a locked database must not make Slack show "unhandled request".
        recording = asyncio.ensure_future(_record(deps, gate, context, draft, user, channel,
                                                  metadata.get("thread_ts")))
        done, _pending = await asyncio.wait({recording}, timeout=ACK_BUDGET)
        if not done:
            await ack()
            await _finish_late(deps, recording, user, channel, client, warnings)
            return
        try:
            approval = recording.result()
        except (WorkflowError, ProviderError) as exc:
            await ack(response_action="errors", errors=submission_errors(exc, explain("", exc).what))
            return
        await ack()
        if approval is not None:
            await announce(deps, approval, channel, client, warnings)

    deps.router.add(IssueCommand, on_issue_command, urgent=True)
    app.action(HOME_ISSUE_ACTION_ID)(on_home_issue)
    app.view(ISSUE_CALLBACK_ID)(on_issue_submission)
    issue_dispatch.register(app, deps, live_capabilities)  # the form follows its provider and kind selects
