"""The ledger as a `providers.issued.IssuedLedger`: what we sent when we issued a document.

Payssam documents no read that returns a bill's price or expiry, so its service asks here
(see `providers.issued`); the answer is our own row, written when the bill was issued.
"""

from __future__ import annotations

from commands.ledger.documents import DocumentRepo
from providers.issued import IssuedDocument
from providers.models import Amounts, Provider

__all__ = ["LedgerIssued"]


class LedgerIssued:
    """`IssuedLedger` over the documents table: one row per provider id, None for documents not ours."""

    def __init__(self, documents: DocumentRepo) -> None:
        self._documents = documents

    async def issued(self, provider: Provider, provider_id: str) -> IssuedDocument | None:
        doc = await self._documents.get_by_provider_id(provider, provider_id)
        if doc is None:
            return None
        amounts = None
        if doc.supply is not None and doc.vat is not None and doc.total is not None \
                and doc.supply + doc.vat == doc.total:
            amounts = Amounts(supply=doc.supply, vat=doc.vat, total=doc.total, currency=doc.currency)
        return IssuedDocument(provider=provider, provider_id=provider_id, amounts=amounts, due_date=doc.due_date,
                              links=dict(doc.links), buyer_name=doc.buyer_name)
