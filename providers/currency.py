"""ISO 4217 currencies and their minor units, from Babel's CLDR data (a maintained source).

Amounts travel as integers in the currency's minor unit everywhere (`providers.models.Amounts`):
cents for EUR, USD, GBP and CHF, whole yen and won for JPY and KRW, fils for KWD. The exponent
comes from Babel rather than a table of our own, so a currency nobody thought of still bills
right.

    >>> minor_unit_exponent("EUR"), minor_unit_exponent("JPY"), minor_unit_exponent("KWD")
    (2, 0, 3)
"""

from __future__ import annotations

import functools

from babel.numbers import get_currency_precision, list_currencies

__all__ = ["COMMON_CURRENCIES", "is_iso_currency", "minor_unit_exponent"]

#: offered first where a provider bills in any currency (the form lists these)
COMMON_CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY", "SEK", "NOK", "DKK", "PLN", "CZK", "KRW")
#: Babel's minor-unit digits of the common currencies, so the everyday ones are answered without
#: loading CLDR's global data (2 MB resident, tens of ms) at every start: the settings check their
#: default currency and the sandboxes seed KRW and EUR documents (bench/start.py). The rest come from
#: Babel; tests/providers/test_currency.py holds this table equal to Babel's.
_COMMON_EXPONENTS = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2,
                     "CZK": 2, "KRW": 0}


@functools.lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(list_currencies())


def is_iso_currency(code: str) -> bool:
    """Whether `code` is an ISO 4217 code CLDR knows (``EUR`` yes, ``EURO`` and ``XYZ`` no); the
    common codes without loading CLDR (`_COMMON_EXPONENTS`)."""
    if not (isinstance(code, str) and len(code) == 3 and code.isascii() and code.isupper()):
        return False
    return code in COMMON_CURRENCIES or code in _known()


@functools.lru_cache(maxsize=512)
def minor_unit_exponent(code: str) -> int:
    """Digits after the decimal point in `code`'s minor unit (ISO 4217; 2 for a code CLDR lacks)."""
    code = code.upper()
    common = _COMMON_EXPONENTS.get(code)
    return common if common is not None else int(get_currency_precision(code))
