"""Business registration numbers: normalised, checked, and a bad check digit only warns."""

from __future__ import annotations

import pytest

from providers.bizno import InvalidBizno, check_bizno, format_bizno, normalize_bizno


@pytest.mark.parametrize("number", ["6798700433", "1231212312", "1168200276", "2208875476"])
def test_valid_numbers_pass_the_check_digit(number: str) -> None:
    result = check_bizno(number)
    assert result.number == number
    assert result.checksum_ok
    assert result.warning is None


@pytest.mark.parametrize("number", ["1168200278", "1234567890"])
def test_a_bad_check_digit_is_a_warning_not_a_refusal(number: str) -> None:
    result = check_bizno(number)
    assert result.number == number
    assert not result.checksum_ok
    assert result.warning is not None and "check digit" in result.warning


@pytest.mark.parametrize("text", ["679-87-00433", " 679 87 00433 ", "679-8700433"])
def test_hyphens_and_spaces_are_stripped(text: str) -> None:
    assert normalize_bizno(text) == "6798700433"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("679870043", "9 digits"),
        ("67987004333", "11 digits"),
        ("67987OO433", "only digits"),
        ("abc", "only digits"),
        ("", "required"),
        ("６７９８７００４３３", "only digits"),  # full-width digits are not accepted silently
    ],
)
def test_malformed_numbers_are_refused_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(InvalidBizno) as excinfo:
        normalize_bizno(text)
    assert why in str(excinfo.value)


def test_format_bizno() -> None:
    assert format_bizno("6798700433") == "679-87-00433"
