"""After a request is recorded: post its approval card, tell the requester, refresh App Home.

Issue, resend and destroy all end here, so a request reads the same whichever way it came in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from commands.i18n import _
from commands.slack.blocks import build_error_message
from commands.slack.blocks.approval import action_label
from commands.slack.blocks.deadlines import deadline_line
from commands.slack.cards import approval_card
from commands.slack.features.deps import SlackDeps
from commands.slack.features.home import refresh_home
from commands.slack.formatting import approval_state_label, escape_mrkdwn
from commands.workflow import ApprovalView

__all__ = ["announce", "report_click", "report_request"]


async def announce(deps: SlackDeps, approval: ApprovalView, channel: str, client: AsyncWebClient,
                   warnings: Sequence[str] = ()) -> None:
    """Post the request's card and tell the requester where it went."""
    notifier = deps.notifier
    posted = await notifier.post_card(approval, channel)
    if posted is not None:
        approval = await deps.service.attach_card(approval.id, *posted)
    ref = approval.document.ref
    verb = action_label(approval.action.value)
    verb = verb[:1].upper() + verb[1:]
    if approval.is_pending and posted is None:
        # recorded, but Slack refused the card: say so (the recovery job posts it again)
        text = _("📨 {action} request #{id} for *{ref}* is recorded and waiting for approval, but its approval card "
                 "could not be posted to Slack yet; the bot posts it again shortly, and approvers see it now in "
                 "`/invoice list pending` and App Home. Approvers: {approvers}.").format(
            action=verb, id=approval.id, ref=escape_mrkdwn(ref), approvers=deps.approvers.describe())
    elif approval.is_pending:
        text = "📨 " + _("{action} request for *{ref}* is waiting for approval in {where}. "
                        "Approvers: {approvers}.").format(action=verb, ref=escape_mrkdwn(ref),
                                                          where=f"<#{posted[0] if posted else ''}>",
                                                          approvers=deps.approvers.describe())
    else:
        text = escape_mrkdwn(approval_card(approval).outcome or f"{ref}: {approval_state_label(approval.state)}")
    deadline = approval_card(approval, today=deps.today(), tz=deps.tz).document.deadline
    if deadline is not None and approval.is_pending:  # the requester sees the tax deadline the approver sees
        text += "\n" + deadline_line(deadline)
    if warnings:
        text += "\n⚠️ " + "\n⚠️ ".join(escape_mrkdwn(w) for w in warnings)
    await notifier.ephemeral(channel, approval.requester, text)
    await refresh_home(deps, approval.requester, client)


async def report_click(deps: SlackDeps, approval: ApprovalView, body: dict[str, Any], user: str, channel: str,
                       client: AsyncWebClient) -> None:
    """A button that asked for something: announce it when it waits for approval, else tell the clicker
    how it ended."""
    if approval.is_pending:
        await announce(deps, approval, channel, client)
        return
    outcome = approval_card(approval).outcome or approval.state.value
    await deps.notifier.tell_clicker(body, user, f"{approval.document.ref}: {escape_mrkdwn(outcome)}")


async def report_request(deps: SlackDeps, approval: ApprovalView, channel: str, respond: AsyncRespond,
                         client: AsyncWebClient, *, verb: str) -> None:
    """A resend or destroy: announce it when it waits for approval, else say how it ended."""
    if approval.is_pending:
        await announce(deps, approval, channel, client)
        return
    card = approval_card(approval)
    ok = approval.state.value == "succeeded"
    title = (_("{ref}: {action} done") if ok else _("{ref}: {action} failed")).format(ref=approval.document.ref,
                                                                                      action=action_label(verb))
    lines = [card.outcome or ""]
    if card.hint:
        lines.append(f"👉 {card.hint}")
    if ok:
        await respond(text=f"✅ {title}\n" + "\n".join(x for x in lines if x), response_type="ephemeral")
    else:
        await respond(text=title, blocks=build_error_message(title, card.outcome or _("the provider refused"),
                                                              card.hint or _("Check the document and try again.")),
                      response_type="ephemeral")
