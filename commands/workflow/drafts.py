"""`IssueDraft`: what a person asked to issue, before the document has its ref.

The modal produces it and the service stores it; the key (``INV-000123``) is assigned when
the draft is stored, so a resubmitted modal never reuses a key.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from providers.models import DocumentKind, IssueRequest, LineItem, Party, Provider, Purpose, TaxType

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

    @property
    def tax_type(self) -> TaxType:
        return self.kind.tax_type

    def to_request(self, key: str) -> IssueRequest:
        return IssueRequest(key=key, **self.model_dump(exclude={"override_reason"}))
