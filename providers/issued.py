"""What we ourselves sent when we issued a document, for providers whose reads do not say it.

Some providers document no read that returns what the document was issued with: Payssam's
V2 seed has no ``/bill/read`` at all, and the read known from public clients carries only the
approval fields, yet destroying an unpaid bill needs its exact ``price`` and expiry depends on
its ``expireDt``. We issued the bill, so our ledger knows both. A service takes an
`IssuedLedger` (implemented over the ledger in `commands.ledger.issued`, injected by the
process wiring) instead of trusting an undocumented field of the provider's answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from providers.models import Amounts, Provider

__all__ = ["IssuedDocument", "IssuedLedger", "MemoryIssuedLedger"]


class IssuedDocument(BaseModel):
    """The facts we sent at issue time: amounts, the due/expiry date and the links we were given."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    provider: Provider
    provider_id: str
    amounts: Amounts | None = None
    due_date: dt.date | None = None
    links: dict[str, str] = Field(default_factory=dict)
    buyer_name: str | None = None


class IssuedLedger(Protocol):
    """Where a service looks up what it issued; None when we did not issue that document."""

    async def issued(self, provider: Provider, provider_id: str) -> IssuedDocument | None:
        ...


class MemoryIssuedLedger:
    """An in-process `IssuedLedger`: what this process issued, bounded (the default without a database).

    It forgets on restart; the ledger-backed one (`commands.ledger.issued`) does not.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._docs: dict[tuple[Provider, str], IssuedDocument] = {}

    def remember(self, document: IssuedDocument) -> None:
        key = (document.provider, document.provider_id)
        self._docs.pop(key, None)
        self._docs[key] = document
        while len(self._docs) > self._limit:
            self._docs.pop(next(iter(self._docs)))

    async def issued(self, provider: Provider, provider_id: str) -> IssuedDocument | None:
        return self._docs.get((provider, provider_id))
