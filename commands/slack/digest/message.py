"""The digest as Block Kit: at most 50 blocks whatever the data, plus its notification text.

Pure functions of a `DigestData`, tested without Slack. Long lists are cut with "and N
more", and every SANDBOX provider's lines are marked. A document's state reads as
`document_label` says, as in every other surface.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from babel import dates as babel_dates
from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)

from commands.i18n import N_, _, current_locale, ngettext
from commands.ledger import digest_queries as q
from commands.ledger import format_ref
from commands.slack.blocks.approval import action_label
from commands.slack.blocks.deadlines import deadline_report_blocks
from commands.slack.blocks.kit import (
    LINE_LIMIT,
    ROWS_PER_SECTION,
    channel_mention,
    context,
    md,
    plain,
    section,
    user_mention,
)
from commands.slack.digest.data import CHART_DAYS, FAILURE_ROWS, DigestData, WindowBasis
from commands.slack.formatting import (
    business_state_label,
    clip,
    document_line,
    escape_mrkdwn,
    format_bizno,
    format_datetime,
    format_krw,
    format_money,
    provider_label,
)
from commands.slack.ids import REMINDER_RESEND_ACTION_ID
from providers.models import Provider

__all__ = ["MAX_DIGEST_BLOCKS", "build_digest_blocks", "digest_text", "summary_line"]

MAX_DIGEST_BLOCKS = 50  # Slack's per-message limit (slack_sdk does not check it)

_FAILURE_TITLES: Mapping[str, str] = {
    "filing_failed": N_("NTS filing failed"),
    "provider_error": N_("Provider refused or failed"),
    "outcome_unknown": N_("Outcome unknown (check before retrying)"),
}


def _sections(title: str, lines: Sequence[str]) -> list[Block]:
    """A titled list in sections of ten lines, each line clipped so a section stays valid."""
    blocks: list[Block] = []
    for start in range(0, max(len(lines), 1), ROWS_PER_SECTION):
        chunk = [clip(line, LINE_LIMIT) for line in lines[start:start + ROWS_PER_SECTION]]
        head = f"{title}\n" if start == 0 else ""
        blocks.append(section(head + "\n".join(chunk)))
    return blocks


def _more(count: int, hint: str = "") -> ContextBlock:
    more = _("and {count} more").format(count=count)
    return context(f"…{more}{(' — ' + hint) if hint else ''}")


def _provider_name(provider: Provider, data: DigestData, *, sandbox: bool = False) -> str:
    name = provider_label(provider)
    if sandbox or provider in data.sandbox_providers:
        name += " " + _("🧪 SANDBOX")
    return name


def _money_totals(totals: Mapping[str, int]) -> str:
    if not totals:
        return format_krw(0)
    krw_first = sorted(totals, key=lambda c: (c != "KRW", c))
    return " + ".join(format_money(totals[c], c) for c in krw_first)


def _age(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return _("{count} min").format(count=minutes)
    hours = minutes // 60
    if hours < 48:
        return _("{count} h").format(count=hours)
    return _("{days} d {hours} h").format(days=hours // 24, hours=hours % 24)


def _doc_line(row: q.DocumentRow, data: DigestData, tz: dt.tzinfo, *, when: dt.date | None = None) -> str:
    sandbox = row.sandbox or row.provider in data.sandbox_providers
    return document_line(row.ref, provider=row.provider, kind=row.kind, buyer_name=row.buyer_name, total=row.total,
                         currency=row.currency, state=row.state, lifecycle=row.lifecycle, sandbox=sandbox,
                         when=when, tz=tz,
                         amends=format_ref(row.amends_document_id) if row.amends_document_id else None)


def _with_detail(line: str, row: q.DocumentRow) -> str:
    if row.detail:
        return f"{line} — {escape_mrkdwn(clip(' '.join(row.detail.split()), 120))}"
    return line


def _by_provider(totals: Sequence[q.IssuedTotal], data: DigestData) -> list[Any]:
    groups: dict[tuple[Provider, bool], dict[str, int]] = {}
    counts: dict[tuple[Provider, bool], int] = {}
    for t in totals:
        key = (t.provider, t.sandbox or t.provider in data.sandbox_providers)
        groups.setdefault(key, {})[t.currency] = groups.get(key, {}).get(t.currency, 0) + t.total
        counts[key] = counts.get(key, 0) + t.count
    return [
        md(f"*{_provider_name(p, data, sandbox=sb)}*\n{counts[(p, sb)]} · {_money_totals(groups[(p, sb)])}", 2000)
        for (p, sb) in sorted(groups, key=lambda k: (k[0].value, k[1]))
    ][:10]


def _documents(n: int) -> str:
    return ngettext("{count} document", "{count} documents", n).format(count=n)


def _issued_blocks(data: DigestData) -> list[Block]:
    """Issued and cancelled, each counted once by its standing: a cancelled document is not "issued"."""
    blocks: list[Block] = []
    if not data.issued:
        blocks.append(section(_("*📄 Issued in this window (still live):* nothing")))
    else:
        head = (_("*📄 Issued in this window (still live):*") + f" {_documents(data.issued_count)} · "
                f"{_money_totals(data.issued_totals())}")
        blocks.append(SectionBlock(text=md(head), fields=_by_provider(data.issued, data)))
    if data.cancelled:
        head = (_("*🗑️ Cancelled or deleted in this window:*") + f" {_documents(data.cancelled_count)} · "
                f"{_money_totals(data.cancelled_totals())}")
        blocks.append(SectionBlock(text=md(head), fields=_by_provider(data.cancelled, data)))
    return blocks


def _pending_blocks(data: DigestData, tz: dt.tzinfo) -> list[Block]:
    if not data.pending:
        return []
    lines = []
    for a in data.pending.rows:
        doc = _doc_line(a.document, data, tz)
        waiting = _("waiting {age}, asked by {user}").format(age=_age(data.now - a.created_at),
                                                             user=user_mention(a.requester))
        lines.append(f"• #{a.id} {escape_mrkdwn(action_label(a.action))} {doc} — {waiting}")
    blocks = _sections(_("*⏳ Waiting for approval ({count})*").format(count=data.pending.count), lines)
    if data.pending.more:
        blocks.append(_more(data.pending.more, "`/invoice list pending`"))
    return blocks


def _failure_blocks(data: DigestData, tz: dt.tzinfo) -> list[Block]:
    blocks: list[Block] = []
    for key, title in _FAILURE_TITLES.items():
        listing = data.failures.get(key)
        if not listing:
            continue
        lines = [f"• {_with_detail(_doc_line(row, data, tz), row)}" for row in listing.rows]
        blocks.extend(_sections(f"*❌ {_(title)} ({listing.count})*", lines))
        if listing.more:
            blocks.append(_more(listing.more, "`/invoice list`"))
    return blocks


def _unpaid_blocks(data: DigestData, tz: dt.tzinfo) -> list[Block]:
    if not (data.unpaid_payssam or data.unpaid_abillify):
        return []
    lines = []
    if data.unpaid_payssam:
        n = data.unpaid_payssam.count
        bills = ngettext("{count} unpaid bill", "{count} unpaid bills", n).format(count=n)
        expiring = ngettext("{count} expiring within {days} day", "{count} expiring within {days} days",
                            data.expiring_days).format(count=data.expiring_payssam.count, days=data.expiring_days)
        lines.append(f"{_provider_name(Provider.PAYSSAM, data)}: {bills} · "
                     f"{_money_totals(data.unpaid_payssam.totals)}, {expiring}")
    if data.unpaid_abillify:
        n = data.unpaid_abillify.count
        invoices = ngettext("{count} unpaid invoice", "{count} unpaid invoices", n).format(count=n)
        lines.append(f"{_provider_name(Provider.ABILLIFY, data)}: {invoices} · "
                     f"{_money_totals(data.unpaid_abillify.totals)}")
    lines += ["• " + _("expires {date}").format(date=row.due_date.isoformat() if row.due_date else "—")
              + f": {_doc_line(row, data, tz)}" for row in data.expiring_payssam.rows]
    blocks = _sections(_("*💳 Unpaid*"), lines)
    if data.expiring_payssam.more:
        blocks.append(_more(data.expiring_payssam.more, "`/invoice list unpaid`"))
    return blocks


def _overdue_blocks(data: DigestData, tz: dt.tzinfo) -> list[Block]:
    if not data.overdue:
        return []
    today = data.now.astimezone(tz).date()
    blocks: list[Block] = [section(_("*⏰ Past due, still unpaid ({count})*").format(count=data.overdue.count))]
    for row in data.overdue.rows:
        late = (today - row.due_date).days if row.due_date else 0
        due = ngettext("due {date} ({count} day ago)", "due {date} ({count} days ago)", late).format(
            date=row.due_date.isoformat() if row.due_date else "—", count=late)
        text = f"{_doc_line(row, data, tz)} — {due}"
        blocks.append(SectionBlock(
            text=md(clip(text, LINE_LIMIT)),
            block_id=clip(f"overdue_{row.id}", 255),
            accessory=ButtonElement(text=plain(_("Resend"), 75), action_id=REMINDER_RESEND_ACTION_ID,
                                    value=clip(row.ref, 2000)),
        ))
    if data.overdue.more:
        blocks.append(_more(data.overdue.more, "`/invoice list unpaid`"))
    return blocks


def _deadline_blocks(data: DigestData, tz: dt.tzinfo) -> list[Block]:
    """Tax invoices near or past a tax deadline, with the penalties at stake (`blocks.deadlines`)."""
    if not data.deadlines:
        return []
    return [section("*" + _("🗓️ Deadlines") + "*"),
            *deadline_report_blocks(data.deadlines, tz, sandboxed=data.sandbox_providers, rows=FAILURE_ROWS,
                                    more_hint="`/invoice deadlines`")]


def _closure_blocks(data: DigestData) -> list[Block]:
    if not data.closure_changes:
        return []
    lines = []
    for c in data.closure_changes.rows:
        who = escape_mrkdwn(clip(format_bizno(c.bizno), 40))
        who += f" {escape_mrkdwn(clip(c.buyer_name, 60))}" if c.buyer_name else ""
        since = " (" + _("since {date}").format(date=c.state_date.isoformat()) + ")" if c.state_date else ""
        lines.append(f"• {who}: {business_state_label(c.previous)} → *{business_state_label(c.current)}*{since}")
    blocks = _sections(_("*🏢 Closure status changed ({count})*").format(count=data.closure_changes.count), lines)
    if data.closure_changes.more:
        blocks.append(_more(data.closure_changes.more, "`/invoice closure <number>`"))
    return blocks


def _unreachable_blocks(data: DigestData) -> list[Block]:
    if not data.unreachable:
        return []
    lines = []
    for name, message in sorted(data.unreachable.items()):
        try:
            label = _provider_name(Provider(name), data)
        except ValueError:
            label = escape_mrkdwn(name)
        lines.append(f"• {label}: {escape_mrkdwn(clip(' '.join(message.split()), 200))}")
    return _sections(_("*⚠️ Could not reach during the status sweep* — their statuses above may be out of date"),
                     lines)


def build_digest_blocks(data: DigestData, tz: dt.tzinfo) -> list[Block]:
    """The digest message: at most 50 blocks, whatever the data."""
    local_now = data.now.astimezone(tz)
    blocks: list[Block] = [
        HeaderBlock(text=plain(_("📊 Invoicing digest · {date}").format(date=_day_with_weekday(local_now.date())),
                               150)),
    ]
    scope = channel_mention(data.scope_channel) if data.scope_channel else _("all channels")
    notes = [f"{window_words(data, tz)} · {scope}"]
    if data.sandbox_providers:
        names = ", ".join(provider_label(p).split(" (")[0] for p in sorted(data.sandbox_providers))
        notes.append(_("🧪 *SANDBOX*: {providers} — no real documents").format(providers=names))
    blocks.append(context(*notes))
    if data.quiet:
        blocks.append(section(_("🌤️ Quiet day: nothing issued or cancelled, nothing waiting for approval, "
                                "no failures, nothing unpaid.")))
        return blocks
    body: list[Block] = []
    body += _issued_blocks(data)
    body += _pending_blocks(data, tz)
    body += _failure_blocks(data, tz)
    body += _unpaid_blocks(data, tz)
    body += _overdue_blocks(data, tz)
    body += _deadline_blocks(data, tz)
    body += _closure_blocks(data)
    body += _unreachable_blocks(data)
    footer: list[Block] = [DividerBlock(),
                           context(_("Chart of the last {days} days in the thread 🧵").format(days=CHART_DAYS))]
    room = MAX_DIGEST_BLOCKS - len(blocks) - len(footer)
    if len(body) > room:
        body = [*body[: room - 1], context("…" + _("the digest was cut to fit one message; see `/invoice list`"))]
    return blocks + body + footer


def _day_with_weekday(day: dt.date) -> str:
    """``2026-03-02 (Mon)``, the weekday in the reader's language (``(월)``)."""
    return f"{day.isoformat()} ({babel_dates.format_date(day, 'EEE', locale=current_locale())})"


_BASIS_WORDS: Mapping[WindowBasis, str] = {
    WindowBasis.PREVIOUS: N_("since the previous digest in this channel"),
    WindowBasis.FIRST: N_("the last 24 hours (the first digest in this channel)"),
    WindowBasis.CAPPED: N_("the last 7 days (the previous digest is older)"),
}


def window_words(data: DigestData, tz: dt.tzinfo) -> str:
    """What the window is, in words: "From 2026-03-01 09:30 KST to now, since the previous digest …"."""
    return _("From {since} to {now}, {basis}").format(
        since=format_datetime(data.since, tz), now=format_datetime(data.now, tz), basis=_(_BASIS_WORDS[data.basis]))


def summary_line(summary: Mapping[str, Any]) -> str:
    """One line from a stored digest summary (`DigestData.summary()`), for ``show`` and App Home."""
    if summary.get("quiet"):
        return _("Quiet day")
    totals = summary.get("issued_totals") or {}
    parts = [_("{count} issued ({total})").format(
        count=summary.get("issued", 0), total=_money_totals({str(k): int(v) for k, v in totals.items()}))]
    for key, words in _SUMMARY_WORDS.items():
        count = summary.get(key)
        if count:
            parts.append(_(words).format(count=count))
    changes = summary.get("closure_changes")
    if changes:
        parts.append(ngettext("{count} closure change", "{count} closure changes", changes).format(count=changes))
    unreachable = summary.get("unreachable") or []
    if unreachable:
        parts.append(_("unreachable: {providers}").format(providers=", ".join(str(u) for u in unreachable)))
    return " · ".join(parts)


#: the summary's counts, in the order a reader wants them
_SUMMARY_WORDS: Mapping[str, str] = {
    "cancelled": N_("{count} cancelled"),
    "pending": N_("{count} waiting for approval"),
    "failed": N_("{count} failed"),
    "failures": N_("{count} need attention"),
    "unpaid": N_("{count} unpaid"),
    "overdue": N_("{count} past due"),
    "deadlines": N_("{count} near or past a tax deadline"),
}


def digest_text(data: DigestData, tz: dt.tzinfo) -> str:
    """The notification text (Slack shows it where blocks cannot be shown)."""
    day = data.now.astimezone(tz).date().isoformat()
    title = _("Invoicing digest {day} (SANDBOX)") if data.sandbox_providers else _("Invoicing digest {day}")
    return title.format(day=day) + f": {escape_mrkdwn(summary_line(data.summary()))}"
