"""Numbers, money and dates through Babel's locale data, in the current locale (formatting.py)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from commands.i18n import use_locale
from commands.slack.formatting import (
    currency_exponent,
    document_line,
    format_compact,
    format_date,
    format_datetime,
    format_krw,
    format_money,
    format_number,
)
from providers.models import DocumentKind, Provider

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("locale", "amount", "currency", "expected"), [
    ("en", 1_234_500, "KRW", "₩1,234,500"),
    ("ko", 1_234_500, "KRW", "1,234,500원"),
    ("ko", -1_000, "KRW", "-1,000원"),
    ("en", 123_456, "EUR", "€1,234.56"),
    ("ko", 123_456, "EUR", "1,234.56 유로"),
    ("en", 1_234, "KWD", "KWD1.234"),  # three decimals: ISO 4217, from Babel
    ("ko", 1_234, "KWD", "1.234 쿠웨이트 디나르"),
    ("en", 1_000, "JPY", "¥1,000"),
])
def test_money_in_each_locale(locale: str, amount: int, currency: str, expected: str) -> None:
    with use_locale(locale):
        assert format_money(amount, currency) == expected


def test_won_in_korean_and_english() -> None:
    with use_locale("ko"):
        assert format_krw(1_234_500) == "1,234,500원"
    assert format_krw(1_234_500) == "₩1,234,500"  # the default locale is English


def test_currency_exponents_come_from_babel() -> None:
    assert [currency_exponent(c) for c in ("KRW", "JPY", "EUR", "usd", "KWD", "BHD", "XYZ")] == [0, 0, 2, 2, 3, 3, 2]


def test_days_in_each_locale() -> None:
    day = dt.date(2026, 11, 30)
    with use_locale("ko"):
        assert format_date(day) == "2026년 11월 30일 (월)"
    with use_locale("en"):
        assert format_date(day) == "Mon, 30 Nov 2026"


def test_a_timestamp_is_the_readers_day_and_time() -> None:
    when = dt.datetime(2026, 11, 29, 23, 30, tzinfo=dt.UTC)  # 08:30 on the 30th in Seoul
    with use_locale("ko"):
        assert format_datetime(when) == "2026년 11월 30일 (월) 08:30 KST"
    assert format_datetime(when) == "2026-11-30 08:30 KST"


@pytest.mark.parametrize(("value", "en", "ko"), [
    (1_400_000_000, "1.4B", "14억"),
    (25_000_000, "25M", "2,500만"),
    (150_000_000, "150M", "1.5억"),
    (5_000, "5K", "5,000"),
    (0, "0", "0"),
    (3_000_000_000_000, "3T", "3조"),
])
def test_compact_amounts_for_chart_axes(value: int, en: str, ko: str) -> None:
    with use_locale("en"):
        assert format_compact(value) == en
    with use_locale("ko"):
        assert format_compact(value) == ko


def test_a_document_line_reads_in_korean() -> None:
    with use_locale("ko"):
        line = document_line("INV-000001", provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE,
                             buyer_name="가나상사", total=1_100_000, when=dt.date(2026, 11, 30))
    assert "1,100,000원" in line and "2026년 11월 30일 (월)" in line
    with use_locale("en"):
        assert format_number(1_234_567) == "1,234,567"


def test_no_hand_rolled_thousands_separators_or_strftime_in_slack_and_bot_code() -> None:
    """Every number and date a person reads goes through formatting.py (Babel)."""
    #: the modal's editable item lines: a machine-readable round trip, parsed back by modal/items.py
    allowed = {Path("commands/slack/modal/items.py")}
    pattern = re.compile(r"\{[^{}]*:,[^{}]*\}|\.strftime\(")
    offenders = [str(path.relative_to(ROOT)) for folder in ("commands/slack", "bot")
                 for path in sorted((ROOT / folder).rglob("*.py"))
                 if path.relative_to(ROOT) not in allowed and pattern.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
