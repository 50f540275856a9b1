"""Korean phone numbers, defined once for every layer.

Payssam delivers its bills by KakaoTalk or SMS, Popbill sends SMS, and Hiworks files a number
either as a mobile (``cell``) or as a landline: all of them need to know what a Korean number
looks like and which numbers reach a mobile phone. The Slack parser, the issue form and the
provider services used to carry their own copies of these patterns; they now share these.

    >>> normalise_phone("+82 10-1234-5678")
    '01012345678'
    >>> normalise_mobile("02-123-4567") is None
    True
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MOBILE_EXAMPLE", "is_mobile", "normalise_mobile", "normalise_phone"]

#: how a mobile number is shown to users in hints
MOBILE_EXAMPLE: Final = "010-1234-5678"

_SEPARATORS = re.compile(r"[\s\-().]")
# 010 and the legacy 011/016/017/018/019 prefixes, then 7 or 8 digits
_MOBILE = re.compile(r"01[016789]\d{7,8}")
# Seoul 02, the area codes 031..064, 070 internet phones and 050x personal numbers
_LANDLINE = re.compile(r"0(2|[3-6][1-5]|70|50\d)\d{7,8}")
# 15xx/16xx/18xx business numbers, dialled without an area code
_BUSINESS = re.compile(r"1[5-9]\d{6}")


def normalise_phone(text: str) -> str | None:
    """A Korean phone or fax number as digits (``+82 10-1234-5678`` -> ``01012345678``), or None.

    Accepts separators (spaces, dashes, dots, brackets) and the +82 / 82 country prefix, because
    that is how people paste numbers; refuses anything that is not a Korean mobile, landline or
    business number so a typo is caught before a provider bounces it.
    """
    cleaned = _SEPARATORS.sub("", text)
    if cleaned.startswith("+82"):
        cleaned = "0" + cleaned[3:].lstrip("0")
    elif cleaned.startswith("82") and len(cleaned) >= 11:
        cleaned = "0" + cleaned[2:].lstrip("0")
    if not (cleaned.isascii() and cleaned.isdigit()):
        return None
    for pattern in (_MOBILE, _LANDLINE, _BUSINESS):
        if pattern.fullmatch(cleaned):
            return cleaned
    return None


def is_mobile(digits: str) -> bool:
    """True when `digits` (already normalised) reach a mobile phone: KakaoTalk and SMS need one."""
    return _MOBILE.fullmatch(digits) is not None


def normalise_mobile(text: str) -> str | None:
    """A mobile number as digits, or None when `text` is not a Korean mobile number."""
    digits = normalise_phone(text)
    return digits if digits is not None and is_mobile(digits) else None
