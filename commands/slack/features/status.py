"""Reading documents: `/invoice status <ref>` (with its history) and `/invoice list [state] [provider]`."""

from __future__ import annotations

import datetime as dt

from slack_bolt.async_app import AsyncApp

from commands.slack.blocks import build_list_message, build_status_message, list_text, status_text
from commands.slack.blocks.amend import document_buttons
from commands.slack.cards import document_card, history_from_audit
from commands.slack.features.deps import SlackDeps
from commands.slack.features.jobs import JobScheduler
from commands.slack.features.router import Invocation
from commands.slack.parser import ListCommand, StatusCommand

__all__ = ["register"]


def register(app: AsyncApp, deps: SlackDeps, scheduler: JobScheduler | None) -> None:
    """Add `status` and `list` to the `/invoice` table (`list pending` belongs to approvals)."""

    async def on_status(invocation: Invocation, parsed: StatusCommand) -> None:
        view = await deps.service.status(str(parsed.ref))
        history: tuple[tuple[dt.datetime | None, str], ...] = ()
        if view.id is not None:
            history = history_from_audit(await deps.store.audit.search(document_id=view.id, limit=40))
        card = document_card(view, history=history, today=deps.today(), tz=deps.tz)
        buttons = document_buttons(card, pdf=deps.service.offers_pdf(card.provider),
                                   send_nts=deps.service.offers_send_nts(card.provider))
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

    deps.router.add(StatusCommand, on_status)
    deps.router.add(ListCommand, on_list, when=lambda parsed: not parsed.pending)
