"""LedgerIssued: what we issued, read back from the documents table for providers whose reads omit it."""

from __future__ import annotations

import datetime as dt

from commands.ledger import Lifecycle, Store
from commands.ledger.issued import LedgerIssued
from providers.models import Amounts, DocumentKind, Provider
from tests.commands.ledger.factories import T0


async def test_an_issued_bill_gives_back_its_amounts_expiry_and_pay_link(store: Store) -> None:
    doc = await store.documents.create(
        provider=Provider.PAYSSAM, kind=DocumentKind.BILL, lifecycle=Lifecycle.ISSUED, provider_id="INVZ2D000001",
        amounts=Amounts(supply=100_000, vat=10_000, total=110_000), due_date=dt.date(2026, 3, 31), now=T0,
    )
    ledger = LedgerIssued(store.documents)

    found = await ledger.issued(Provider.PAYSSAM, "INVZ2D000001")

    assert found is not None
    assert found.amounts == Amounts(supply=100_000, vat=10_000, total=110_000)
    assert found.due_date == dt.date(2026, 3, 31)
    assert found.links == doc.links
    assert await ledger.issued(Provider.PAYSSAM, "NOT-OURS") is None
    assert await ledger.issued(Provider.POPBILL, "INVZ2D000001") is None
