"""The approval card (four-eyes) and the reject modal.

Pending: the document summary plus Approve (with a confirm dialog) and Reject buttons,
both carrying the approval id as their value. Any other state: no buttons at all (nobody
can click twice), who decided, and the outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    InputBlock,
    PlainTextInputElement,
)
from slack_sdk.models.views import View

from commands.i18n import N_, _
from commands.ledger.vocabulary import ApprovalState
from commands.slack.blocks.deadlines import deadline_context, late_confirm
from commands.slack.blocks.document import amounts_text, buyer_text, item_lines
from commands.slack.blocks.kit import (
    LINE_LIMIT,
    context,
    fields,
    flat,
    header,
    plain,
    sandbox_context,
    section,
    user_mention,
)
from commands.slack.blocks.models import ApprovalCard
from commands.slack.formatting import (
    KIND_SHORT,
    SEOUL,
    approval_state_label,
    clip,
    escape_mrkdwn,
    format_date,
    format_datetime,
    format_money,
    kind_label,
    provider_label,
)
from commands.slack.ids import (
    APPROVE_ACTION_ID,
    APPROVE_LATE_ACTION_ID,
    REJECT_ACTION_ID,
    REJECT_CALLBACK_ID,
    REJECT_REASON_ACTION_ID,
    REJECT_REASON_BLOCK_ID,
)
from providers.models import DocumentKind

__all__ = [
    "ACTION_LABELS",
    "action_label",
    "approval_text",
    "approvals_progress",
    "build_approval_message",
    "build_reject_modal",
    "parse_reject_submission",
]

#: each approval action as the verb a person reads (translated where shown)
ACTION_LABELS: Mapping[str, str] = {"issue": N_("issue"), "destroy": N_("destroy"), "resend": N_("resend")}


def action_label(action: str) -> str:
    """The action as a verb in the current language (an unknown action as it is)."""
    return _(ACTION_LABELS[action]) if action in ACTION_LABELS else action


def _kind_short(kind: DocumentKind) -> str:
    return _(KIND_SHORT.get(kind, kind.value))


def _action_phrase(card: ApprovalCard) -> str:
    # TRANSLATORS: e.g. "issue tax invoice"; Korean puts the kind first ("세금계산서 발행")
    return _("{action} {kind}").format(action=action_label(card.action), kind=_kind_short(card.document.kind))


def _summary_fields(card: ApprovalCard, tz: dt.tzinfo) -> list[tuple[str, str]]:
    doc = card.document
    pairs = [
        (_("Document"), f"`{escape_mrkdwn(clip(doc.ref, 100))}` · {kind_label(doc.kind)}"),
        (_("Provider"), provider_label(doc.provider)),
        (_("Buyer"), buyer_text(doc)),
        (_("Amount"), amounts_text(doc.amounts)),
        (_("Requested by"), user_mention(card.requester)),
    ]
    if doc.write_date:
        pairs.append((_("Write date"), format_date(doc.write_date)))
    if doc.due_date:
        pairs.append((_("Due"), format_date(doc.due_date)))
    if card.state is ApprovalState.PENDING and card.expires_at:
        pairs.append((_("Expires"), format_datetime(card.expires_at, tz)))
    return pairs


def _notes(card: ApprovalCard) -> list[Block]:
    """Items, memo, the reason given and the warnings: what the approver should read."""
    doc = card.document
    blocks: list[Block] = []
    if doc.items:
        currency = doc.amounts.currency if doc.amounts else "KRW"
        blocks.append(section("*" + _("Items") + "*\n" + "\n".join(
            clip(line, LINE_LIMIT) for line in item_lines(doc.items, doc.kind, currency))))
    if doc.memo:
        blocks.append(context(f"📝 {escape_mrkdwn(clip(flat(doc.memo), 2900))}"))
    if card.reason and card.state is not ApprovalState.REJECTED:
        blocks.append(context(_("Reason given: {reason}").format(reason=escape_mrkdwn(clip(flat(card.reason), 2900)))))
    if card.resend_to:
        blocks.append(context(_("📮 To {target}").format(target=escape_mrkdwn(clip(flat(card.resend_to), 400)))))
    if card.replaces:
        blocks.append(context(_("↩️ Replaces request {replaced}, edited and resubmitted by its requester.")
                              .format(replaced=escape_mrkdwn(card.replaces))))
    if card.override_reason:
        blocks.append(section(_("🚩 *Closure check overridden by the requester:* {reason}").format(
            reason=escape_mrkdwn(clip(flat(card.override_reason), 2000)))))
    if card.warnings:
        blocks.append(section("\n".join(f"⚠️ {escape_mrkdwn(clip(flat(w), 400))}" for w in card.warnings[:6])))
    return blocks


def approvals_progress(card: ApprovalCard) -> str | None:
    """Who has approved an N-of-M request so far and how many are still needed (None: one approval)."""
    if card.required_approvals <= 1:
        return None
    so_far = ", ".join(user_mention(u) for u in card.approved_by) or _("nobody yet")
    if card.state is not ApprovalState.PENDING:
        return _("Approvals ({n} needed): {who}").format(n=card.required_approvals, who=so_far)
    missing = max(0, card.required_approvals - len(card.approved_by))
    return _("Approvals: {done} of {n} ({who}); {missing} more needed from other approvers.").format(
        done=len(card.approved_by), n=card.required_approvals, who=so_far, missing=missing)


def _decision_buttons(card: ApprovalCard) -> list[Block]:
    doc = card.document
    verb = action_label(card.action)
    buyer = flat(doc.buyer_name or _("the buyer"))
    if doc.sandbox:
        question = _("{action} this {kind} for {buyer} through {provider} in the SANDBOX (nothing real is issued).")
    else:
        question = _("{action} this {kind} for {buyer} through {provider}.")
    confirm = ConfirmObject(
        title=plain(_("{action} {ref}?").format(action=verb[:1].upper() + verb[1:], ref=doc.ref), 100),
        text=plain(question.format(action=verb[:1].upper() + verb[1:], kind=_kind_short(doc.kind), buyer=buyer,
                                   provider=provider_label(doc.provider)), 300),
        confirm=plain(_("Approve"), 30), deny=plain(_("Not yet"), 30),
    )
    approve_id = APPROVE_ACTION_ID
    late = doc.deadline if card.action == "issue" and doc.deadline and doc.deadline.late else None
    if late is not None:  # the approver accepts the penalty in the dialog; the click records it
        confirm, approve_id = late_confirm(late, doc.ref), APPROVE_LATE_ACTION_ID
    buttons: list[Block] = [
        ActionsBlock(block_id=clip(f"approval:{card.id}", 255), elements=[
            ButtonElement(text=plain(_("Approve"), 75), action_id=approve_id, value=card.id,
                          style="primary", confirm=confirm),
            ButtonElement(text=plain(_("Reject"), 75), action_id=REJECT_ACTION_ID, value=card.id, style="danger"),
        ]),
    ]
    # only true under four-eyes: with INVOICEBOT_FOUR_EYES=false a team of one approves its own
    return buttons + ([context(_("You cannot approve your own request."))] if card.four_eyes else [])


def _what_to_do(card: ApprovalCard) -> list[Block]:
    if card.state not in (ApprovalState.FAILED, ApprovalState.UNKNOWN):
        return []
    todo = [escape_mrkdwn(clip(flat(card.hint), 2000))] if card.hint else []
    if card.retryable:
        todo.append(_("Retry with `/invoice retry {id}`.").format(id=escape_mrkdwn(clip(card.id, 64))))
    return [context(_("What to do: {todo}").format(todo=" ".join(todo)))] if todo else []


def build_approval_message(card: ApprovalCard, tz: dt.tzinfo = SEOUL) -> list[Block]:
    """The approval request posted to approvers: buttons while pending, the decision after."""
    doc = card.document
    blocks: list[Block] = [header(f"{approval_state_label(card.state)}: {_action_phrase(card)} {doc.ref}")]
    if doc.sandbox:
        blocks.append(sandbox_context())
    blocks.append(fields(_summary_fields(card, tz)))
    blocks.extend(deadline_context(doc.deadline))
    blocks.extend(_notes(card))
    progress = approvals_progress(card)
    if progress:
        blocks.append(section(progress))
    if card.state is ApprovalState.PENDING:
        return blocks + _decision_buttons(card)
    blocks.append(section(_decision_text(card, tz)))
    return blocks + _what_to_do(card)


def _decision_text(card: ApprovalCard, tz: dt.tzinfo) -> str:
    who = user_mention(card.decider)
    if card.decided_at:
        # TRANSLATORS: "{user}" decided "at {when}"; Korean: "{when}에 {user}님이"
        by = _("by {user} at {when}").format(user=who, when=format_datetime(card.decided_at, tz))
    else:
        by = _("by {user}").format(user=who)
    outcome = f"\n{escape_mrkdwn(clip(card.outcome, 2000))}" if card.outcome else ""
    provider = provider_label(card.document.provider)
    if card.state is ApprovalState.REJECTED:
        if card.reason:
            return "🚫 " + _("Rejected {by}: “{reason}”").format(
                by=by, reason=escape_mrkdwn(clip(flat(card.reason), 1000)))
        return "🚫 " + _("Rejected {by}").format(by=by)
    if card.state is ApprovalState.EXPIRED:
        at = format_datetime(card.expires_at, tz) if card.expires_at else _("its deadline")
        return "⌛ " + _("Nobody decided before {when}. Ask again with a new request.").format(when=at)
    if card.state is ApprovalState.FAILED:
        return "❌ " + _("Approved {by}, but it failed.").format(by=by) + outcome
    if card.state is ApprovalState.UNKNOWN:
        return "❔ " + _("Approved {by}. {provider} did not answer, so it may or may not have been done; it is "
                        "checked before anything is retried.").format(by=by, provider=provider) + outcome
    if card.state is ApprovalState.SUCCEEDED:
        return "✅ " + _("Approved {by}.").format(by=by) + outcome
    return "⏳ " + _("Approved {by}; sending to {provider}…").format(by=by, provider=provider) + outcome


def approval_text(card: ApprovalCard) -> str:
    doc = card.document
    prefix = _("[SANDBOX] ") if doc.sandbox else ""
    total = f" {format_money(doc.amounts.total, doc.amounts.currency)}" if doc.amounts else ""
    buyer = " " + _("for {buyer}").format(buyer=escape_mrkdwn(flat(doc.buyer_name))) if doc.buyer_name else ""
    what = escape_mrkdwn(f"{_action_phrase(card)} {doc.ref}")
    return clip(f"{prefix}{approval_state_label(card.state)}: {what}{buyer}{total}", 3000)


def build_reject_modal(approval_id: str) -> View:
    """Asks the rejecter why; the reason goes back to the requester."""
    return View(
        type="modal", callback_id=REJECT_CALLBACK_ID, private_metadata=approval_id,
        title=plain(_("Reject request"), 24), submit=plain(_("Reject"), 24), close=plain(_("Cancel"), 24),
        blocks=[
            InputBlock(
                block_id=REJECT_REASON_BLOCK_ID, label=plain(_("Why are you rejecting it?")),
                hint=plain(_("The requester sees this, so say what to change.")),
                element=PlainTextInputElement(action_id=REJECT_REASON_ACTION_ID, multiline=True,
                                              min_length=3, max_length=500,
                                              placeholder=plain(_("e.g. the amount should include May"))),
            ),
        ],
    )


def parse_reject_submission(view_state_values: Mapping[str, object]) -> tuple[str | None, dict[str, str]]:
    """(reason, errors) from a submitted reject modal."""
    block = view_state_values.get(REJECT_REASON_BLOCK_ID)
    action = block.get(REJECT_REASON_ACTION_ID) if isinstance(block, Mapping) else None
    value = action.get("value") if isinstance(action, Mapping) else None
    reason = value.strip() if isinstance(value, str) else ""
    if len(reason) < 3:
        return None, {REJECT_REASON_BLOCK_ID: _("Say why, so the requester knows what to change.")}
    return clip(reason, 500), {}
