"""Payssam (결제선생, by Paymint): bills the customer pays online, API V2.

`PayssamClient` is the faithful wire client (one method per documented call),
`PayssamService` the :class:`~providers.base.InvoiceProvider` on top of it, and
`providers.payssam.callback` the pure pieces of the payment-callback webhook.
"""

from __future__ import annotations

from providers.payssam.callback import (
    CALLBACK_SUCCESS,
    CALLBACK_SUCCESS_BODY,
    PaymentCallback,
    authenticate_callback,
    callback_dedup_key,
    is_success_answer,
    parse_callback,
)
from providers.payssam.client import (
    DEFAULT_BASE_URL,
    DUPLICATE_BILL_CODES,
    BillCancelResult,
    BillInfo,
    BillSendResult,
    PayssamClient,
    PayssamReply,
    SendType,
    bill_hash,
    price_hash,
    send_hash,
)
from providers.payssam.service import (
    CAPABILITIES,
    SANDBOX_CALLBACK_PATH,
    PayssamService,
    bill_id_for,
    create_service,
)

__all__ = [
    "CALLBACK_SUCCESS",
    "CALLBACK_SUCCESS_BODY",
    "CAPABILITIES",
    "DEFAULT_BASE_URL",
    "DUPLICATE_BILL_CODES",
    "SANDBOX_CALLBACK_PATH",
    "BillCancelResult",
    "BillInfo",
    "BillSendResult",
    "PaymentCallback",
    "PayssamClient",
    "PayssamReply",
    "PayssamService",
    "SendType",
    "authenticate_callback",
    "bill_hash",
    "bill_id_for",
    "callback_dedup_key",
    "create_service",
    "is_success_answer",
    "parse_callback",
    "price_hash",
    "send_hash",
]
