"""Money on the Abillify wire: decimal major units there, integer minor units here.

`IssueRequest` and `Amounts` carry integers in the currency's minor unit (KRW has none,
EUR has cents). Abillify's `unitprice`, `total` and `unpaid` are decimal numbers in the
major unit, so every crossing goes through these two functions.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from providers.currency import is_iso_currency, minor_unit_exponent

__all__ = ["currency_exponent", "is_currency", "to_major", "to_minor"]

def is_currency(code: str) -> bool:
    """Whether `code` is an ISO 4217 code (Babel's list), as Abillify's `currency` field takes."""
    return bool(re.fullmatch(r"[A-Z]{3}", code)) and is_iso_currency(code)


def currency_exponent(currency: str) -> int:
    """Digits of the currency's minor unit (ISO 4217, from Babel): KRW 0, EUR 2, KWD 3."""
    return minor_unit_exponent(currency)


def to_major(minor: int, currency: str) -> Decimal:
    """1250 EUR cents -> Decimal('12.50'); 1250 KRW -> Decimal('1250')."""
    return Decimal(minor).scaleb(-currency_exponent(currency))


def to_minor(value: Any, currency: str) -> int | None:
    """A wire amount in major units -> integer minor units (half-up), None when absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return int(amount.scaleb(currency_exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
