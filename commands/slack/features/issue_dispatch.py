"""The issue modal follows its provider and kind selects (registered by the issue feature).

The form is built for the provider and kind known when it opens; opened from App Home or a bare
``/invoice issue`` it knows neither. Its provider and kind inputs set ``dispatch_action``, so a
choice there sends a ``block_actions`` from the view; the answer is the same form rebuilt for that
provider and kind (only its kinds, the single kind preselected, exactly the fields it needs),
every typed entry kept, through ``views.update`` after the ack. The update carries the view's
``hash``: when the user changed the form again meanwhile, Slack refuses the stale update with
``hash_conflict`` and the newer change's own update wins, so nothing is done then.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.slack.features.deps import SlackDeps
from commands.slack.ids import ISSUE_CALLBACK_ID, ISSUE_PROVIDER_ACTION_ID, RESUBMIT_CALLBACK_ID, issue_kind_action_id
from commands.slack.modal import IssueBlocks, build_issue_modal
from commands.slack.modal.fields import selected
from commands.slack.modal.money import form_shape
from providers.base import Capabilities
from providers.models import DocumentKind, Provider

__all__ = ["CHOICE_ACTIONS", "rebuilt_issue_view", "register"]

log = logging.getLogger("invoicebot.commands")

#: the provider select and the kind select (its action id carries the provider the form was built for)
CHOICE_ACTIONS: tuple[str, ...] = (ISSUE_PROVIDER_ACTION_ID, issue_kind_action_id(None),
                                   *(issue_kind_action_id(p.value) for p in Provider))
#: the modals built by `build_issue_modal`: the issue form and the edit-and-resubmit form
_ISSUE_FORMS = frozenset({ISSUE_CALLBACK_ID, RESUBMIT_CALLBACK_ID})


def _choice(values: Mapping[str, Any], offered: Mapping[Provider, frozenset[DocumentKind]],
            ) -> tuple[Provider | None, DocumentKind | None]:
    """The chosen provider, and the chosen kind if that provider issues it."""
    provider_value = selected(values, IssueBlocks.PROVIDER)
    provider = Provider(provider_value) if provider_value in {p.value for p in Provider} else None
    kind_value = selected(values, IssueBlocks.KIND)
    kind = DocumentKind(kind_value) if kind_value in {k.value for k in DocumentKind} else None
    if provider is not None and kind is not None and kind not in offered.get(provider, ()):
        kind = None  # the builder preselects the provider's only kind, or leaves the choice open
    return provider, kind


def rebuilt_issue_view(view: Mapping[str, Any], *, offered: Mapping[Provider, frozenset[DocumentKind]],
                       capabilities: Mapping[Provider, Capabilities], today: dt.date) -> dict[str, Any]:
    """The form `view` rebuilt for the provider and kind in its state, with every entry kept.

    The callback id, title and private_metadata stay the view's own, so the submission reaches the
    same handler with the same channel and thread (and an edit-and-resubmit form stays one).
    """
    values = (view.get("state") or {}).get("values") or {}
    provider, kind = _choice(values, offered)
    currency = selected(values, IssueBlocks.CURRENCY) if form_shape(capabilities, provider, kind).currency_choice \
        else None
    rebuilt = build_issue_modal(provider, kind, today=today, offered=offered, capabilities=capabilities,
                                private_metadata=view.get("private_metadata") or None, currency=currency,
                                keep=values).to_dict()
    for key in ("callback_id", "title", "submit", "close"):
        if view.get(key):
            rebuilt[key] = view[key]
    return rebuilt


def register(app: AsyncApp, deps: SlackDeps,
             live_capabilities: Callable[[SlackDeps], Mapping[Provider, Capabilities]]) -> None:
    """The issue form's provider and kind selects (`live_capabilities`: the issue feature's, passed in
    so this module does not import the feature that registers it)."""

    async def on_choice(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()  # within Slack's 3 s; the update follows
        # the work after the ack is queued (`AckPacer`), urgent: the person is looking at the form

        async def work() -> None:
            view = body.get("view")
            if not isinstance(view, Mapping) or view.get("callback_id") not in _ISSUE_FORMS or not view.get("id"):
                return
            rebuilt = rebuilt_issue_view(view, offered=deps.offered(), capabilities=live_capabilities(deps),
                                         today=deps.today())
            try:
                await client.views_update(view_id=str(view["id"]), hash=view.get("hash") or None, view=rebuilt)
            except SlackApiError as exc:
                error = exc.response.get("error") if isinstance(exc.response.data, dict) else None  # a text body too
                if error == "hash_conflict":
                    log.info("issue form %s changed again before its update; the newer change wins", view["id"])
                    return
                log.warning("views.update of the issue form failed: %s", error or "unreadable Slack error")

        await deps.pacer.run_or_now(work, urgent=True, name="an issue form choice")

    for action_id in CHOICE_ACTIONS:
        app.action(action_id)(on_choice)
