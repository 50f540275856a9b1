"""Refs as people type them."""

from __future__ import annotations

import pytest

from commands.workflow.refs import ExternalRef, InvalidRef, OurRef, parse_ref
from providers.models import DocumentKind, Provider


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("INV-000123", OurRef(123)),
        ("inv-123", OurRef(123)),
        ("INV123", OurRef(123)),
        ("#123", OurRef(123)),
        ("123", OurRef(123)),
        (" `INV-000007` ", OurRef(7)),
        ("popbill:20240501-001", ExternalRef(Provider.POPBILL, DocumentKind.TAX_INVOICE, "20240501-001")),
        ("cashbill:CB-1", ExternalRef(Provider.POPBILL, DocumentKind.CASH_RECEIPT, "CB-1")),
        ("PAYSSAM:B0001", ExternalRef(Provider.PAYSSAM, DocumentKind.BILL, "B0001")),
        ("hiworks:9812", ExternalRef(Provider.HIWORKS, DocumentKind.TAX_INVOICE, "9812")),
        ("abillify:INV-2024-0001", ExternalRef(Provider.ABILLIFY, DocumentKind.INVOICE, "INV-2024-0001")),
    ],
)
def test_parse_ref_accepts_what_people_type(text: str, expected: object) -> None:
    assert parse_ref(text) == expected


@pytest.mark.parametrize("text", ["", "INV-", "INV-0", "stripe:ch_1", "popbill:", "hello world"])
def test_parse_ref_refuses_the_rest_and_says_what_works(text: str) -> None:
    with pytest.raises(InvalidRef, match="INV-000123"):
        parse_ref(text)
