"""Abillify (abillify.dev): invoices for a customer identity, credit notes, idempotent POSTs.

Public names:

* `AbillifyClient` - one method per documented API call (Basic auth, Idempotency-Key on POSTs).
* `AbillifyService`, `create_service` - the `InvoiceProvider` the bot drives.
* `TaskNotification`, `WorkflowWebhook`, `parse_event`, `dedup_key` - what Abillify POSTs to us.
"""

from __future__ import annotations

from providers.abillify._money import currency_exponent, to_major, to_minor
from providers.abillify.client import DEFAULT_BASE_URL, MAX_IDEMPOTENCY_KEY, AbillifyClient
from providers.abillify.service import (
    CAPABILITIES,
    AbillifyService,
    create_service,
    identity_reference,
    invoice_status,
    tax_rate_percent,
)
from providers.abillify.webhooks import AbillifyEvent, TaskNotification, WorkflowWebhook, dedup_key, parse_event

__all__ = [
    "CAPABILITIES",
    "DEFAULT_BASE_URL",
    "MAX_IDEMPOTENCY_KEY",
    "AbillifyClient",
    "AbillifyEvent",
    "AbillifyService",
    "TaskNotification",
    "WorkflowWebhook",
    "create_service",
    "currency_exponent",
    "dedup_key",
    "identity_reference",
    "invoice_status",
    "parse_event",
    "tax_rate_percent",
    "to_major",
    "to_minor",
]
