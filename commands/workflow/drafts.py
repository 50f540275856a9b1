"""`IssueDraft`: what a person asked to issue, before the document has its ref.

The modal produces it and the service stores it; the key (``INV-000123``) is assigned when
the draft is stored, so a resubmitted modal never reuses a key.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from providers.models import (
    Amounts,
    DocumentKind,
    IssueRequest,
    LineItem,
    Party,
    Provider,
    Purpose,
    TaxType,
    TradeUsage,
)

__all__ = ["IssueDraft"]


class IssueDraft(BaseModel):
    """An :class:`~providers.models.IssueRequest` without its key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Provider
    kind: DocumentKind
    buyer: Party
    items: list[LineItem] = Field(min_length=1)
    write_date: dt.date
    purpose: Purpose = Purpose.CHARGE
    memo: str | None = None
    seller: Party | None = None
    currency: str = "KRW"
    due_date: dt.date | None = None
    callback_url: str | None = None
    #: why the requester asks anyway when the buyer is closed or unregistered (휴폐업); not sent to the provider
    override_reason: str | None = None
    #: VAT treatment and default rate where the kind leaves them open (see `IssueRequest`)
    taxation: TaxType | None = None
    vat_rate: Decimal | None = Field(default=None, ge=0, le=100)
    #: a cash receipt's usage and identity number (see `IssueRequest`)
    trade_usage: TradeUsage | None = None
    identity_number: str | None = None

    @property
    def tax_type(self) -> TaxType:
        return self.taxation or self.kind.tax_type

    def amounts(self) -> Amounts:
        """Supply, VAT and total exactly as `IssueRequest.amounts` computes them for the provider."""
        return Amounts.of_items(self.items, self.tax_type, self.currency, self.vat_rate)

    def to_request(self, key: str) -> IssueRequest:
        return IssueRequest(key=key, **self.model_dump(exclude={"override_reason"}))
