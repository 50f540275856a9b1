"""Block Kit builders: pure functions from small "card" models to `slack_sdk.models` blocks.

The builders never talk to Slack or to the service. The lead maps the service's views
(DocumentView, ApprovalView, …) onto the frozen card models below, so these builders
can be tested without a database and reused by the digest and App Home.

Everything returns `slack_sdk.models` objects, so Slack's limits are checked when they
are serialised; the builders also clip user-supplied text themselves, so a long buyer
name or a thousand-row list can never make a message fail. Each builder has a
``*_text`` twin giving the plain fallback `text` Slack shows in notifications.

Every message about a sandbox document carries a visible "🧪 SANDBOX" context line.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from commands.ledger.vocabulary import ApprovalState
from commands.slack.formatting import (
    KIND_SHORT,
    SANDBOX_NOTICE,
    SEOUL,
    business_state_label,
    clip,
    document_line,
    escape_mrkdwn,
    format_bizno,
    format_bytes,
    format_date,
    format_datetime,
    format_money,
    kind_label,
    progress_bar,
    provider_label,
    state_label,
)
from commands.slack.ids import (
    APPROVE_ACTION_ID,
    ISSUE_CALLBACK_ID,
    REJECT_ACTION_ID,
    REJECT_CALLBACK_ID,
    REJECT_REASON_ACTION_ID,
    REJECT_REASON_BLOCK_ID,
)
from commands.slack.modal import IssueDraft, build_issue_modal, parse_issue_submission
from commands.slack.parser import SUMMARY, USAGE, CommandError
from providers.models import Amounts, BusinessState, DocumentKind, DocumentState, LineItem, Provider

__all__ = [
    "APPROVE_ACTION_ID",
    "ISSUE_CALLBACK_ID",
    "MAX_LIST_ROWS",
    "REJECT_ACTION_ID",
    "REJECT_CALLBACK_ID",
    "REJECT_REASON_BLOCK_ID",
    "ApprovalCard",
    "ApprovalState",
    "ClosureRow",
    "DocumentCard",
    "IssueDraft",
    "approval_text",
    "build_approval_message",
    "build_closure_message",
    "build_command_error_message",
    "build_error_message",
    "build_export_message",
    "build_help_message",
    "build_issue_modal",
    "build_list_message",
    "build_pending_list_message",
    "build_progress_message",
    "build_reject_modal",
    "build_status_message",
    "closure_text",
    "document_card_line",
    "error_text",
    "export_text",
    "help_text",
    "list_text",
    "parse_issue_submission",
    "parse_reject_submission",
    "pending_list_text",
    "progress_text",
    "sandbox_context",
    "status_text",
]


MAX_LIST_ROWS = 100  # beyond this a list is unreadable in chat: we point to filters and export
_ROWS_PER_SECTION = 10
_LINE_LIMIT = 290  # 10 lines x 290 < 3000, the section text limit
_MAX_ITEMS_SHOWN = 10
_MAX_HISTORY_SHOWN = 15


# -- card models -----------------------------------------------------------------------


class _Card(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DocumentCard(_Card):
    """What a message shows about one document."""

    ref: str  # our key (INV-000123) or the provider ref (popbill:…)
    provider: Provider
    kind: DocumentKind
    sandbox: bool = False
    buyer_name: str | None = None
    buyer_bizno: str | None = None
    amounts: Amounts | None = None
    state: DocumentState = DocumentState.UNKNOWN
    raw_state: str | None = None
    provider_id: str | None = None
    links: Mapping[str, str] = Field(default_factory=dict)  # {"popup": url, "pdf": url, "pay": url, …}
    history: tuple[tuple[dt.datetime | None, str], ...] = ()
    requester: str | None = None  # Slack user id
    created_at: dt.datetime | None = None
    write_date: dt.date | None = None
    due_date: dt.date | None = None
    detail: str | None = None
    items: tuple[LineItem, ...] = ()
    memo: str | None = None


class ApprovalCard(_Card):
    """An approval request (four-eyes) for an action on a document."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    id: str  # storage ids are integers; button values are strings
    action: str  # "issue", "destroy", "resend", … (free text, shown as a verb)
    document: DocumentCard
    requester: str  # Slack user id
    state: ApprovalState = ApprovalState.PENDING
    decider: str | None = None  # Slack user id
    decided_at: dt.datetime | None = None
    reason: str | None = None  # rejection reason, or the reason given for a destroy
    expires_at: dt.datetime | None = None
    outcome: str | None = None  # e.g. "Issued: NTS confirm number 2024…" or what failed
    hint: str | None = None  # what to do next after a failure
    retryable: bool = False  # a failed/unknown request may be retried with /invoice retry <id>
    warnings: tuple[str, ...] = ()


class ClosureRow(_Card):
    """One business number's closure (휴폐업) result."""

    bizno: str
    state: BusinessState
    tax_type: str | None = None
    state_date: dt.date | None = None
    checked_at: dt.datetime | None = None
    warning: str | None = None
    changed: bool = False  # the state differs from the last check
    previous_state: BusinessState | None = None


# -- small pieces ------------------------------------------------------------------------


def _plain(text: str, limit: int = 3000) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit), emoji=True)


def _md(text: str, limit: int = 3000) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, limit))


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=_plain(text.replace("\n", " "), 150))


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_md(text))


def _fields(pairs: Sequence[tuple[str, str]]) -> SectionBlock:
    """A two-column section; at most 10 fields, each clipped to Slack's 2000 (not checked by slack_sdk)."""
    return SectionBlock(fields=[_md(f"*{label}*\n{value}", 2000) for label, value in pairs[:10]])


def _context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[_md(t) for t in texts[:10]])


def sandbox_context() -> ContextBlock:
    """The visible SANDBOX marker every sandbox document message carries."""
    return _context(SANDBOX_NOTICE)


def _user(user_id: str | None) -> str:
    if not user_id:
        return "—"
    if user_id.isalnum():
        return f"<@{user_id}>"
    return escape_mrkdwn(clip(user_id, 80))


def _buyer(card: DocumentCard) -> str:
    name = escape_mrkdwn(clip(card.buyer_name or "—", 200))
    if card.buyer_bizno:
        name += f" ({format_bizno(card.buyer_bizno)})"
    return name


def _amounts(amounts: Amounts | None) -> str:
    if amounts is None:
        return "—"
    c = amounts.currency
    return (f"*{format_money(amounts.total, c)}*\nsupply {format_money(amounts.supply, c)} · "
            f"VAT {format_money(amounts.vat, c)}")


def _lines_sections(lines: Sequence[str]) -> list[Block]:
    """Lines grouped into sections of ten, each line clipped so a section stays under 3000."""
    blocks: list[Block] = []
    for start in range(0, len(lines), _ROWS_PER_SECTION):
        chunk = [clip(line, _LINE_LIMIT) for line in lines[start:start + _ROWS_PER_SECTION]]
        blocks.append(_section("\n".join(chunk)))
    return blocks


def _flat(text: str) -> str:
    return " ".join(text.split())


def document_card_line(card: DocumentCard, tz: dt.tzinfo = SEOUL) -> str:
    """The one-line summary used in lists, the digest and App Home."""
    return document_line(
        card.ref, provider=card.provider, kind=card.kind, buyer_name=card.buyer_name,
        total=card.amounts.total if card.amounts else None,
        currency=card.amounts.currency if card.amounts else "KRW",
        state=card.state, sandbox=card.sandbox, when=card.created_at or card.write_date, tz=tz,
    )


def _item_lines(items: Sequence[LineItem], kind: DocumentKind, currency: str) -> list[str]:
    lines = []
    for item in items[:_MAX_ITEMS_SHOWN]:
        quantity = format(item.quantity.normalize(), "f")
        supply = item.supply_amount()
        vat = item.vat_amount(kind.tax_type)
        lines.append(
            f"• {escape_mrkdwn(clip(_flat(item.name), 100))} — {quantity} × {format_money(item.unit_price, currency)}"
            f" = {format_money(supply, currency)} (+VAT {format_money(vat, currency)})"
        )
    if len(items) > _MAX_ITEMS_SHOWN:
        lines.append(f"… and {len(items) - _MAX_ITEMS_SHOWN} more line(s)")
    return lines


# -- help ---------------------------------------------------------------------------------

_EXAMPLES: Mapping[str, tuple[str, ...]] = {
    "help": ("/invoice help status",),
    "issue": ("/invoice issue", "/invoice issue popbill tax", "/invoice issue payssam bill"),
    "status": ("/invoice status INV-000123", "/invoice status popbill:20240502-001"),
    "resend": ("/invoice resend INV-000123", "/invoice resend INV-000123 email billing@example.co.kr",
               "/invoice resend payssam:B0001 talk"),
    "destroy": ("/invoice destroy INV-000123 wrong amount",),
    "closure": ("/invoice closure 123-45-67890, 220-81-62517",),
    "list": ("/invoice list", "/invoice list pending", "/invoice list filing_failed popbill"),
    "export": ("/invoice export", "/invoice export 2024-04-01 2024-04-30"),
    "digest": ("/invoice digest schedule 09:00", "/invoice digest schedule 18:30 Europe/Berlin",
               "/invoice digest now", "/invoice digest off"),
    "retry": ("/invoice retry INV-000123", "/invoice retry 42"),
}


def build_help_message(topic: str | None = None) -> list[Block]:
    """Help for every subcommand, or the details of one (`topic`)."""
    if topic in USAGE:
        assert topic is not None
        examples = "\n".join(f"`{e}`" for e in _EXAMPLES.get(topic, ()))
        return [
            _header(f"/invoice {topic}"),
            _section(f"{SUMMARY[topic]}\n\n*Usage*\n`{USAGE[topic]}`"),
            _section(f"*Examples*\n{examples}"),
        ]
    blocks: list[Block] = [
        _header("/invoice — invoicing from Slack"),
        _section("Issue and follow tax invoices, bills and receipts with Popbill, Payssam, Hiworks and Abillify. "
                 "Anything that sends a document asks an approver first."),
        DividerBlock(),
    ]
    lines = [f"`{USAGE[name]}`\n{SUMMARY[name]}" for name in USAGE]
    blocks.extend(_section("\n\n".join(lines[i:i + 5])) for i in range(0, len(lines), 5))
    blocks.append(_context("References: `INV-000123` (ours) or `popbill:<MgtKey>`, `cashbill:<MgtKey>`, "
                           "`payssam:<billId>`, `hiworks:<documentId>`, `abillify:<reference>`. "
                           "`/invoice help <subcommand>` shows examples."))
    return blocks


def help_text(topic: str | None = None) -> str:
    if topic in USAGE:
        assert topic is not None
        return f"{USAGE[topic]} — {SUMMARY[topic]}"
    return "/invoice help: " + ", ".join(USAGE)


# -- approvals -------------------------------------------------------------------------------

_APPROVAL_HEADERS: Mapping[ApprovalState, str] = {
    ApprovalState.PENDING: "🖊️ Approval needed",
    ApprovalState.APPROVED: "⏳ Approved",
    ApprovalState.EXECUTING: "⏳ Approved — working on it",
    ApprovalState.SUCCEEDED: "✅ Approved and done",
    ApprovalState.REJECTED: "🚫 Rejected",
    ApprovalState.EXPIRED: "⌛ Expired",
    ApprovalState.FAILED: "❌ Approved, but it failed",
    ApprovalState.UNKNOWN: "❔ Approved, outcome unknown",
}


def _action_phrase(card: ApprovalCard) -> str:
    return f"{card.action} {KIND_SHORT.get(card.document.kind, card.document.kind.value)}"


def build_approval_message(card: ApprovalCard, tz: dt.tzinfo = SEOUL) -> list[Block]:
    """The approval request posted to approvers.

    Pending: the document summary plus Approve (with a confirm dialog) and Reject buttons,
    both carrying the approval id as their value. Any other state: no buttons at all
    (nobody can click twice), who decided, and the outcome.
    """
    doc = card.document
    blocks: list[Block] = [_header(f"{_APPROVAL_HEADERS[card.state]}: {_action_phrase(card)} {doc.ref}")]
    if doc.sandbox:
        blocks.append(sandbox_context())
    fields = [
        ("Document", f"`{escape_mrkdwn(clip(doc.ref, 100))}` · {kind_label(doc.kind)}"),
        ("Provider", provider_label(doc.provider)),
        ("Buyer", _buyer(doc)),
        ("Amount", _amounts(doc.amounts)),
        ("Requested by", _user(card.requester)),
    ]
    if doc.write_date:
        fields.append(("Write date", format_date(doc.write_date)))
    if doc.due_date:
        fields.append(("Due", format_date(doc.due_date)))
    if card.state is ApprovalState.PENDING and card.expires_at:
        fields.append(("Expires", format_datetime(card.expires_at, tz)))
    blocks.append(_fields(fields))
    if doc.items:
        currency = doc.amounts.currency if doc.amounts else "KRW"
        blocks.append(_section("*Items*\n" + "\n".join(
            clip(line, _LINE_LIMIT) for line in _item_lines(doc.items, doc.kind, currency))))
    if doc.memo:
        blocks.append(_context(f"📝 {escape_mrkdwn(clip(_flat(doc.memo), 2900))}"))
    if card.reason and card.state is not ApprovalState.REJECTED:
        blocks.append(_context(f"Reason given: {escape_mrkdwn(clip(_flat(card.reason), 2900))}"))
    if card.warnings:
        blocks.append(_section("\n".join(f"⚠️ {escape_mrkdwn(clip(_flat(w), 400))}" for w in card.warnings[:6])))
    if card.state is ApprovalState.PENDING:
        verb = card.action.capitalize()
        sandbox_note = " in the SANDBOX (nothing real is issued)" if doc.sandbox else ""
        confirm = ConfirmObject(
            title=_plain(f"{verb} {doc.ref}?", 100),
            text=_plain(f"{verb} this {KIND_SHORT.get(doc.kind, 'document')} for "
                        f"{_flat(doc.buyer_name or 'the buyer')} through {provider_label(doc.provider)}"
                        f"{sandbox_note}.", 300),
            confirm=_plain("Approve", 30), deny=_plain("Not yet", 30),
        )
        blocks.append(ActionsBlock(block_id=clip(f"approval:{card.id}", 255), elements=[
            ButtonElement(text=_plain("Approve", 75), action_id=APPROVE_ACTION_ID, value=card.id,
                          style="primary", confirm=confirm),
            ButtonElement(text=_plain("Reject", 75), action_id=REJECT_ACTION_ID, value=card.id, style="danger"),
        ]))
        blocks.append(_context("You cannot approve your own request."))
        return blocks
    blocks.append(_section(_decision_text(card, tz)))
    if card.state in (ApprovalState.FAILED, ApprovalState.UNKNOWN):
        todo = [escape_mrkdwn(clip(_flat(card.hint), 2000))] if card.hint else []
        if card.retryable:
            todo.append(f"Retry with `/invoice retry {escape_mrkdwn(clip(card.id, 64))}`.")
        if todo:
            blocks.append(_context("What to do: " + " ".join(todo)))
    return blocks


def _decision_text(card: ApprovalCard, tz: dt.tzinfo) -> str:
    when = f" at {format_datetime(card.decided_at, tz)}" if card.decided_at else ""
    who = _user(card.decider)
    outcome = f"\n{escape_mrkdwn(clip(card.outcome, 2000))}" if card.outcome else ""
    if card.state is ApprovalState.REJECTED:
        reason = f": “{escape_mrkdwn(clip(_flat(card.reason), 1000))}”" if card.reason else ""
        return f"🚫 Rejected by {who}{when}{reason}"
    if card.state is ApprovalState.EXPIRED:
        at = format_datetime(card.expires_at, tz) if card.expires_at else "its deadline"
        return f"⌛ Nobody decided before {at}. Ask again with a new request."
    if card.state is ApprovalState.FAILED:
        return f"❌ Approved by {who}{when}, but it failed.{outcome}"
    if card.state is ApprovalState.UNKNOWN:
        return (f"❔ Approved by {who}{when}. {provider_label(card.document.provider)} did not answer, so it may or "
                f"may not have been done; it is checked before anything is retried.{outcome}")
    if card.state is ApprovalState.SUCCEEDED:
        return f"✅ Approved by {who}{when}.{outcome}"
    return f"⏳ Approved by {who}{when}; sending to {provider_label(card.document.provider)}…{outcome}"


def approval_text(card: ApprovalCard) -> str:
    doc = card.document
    prefix = "[SANDBOX] " if doc.sandbox else ""
    total = f" {format_money(doc.amounts.total, doc.amounts.currency)}" if doc.amounts else ""
    buyer = f" for {_flat(doc.buyer_name)}" if doc.buyer_name else ""
    return clip(f"{prefix}{_APPROVAL_HEADERS[card.state]}: {_action_phrase(card)} {doc.ref}{buyer}{total}", 3000)


def build_reject_modal(approval_id: str) -> View:
    """Asks the rejecter why; the reason goes back to the requester."""
    return View(
        type="modal", callback_id=REJECT_CALLBACK_ID, private_metadata=approval_id,
        title=_plain("Reject request", 24), submit=_plain("Reject", 24), close=_plain("Cancel", 24),
        blocks=[
            InputBlock(
                block_id=REJECT_REASON_BLOCK_ID, label=_plain("Why are you rejecting it?"),
                hint=_plain("The requester sees this, so say what to change."),
                element=PlainTextInputElement(action_id=REJECT_REASON_ACTION_ID, multiline=True,
                                              min_length=3, max_length=500,
                                              placeholder=_plain("e.g. the amount should include May")),
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
        return None, {REJECT_REASON_BLOCK_ID: "Say why, so the requester knows what to change."}
    return clip(reason, 500), {}


# -- status ------------------------------------------------------------------------------------

_LINK_LABELS: Mapping[str, str] = {
    "popup": "Open in provider", "view": "View", "pdf": "PDF", "print": "Print", "pay": "Payment page",
    "mail": "E-mail view", "list": "Provider list", "download": "Download",
}


def build_status_message(card: DocumentCard, tz: dt.tzinfo = SEOUL) -> list[Block]:
    """A document's state, amounts, provider links (as link buttons) and history timeline."""
    blocks: list[Block] = [_header(f"{card.ref} — {kind_label(card.kind)}")]
    if card.sandbox:
        blocks.append(sandbox_context())
    state = state_label(card.state)
    if card.raw_state:
        state += f" (`{escape_mrkdwn(clip(card.raw_state, 60))}`)"
    provider = provider_label(card.provider)
    if card.provider_id:
        provider += f"\n`{escape_mrkdwn(clip(card.provider_id, 100))}`"
    fields = [("State", state), ("Provider", provider), ("Buyer", _buyer(card)), ("Amount", _amounts(card.amounts))]
    if card.created_at:
        fields.append(("Created", format_datetime(card.created_at, tz)))
    if card.write_date:
        fields.append(("Write date", format_date(card.write_date)))
    if card.due_date:
        fields.append(("Due", format_date(card.due_date)))
    if card.requester:
        fields.append(("Requested by", _user(card.requester)))
    blocks.append(_fields(fields))
    if card.detail:
        blocks.append(_section(f"ℹ️ {escape_mrkdwn(clip(card.detail, 2900))}"))
    buttons = []
    for name, url in list(card.links.items()):
        if not url.startswith(("http://", "https://")) or len(url) > 3000:
            continue  # Slack refuses such a button; the link is still in the provider's UI
        label = _LINK_LABELS.get(name, name.replace("_", " ").capitalize())
        buttons.append(ButtonElement(text=_plain(f"🔗 {label}", 75), url=url,
                                     action_id=clip(f"link_{name}", 255), value=clip(card.ref, 2000)))
        if len(buttons) == 5:
            break
    if buttons:
        blocks.append(ActionsBlock(block_id=clip(f"links:{card.ref}", 255), elements=buttons))
    if card.history:
        events = list(card.history)
        shown = events[-_MAX_HISTORY_SHOWN:]
        lines = [f"• {format_datetime(at, tz)} — {escape_mrkdwn(clip(_flat(what), 200))}" for at, what in shown]
        if len(events) > len(shown):
            lines.insert(0, f"… {len(events) - len(shown)} earlier event(s)")
        blocks.append(_section("*History*\n" + "\n".join(lines)))
    return blocks


def status_text(card: DocumentCard) -> str:
    prefix = "[SANDBOX] " if card.sandbox else ""
    total = f", {format_money(card.amounts.total, card.amounts.currency)}" if card.amounts else ""
    return clip(f"{prefix}{card.ref}: {state_label(card.state)}{total}", 3000)


# -- lists -----------------------------------------------------------------------------------


def _more(count: int, hint: str) -> ContextBlock:
    return _context(f"… and {count} more. {hint}")


def build_list_message(
    cards: Sequence[DocumentCard],
    *,
    title: str = "Documents",
    total: int | None = None,
    filters: str | None = None,
    tz: dt.tzinfo = SEOUL,
) -> list[Block]:
    """A table-like list, at most MAX_LIST_ROWS rows (and well under 50 blocks), then "and N more".

    Args:
        cards: the documents, newest first.
        total: how many matched in all, when the caller fetched only a page.
        filters: a description of the filters, e.g. "filing_failed · popbill".
    """
    total = max(total or 0, len(cards))
    blocks: list[Block] = [_header(title)]
    summary = f"{total} document(s)" + (f" · {escape_mrkdwn(clip(filters, 200))}" if filters else "")
    if any(c.sandbox for c in cards):
        summary += " · 🧪 = SANDBOX document (nothing real was issued)"
    blocks.append(_context(summary))
    if not cards:
        blocks.append(_section("Nothing matches. Try `/invoice list` without filters."))
        return blocks
    shown = cards[:MAX_LIST_ROWS]
    blocks.extend(_lines_sections([document_card_line(c, tz) for c in shown]))
    if total > len(shown):
        blocks.append(_more(total - len(shown), "Narrow it with `/invoice list <state> <provider>`, "
                                                "or get everything with `/invoice export`."))
    return blocks


def list_text(cards: Sequence[DocumentCard], total: int | None = None) -> str:
    total = max(total or 0, len(cards))
    sandbox = " (including SANDBOX documents)" if any(c.sandbox for c in cards) else ""
    return f"{total} document(s){sandbox}"


def build_pending_list_message(approvals: Sequence[ApprovalCard], *, total: int | None = None,
                               tz: dt.tzinfo = SEOUL) -> list[Block]:
    """Approvals waiting for a decision (``/invoice list pending``)."""
    total = max(total or 0, len(approvals))
    blocks: list[Block] = [_header("Waiting for approval"), _context(f"{total} request(s)")]
    if not approvals:
        blocks.append(_section("Nothing is waiting. 🎉"))
        return blocks
    lines = []
    for card in approvals[:MAX_LIST_ROWS]:
        expires = f" · expires {format_datetime(card.expires_at, tz)}" if card.expires_at else ""
        lines.append(f"`{escape_mrkdwn(clip(card.id, 40))}` {card.action} · {document_card_line(card.document, tz)}"
                     f" · by {_user(card.requester)}{expires}")
    blocks.extend(_lines_sections(lines))
    if total > min(len(approvals), MAX_LIST_ROWS):
        blocks.append(_more(total - min(len(approvals), MAX_LIST_ROWS), "Decide the oldest first."))
    return blocks


def pending_list_text(approvals: Sequence[ApprovalCard], total: int | None = None) -> str:
    return f"{max(total or 0, len(approvals))} request(s) waiting for approval"


# -- closure -------------------------------------------------------------------------------

_CLOSURE_ORDER = {BusinessState.CLOSED: 0, BusinessState.SUSPENDED: 1, BusinessState.UNREGISTERED: 2,
                  BusinessState.UNKNOWN: 3, BusinessState.ACTIVE: 4}


def _closure_line(row: ClosureRow) -> str:
    line = f"{business_state_label(row.state)} `{format_bizno(row.bizno)}`"
    if row.state_date and row.state in (BusinessState.CLOSED, BusinessState.SUSPENDED):
        line += f" since {format_date(row.state_date)}"
    if row.tax_type:
        line += f" · {escape_mrkdwn(clip(_flat(row.tax_type), 60))}"
    if row.changed:
        was = f" (was {row.previous_state.value})" if row.previous_state else ""
        line += f" · 🔔 *changed*{was}"
    if row.warning:
        line += f"\n    ⚠️ {escape_mrkdwn(clip(_flat(row.warning), 150))}"
    return line


def build_closure_message(rows: Sequence[ClosureRow], *, sandbox: bool = False,
                          tz: dt.tzinfo = SEOUL) -> list[Block]:
    """Closure results, closed and suspended businesses first (what finance acts on)."""
    counts = Counter(r.state for r in rows)
    blocks: list[Block] = [_header(f"Closure check — {len(rows)} number(s)")]
    if sandbox:
        blocks.append(_context("🧪 *SANDBOX* — these results come from the provider sandbox, not the tax office"))
    summary = " · ".join(f"{business_state_label(state)} {counts[state]}"
                         for state in sorted(counts, key=lambda s: _CLOSURE_ORDER.get(s, 9)))
    changed = sum(1 for r in rows if r.changed)
    if changed:
        summary += f" · 🔔 {changed} changed since the last check"
    blocks.append(_section(summary or "No numbers were checked."))
    ordered = sorted(rows, key=lambda r: (_CLOSURE_ORDER.get(r.state, 9), not r.changed))
    blocks.extend(_lines_sections([_closure_line(r) for r in ordered]))
    checked = [r.checked_at for r in rows if r.checked_at]
    if checked:
        blocks.append(_context(f"Checked {format_datetime(max(checked), tz)}"))
    return blocks[:50]


def closure_text(rows: Sequence[ClosureRow], *, sandbox: bool = False) -> str:
    counts = Counter(r.state for r in rows)
    bad = counts[BusinessState.CLOSED] + counts[BusinessState.SUSPENDED]
    prefix = "[SANDBOX] " if sandbox else ""
    return f"{prefix}Closure check: {len(rows)} number(s), {bad} closed or suspended"


# -- progress, errors, export ------------------------------------------------------------------


def build_progress_message(title: str, done: int, total: int) -> list[Block]:
    """e.g. ``Checking 120 numbers… 40/120`` with a bar; updated in place with chat.update."""
    pct = 0 if total <= 0 else round(100 * max(0, min(done, total)) / total)
    return [_section(f"⏳ {escape_mrkdwn(clip(_flat(title), 200))}… {done}/{total}\n"
                     f"`{progress_bar(done, total)}` {pct}%")]


def progress_text(title: str, done: int, total: int) -> str:
    return f"{clip(_flat(title), 200)}… {done}/{total}"


def build_error_message(title: str, what_happened: str, what_to_do: str) -> list[Block]:
    """Tell the user what failed and what to do, never a traceback."""
    return [
        _section(f"❌ *{escape_mrkdwn(clip(_flat(title), 200))}*"),
        _section(f"*What happened*\n{escape_mrkdwn(clip(what_happened, 2800))}"),
        _section(f"*What to do*\n{clip(what_to_do, 2800)}"),
    ]


def error_text(title: str, what_happened: str) -> str:
    return clip(f"{_flat(title)}: {_flat(what_happened)}", 3000)


def build_command_error_message(error: CommandError) -> list[Block]:
    """A parser refusal: what was wrong, then what to type (the usage line)."""
    todo = error.hint or ""
    if error.usage:
        todo = (todo + "\n" if todo else "") + f"`{error.usage}`"
    if not todo:
        todo = "Type `/invoice help` to see every subcommand."
    return [
        _section(f"🤔 {clip(error.problem, 2900)}"),
        _context(clip(todo, 2900)),
    ]


def build_export_message(file_name: str, rows: int, start: dt.date, end: dt.date, *,
                         sandbox: bool = False, size: int | None = None) -> list[Block]:
    """Posted with the uploaded CSV once an export is done."""
    size_text = f" ({format_bytes(size)})" if size is not None else ""
    blocks: list[Block] = [_section(
        f"📤 *Export ready*: `{escape_mrkdwn(clip(file_name, 200))}`{size_text}\n"
        f"{rows} document(s) from {format_date(start)} to {format_date(end)}."
    )]
    if sandbox:
        blocks.append(_context("🧪 *SANDBOX* — includes sandbox documents; nothing in them was really issued"))
    if rows == 0:
        blocks.append(_context("Nothing was issued in that range; the file has only the header row."))
    return blocks


def export_text(file_name: str, rows: int, start: dt.date, end: dt.date) -> str:
    return f"Export ready: {clip(file_name, 200)} — {rows} document(s) from {start} to {end}"
