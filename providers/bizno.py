"""Korean business registration numbers (사업자등록번호).

The check digit is not officially published and a few real numbers fail it, so a
mismatch is a *warning*: the number is still usable, and the closure check at the
provider gives the real answer.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

__all__ = ["BiznoCheck", "InvalidBizno", "check_bizno", "checksum_ok", "format_bizno", "normalize_bizno"]

_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_SEPARATORS = re.compile(r"[\s\-]")


class InvalidBizno(ValueError):
    """The text is not a 10-digit business number at all."""


class BiznoCheck(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    number: str
    warning: str | None = None

    @property
    def checksum_ok(self) -> bool:
        return self.warning is None


def normalize_bizno(text: str) -> str:
    """Strip hyphens and spaces; require exactly 10 digits."""
    digits = _SEPARATORS.sub("", text or "")
    if not digits:
        raise InvalidBizno("a business number is required (10 digits, e.g. 123-45-67890)")
    if not digits.isascii() or not digits.isdigit():
        raise InvalidBizno(f"'{text}' is not a business number: only digits and hyphens are allowed")
    if len(digits) != 10:
        raise InvalidBizno(f"'{text}' has {len(digits)} digits; a business number has 10 (e.g. 123-45-67890)")
    return digits


def checksum_ok(digits: str) -> bool:
    d = [int(c) for c in digits]
    s = sum(a * b for a, b in zip(d[:9], _WEIGHTS, strict=True))
    s += (d[8] * 5) // 10
    return (10 - s % 10) % 10 == d[9]


def check_bizno(text: str) -> BiznoCheck:
    """Normalize and check a business number.

    Raises:
        InvalidBizno: not 10 digits.
    Returns:
        the normalized number and a warning when the check digit does not match.
    """
    digits = normalize_bizno(text)
    warning = None
    if not checksum_ok(digits):
        warning = (
            f"{format_bizno(digits)}: the check digit does not match. Some real numbers fail it; "
            "double-check the number (a closure check asks the tax office)."
        )
    return BiznoCheck(number=digits, warning=warning)


def format_bizno(digits: str) -> str:
    """`1234567890` -> `123-45-67890`."""
    if len(digits) != 10:
        return digits
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
