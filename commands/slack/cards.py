"""Service views → the card models the Block Kit builders take.

Kept apart from both sides so the builders stay independent of storage, and the
service independent of Slack.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from commands.i18n import N_, _
from commands.ledger import AuditEventRecord
from commands.ledger.vocabulary import ApprovalAction, AuditKind, AuditOperation, Lifecycle
from commands.slack.blocks.deadlines import deadline_card
from commands.slack.blocks.models import ApprovalCard, ClosureRow, DocumentCard
from commands.slack.formatting import SEOUL, operation_label
from commands.slack.provider_words import provider_words
from commands.workflow import ApprovalView, ClosureItem, DocumentView
from commands.workflow.deadlines import note_for
from providers.models import Amounts, BusinessState, DocumentState

__all__ = ["approval_card", "closure_rows", "document_card", "history_from_audit"]

#: an event recorded without an operation says only who caused it
_KIND_WORDS = {AuditKind.CALLBACK: N_("provider callback"), AuditKind.DIGEST: N_("digest posted")}


def _event_words(event: AuditEventRecord) -> str:
    """What the event did, in words; a code the vocabulary does not know is shown readably."""
    if event.operation is None:
        try:
            kind = AuditKind(event.action)
            return _(_KIND_WORDS[kind]) if kind in _KIND_WORDS else event.action.replace("_", " ")
        except ValueError:
            return event.action.replace("_", " ")
    try:
        return operation_label(AuditOperation(event.operation))
    except ValueError:
        return event.operation.replace(".", " ").replace("_", " ")


def history_from_audit(events: Sequence[AuditEventRecord]) -> tuple[tuple[dt.datetime | None, str], ...]:
    """Readable timeline lines from a document's audit events, oldest first."""
    lines: list[tuple[dt.datetime | None, str]] = []
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        word = _event_words(event)
        human = event.actor and not event.actor.startswith(("system", "provider"))
        who = " " + _("by {user}").format(user=f"<@{event.actor}>") if human else ""
        outcome = f" ({event.outcome})" if event.outcome and event.outcome not in ("ok", "pending") else ""
        lines.append((event.at, f"{word}{who}{outcome}"))
    return tuple(lines)


def _provider_error(view: DocumentView) -> str | None:
    """Why the provider's answer is missing: it does not know the document, or it could not be asked."""
    if not view.error:
        return None
    provider, error = view.provider.value, provider_words(view.error)
    if view.provider_missing:
        return _("{provider} does not know this document: {error}").format(provider=provider, error=error)
    if view.provider_unreachable:
        return _("{provider} could not be reached: {error}").format(provider=provider, error=error)
    if view.error_code:
        return _("{provider} refused to say: {error}").format(provider=provider, error=error)
    return _("Provider not asked: {error}").format(error=error)


def document_card(
    view: DocumentView,
    *,
    history: tuple[tuple[dt.datetime | None, str], ...] = (),
    today: dt.date | None = None,
    tz: dt.tzinfo = SEOUL,
) -> DocumentCard:
    """The card of a document: both state columns travel, so every builder labels it one way.

    With `today`, a tax invoice's card carries its next tax deadline as of that day.
    """
    amounts = None
    if view.total is not None and view.supply is not None and view.vat is not None:
        amounts = Amounts(supply=view.supply, vat=view.vat, total=view.total, currency=view.currency)
    # no lifecycle: a document only the provider knows (looked up by its provider ref)
    lifecycle = view.lifecycle or Lifecycle.ISSUED
    state = view.state if view.lifecycle is not None else (view.state or DocumentState.UNKNOWN)
    detail_parts = [p for p in (view.state_detail and provider_words(view.state_detail), _provider_error(view),
                                view.error_hint and provider_words(view.error_hint)) if p]
    # A document the provider does not know, or a provider that cannot be reached, has no live
    # link to show (e.g. a sandbox restarted on another port): the buttons would lead nowhere.
    links = {} if view.provider_missing or view.provider_unreachable else dict(view.links)
    return DocumentCard(
        ref=view.ref,
        provider=view.provider,
        kind=view.kind,
        sandbox=view.sandbox,
        buyer_name=view.buyer_name,
        buyer_bizno=view.buyer_bizno,
        amounts=amounts,
        lifecycle=lifecycle,
        state=state,
        raw_state=view.raw_state or (view.lifecycle.value if view.lifecycle else None),
        provider_id=view.provider_id,
        links=links,
        history=history,
        requester=view.requested_by,
        created_at=view.created_at,
        write_date=view.write_date,
        due_date=view.due_date,
        detail="\n".join(detail_parts) or None,
        amends=view.amends_ref,
        modify_code=view.modify_code,
        amendments=view.amendments,
        deadline=deadline_card(note_for(view, today, tz)) if today is not None else None,
    )


def _resend_target(view: ApprovalView) -> str | None:
    """Where a resend request goes, so the approver sees it (None: the document's own address)."""
    if view.action.value != "resend" or not view.payload.get("address"):
        return None
    return f"{view.payload.get('channel') or ''} {view.payload['address']}".strip()


def approval_card(view: ApprovalView, *, today: dt.date | None = None, tz: dt.tzinfo = SEOUL) -> ApprovalCard:
    """The card of a request; with `today`, an issue request's card carries its tax deadline."""
    document = document_card(view.document, today=today if view.action is ApprovalAction.ISSUE else None, tz=tz)
    outcome = view.outcome_message
    return ApprovalCard(
        id=str(view.id),
        action=view.action.value,
        document=document,
        requester=view.requester,
        state=view.state,
        decider=view.decider,
        decided_at=view.decided_at,
        reason=view.reason,
        expires_at=view.expires_at,
        outcome=outcome,
        hint=view.user_hint,
        retryable=view.retryable,
        warnings=tuple(view.warnings),
        resend_to=_resend_target(view),
        replaces=(f"#{view.resubmits_request_id}" + (f" ({view.resubmits_ref})" if view.resubmits_ref else "")
                  if view.resubmits_request_id else None),
        required_approvals=view.required_approvals,
        approved_by=view.approved_by,
        override_reason=view.override_reason,
    )


def closure_rows(items: Sequence[ClosureItem]) -> list[ClosureRow]:
    rows: list[ClosureRow] = []
    for item in items:
        if item.status is None:
            rows.append(ClosureRow(bizno=item.bizno or item.input, state=BusinessState.UNKNOWN,
                                   warning=item.error or item.warning))
            continue
        status = item.status
        rows.append(
            ClosureRow(
                bizno=status.bizno,
                state=status.state,
                tax_type=status.tax_type,
                state_date=status.state_date,
                checked_at=status.checked_at,
                warning=item.warning,
                changed=item.changed,
                previous_state=item.previous_state,
            )
        )
    return rows
