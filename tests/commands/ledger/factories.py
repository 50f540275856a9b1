"""Shared builders for the ledger tests: a request, a pending document, a provider status."""

from __future__ import annotations

import datetime as dt

from commands.ledger import Lifecycle, Store
from providers.models import (
    DocumentKind,
    DocumentRef,
    DocumentState,
    DocumentStatus,
    IssueRequest,
    LineItem,
    Party,
    Provider,
)

T0 = dt.datetime(2024, 5, 1, 0, 0, tzinfo=dt.UTC)


def request(buyer_name: str = "주식회사 가나다") -> IssueRequest:
    return IssueRequest(
        provider=Provider.POPBILL,
        kind=DocumentKind.TAX_INVOICE,
        key="PLACEHOLDER",
        buyer=Party(name=buyer_name, bizno="6798700433", email="buyer@example.com"),
        items=[LineItem(name="컨설팅", unit_price=100_000)],
        write_date=dt.date(2024, 5, 1),
    )


async def new_document(store: Store, *, buyer_name: str = "주식회사 가나다", now: dt.datetime = T0,
                       provider: Provider = Provider.POPBILL) -> int:
    doc = await store.documents.create(
        provider=provider,
        kind=DocumentKind.TAX_INVOICE,
        lifecycle=Lifecycle.PENDING_APPROVAL,
        request=request(buyer_name),
        requested_by="U_ALICE",
        now=now,
    )
    return doc.id


def issued_status(provider_id: str, state: DocumentState = DocumentState.ISSUED) -> DocumentStatus:
    return DocumentStatus(
        ref=DocumentRef(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE, provider_id=provider_id),
        state=state,
        raw_state="300",
        confirm_number="20240501-41000000-00000001",
        links={"popup": "https://example.invalid/popup"},
    )
