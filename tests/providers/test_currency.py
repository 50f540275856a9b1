"""providers/currency.py: ISO 4217 minor units from Babel, and the VAT arithmetic that uses them."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest
from babel.numbers import get_currency_precision, list_currencies

from providers.currency import COMMON_CURRENCIES, is_iso_currency, minor_unit_exponent
from providers.models import Amounts, LineItem, TaxType
from tests.paths import REPO_ROOT


@pytest.mark.parametrize(("code", "exponent"), [("EUR", 2), ("USD", 2), ("GBP", 2), ("CHF", 2), ("JPY", 0),
                                                ("KRW", 0), ("KWD", 3), ("eur", 2)])
def test_minor_units(code: str, exponent: int) -> None:
    assert minor_unit_exponent(code) == exponent


def test_only_iso_codes_are_currencies() -> None:
    assert is_iso_currency("EUR") and is_iso_currency("JPY")
    assert not is_iso_currency("EURO") and not is_iso_currency("XYZ") and not is_iso_currency("eur")


def test_the_common_currencies_answered_without_cldr_are_iso_codes_with_babels_minor_units() -> None:
    assert set(COMMON_CURRENCIES) <= set(list_currencies())
    assert {code: minor_unit_exponent(code) for code in COMMON_CURRENCIES} == \
        {code: get_currency_precision(code) for code in COMMON_CURRENCIES}


def test_a_common_currency_is_checked_without_loading_cldrs_global_data() -> None:
    """The settings check their default currency and the sandboxes seed KRW and EUR documents at
    every start: 2 MB and tens of ms of CLDR data they do not need (bench/start.py); an uncommon
    code still loads it."""
    probe = ("import babel.core as core\nfrom providers.currency import is_iso_currency, minor_unit_exponent\n"
             "assert is_iso_currency('EUR') and is_iso_currency('KRW')\n"
             "assert minor_unit_exponent('KRW') == 0 and minor_unit_exponent('eur') == 2\n"
             "print(core._global_data is None)\n"
             "assert is_iso_currency('BHD')\nprint(core._global_data is None)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert done.stdout.split() == ["True", "False"]


def test_vat_per_line_at_the_lines_own_rate_rounded_half_up_to_the_cent() -> None:
    items = [LineItem(name="Beratung", unit_price=123_456), LineItem(name="Buch", unit_price=2_000,
                                                                      vat_rate=Decimal(7))]
    amounts = Amounts.of_items(items, TaxType.TAXABLE, "EUR", Decimal(19))
    assert (amounts.supply, amounts.vat, amounts.total) == (125_456, 23_457 + 140, 149_053)


def test_an_exempt_line_on_a_taxable_document_and_an_exempt_document() -> None:
    tuition = LineItem(name="Tuition", unit_price=250_000)
    book = LineItem(name="Textbook", quantity=Decimal(2), unit_price=15_000, tax_type=TaxType.EXEMPT)
    assert Amounts.of_items([tuition, book], TaxType.TAXABLE).vat == 25_000
    assert Amounts.of_items([tuition, book], TaxType.EXEMPT).model_dump() == {
        "supply": 280_000, "vat": 0, "total": 280_000, "currency": "KRW"}
