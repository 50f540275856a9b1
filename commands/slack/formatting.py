"""Small text helpers shared by every Slack message builder (cards, digest, App Home).

They live apart from the builders so the digest and App Home code can format a
document line or an amount exactly like the interactive messages do, and so Slack's
per-field length limits are applied in one place (`clip`).

Numbers, money and dates go through Babel's locale data in the current locale
(`commands.i18n.current_locale`), never through hand-written separators or symbols:

| | en | ko |
|---|---|---|
| `format_money(1234500)` | ₩1,234,500 | 1,234,500원 (the way Korean invoices write won) |
| `format_money(123456, "EUR")` | €1,234.56 | 1,234.56 유로 (Babel's ko unit pattern and name) |
| `format_date(2026-11-30)` | Mon, 30 Nov 2026 | 2026년 11월 30일 (월) |
| `format_datetime(…)` | 2026-11-30 09:00 KST | 2026년 11월 30일 (월) 09:00 KST |
| `format_compact(1.4e9)` | 1.4B | 14억 (만/억/조 units, as Korean amounts are read) |

Days use Babel's `yMMMEd` skeleton: ko's own form, and for English the day-first form
(en_GB data), which reads the same to a European and a Korean reader; timestamps in English
stay `YYYY-MM-DD HH:MM`, sortable by eye in history lines. Minor-unit exponents are ISO
4217's, from Babel (`currency_exponent`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_date
from babel.dates import format_skeleton
from babel.dates import format_time as babel_time
from babel.numbers import (
    NumberPattern,
    format_compact_decimal,
    format_currency,
    format_decimal,
    get_currency_name,
    get_currency_unit_pattern,
    parse_pattern,
)

from commands.i18n import N_, _, current_locale
from commands.ledger.vocabulary import ApprovalState, AuditOperation, Lifecycle, Standing, standing
from providers.bizno import format_bizno
from providers.currency import minor_unit_exponent
from providers.models import BusinessState, DocumentKind, DocumentState, Provider

__all__ = [
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
    "format_compact",
    "format_date",
    "format_datetime",
    "format_day_short",
    "format_krw",
    "format_money",
    "format_number",
    "kind_label",
    "operation_label",
    "progress_bar",
    "provider_label",
    "standing_label",
    "state_label",
]

SEOUL = ZoneInfo("Asia/Seoul")

#: Shown on every message about a document that lives in a provider sandbox.
SANDBOX_NOTICE = N_("🧪 *SANDBOX* — no real document was issued")

#: The Babel locale whose data formats each of our languages: numbers and money, days.
_NUMBER_LOCALES: Mapping[str, str] = {"en": "en", "ko": "ko_KR"}
_DAY_LOCALES: Mapping[str, str] = {"en": "en_GB", "ko": "ko_KR"}
_DAY_SKELETON = "yMMMEd"
#: Korean amounts are read in units of 10^4: 만, 억 (10^8), 조 (10^12)
_KOREAN_UNITS: tuple[tuple[int, str], ...] = ((10**12, "조"), (10**8, "억"), (10**4, "만"))

PROVIDER_LABELS: Mapping[Provider, str] = {
    Provider.POPBILL: N_("Popbill"),
    Provider.PAYSSAM: N_("Payssam (결제선생)"),
    Provider.HIWORKS: N_("Hiworks"),
    Provider.ABILLIFY: N_("Abillify"),
}

KIND_LABELS: Mapping[DocumentKind, str] = {
    DocumentKind.TAX_INVOICE: N_("Tax invoice (세금계산서)"),
    DocumentKind.ZERO_RATED_INVOICE: N_("Zero-rated tax invoice (영세율)"),
    DocumentKind.EXEMPT_INVOICE: N_("VAT-exempt invoice (계산서)"),
    DocumentKind.STATEMENT: N_("Transaction statement (거래명세서)"),
    DocumentKind.CASH_RECEIPT: N_("Cash receipt (현금영수증)"),
    DocumentKind.BILL: N_("Payment request (결제선생 청구서)"),
    DocumentKind.INVOICE: N_("Invoice (Abillify)"),
}

KIND_SHORT: Mapping[DocumentKind, str] = {
    DocumentKind.TAX_INVOICE: N_("tax invoice"),
    DocumentKind.ZERO_RATED_INVOICE: N_("zero-rated invoice"),
    DocumentKind.EXEMPT_INVOICE: N_("exempt invoice"),
    DocumentKind.STATEMENT: N_("statement"),
    DocumentKind.CASH_RECEIPT: N_("cash receipt"),
    DocumentKind.BILL: N_("bill"),
    DocumentKind.INVOICE: N_("invoice"),
}

_STATE_LABELS: Mapping[DocumentState, str] = {
    DocumentState.ISSUED: N_("📄 issued"),
    DocumentState.SENT: N_("📨 sent"),
    DocumentState.FILING: N_("⏳ filing with NTS"),
    DocumentState.FILED: N_("✅ filed with NTS"),
    DocumentState.FILING_FAILED: N_("❌ NTS filing failed"),
    DocumentState.UNPAID: N_("💳 unpaid"),
    DocumentState.PAID: N_("✅ paid"),
    DocumentState.EXPIRED: N_("⌛ expired"),
    DocumentState.CANCELED: N_("🚫 canceled"),
    DocumentState.DESTROYED: N_("🗑️ destroyed"),
    DocumentState.DELETED: N_("🗑️ deleted"),
    DocumentState.UNKNOWN: N_("❔ unknown"),
}

_BUSINESS_LABELS: Mapping[BusinessState, str] = {
    BusinessState.ACTIVE: N_("✅ active"),
    BusinessState.SUSPENDED: N_("⏸️ suspended (휴업)"),
    BusinessState.CLOSED: N_("⛔ closed (폐업)"),
    BusinessState.UNREGISTERED: N_("❓ not registered"),
    BusinessState.UNKNOWN: N_("❔ unknown"),
}

_STANDING_LABELS: Mapping[Standing, str] = {
    Standing.PENDING: N_("⏳ waiting for approval"),
    Standing.REJECTED: N_("🚫 rejected"),
    Standing.EXPIRED: N_("⌛ approval expired"),
    Standing.ISSUING: N_("⏳ issuing"),
    Standing.FAILED: N_("❌ failed"),
    Standing.UNKNOWN: N_("❔ outcome unknown"),
    Standing.ISSUED: N_("📄 issued"),
    Standing.CANCELLED: N_("🗑️ cancelled"),
}

_APPROVAL_LABELS: Mapping[ApprovalState, str] = {
    ApprovalState.PENDING: N_("🖊️ Approval needed"),
    ApprovalState.APPROVED: N_("⏳ Approved"),
    ApprovalState.EXECUTING: N_("⏳ Approved — working on it"),
    ApprovalState.SUCCEEDED: N_("✅ Approved and done"),
    ApprovalState.REJECTED: N_("🚫 Rejected"),
    ApprovalState.EXPIRED: N_("⌛ Expired"),
    ApprovalState.FAILED: N_("❌ Approved, but it failed"),
    ApprovalState.UNKNOWN: N_("❔ Approved, outcome unknown"),
}

#: What a history line says for each recorded operation (`audit_events.operation`).
_OPERATION_LABELS: Mapping[AuditOperation, str] = {
    AuditOperation.ISSUE_REQUEST: N_("issue requested"),
    AuditOperation.DESTROY_REQUEST: N_("cancellation requested"),
    AuditOperation.RESEND_REQUEST: N_("resend requested"),
    AuditOperation.APPROVE: N_("approved"),
    AuditOperation.REJECT: N_("rejected"),
    AuditOperation.REFUSED: N_("decision refused"),
    AuditOperation.ISSUE_EXPIRE: N_("issue request expired without a decision"),
    AuditOperation.DESTROY_EXPIRE: N_("cancellation request expired without a decision"),
    AuditOperation.RESEND_EXPIRE: N_("resend request expired without a decision"),
    AuditOperation.ISSUE_RETRY: N_("issue retried"),
    AuditOperation.DESTROY_RETRY: N_("cancellation retried"),
    AuditOperation.RESEND_RETRY: N_("resend retried"),
    AuditOperation.ISSUE_RECOVER: N_("interrupted issue checked again"),
    AuditOperation.DESTROY_RECOVER: N_("interrupted cancellation checked again"),
    AuditOperation.RESEND_RECOVER: N_("interrupted resend checked again"),
    AuditOperation.ADOPT: N_("taken over from the provider"),
    AuditOperation.CLOSURE: N_("closure (휴폐업) checked"),
    AuditOperation.ISSUE: N_("issued at the provider"),
    AuditOperation.ISSUE_FIND: N_("looked up at the provider"),
    AuditOperation.ISSUE_LATE_CONFIRMED: N_("late issue confirmed (penalty accepted)"),
    AuditOperation.DESTROY: N_("cancelled at the provider"),
    AuditOperation.DESTROY_CHECK: N_("cancellation checked at the provider"),
    AuditOperation.RESEND: N_("resent"),
    AuditOperation.STATUS_CHANGE: N_("state changed"),
    AuditOperation.SWEEP: N_("status sweep"),
    AuditOperation.PAYMENT: N_("payment received"),
    AuditOperation.TASK_NOTIFICATION: N_("provider notice"),
    AuditOperation.WORKFLOW_EVENT: N_("provider workflow event"),
    AuditOperation.DIGEST_SCHEDULED: N_("daily digest posted"),
    AuditOperation.DIGEST_NOW: N_("digest posted on request"),
    AuditOperation.BULK_ISSUE_REQUEST: N_("bulk issue requested"),
    AuditOperation.BULK_ISSUE_EXPIRE: N_("bulk issue request expired without a decision"),
    AuditOperation.BULK_ISSUE_RETRY: N_("bulk issue retried"),
    AuditOperation.BULK_ISSUE_RECOVER: N_("interrupted bulk issue checked again"),
    AuditOperation.BULK_SUBMIT: N_("submitted in bulk to the provider"),
    AuditOperation.BULK_RESULT: N_("bulk result read from the provider"),
    AuditOperation.AMEND_REQUEST: N_("amendment (수정세금계산서) requested"),
    AuditOperation.AMEND_EXPIRE: N_("amendment request expired without a decision"),
    AuditOperation.AMEND_RETRY: N_("amendment retried"),
    AuditOperation.AMEND_RECOVER: N_("interrupted amendment checked again"),
    AuditOperation.AMEND: N_("amendment issued at the provider"),
    AuditOperation.SEND_NTS_REQUEST: N_("sending to the NTS (즉시전송) requested"),
    AuditOperation.SEND_NTS_EXPIRE: N_("send-to-NTS request expired without a decision"),
    AuditOperation.SEND_NTS_RETRY: N_("sending to the NTS retried"),
    AuditOperation.SEND_NTS_RECOVER: N_("interrupted send to the NTS checked again"),
    AuditOperation.SEND_NTS: N_("sent to the NTS"),
    AuditOperation.PDF: N_("PDF uploaded to the thread"),
}


def clip(text: str, limit: int, *, marker: str = "…") -> str:
    """Cut `text` to `limit` characters, marking the cut, so Slack never refuses a block."""
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return text[:limit]
    return text[: limit - len(marker)] + marker


#: Slack's formatting markers, and the look-alike each becomes where it could open or close formatting
_MARKER_LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
#: a marker next to a word boundary (``*bold*``, ``_it_``); ``john_doe`` and ``a*b`` are left alone
_MARKER_AT_EDGE = re.compile(r"(?<!\w)[*_~`]|[*_~`](?!\w)")


#: a mention of a user, a channel or a user group (the workflow names people in its refusals)
_MENTION = re.compile(r"(<(?:@[UW]|#C|!subteam\^S)[A-Za-z0-9_]{1,40}>)")


def escape_mrkdwn(text: str, *, formatting: bool = True, keep_mentions: bool = False) -> str:
    """User text made inert for any mrkdwn field or a message's top-level ``text``: the one
    escaping function every Slack surface uses for user-supplied strings.

    ``&``, ``<`` and ``>`` become entities, so ``<!channel>``, ``<@U123>`` and
    ``<https://evil.example|Click to pay>`` show as typed instead of notifying or linking.
    Slack has no escape for formatting markers, so a ``*``, ``_``, ``~`` or backtick that
    could open or close formatting becomes a look-alike (``*bold*`` shows as ``∗bold∗``);
    markers inside a word (``john_doe@example.com``) are kept. ``formatting=False`` keeps the
    markers, for mrkdwn the app wrote itself (backticks round a command) that quotes user text;
    ``keep_mentions=True`` also keeps well-formed user, channel and user-group mentions (never
    ``<!channel>``), for a private answer in which the app names who may do something.
    """
    if keep_mentions:
        parts = _MENTION.split(text)  # odd indexes are the mentions
        return "".join(p if i % 2 else escape_mrkdwn(p, formatting=formatting) for i, p in enumerate(parts))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if not formatting:
        return text
    return _MARKER_AT_EDGE.sub(lambda m: _MARKER_LOOKALIKES[m.group(0)], text)


def _number_locale() -> Locale:
    return _babel_locale(_NUMBER_LOCALES.get(current_locale(), _NUMBER_LOCALES["en"]))


@functools.lru_cache(maxsize=16)
def _babel_locale(name: str) -> Locale:
    """Babel's locale, parsed once (every number on every card named it again: half a money
    amount's formatting time went to parsing the locale and the pattern)."""
    return Locale.parse(name)


@functools.lru_cache(maxsize=16)
def _number_pattern(pattern: str) -> NumberPattern:
    return parse_pattern(pattern)


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point in `currency`'s minor unit (ISO 4217, Babel's data; 2 if unknown):
    `providers.currency.minor_unit_exponent`, the one definition (cached, common codes in a table)."""
    return minor_unit_exponent(currency)


def format_krw(amount: int) -> str:
    """`1234500` -> `₩1,234,500` in English, `1,234,500원` in Korean (a negative keeps its sign)."""
    return format_money(amount, "KRW")


def format_money(amount: int, currency: str = "KRW") -> str:
    """Format an integer amount in the currency's minor unit, in the current locale.

    >>> format_money(12345, "EUR")
    '€123.45'
    """
    code = currency.upper()
    exponent = currency_exponent(code)
    value = Decimal(amount).scaleb(-exponent)
    locale = _number_locale()
    if current_locale() != "ko":
        return format_currency(value, code, locale=locale)
    # Korean: 1,234,500원 for won; other currencies by Babel's unit pattern, `1,234.56 유로`
    number = format_decimal(value, format=_number_pattern(f"#,##0.{'0' * exponent}" if exponent else "#,##0"),
                            locale=locale)
    if code == "KRW":
        return f"{number}원"
    return get_currency_unit_pattern(code, locale=locale).format(number, get_currency_name(code, locale=locale))


def format_number(value: int | float | Decimal) -> str:
    """A count or quantity with the locale's grouping: `12,345`."""
    return format_decimal(value, locale=_number_locale())


def format_compact(value: float) -> str:
    """A short amount for a chart axis: `1.4B`, `25M`, `5K` in English; `14억`, `2,500만` in Korean."""
    if current_locale() == "ko":
        for size, unit in _KOREAN_UNITS:
            if abs(value) >= size:
                return format_decimal(round(value / size, 1), format="#,##0.#", locale="ko_KR") + unit
        return format_decimal(round(value), locale="ko_KR")
    return format_compact_decimal(value, format_type="short", fraction_digits=1, locale=_number_locale())


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
    """`2024-05-02 14:03 KST` (Korean: `2024년 5월 2일 (목) 14:03 KST`) in the reader's zone."""
    if when is None:
        return "—"
    local = _localise(when, tz)
    if current_locale() == "ko":
        text = f"{format_date(local.date())} {babel_time(local.time(), 'HH:mm', locale='ko_KR')}"
    else:
        text = babel_date(local.date(), "yyyy-MM-dd", locale="en") + babel_time(local.time(), " HH:mm", locale="en")
    if with_zone:
        text += f" {local.tzname() or ''}".rstrip()
    return text


def format_date(when: dt.date | dt.datetime | None, tz: dt.tzinfo = SEOUL) -> str:
    """`Thu, 2 May 2024` / `2024년 5월 2일 (목)`; a datetime is first moved into `tz` (the reader's day)."""
    if when is None:
        return "—"
    if isinstance(when, dt.datetime):
        when = _localise(when, tz).date()
    return format_skeleton(_DAY_SKELETON, when, locale=_DAY_LOCALES.get(current_locale(), _DAY_LOCALES["en"]))


def format_day_short(when: dt.date) -> str:
    """A day without its year, for a chart axis: `30/11` in English, `11. 30.` in Korean."""
    return format_skeleton("Md", when, locale=_DAY_LOCALES.get(current_locale(), _DAY_LOCALES["en"]))


def provider_label(provider: Provider) -> str:
    return _(PROVIDER_LABELS[provider]) if provider in PROVIDER_LABELS else provider.value


def kind_label(kind: DocumentKind) -> str:
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind.value


def state_label(state: DocumentState) -> str:
    """A provider state with its emoji, e.g. `✅ filed with NTS`."""
    return _(_STATE_LABELS[state]) if state in _STATE_LABELS else state.value


def standing_label(where: Standing) -> str:
    """Where a document stands, e.g. `⏳ waiting for approval`."""
    return _(_STANDING_LABELS[where])


def approval_state_label(state: ApprovalState) -> str:
    """An approval request's state as its card's header says it, e.g. `🚫 Rejected`."""
    return _(_APPROVAL_LABELS[state])


def business_state_label(state: BusinessState) -> str:
    return _(_BUSINESS_LABELS[state]) if state in _BUSINESS_LABELS else state.value


def operation_label(operation: AuditOperation) -> str:
    """What a recorded operation means to a reader of a document's history."""
    return _(_OPERATION_LABELS[operation])


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
    amends: str | None = None,
) -> str:
    """One mrkdwn line describing a document, used by lists, the digest and App Home.

    Its state is `document_label(lifecycle, state)`; without a lifecycle the document is
    taken as issued (the provider's state alone).

    e.g. ``INV-000123`` · Popbill tax invoice · Acme Corp · ₩1,100,000 · ✅ filed with NTS · 2024-05-02
    """
    parts = [f"`{escape_mrkdwn(clip(ref, 80))}`"]
    if sandbox:
        parts[0] += " 🧪"
    kind_word = _(KIND_SHORT[kind]) if kind in KIND_SHORT else kind.value
    parts.append(f"{provider_label(provider).split(' (')[0]} {kind_word}")
    if buyer_name:
        parts.append(escape_mrkdwn(clip(buyer_name, 60)))
    if total is not None:
        parts.append(format_money(total, currency))
    if lifecycle is not None or state is not None:
        parts.append(document_label(lifecycle or Lifecycle.ISSUED, state))
    if when is not None:
        parts.append(format_date(when, tz))
    if amends:
        parts.append(_("↩ amends {ref}").format(ref=f"`{escape_mrkdwn(clip(amends, 80))}`"))
    return " · ".join(parts)
