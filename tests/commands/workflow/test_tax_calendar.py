"""The tax calendar's deadlines and penalties, as tables over month ends, weekends and holidays."""

from __future__ import annotations

import datetime as dt

import pytest

from commands.workflow.tax_calendar import (
    Timeliness,
    applies_to,
    deadlines,
    due_within,
    filing_deadline,
    is_business_day,
    issue_deadline,
    issue_risk,
    transmit_deadline,
    transmit_risk,
)
from providers.models import DocumentKind

D = dt.date


@pytest.mark.parametrize(
    ("supply", "deadline", "why"),
    [
        (D(2026, 10, 31), D(2026, 11, 10), "a Tuesday: the 10th itself"),
        (D(2026, 11, 1), D(2026, 12, 10), "first of the month: still the 10th of the next"),
        (D(2026, 12, 31), D(2027, 1, 11), "December supply: 10 Jan 2027 is a Sunday, so Monday the 11th"),
        (D(2026, 1, 15), D(2026, 2, 10), "a Tuesday"),
        (D(2027, 1, 20), D(2027, 2, 10), "Seollal 2027 is 6-9 Feb; the 10th is a Wednesday after it"),
        (D(2026, 9, 30), D(2026, 10, 12), "10 Oct 2026 is a Saturday (Hangul Day the 9th): Monday the 12th"),
        (D(2026, 4, 30), D(2026, 5, 11), "10 May 2026 is a Sunday"),
        (D(2025, 9, 1), D(2025, 10, 10), "Chuseok 2025 (5-8 Oct) and Hangul Day (9th) end before the 10th"),
        (D(2022, 8, 31), D(2022, 9, 13), "Chuseok 2022 (9-11 Sep), a weekend and the substitute on the 12th"),
        (D(2024, 1, 31), D(2024, 2, 13), "Seollal 2024 is 9-12 Feb (12th substitute): Tuesday the 13th"),
        (D(2028, 2, 29), D(2028, 3, 10), "leap day supply"),
    ],
)
def test_issuance_is_due_on_the_10th_of_the_next_month_or_the_next_business_day(
    supply: dt.date, deadline: dt.date, why: str
) -> None:
    assert issue_deadline(supply) == deadline, why


def test_chuseok_2025_days_are_not_business_days() -> None:
    """The 2025 Chuseok holidays and Hangul Day come from the holidays package, not a list of ours."""
    assert not any(is_business_day(D(2025, 10, day)) for day in (3, 6, 7, 8, 9))
    assert is_business_day(D(2025, 10, 10))


def test_workers_day_moves_a_deadline_even_in_years_it_is_no_public_holiday() -> None:
    assert not is_business_day(D(2024, 5, 1))
    assert transmit_deadline(D(2024, 4, 30)) == D(2024, 5, 2)


@pytest.mark.parametrize(
    ("issued", "deadline"),
    [
        (D(2026, 11, 30), D(2026, 12, 1)),  # Monday -> Tuesday
        (D(2026, 11, 27), D(2026, 11, 30)),  # Friday -> Saturday -> Monday
        (D(2026, 9, 23), D(2026, 9, 28)),  # eve of Chuseok 2026 (24-26) and a Sunday: Monday the 28th
        (D(2026, 12, 31), D(2027, 1, 4)),  # New Year's Day, then the weekend
    ],
)
def test_transmission_is_due_the_day_after_issuance_or_the_next_business_day(
    issued: dt.date, deadline: dt.date
) -> None:
    assert transmit_deadline(issued) == deadline


@pytest.mark.parametrize(
    ("supply", "filing"),
    [
        (D(2026, 1, 1), D(2026, 7, 27)),  # 25 Jul 2026 is a Saturday
        (D(2026, 6, 30), D(2026, 7, 27)),
        (D(2026, 7, 1), D(2027, 1, 25)),  # 25 Jan 2027 is a Monday
        (D(2026, 12, 31), D(2027, 1, 25)),
    ],
)
def test_the_filing_deadline_closes_each_half_year(supply: dt.date, filing: dt.date) -> None:
    assert filing_deadline(supply) == filing


def test_issuing_by_the_deadline_risks_nothing() -> None:
    risk = issue_risk(D(2026, 10, 31), D(2026, 11, 10), 1_000_000)
    assert (risk.timeliness, risk.penalty, risk.late) == (Timeliness.ON_TIME, 0, False)


def test_issuing_after_the_deadline_risks_one_percent_of_the_supply_amount() -> None:
    risk = issue_risk(D(2026, 10, 31), D(2026, 11, 11), 1_234_567)
    assert (risk.timeliness, risk.percent, risk.penalty) == (Timeliness.LATE, "1%", 12_345)
    assert risk.deadline == D(2026, 11, 10)


def test_issuing_after_the_periods_filing_deadline_counts_as_not_issued() -> None:
    risk = issue_risk(D(2026, 3, 15), D(2026, 7, 28), 1_000_000)
    assert (risk.timeliness, risk.percent, risk.penalty) == (Timeliness.UNISSUED, "2%", 20_000)
    assert issue_risk(D(2026, 3, 15), D(2026, 7, 27), 1_000_000).timeliness is Timeliness.LATE


def test_transmitting_late_risks_three_tenths_of_a_percent_then_half_a_percent() -> None:
    on_time = transmit_risk(D(2026, 11, 2), D(2026, 11, 30), D(2026, 12, 1), 10_000_000)
    late = transmit_risk(D(2026, 11, 2), D(2026, 11, 30), D(2026, 12, 2), 10_000_000)
    never = transmit_risk(D(2026, 11, 2), D(2026, 11, 30), D(2027, 1, 26), 10_000_000)
    assert on_time.penalty == 0
    assert (late.percent, late.penalty) == ("0.3%", 30_000)
    assert (never.percent, never.penalty) == ("0.5%", 50_000)


def test_a_negative_amendment_risks_a_penalty_on_its_absolute_amount() -> None:
    assert issue_risk(D(2026, 10, 1), D(2026, 11, 20), -500_000).penalty == 5_000


def test_only_tax_invoices_and_invoices_have_these_deadlines() -> None:
    assert applies_to(DocumentKind.TAX_INVOICE) and applies_to("exempt_invoice")
    assert applies_to(DocumentKind.ZERO_RATED_INVOICE)
    assert not applies_to(DocumentKind.CASH_RECEIPT) and not applies_to(DocumentKind.BILL)


def test_due_within_counts_overdue_and_soon_due_invoices() -> None:
    today = D(2026, 11, 30)
    assert due_within(D(2026, 10, 15), today, 3)  # overdue since 10 Nov
    assert due_within(D(2026, 11, 15), today, 10)  # due 10 Dec
    assert not due_within(D(2026, 11, 15), today, 9)
    assert deadlines(D(2026, 11, 15)).issue_by == D(2026, 12, 10)
