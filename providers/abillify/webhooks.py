"""What Abillify POSTs to us, as pydantic models, plus de-duplication keys.

Two kinds of calls arrive (docs: commitInvoice `notifyUrl`, "Workflow Webhook"):

* the **task notification** to the `notifyUrl` given with an asynchronous call such as
  commitInvoice: `{"result": "OK", "resultcode": "0", "job": "...", "notification": "..."}`;
* the **workflow webhook** to the URL configured on the platform, one per voucher event:
  `client, due, identityReference, job, label, number, ordernumber, state (none|paid|canceled),
  total, unpaid, voucherReference, workflow` (amounts in major units, 2 decimals).

Abillify documents neither signing nor its retry policy, so a receiver must treat every
call as possibly repeated: store `dedup_key(event)` and ignore a key seen before. Unknown
extra fields are kept (`extra="allow"`) so a new field never breaks the receiver.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from providers.models import DocumentState

__all__ = ["AbillifyEvent", "TaskNotification", "WorkflowWebhook", "dedup_key", "parse_event"]


class TaskNotification(BaseModel):
    """The `notifyUrl` body sent when an asynchronous task (e.g. commitInvoice) finished."""

    model_config = ConfigDict(frozen=True, extra="allow", defer_build=True)

    result: str
    resultcode: str
    job: str
    notification: str

    @property
    def ok(self) -> bool:
        return self.result == "OK" and self.resultcode == "0"


class WorkflowWebhook(BaseModel):
    """One workflow event about a voucher (invoice or credit note). Every field is optional in the docs."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True, defer_build=True)

    client: str | None = None  # Abillify merchant id
    due: str | None = None
    identity_reference: str | None = Field(default=None, alias="identityReference")
    job: str | None = None
    label: str | None = None
    number: str | None = None
    ordernumber: str | None = None
    state: Literal["none", "paid", "canceled"] | None = None
    total: Decimal | None = None
    unpaid: Decimal | None = None
    voucher_reference: str | None = Field(default=None, alias="voucherReference")
    workflow: str | None = None

    def document_state(self) -> DocumentState:
        """The normalized state this event reports (an open voucher is UNPAID: it was sent)."""
        if self.state == "paid":
            return DocumentState.PAID
        if self.state == "canceled":
            return DocumentState.CANCELED
        if self.state == "none":
            return DocumentState.UNPAID
        return DocumentState.UNKNOWN


AbillifyEvent = TaskNotification | WorkflowWebhook


def parse_event(body: Mapping[str, Any]) -> AbillifyEvent:
    """Either model, told apart by the task notification's `notification` field."""
    if "notification" in body and "resultcode" in body:
        return TaskNotification.model_validate(dict(body))
    return WorkflowWebhook.model_validate(dict(body))


def dedup_key(event: AbillifyEvent) -> str:
    """A key equal for repeated deliveries of the same event and different for distinct events."""
    if isinstance(event, TaskNotification):
        return f"abillify:notify:{event.job}:{event.notification}"
    unpaid = "" if event.unpaid is None else format(event.unpaid.normalize(), "f")
    return (f"abillify:workflow:{event.voucher_reference or ''}:{event.job or ''}:"
            f"{event.workflow or ''}:{event.state or ''}:{unpaid}")
