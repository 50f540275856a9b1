"""Money on the Abillify wire: decimal major units there, integer minor units here.

`IssueRequest` and `Amounts` carry integers in the currency's minor unit (KRW has none,
EUR has cents). Abillify's `unitprice`, `total` and `unpaid` are decimal numbers in the
major unit, so every crossing goes through these two functions.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = ["currency_exponent", "is_currency", "to_major", "to_minor"]

_ZERO_DECIMAL = frozenset({"KRW", "JPY", "VND", "CLP", "ISK", "PYG", "UGX", "XAF", "XOF"})
_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def is_currency(code: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]{3}", code))


def currency_exponent(currency: str) -> int:
    """Digits of the currency's minor unit (ISO 4217): KRW 0, EUR 2, KWD 3; 2 for any other code."""
    if currency in _ZERO_DECIMAL:
        return 0
    if currency in _THREE_DECIMAL:
        return 3
    return 2


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
