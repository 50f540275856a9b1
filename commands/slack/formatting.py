"""Small text helpers shared by every Slack message builder (cards, digest, App Home).

They live apart from the builders so the digest and App Home code can format a
document line or an amount exactly like the interactive messages do, and so Slack's
per-field length limits are applied in one place (`clip`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from zoneinfo import ZoneInfo

from commands.ledger.vocabulary import ApprovalState, AuditOperation, Lifecycle, Standing, standing
from providers.bizno import format_bizno
from providers.models import BusinessState, DocumentKind, DocumentState, Provider

__all__ = [
    "CURRENCY_EXPONENTS",
    "KIND_LABELS",
    "KIND_SHORT",
    "PROVIDER_LABELS",
    "SANDBOX_NOTICE",
    "SEOUL",
    "approval_state_label",
    "business_state_label",
    "clip",
    "currency_exponent",
    "document_label",
    "document_line",
    "escape_mrkdwn",
    "format_bizno",
    "format_bytes",
    "format_date",
    "format_datetime",
    "format_krw",
    "format_money",
    "kind_label",
    "operation_label",
    "progress_bar",
    "provider_label",
    "standing_label",
    "state_label",
]

SEOUL = ZoneInfo("Asia/Seoul")

#: Shown on every message about a document that lives in a provider sandbox.
SANDBOX_NOTICE = "🧪 *SANDBOX* — no real document was issued"

#: Minor-unit exponents (ISO 4217) for the currencies a provider may bill in.
CURRENCY_EXPONENTS: Mapping[str, int] = {
    "KRW": 0, "JPY": 0, "VND": 0, "CLP": 0, "ISK": 0,
    "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "CNY": 2, "HKD": 2, "SGD": 2, "AUD": 2, "CAD": 2,
    "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "TWD": 2,
    "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3,
}

_CURRENCY_SYMBOLS: Mapping[str, str] = {
    "KRW": "₩", "EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CNY": "CN¥", "CHF": "CHF ",
}

PROVIDER_LABELS: Mapping[Provider, str] = {
    Provider.POPBILL: "Popbill",
    Provider.PAYSSAM: "Payssam (결제선생)",
    Provider.HIWORKS: "Hiworks",
    Provider.ABILLIFY: "Abillify",
}

KIND_LABELS: Mapping[DocumentKind, str] = {
    DocumentKind.TAX_INVOICE: "Tax invoice (세금계산서)",
    DocumentKind.ZERO_RATED_INVOICE: "Zero-rated tax invoice (영세율)",
    DocumentKind.EXEMPT_INVOICE: "VAT-exempt invoice (계산서)",
    DocumentKind.STATEMENT: "Transaction statement (거래명세서)",
    DocumentKind.CASH_RECEIPT: "Cash receipt (현금영수증)",
    DocumentKind.BILL: "Payment request (결제선생 청구서)",
    DocumentKind.INVOICE: "Invoice (Abillify)",
}

KIND_SHORT: Mapping[DocumentKind, str] = {
    DocumentKind.TAX_INVOICE: "tax invoice",
    DocumentKind.ZERO_RATED_INVOICE: "zero-rated invoice",
    DocumentKind.EXEMPT_INVOICE: "exempt invoice",
    DocumentKind.STATEMENT: "statement",
    DocumentKind.CASH_RECEIPT: "cash receipt",
    DocumentKind.BILL: "bill",
    DocumentKind.INVOICE: "invoice",
}

_STATE_LABELS: Mapping[DocumentState, str] = {
    DocumentState.ISSUED: "📄 issued",
    DocumentState.SENT: "📨 sent",
    DocumentState.FILING: "⏳ filing with NTS",
    DocumentState.FILED: "✅ filed with NTS",
    DocumentState.FILING_FAILED: "❌ NTS filing failed",
    DocumentState.UNPAID: "💳 unpaid",
    DocumentState.PAID: "✅ paid",
    DocumentState.EXPIRED: "⌛ expired",
    DocumentState.CANCELED: "🚫 canceled",
    DocumentState.DESTROYED: "🗑️ destroyed",
    DocumentState.DELETED: "🗑️ deleted",
    DocumentState.UNKNOWN: "❔ unknown",
}

_BUSINESS_LABELS: Mapping[BusinessState, str] = {
    BusinessState.ACTIVE: "✅ active",
    BusinessState.SUSPENDED: "⏸️ suspended (휴업)",
    BusinessState.CLOSED: "⛔ closed (폐업)",
    BusinessState.UNREGISTERED: "❓ not registered",
    BusinessState.UNKNOWN: "❔ unknown",
}

_STANDING_LABELS: Mapping[Standing, str] = {
    Standing.PENDING: "⏳ waiting for approval",
    Standing.REJECTED: "🚫 rejected",
    Standing.EXPIRED: "⌛ approval expired",
    Standing.ISSUING: "⏳ issuing",
    Standing.FAILED: "❌ failed",
    Standing.UNKNOWN: "❔ outcome unknown",
    Standing.ISSUED: "📄 issued",
    Standing.CANCELLED: "🗑️ cancelled",
}

_APPROVAL_LABELS: Mapping[ApprovalState, str] = {
    ApprovalState.PENDING: "🖊️ Approval needed",
    ApprovalState.APPROVED: "⏳ Approved",
    ApprovalState.EXECUTING: "⏳ Approved — working on it",
    ApprovalState.SUCCEEDED: "✅ Approved and done",
    ApprovalState.REJECTED: "🚫 Rejected",
    ApprovalState.EXPIRED: "⌛ Expired",
    ApprovalState.FAILED: "❌ Approved, but it failed",
    ApprovalState.UNKNOWN: "❔ Approved, outcome unknown",
}

#: What a history line says for each recorded operation (`audit_events.operation`).
_OPERATION_LABELS: Mapping[AuditOperation, str] = {
    AuditOperation.ISSUE_REQUEST: "issue requested",
    AuditOperation.DESTROY_REQUEST: "cancellation requested",
    AuditOperation.RESEND_REQUEST: "resend requested",
    AuditOperation.APPROVE: "approved",
    AuditOperation.REJECT: "rejected",
    AuditOperation.REFUSED: "decision refused",
    AuditOperation.ISSUE_EXPIRE: "issue request expired without a decision",
    AuditOperation.DESTROY_EXPIRE: "cancellation request expired without a decision",
    AuditOperation.RESEND_EXPIRE: "resend request expired without a decision",
    AuditOperation.ISSUE_RETRY: "issue retried",
    AuditOperation.DESTROY_RETRY: "cancellation retried",
    AuditOperation.RESEND_RETRY: "resend retried",
    AuditOperation.ISSUE_RECOVER: "interrupted issue checked again",
    AuditOperation.DESTROY_RECOVER: "interrupted cancellation checked again",
    AuditOperation.RESEND_RECOVER: "interrupted resend checked again",
    AuditOperation.ADOPT: "taken over from the provider",
    AuditOperation.CLOSURE: "closure (휴폐업) checked",
    AuditOperation.ISSUE: "issued at the provider",
    AuditOperation.ISSUE_FIND: "looked up at the provider",
    AuditOperation.ISSUE_LATE_CONFIRMED: "late issue confirmed (penalty accepted)",
    AuditOperation.DESTROY: "cancelled at the provider",
    AuditOperation.DESTROY_CHECK: "cancellation checked at the provider",
    AuditOperation.RESEND: "resent",
    AuditOperation.STATUS_CHANGE: "state changed",
    AuditOperation.SWEEP: "status sweep",
    AuditOperation.PAYMENT: "payment received",
    AuditOperation.TASK_NOTIFICATION: "provider notice",
    AuditOperation.WORKFLOW_EVENT: "provider workflow event",
    AuditOperation.DIGEST_SCHEDULED: "daily digest posted",
    AuditOperation.DIGEST_NOW: "digest posted on request",
}


def clip(text: str, limit: int, *, marker: str = "…") -> str:
    """Cut `text` to `limit` characters, marking the cut, so Slack never refuses a block."""
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return text[:limit]
    return text[: limit - len(marker)] + marker


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack treats as control sequences in mrkdwn.

    User-typed names such as ``<Acme & Sons>`` must not become links or mentions.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point in `currency`'s minor unit (2 for unknown codes)."""
    return CURRENCY_EXPONENTS.get(currency.upper(), 2)


def format_krw(amount: int) -> str:
    """`1234500` -> `₩1,234,500` (negative amounts keep their sign: `-₩1,000`)."""
    return format_money(amount, "KRW")


def format_money(amount: int, currency: str = "KRW") -> str:
    """Format an integer amount in the currency's minor unit.

    >>> format_money(12345, "EUR")
    '€123.45'
    """
    code = currency.upper()
    exponent = currency_exponent(code)
    sign = "-" if amount < 0 else ""
    value = Decimal(abs(amount)).scaleb(-exponent)
    number = f"{value:,.{exponent}f}"
    symbol = _CURRENCY_SYMBOLS.get(code)
    if symbol is None:
        return f"{sign}{number} {code}"
    return f"{sign}{symbol}{number}"


def format_bytes(size: int) -> str:
    """`12345` -> `12 KB`: sizes as a person reads them in a chat line."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _localise(when: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    if when.tzinfo is None:
        # naive values in this codebase are UTC (the database stores UTC)
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(tz)


def format_datetime(when: dt.datetime | None, tz: dt.tzinfo = SEOUL, *, with_zone: bool = True) -> str:
    """`2024-05-02 14:03 KST` in the reader's zone (Asia/Seoul unless told)."""
    if when is None:
        return "—"
    local = _localise(when, tz)
    text = local.strftime("%Y-%m-%d %H:%M")
    if with_zone:
        text += f" {local.tzname() or ''}".rstrip()
    return text


def format_date(when: dt.date | dt.datetime | None, tz: dt.tzinfo = SEOUL) -> str:
    """`2024-05-02`; a datetime is first moved into `tz` so the day is the reader's day."""
    if when is None:
        return "—"
    if isinstance(when, dt.datetime):
        when = _localise(when, tz).date()
    return when.isoformat()


def provider_label(provider: Provider) -> str:
    return PROVIDER_LABELS.get(provider, provider.value)


def kind_label(kind: DocumentKind) -> str:
    return KIND_LABELS.get(kind, kind.value)


def state_label(state: DocumentState) -> str:
    """A provider state with its emoji, e.g. `✅ filed with NTS`."""
    return _STATE_LABELS.get(state, state.value)


def standing_label(where: Standing) -> str:
    """Where a document stands, e.g. `⏳ waiting for approval`."""
    return _STANDING_LABELS[where]


def approval_state_label(state: ApprovalState) -> str:
    """An approval request's state as its card's header says it, e.g. `🚫 Rejected`."""
    return _APPROVAL_LABELS[state]


def business_state_label(state: BusinessState) -> str:
    return _BUSINESS_LABELS.get(state, state.value)


def operation_label(operation: AuditOperation) -> str:
    """What a recorded operation means to a reader of a document's history."""
    return _OPERATION_LABELS[operation]


def document_label(lifecycle: Lifecycle, state: DocumentState | None) -> str:
    """The one label of a document on every surface (status, list, App Home, digest).

    A live issued document says what its provider says (`📨 sent`, `✅ paid`); any other
    document says where it stands (`⏳ waiting for approval`, `🚫 rejected`, `🗑️ cancelled`),
    so a pending request never reads as "unknown" and a deleted one carries one label.
    """
    where = standing(lifecycle, state)
    if where is Standing.ISSUED and state is not None:
        return state_label(state)
    return standing_label(where)


def progress_bar(done: int, total: int, width: int = 20) -> str:
    """`▓▓▓▓░░░░` filled in proportion to done/total (clamped to 0..total)."""
    if total <= 0:
        return "░" * width
    done = max(0, min(done, total))
    filled = round(width * done / total)
    return "▓" * filled + "░" * (width - filled)


def document_line(
    ref: str,
    *,
    provider: Provider,
    kind: DocumentKind,
    buyer_name: str | None,
    total: int | None,
    currency: str = "KRW",
    state: DocumentState | None = None,
    lifecycle: Lifecycle | None = None,
    sandbox: bool = False,
    when: dt.date | dt.datetime | None = None,
    tz: dt.tzinfo = SEOUL,
) -> str:
    """One mrkdwn line describing a document, used by lists, the digest and App Home.

    Its state is `document_label(lifecycle, state)`; without a lifecycle the document is
    taken as issued (the provider's state alone).

    e.g. ``INV-000123`` · Popbill tax invoice · Acme Corp · ₩1,100,000 · ✅ filed with NTS · 2024-05-02
    """
    parts = [f"`{escape_mrkdwn(clip(ref, 80))}`"]
    if sandbox:
        parts[0] += " 🧪"
    parts.append(f"{provider_label(provider).split(' (')[0]} {KIND_SHORT.get(kind, kind.value)}")
    if buyer_name:
        parts.append(escape_mrkdwn(clip(buyer_name, 60)))
    if total is not None:
        parts.append(format_money(total, currency))
    if lifecycle is not None or state is not None:
        parts.append(document_label(lifecycle or Lifecycle.ISSUED, state))
    if when is not None:
        parts.append(format_date(when, tz))
    return " · ".join(parts)
