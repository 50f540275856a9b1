"""Hiworks bill-api v4 (하이웍스 전자세금계산서): client, wire models and the bot's service.

See :mod:`providers.hiworks.client` for the calls and :mod:`providers.hiworks.service` for how
kinds, keys and states are mapped.
"""

from __future__ import annotations

from providers.hiworks.client import (
    DEFAULT_BASE_URL,
    DELETE_SUCCESS_STATUSES,
    HiworksClient,
    HiworksNotFound,
    HiworksRejected,
    check_invoice,
)
from providers.hiworks.models import (
    MAX_ITEMS,
    AmendmentInfo,
    AmendmentRequest,
    BusinessCheck,
    BusinessValidation,
    Contact,
    CreateResult,
    Invoice,
    InvoiceDetail,
    InvoiceInformation,
    InvoiceItem,
    InvoiceParty,
    InvoiceStatusInfo,
    InvoiceType,
    LinkedDocument,
    MailInfo,
    RateLimit,
    ValidateRequest,
)
from providers.hiworks.service import (
    CAPABILITIES,
    NTS_CODES,
    HiworksService,
    build_invoice,
    business_status,
    create_service,
    document_status,
    normalize_state,
)

__all__ = [
    "CAPABILITIES",
    "DEFAULT_BASE_URL",
    "DELETE_SUCCESS_STATUSES",
    "MAX_ITEMS",
    "NTS_CODES",
    "AmendmentInfo",
    "AmendmentRequest",
    "BusinessCheck",
    "BusinessValidation",
    "Contact",
    "CreateResult",
    "HiworksClient",
    "HiworksNotFound",
    "HiworksRejected",
    "HiworksService",
    "Invoice",
    "InvoiceDetail",
    "InvoiceInformation",
    "InvoiceItem",
    "InvoiceParty",
    "InvoiceStatusInfo",
    "InvoiceType",
    "LinkedDocument",
    "MailInfo",
    "RateLimit",
    "ValidateRequest",
    "build_invoice",
    "business_status",
    "check_invoice",
    "create_service",
    "document_status",
    "normalize_state",
]
