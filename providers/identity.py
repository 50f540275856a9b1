"""The identity number a cash receipt (현금영수증) is issued to, checked per usage.

A 소득공제용 (income deduction) receipt goes to a person: their mobile phone number or a
cash-receipt card number. A 지출증빙용 (expense proof) receipt goes to a business: its
registration number, whose check digit must match, or a card number. Card numbers are 13 to 19
digits (Popbill's identityNum field; ISO/IEC 7812 card lengths). The Slack form, the workflow's
checks and the Popbill body all call `check_identity`, so the rule lives here once.

    >>> check_identity(TradeUsage.INCOME_DEDUCTION, "010-1234-5678")
    '01012345678'
    >>> check_identity(TradeUsage.EXPENSE_PROOF, "679-87-00433")
    '6798700433'
"""

from __future__ import annotations

import re
from typing import Final

from providers.bizno import checksum_ok
from providers.models import TradeUsage
from providers.phone import MOBILE_EXAMPLE, normalise_mobile

__all__ = ["CARD_DIGITS", "InvalidIdentity", "check_identity"]

#: how many digits a cash-receipt card or payment card number has
CARD_DIGITS: Final = (13, 19)

_SEPARATORS = re.compile(r"[\s\-().]")


class InvalidIdentity(ValueError):
    """The identity number does not fit the cash receipt's usage; the message says what would."""


def _card(digits: str) -> bool:
    return digits.isdigit() and CARD_DIGITS[0] <= len(digits) <= CARD_DIGITS[1]


def check_identity(usage: TradeUsage, text: str) -> str:
    """The identity number as digits, or `InvalidIdentity` saying what the usage takes."""
    digits = _SEPARATORS.sub("", text or "")
    if usage is TradeUsage.INCOME_DEDUCTION:
        mobile = normalise_mobile(text or "")
        if mobile is not None:
            return mobile
        if _card(digits):
            return digits
        raise InvalidIdentity(
            f"“{text}” is neither a mobile phone number (e.g. {MOBILE_EXAMPLE}) nor a cash-receipt card number "
            f"({CARD_DIGITS[0]}–{CARD_DIGITS[1]} digits), which an income-deduction (소득공제용) receipt needs.")
    if len(digits) == 10 and digits.isdigit():
        if checksum_ok(digits):
            return digits
        raise InvalidIdentity(f"“{text}” is not a valid business number: its check digit does not match.")
    if _card(digits):
        return digits
    raise InvalidIdentity(
        f"“{text}” is neither a business number (10 digits) nor a card number ({CARD_DIGITS[0]}–{CARD_DIGITS[1]} "
        "digits), which an expense-proof (지출증빙용) receipt needs.")
