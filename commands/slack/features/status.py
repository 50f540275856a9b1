"""Reading documents: `/invoice status <ref>` (with its history) and `/invoice list [state] [provider]`.

A status reads only what it shows: the provider's state (one call, e.g. Popbill getInfo) and
our audit history. Popbill's popup and PDF URLs live 30 seconds, so the card carries buttons
instead of links: "PDF" (`features.pdf`) and "Open in provider", which fetches a fresh URL
when clicked and gives it to the clicker alone.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.models.blocks import ActionsBlock, Block

from commands.i18n import _
from commands.slack.blocks import build_list_message, build_status_message, list_text, status_text
from commands.slack.blocks.amend import document_buttons
from commands.slack.blocks.models import DocumentCard
from commands.slack.cards import document_card, history_from_audit
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.replies import explain
from commands.slack.features.router import Invocation
from commands.slack.formatting import clip
from commands.slack.ids import DOC_OPEN_ACTION_ID, DOC_OPEN_LINK_ACTION_ID
from commands.slack.parser import ListCommand, StatusCommand
from commands.workflow import WorkflowError
from providers.errors import ProviderError

__all__ = ["register"]

#: links a status once fetched and stored; they expired 30 seconds later, so none is shown
_SHORT_LIVED_LINKS = frozenset({"popup", "pdf"})


def _open_button(card: DocumentCard, offered: bool) -> list[Block]:
    """"Open in provider" for an issued document whose provider hands out page URLs."""
    if not offered or not card.provider_id or card.lifecycle.value != "issued":
        return []
    from commands.slack.blocks.provider_link import open_in_provider_button  # on first use (idle RSS)

    return [ActionsBlock(block_id=clip(f"open:{card.ref}", 255), elements=[open_in_provider_button(card.ref)])]


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `status` and `list` to the `/invoice` table (`list pending` belongs to approvals), and
    the status card's "Open in provider" button."""

    async def on_status(invocation: Invocation, parsed: StatusCommand) -> None:
        # the row, its amendments and its audit history in one read scope (one connection)
        view, events = await deps.service.status_with_history(str(parsed.ref), history=40)
        history = history_from_audit(events)
        card = document_card(view, history=history, today=deps.today(), tz=deps.tz)
        stale = _SHORT_LIVED_LINKS & set(card.links)
        if stale:
            card = card.model_copy(update={"links": {k: v for k, v in card.links.items() if k not in stale}})
        buttons = document_buttons(card, pdf=deps.service.offers_pdf(card.provider),
                                   send_nts=deps.service.offers_send_nts(card.provider))
        buttons += _open_button(card, deps.service.offers_popup(card.provider))
        await invocation.respond(text=status_text(card), blocks=build_status_message(card, deps.tz) + buttons,
                                 response_type="ephemeral")

    async def on_list(invocation: Invocation, parsed: ListCommand) -> None:
        views = await deps.service.list_documents(state=parsed.state, standing=parsed.standing,
                                                  provider=parsed.provider, limit=100)
        cards = [document_card(v) for v in views]
        filters = " ".join(x for x in (parsed.state and parsed.state.value, parsed.standing and parsed.standing.value,
                                       parsed.provider and parsed.provider.value) if x) or None
        await invocation.respond(text=list_text(cards), blocks=build_list_message(cards, filters=filters, tz=deps.tz),
                                 response_type="ephemeral")

    async def on_open_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        """A fresh URL of the document's page, for the clicker alone (it lives about 30 seconds)."""
        await ack()
        # the work after the ack is queued: it runs when no ack waits (`AckPacer`)

        async def work() -> None:
            user = str(body.get("user", {}).get("id", ""))
            ref = str((body.get("actions") or [{}])[0].get("value", ""))
            try:
                view, url = await deps.service.document_popup_url(ref)
            except (WorkflowError, ProviderError) as exc:
                text = explain(_("The page of {ref} at its provider could not be fetched").format(ref=ref), exc).text()
                await deps.notifier.tell_clicker(body, user, text)
                return
            from commands.slack.blocks.provider_link import build_provider_link_message, provider_link_text
            text, blocks = provider_link_text(view.ref, view.provider), build_provider_link_message(
                view.ref, view.provider, url)
            channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
            if channel:
                await deps.notifier.ephemeral(str(channel), user, text, blocks)
            else:
                await deps.notifier.tell_user(user, text, blocks)

        await deps.pacer.run_or_now(work, name="the open-in-provider button")

    async def on_open_link(ack: AsyncAck) -> None:
        """Slack reports a click on a link button too; the browser did the work."""
        await ack()

    deps.router.add(StatusCommand, on_status)
    deps.router.add(ListCommand, on_list, when=lambda parsed: not parsed.pending)
    app.action(DOC_OPEN_ACTION_ID)(on_open_button)
    app.action(DOC_OPEN_LINK_ACTION_ID)(on_open_link)
