"""Tax deadlines as the product shows them: one document's note, the deadlines report, late approvals.

`tax_calendar` knows the law (dates and rates); this module applies it to our documents:

* `note_for(view, today)`: what a card says about one tax invoice: the issuance deadline of
  its write date (작성일자) while it is not issued, else the NTS transmission deadline while it
  is not transmitted; late or not, and the penalty at stake (the penalty it now risks when
  late, the one it would risk if the deadline were missed otherwise).
* `deadline_report(store, today, within_days)`: the digest's "Deadlines" section and
  ``/invoice deadlines``: unissued requests due within `within_days` or overdue, and issued
  invoices not transmitted after their transmission deadline, with the total at risk.
* `check_late_approval(ctx, …)`: approving an issue past its deadline needs the approver's
  explicit confirmation (the card's late Approve button, whose confirm dialog names the
  penalty); the confirmation is recorded on the request (payload ``late_issue``) and audited,
  and only such a request is sent with Popbill's ``forceIssue``.

Only tax invoices and invoices (세금계산서, 영세율, 계산서) on Popbill and Hiworks have these
deadlines; every other document gets no note.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from commands.i18n import _
from commands.ledger import ApprovalAction, ApprovalState, AuditKind, AuditOperation, Lifecycle, Store
from commands.ledger.digest_queries import deadlines as q
from commands.ledger.workspaces import WorkspaceScope
from commands.workflow import tax_calendar as tc
from commands.workflow.context import WorkflowContext
from commands.workflow.errors import Conflict
from commands.workflow.views import DocumentView
from providers.models import DocumentKind, DocumentState, Provider

__all__ = [
    "DEADLINE_PROVIDERS",
    "LATE_ISSUE_KEY",
    "LATE_UNCONFIRMED",
    "DeadlineEntry",
    "DeadlineNote",
    "DeadlineReport",
    "Stage",
    "check_late_approval",
    "deadline_report",
    "issue_note",
    "late_issue_confirmed",
    "note_for",
    "transmit_note",
    "unissued_cutoff",
]

SEOUL = ZoneInfo("Asia/Seoul")
#: providers issuing Korean tax invoices (the others' invoices have no NTS deadlines)
DEADLINE_PROVIDERS = frozenset({Provider.POPBILL, Provider.HIWORKS})
#: the `Conflict` code of an unconfirmed approval of a late issue
LATE_UNCONFIRMED = "late_unconfirmed"
#: the approval payload key holding an approver's confirmation of a late issue
LATE_ISSUE_KEY = "late_issue"
Authorise = Callable[[WorkflowContext, int, str], Awaitable[Any]]
_NOT_ISSUED = frozenset({Lifecycle.PENDING_APPROVAL, Lifecycle.ISSUING, Lifecycle.FAILED,
                         Lifecycle.OUTCOME_UNKNOWN})
_TRANSMITTED = frozenset({DocumentState.FILING, DocumentState.FILED})


class Stage(StrEnum):
    """Which deadline a note is about."""

    ISSUE = "issue"  # 발급기한: the 10th of the month after the write date
    TRANSMIT = "transmit"  # 전송기한: the day after issuance


@dataclass(frozen=True)
class DeadlineNote:
    """One document's next tax deadline, as seen on `today`.

    `penalty` and `rate` are what is at stake: the penalty the document now risks when it is
    late, else the one it would risk if it missed `deadline`.
    """

    stage: Stage
    deadline: dt.date
    today: dt.date
    timeliness: tc.Timeliness
    rate: Fraction
    penalty: int
    filing_by: dt.date

    @property
    def late(self) -> bool:
        return self.timeliness is not tc.Timeliness.ON_TIME

    @property
    def unissued(self) -> bool:
        """Past the period's filing deadline: counts as never issued (미발급) or never transmitted (미전송)."""
        return self.timeliness is tc.Timeliness.UNISSUED

    @property
    def days_left(self) -> int:
        """Days until the deadline (0 on the day, negative once it has passed)."""
        return (self.deadline - self.today).days

    @property
    def percent(self) -> str:
        return tc.Risk(self.timeliness, self.rate, self.penalty, self.deadline).percent


def _note(stage: Stage, risk: tc.Risk, missed_rate: Fraction, supply: int, today: dt.date,
          filing_by: dt.date) -> DeadlineNote:
    if risk.late:
        return DeadlineNote(stage, risk.deadline, today, risk.timeliness, risk.rate, risk.penalty, filing_by)
    return DeadlineNote(stage, risk.deadline, today, risk.timeliness, missed_rate, int(abs(supply) * missed_rate),
                        filing_by)


def issue_note(write_date: dt.date, supply: int, today: dt.date) -> DeadlineNote:
    """The issuance deadline of an invoice written on `write_date`, as of `today`."""
    risk = tc.issue_risk(write_date, today, supply)
    return _note(Stage.ISSUE, risk, tc.LATE_ISSUE_RATE, supply, today, tc.filing_deadline(write_date))


def transmit_note(write_date: dt.date, issued_on: dt.date, supply: int, today: dt.date) -> DeadlineNote:
    """The NTS transmission deadline of an invoice issued on `issued_on`, as of `today`."""
    risk = tc.transmit_risk(write_date, issued_on, today, supply)
    return _note(Stage.TRANSMIT, risk, tc.LATE_TRANSMIT_RATE, supply, today, tc.filing_deadline(write_date))


def _has_deadlines(provider: Provider, kind: DocumentKind) -> bool:
    return provider in DEADLINE_PROVIDERS and tc.applies_to(kind)


def _local_day(at: dt.datetime, tz: dt.tzinfo) -> dt.date:
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)  # the database stores UTC
    return at.astimezone(tz).date()


def _note_of(provider: Provider, kind: DocumentKind, lifecycle: Lifecycle | None, state: DocumentState | None,
             write_date: dt.date | None, issued_at: dt.datetime | None, supply: int | None,
             today: dt.date, tz: dt.tzinfo) -> DeadlineNote | None:
    if write_date is None or not _has_deadlines(provider, kind):
        return None
    if lifecycle in _NOT_ISSUED:
        return issue_note(write_date, supply or 0, today)
    if lifecycle is Lifecycle.ISSUED and issued_at is not None and (state is None or state in q.UNTRANSMITTED_STATES):
        return transmit_note(write_date, _local_day(issued_at, tz), supply or 0, today)
    return None


def note_for(view: DocumentView, today: dt.date, tz: dt.tzinfo = SEOUL) -> DeadlineNote | None:
    """The deadline a card shows for `view` (None: no tax deadline applies, or none is left)."""
    return _note_of(view.provider, view.kind, view.lifecycle, view.state, view.write_date, view.issued_at,
                    view.supply, today, tz)


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class DeadlineEntry:
    """One line of the deadlines report: a document and its note."""

    row: q.DeadlineRow
    note: DeadlineNote


@dataclass(frozen=True)
class DeadlineReport:
    """Unissued requests due soon or overdue, and issued invoices transmitted late, with the total at risk."""

    today: dt.date
    within_days: int
    unissued: tuple[DeadlineEntry, ...] = ()
    untransmitted: tuple[DeadlineEntry, ...] = ()

    @property
    def count(self) -> int:
        return len(self.unissued) + len(self.untransmitted)

    @property
    def total_penalty(self) -> int:
        return sum(e.note.penalty for e in (*self.unissued, *self.untransmitted))

    def __bool__(self) -> bool:
        return self.count > 0


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def unissued_cutoff(horizon: dt.date) -> dt.date:
    """The first write date whose invoices cannot be due by `horizon`: no need to read them.

    Every invoice written in one month shares one issuance deadline (the 10th of the next month,
    moved), and a later month's deadline is later. The months from `horizon`'s own on are due
    after it; the month before is due by it only when its deadline has come by then. (Reading
    every request written before `horizon`'s month read the whole month before on the days
    before its deadline: 20,870 rows at 1,000,000 documents, the digest's slowest statement.)
    """
    first = _month_start(horizon)
    previous = first - dt.timedelta(days=1)
    return first if tc.issue_deadline(previous) <= horizon else _month_start(previous)


async def deadline_report(store: Store, today: dt.date, within_days: int, *, tz: dt.tzinfo = SEOUL,
                          channel: str | None = None, workspace: WorkspaceScope | None = None) -> DeadlineReport:
    """Read the deadlines report as of `today` (see the module docstring); `workspace`'s documents only
    when given (``/invoice deadlines`` passes the asking workspace's `current_scope()`)."""
    horizon = today + dt.timedelta(days=within_days)
    # only the months whose issuance deadline comes by `horizon` (`unissued_cutoff`)
    written = await q.unissued_written_before(store, unissued_cutoff(horizon), kinds=tc.TAX_INVOICE_KINDS,
                                              providers=DEADLINE_PROVIDERS, channel=channel,
                                              workspace=workspace)
    unissued = []
    for row in written:
        note = _note_of(row.provider, row.kind, row.lifecycle, row.state, row.write_date, None, row.supply, today, tz)
        if note is not None and row.write_date is not None and tc.due_within(row.write_date, today, within_days):
            unissued.append(DeadlineEntry(row, note))
    # a transmission deadline is at least the day after issuance: only invoices issued before today can be late
    start_of_today = dt.datetime.combine(today, dt.time(0), tz).astimezone(dt.UTC)
    issued = await q.untransmitted_issued_before(store, start_of_today, kinds=tc.TAX_INVOICE_KINDS,
                                                 providers=DEADLINE_PROVIDERS, channel=channel,
                                              workspace=workspace)
    late = []
    for row in issued:
        note = _note_of(row.provider, row.kind, row.lifecycle, row.state, row.write_date, row.issued_at, row.supply,
                        today, tz)
        if note is not None and note.late:
            late.append(DeadlineEntry(row, note))
    return DeadlineReport(today=today, within_days=within_days, unissued=tuple(unissued), untransmitted=tuple(late))


# --------------------------------------------------------------------------- late approvals


def late_issue_confirmed(payload: Mapping[str, Any]) -> bool:
    """Whether an approver confirmed issuing this request late (then Popbill's forceIssue is set)."""
    return isinstance(payload.get(LATE_ISSUE_KEY), Mapping)


def _today(ctx: WorkflowContext) -> dt.date:
    return ctx.clock().astimezone(ctx.policy.timezone).date()


async def check_late_approval(ctx: WorkflowContext, approval_id: int, decider: str, *, confirmed: bool,
                              authorise: Authorise | None = None) -> DeadlineNote | None:
    """Before an approval: a late issue needs `confirmed`; a confirmation is recorded and audited.

    Returns the late note (None when the request is not a late issue). Raises `Conflict`
    (code ``late_unconfirmed``) when the request is late and the approver did not confirm it:
    the card they clicked was drawn before it became late, so it is redrawn with the penalty.

    Args:
        authorise: awaited with (ctx, approval_id, decider) before a confirmation is recorded,
            so nobody who may not decide leaves one behind.
    """
    approval = await ctx.approval(approval_id)
    if approval.action is not ApprovalAction.ISSUE or approval.state is not ApprovalState.PENDING:
        return None
    doc = await ctx.document(approval.document_id)
    note = _note_of(doc.provider, doc.kind, doc.lifecycle, doc.state, doc.write_date, None, doc.supply, _today(ctx),
                    ctx.policy.timezone)
    if note is None or not note.late:
        return None
    if not confirmed:
        raise Conflict(
            _("{ref} is past its issuance deadline ({deadline}), so issuing it now risks a penalty; approve it "
              "again from its card, which now says the penalty and asks you to confirm it")
            .format(ref=doc.ref, deadline=note.deadline.isoformat()),
            user_hint=_("approve from the refreshed card"), code=LATE_UNCONFIRMED)
    if authorise is not None:
        await authorise(ctx, approval_id, decider)
    detail = {"confirmed_by": decider, "deadline": note.deadline.isoformat(), "rate": note.percent,
              "penalty": note.penalty, "timeliness": note.timeliness.value}
    if await ctx.store.approvals.merge_payload(approval_id, {LATE_ISSUE_KEY: detail},
                                               expected=ApprovalState.PENDING, now=ctx.clock()):
        await ctx.audit_approval(approval, actor=decider, kind=AuditKind.DECISION,
                                 operation=AuditOperation.ISSUE_LATE_CONFIRMED, outcome=note.timeliness.value,
                                 detail=detail)
    return note
