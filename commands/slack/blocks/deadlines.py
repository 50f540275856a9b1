"""Tax deadlines in messages: the one context line of a card, the late-approval confirm, the report.

A card (approval, status, the requester's confirmation) carries one line about the tax
invoice's next deadline: the issuance deadline of its write date while it is not issued, the
NTS transmission deadline once issued and until it is transmitted. A late one says so with the
penalty it risks (지연발급 1%, 미발급 2%, 지연전송 0.3%, 미전송 0.5% of the supply amount), and its
Approve button asks the approver to confirm that penalty (`late_confirm`).

The report (`build_deadlines_message`, and `deadline_report_blocks` for the digest) lists the
documents near or past a deadline with the penalty at stake and the total.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from slack_sdk.models.blocks import Block, ConfirmObject, ContextBlock, HeaderBlock

from commands.i18n import _, ngettext
from commands.slack.blocks.kit import context, lines_sections, plain, section
from commands.slack.blocks.models import DeadlineCard
from commands.slack.formatting import SEOUL, clip, document_line, escape_mrkdwn, format_date, format_money
from commands.workflow.deadlines import DeadlineEntry, DeadlineNote, DeadlineReport, Stage
from providers.models import Provider

__all__ = [
    "MAX_REPORT_ROWS",
    "build_deadlines_message",
    "deadline_card",
    "deadline_context",
    "deadline_line",
    "deadline_report_blocks",
    "deadlines_text",
    "late_confirm",
]

#: rows per list in `/invoice deadlines` (the digest shows fewer)
MAX_REPORT_ROWS = 40


def deadline_card(note: DeadlineNote | None) -> DeadlineCard | None:
    """The card model of a workflow note."""
    if note is None:
        return None
    return DeadlineCard(stage=note.stage.value, deadline=note.deadline, days_left=note.days_left, late=note.late,
                        unissued=note.unissued, percent=note.percent, penalty=note.penalty, filing_by=note.filing_by)


def _days_left(days: int) -> str:
    if days == 0:
        return _("due today")
    return ngettext("{n} day left", "{n} days left", days).format(n=days)


def _penalty_term(stage: str, unissued: bool) -> str:
    """The legal name of the penalty: 지연발급 / 미발급 / 지연전송 / 미전송."""
    if stage == Stage.ISSUE.value:
        return _("not issued (미발급)") if unissued else _("late issue (지연발급)")
    return _("not transmitted (미전송)") if unissued else _("late transmission (지연전송)")


def deadline_line(card: DeadlineCard) -> str:
    """The one line a card shows about its deadline (mrkdwn)."""
    values = {"date": format_date(card.deadline), "filing": format_date(card.filing_by),
              "amount": format_money(card.penalty, "KRW"), "percent": escape_mrkdwn(card.percent),
              "term": _penalty_term(card.stage, card.unissued)}
    if card.stage == Stage.ISSUE.value:
        if not card.late:
            return _("🗓️ Issuance deadline {date} ({left}): missing it risks a {term} penalty of {percent}, {amount}.")\
                .format(left=_days_left(card.days_left), **values)
        if card.unissued:
            return _("🚨 *Late*: the issuance deadline was {date} and the filing deadline {filing} has passed, "
                     "so issuing now risks a {term} penalty of {percent} of the supply amount: *{amount}*."
                     ).format(**values)
        return _("🚨 *Late*: the issuance deadline was {date}; issuing now risks a {term} penalty of {percent} of the "
                 "supply amount: *{amount}*.").format(**values)
    if not card.late:
        return _("📡 NTS transmission deadline {date} ({left}): missing it risks a {term} penalty of {percent}, "
                 "{amount}.").format(left=_days_left(card.days_left), **values)
    return _("🚨 *Not transmitted* to the NTS by its deadline {date}: a {term} penalty of {percent} of the supply "
             "amount, *{amount}*.").format(**values)


def deadline_context(card: DeadlineCard | None) -> list[Block]:
    """The card's deadline as one context block (nothing when no tax deadline applies)."""
    return [context(deadline_line(card))] if card is not None else []


def late_confirm(card: DeadlineCard, ref: str) -> ConfirmObject:
    """The Approve button's confirm dialog on a late issue: the approver accepts the penalty knowingly."""
    return ConfirmObject(
        title=plain(_("Issue {ref} late?").format(ref=ref), 100),
        text=plain(_("{ref} is past its issuance deadline ({date}). Issuing it now risks a {term} penalty of {percent} "
                     "of the supply amount: {amount}. Approve and issue it anyway?").format(
            ref=ref, date=format_date(card.deadline), term=_penalty_term(card.stage, card.unissued),
            percent=escape_mrkdwn(card.percent), amount=format_money(card.penalty, "KRW")), 300),
        confirm=plain(_("Approve, accept penalty"), 30), deny=plain(_("Not yet"), 30),
    )


# --------------------------------------------------------------------------- the report


def _entry_line(entry: DeadlineEntry, tz: dt.tzinfo, sandboxed: Collection[Provider]) -> str:
    row, note = entry.row, entry.note
    doc = document_line(row.ref, provider=row.provider, kind=row.kind, buyer_name=row.buyer_name, total=row.total,
                        currency=row.currency, state=row.state, lifecycle=row.lifecycle,
                        sandbox=row.sandbox or row.provider in sandboxed, tz=tz)
    values = {"date": format_date(note.deadline), "amount": format_money(note.penalty, "KRW"),
              "percent": note.percent, "term": _penalty_term(note.stage.value, note.unissued)}
    if note.stage is Stage.ISSUE and not note.late:
        what = _("issue by {date} ({left}); {amount} at risk ({term} {percent})").format(
            left=_days_left(note.days_left), **values)
    elif note.stage is Stage.ISSUE:
        what = _("⚠️ issuance deadline {date} passed: {amount} penalty ({term} {percent})").format(**values)
    else:
        what = _("⚠️ not transmitted to the NTS by {date}: {amount} penalty ({term} {percent})").format(**values)
    return f"• {doc} — {what}"


def _list_blocks(title: str, entries: Sequence[DeadlineEntry], tz: dt.tzinfo, sandboxed: Collection[Provider],
                 rows: int, more_hint: str) -> list[Block]:
    if not entries:
        return []
    lines = [_entry_line(e, tz, sandboxed) for e in entries[:rows]]
    blocks: list[Block] = [section(f"*{title}*"), *lines_sections(lines)]
    if len(entries) > rows:
        blocks.append(context(_("…and {count} more — {hint}").format(count=len(entries) - rows, hint=more_hint)))
    return blocks


def deadline_report_blocks(report: DeadlineReport, tz: dt.tzinfo = SEOUL, *, sandboxed: Collection[Provider] = (),
                           rows: int = MAX_REPORT_ROWS, more_hint: str = "") -> list[Block]:
    """The two lists and the total (nothing when no document is near or past a deadline)."""
    if not report:
        return []
    blocks = _list_blocks(
        _("📝 Not issued yet, due within {days} days or overdue ({count})").format(
            days=report.within_days, count=len(report.unissued)),
        report.unissued, tz, sandboxed, rows, more_hint)
    blocks += _list_blocks(
        _("📡 Issued, not transmitted to the NTS after the deadline ({count})").format(count=len(report.untransmitted)),
        report.untransmitted, tz, sandboxed, rows, more_hint)
    blocks.append(section(_("*At risk in all:* {amount} in penalties").format(
        amount=format_money(report.total_penalty, "KRW"))))
    return blocks


def build_deadlines_message(report: DeadlineReport, tz: dt.tzinfo = SEOUL, *,
                            sandboxed: Collection[Provider] = ()) -> list[Block]:
    """``/invoice deadlines``: what is near or past a tax deadline as of the report's day."""
    blocks: list[Block] = [
        HeaderBlock(text=plain(_("🗓️ Tax deadlines as of {day}").format(day=format_date(report.today)), 150)),
        ContextBlock(elements=[plain(clip(_(
            "Tax invoices not issued yet whose issuance deadline (the 10th of the month after the write date) is "
            "within {days} days or past, and issued ones not transmitted to the NTS after the day after issuance."
        ).format(days=report.within_days), 2000))]),
    ]
    if not report:
        return [*blocks, section(_("✅ Nothing is near or past a tax deadline."))]
    return blocks + deadline_report_blocks(report, tz, sandboxed=sandboxed)


def deadlines_text(report: DeadlineReport) -> str:
    """The notification text of the report."""
    if not report:
        return _("Tax deadlines: nothing is near or past a deadline.")
    return _("Tax deadlines: {count} document(s), {amount} at risk.").format(
        count=report.count, amount=format_money(report.total_penalty, "KRW"))
