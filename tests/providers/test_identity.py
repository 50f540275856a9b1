"""providers/identity.py: a cash receipt's identity number fits its usage."""

from __future__ import annotations

import pytest

from providers.identity import InvalidIdentity, check_identity
from providers.models import TradeUsage

INCOME, EXPENSE = TradeUsage.INCOME_DEDUCTION, TradeUsage.EXPENSE_PROOF


@pytest.mark.parametrize(("usage", "text", "digits"), [
    (INCOME, "010-1234-5678", "01012345678"),
    (INCOME, "+82 10 1234 5678", "01012345678"),
    (INCOME, "1234-5678-9012-3456", "1234567890123456"),  # a cash-receipt card
    (EXPENSE, "679-87-00433", "6798700433"),
    (EXPENSE, "9411-2345-6789-0123-456", "9411234567890123456"),  # 19 digits
])
def test_numbers_that_fit_the_usage(usage: TradeUsage, text: str, digits: str) -> None:
    assert check_identity(usage, text) == digits


@pytest.mark.parametrize(("usage", "text", "why"), [
    (INCOME, "02-123-4567", "mobile"),  # a landline
    (INCOME, "679-87-00433", "mobile"),  # a business number is for expense proof
    (INCOME, "123456789012", "card"),  # 12 digits: too short for a card
    (EXPENSE, "116-82-00278", "check digit"),
    (EXPENSE, "010-1234-5678", "business number"),
    (EXPENSE, "12345678901234567890", "card"),  # 20 digits
])
def test_numbers_that_do_not(usage: TradeUsage, text: str, why: str) -> None:
    with pytest.raises(InvalidIdentity, match=why):
        check_identity(usage, text)
