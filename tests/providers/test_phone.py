"""The one definition of a Korean phone and mobile number (providers/phone.py)."""

from __future__ import annotations

import pytest

from providers.phone import is_mobile, normalise_mobile, normalise_phone


@pytest.mark.parametrize(
    ("text", "digits"),
    [("010-1234-5678", "01012345678"), ("+82 10 1234 5678", "01012345678"), ("02-123-4567", "021234567"),
     ("031-123-4567", "0311234567"), ("1588-1234", "15881234"), ("(070) 1234.5678", "07012345678"),
     ("821012345678", "01012345678"), ("12345", None), ("010-12-34", None), ("０１０-1234-5678", None),
     ("", None)],
)
def test_normalise_phone(text: str, digits: str | None) -> None:
    assert normalise_phone(text) == digits


@pytest.mark.parametrize(
    ("digits", "mobile"),
    [("01012345678", True), ("0111234567", True), ("01612345678", True), ("01912345678", True),
     ("01212345678", False), ("021234567", False), ("07012345678", False), ("15881234", False),
     ("010123456", False), ("010123456789", False)],
)
def test_is_mobile(digits: str, mobile: bool) -> None:
    assert is_mobile(digits) is mobile


@pytest.mark.parametrize(
    ("text", "digits"),
    [("+82 10-1234-5678", "01012345678"), ("010 1234 5678", "01012345678"), ("02-123-4567", None),
     ("1588-1234", None), ("not a number", None)],
)
def test_normalise_mobile_accepts_only_numbers_that_reach_a_mobile_phone(text: str, digits: str | None) -> None:
    assert normalise_mobile(text) == digits
