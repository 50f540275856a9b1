"""`providers.popbill._answers`: the fast paths of a 1,000-key getInfos read the same as before.

Dates are read without strptime when they are plain digits and amounts without Decimal when they
are whole numbers; anything else still goes the old way, so every value reads as strptime and
Decimal would read it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from providers.models import DocumentKind, DocumentRef, Provider
from providers.popbill._answers import KST, _kst_datetime, _won, taxinvoice_status


def _strptime(value: Any) -> dt.datetime | None:
    text = str(value or "").strip()
    for fmt in ("%Y%m%d%H%M%S", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=KST)
        except ValueError:
            continue
    return None


@pytest.mark.parametrize("value", ["20261130093001", "20261130", " 20240229235959 ", "20230229", "20261332",
                                   "20260230120000", "20261130246000", "2026113009300", "2026-11-30", "", None,
                                   "２０２６１１３０", 20261130093001])
def test_dates_read_as_strptime_reads_them(value: Any) -> None:
    assert _kst_datetime(value) == _strptime(value)


@pytest.mark.parametrize("value", [0, 1_000, "1,000", "1000", " 12 ", "12.7", None, "", "-5", "0012"])
def test_amounts_read_as_decimal_reads_them(value: Any) -> None:
    text = str(value if value is not None else "0").strip().replace(",", "") or "0"
    assert _won(value) == int(Decimal(text))


def test_raw_keeps_every_key_but_popbills_internal_ones() -> None:
    ref = DocumentRef(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE, provider_id="K-1")
    info: dict[str, Any] = {"stateCode": 300, "invoicerMgtKey": "K-1", "supplyCostTotal": "1000", "taxTotal": "100",
                            "memo__x": "kept"}
    clean = taxinvoice_status(info, ref).raw
    assert clean == info and clean is not info  # the model holds its own copy
    info["__internal"] = 1
    assert taxinvoice_status(info, ref).raw == {k: v for k, v in info.items() if k != "__internal"}
