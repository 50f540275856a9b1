"""The Korean tax calendar for tax invoices: issuance and transmission deadlines, and the penalty at risk.

Rules (부가가치세법 and 국세기본법; `../shared/reference/korean-etax.md` collects the sources):

- **Issuance (발급)**: by the 10th of the month after the supply month (the write date, 작성일자).
- **Transmission to the NTS (국세청 전송)**: by the day after issuance.
- **Filing deadline of the tax period (확정신고기한)**: the period January–June is filed by 25 July,
  July–December by 25 January of the next year. Issuing after it counts as not issued (미발급).
- **Any deadline** that falls on a Saturday, Sunday, public holiday, substitute holiday or
  Workers' Day (근로자의 날, 1 May) moves to the next day that is none of these (국세기본법 제5조).
  Public holidays come from the maintained `holidays` package (Seollal, Chuseok, election
  days and substitute holidays included), never from a hand-written list.
- **Penalties (가산세)** as a share of the supply amount, rounded down to the won: late issuance
  (지연발급) 1%, not issued by the filing deadline (미발급) 2%, late transmission (지연전송) 0.3%,
  not transmitted by the filing deadline (미전송) 0.5%.

The calendar applies to tax invoices and invoices (세금계산서, 영세율 세금계산서, 계산서); cash receipts,
statements and bills have no issuance deadline of this kind (`applies_to`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from functools import cache

from providers.models import DocumentKind

TAX_INVOICE_KINDS = frozenset(
    {DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE, DocumentKind.EXEMPT_INVOICE}
)
ISSUE_DAY = 10
FILING_DAY = 25
LATE_ISSUE_RATE = Fraction(1, 100)
UNISSUED_RATE = Fraction(2, 100)
LATE_TRANSMIT_RATE = Fraction(3, 1000)
UNTRANSMITTED_RATE = Fraction(5, 1000)


class Timeliness(StrEnum):
    """Where a document stands against its deadline on a given day."""

    ON_TIME = "on_time"
    LATE = "late"  # after the deadline, before the period's filing deadline
    UNISSUED = "unissued"  # after the period's filing deadline: counts as never issued / transmitted


@dataclass(frozen=True)
class Deadlines:
    """The deadlines of one tax invoice, from its supply (write) date."""

    supply_date: dt.date
    issue_by: dt.date
    filing_by: dt.date

    def transmit_by(self, issued_on: dt.date) -> dt.date:
        return transmit_deadline(issued_on)


@dataclass(frozen=True)
class Risk:
    """What issuing (or transmitting) on `on` risks: how late, the rate, and the penalty in won."""

    timeliness: Timeliness
    rate: Fraction
    penalty: int
    deadline: dt.date

    @property
    def late(self) -> bool:
        return self.timeliness is not Timeliness.ON_TIME

    @property
    def percent(self) -> str:
        """The rate as people write it: "1%", "0.3%"."""
        value = self.rate * 100
        return f"{value.numerator}%" if value.denominator == 1 else f"{float(value):g}%"


def applies_to(kind: DocumentKind | str) -> bool:
    return str(kind) in {k.value for k in TAX_INVOICE_KINDS}


@cache
def _holidays(year: int) -> frozenset[dt.date]:
    import holidays  # a few MB of calendars: loaded on the first date asked, not at every start

    return frozenset(holidays.country_holidays("KR", years=year))


def is_business_day(day: dt.date) -> bool:
    """Not a Saturday, Sunday, public or substitute holiday, nor Workers' Day (1 May)."""
    if day.weekday() >= 5 or (day.month, day.day) == (5, 1):
        return False
    return day not in _holidays(day.year)


def next_business_day(day: dt.date) -> dt.date:
    """`day` itself when it is a business day, else the first business day after it."""
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def _following_month(day: dt.date, on: int) -> dt.date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return dt.date(year, month, on)


def issue_deadline(supply_date: dt.date) -> dt.date:
    """The 10th of the month after the supply month, moved to the next business day."""
    return next_business_day(_following_month(supply_date, ISSUE_DAY))


def transmit_deadline(issued_on: dt.date) -> dt.date:
    """The day after issuance, moved to the next business day."""
    return next_business_day(issued_on + dt.timedelta(days=1))


def filing_deadline(supply_date: dt.date) -> dt.date:
    """The final VAT return of the supply date's tax period: 25 July or 25 January, moved."""
    if supply_date.month <= 6:
        return next_business_day(dt.date(supply_date.year, 7, FILING_DAY))
    return next_business_day(dt.date(supply_date.year + 1, 1, FILING_DAY))


def deadlines(supply_date: dt.date) -> Deadlines:
    return Deadlines(supply_date=supply_date, issue_by=issue_deadline(supply_date),
                     filing_by=filing_deadline(supply_date))


def _penalty(amount: int, rate: Fraction) -> int:
    return int(abs(amount) * rate)


def issue_risk(supply_date: dt.date, on: dt.date, supply_amount: int) -> Risk:
    """What issuing on `on` a tax invoice supplied on `supply_date` risks."""
    limits = deadlines(supply_date)
    if on <= limits.issue_by:
        return Risk(Timeliness.ON_TIME, Fraction(0), 0, limits.issue_by)
    if on <= limits.filing_by:
        return Risk(Timeliness.LATE, LATE_ISSUE_RATE, _penalty(supply_amount, LATE_ISSUE_RATE), limits.issue_by)
    return Risk(Timeliness.UNISSUED, UNISSUED_RATE, _penalty(supply_amount, UNISSUED_RATE), limits.issue_by)


def transmit_risk(supply_date: dt.date, issued_on: dt.date, on: dt.date, supply_amount: int) -> Risk:
    """What transmitting on `on` an invoice issued on `issued_on` risks."""
    deadline = transmit_deadline(issued_on)
    if on <= deadline:
        return Risk(Timeliness.ON_TIME, Fraction(0), 0, deadline)
    if on <= filing_deadline(supply_date):
        return Risk(Timeliness.LATE, LATE_TRANSMIT_RATE, _penalty(supply_amount, LATE_TRANSMIT_RATE), deadline)
    return Risk(Timeliness.UNISSUED, UNTRANSMITTED_RATE, _penalty(supply_amount, UNTRANSMITTED_RATE), deadline)


def due_within(supply_date: dt.date, today: dt.date, within_days: int) -> bool:
    """Whether an unissued invoice supplied on `supply_date` must be issued by `today + within_days`.

    Overdue ones count too: they are the most urgent entries of the digest's deadlines section.
    """
    return issue_deadline(supply_date) <= today + dt.timedelta(days=within_days)
