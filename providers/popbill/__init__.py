"""Popbill (LinkHub) provider: e-tax invoices, cash receipts and business status checks.

Low-level clients mirror the official SDK's wire protocol one method per call
(`TaxinvoiceClient`, `CashbillClient`, `CloseDownClient`), sharing one `LinkhubAuth`
token cache per service instance; `PopbillService` is the bot's `InvoiceProvider`.
"""

from __future__ import annotations

from providers.popbill._auth import (
    LINKHUB_API_VERSION,
    LINKHUB_URL,
    SERVICE_ID_REAL,
    SERVICE_ID_TEST,
    LinkhubAuth,
    LinkhubToken,
    format_lh_date,
    linkhub_signature,
    linkhub_signed_string,
    parse_expiration,
    token_request_body,
)
from providers.popbill._base import (
    JSON_CONTENT_TYPE,
    MAX_BATCH,
    NOT_FOUND_CODES,
    POPBILL_URL_REAL,
    POPBILL_URL_TEST,
    TOKEN_REJECTED_CODES,
    PopbillClientBase,
    validate_corp_num,
    validate_item_key,
    validate_mgt_key,
    validate_submit_id,
)
from providers.popbill.cashbill import CashbillClient
from providers.popbill.closedown import CloseDownClient
from providers.popbill.service import (
    CANCEL_RECEIPT_SUFFIX,
    TAX_TYPE_NAMES,
    PopbillService,
    business_status,
    cashbill_status,
    create_service,
    taxinvoice_status,
)
from providers.popbill.taxinvoice import MgtKeyType, TaxinvoiceClient

__all__ = [
    "CANCEL_RECEIPT_SUFFIX",
    "JSON_CONTENT_TYPE",
    "LINKHUB_API_VERSION",
    "LINKHUB_URL",
    "MAX_BATCH",
    "NOT_FOUND_CODES",
    "POPBILL_URL_REAL",
    "POPBILL_URL_TEST",
    "SERVICE_ID_REAL",
    "SERVICE_ID_TEST",
    "TAX_TYPE_NAMES",
    "TOKEN_REJECTED_CODES",
    "CashbillClient",
    "CloseDownClient",
    "LinkhubAuth",
    "LinkhubToken",
    "MgtKeyType",
    "PopbillClientBase",
    "PopbillService",
    "TaxinvoiceClient",
    "business_status",
    "cashbill_status",
    "create_service",
    "format_lh_date",
    "linkhub_signature",
    "linkhub_signed_string",
    "parse_expiration",
    "taxinvoice_status",
    "token_request_body",
    "validate_corp_num",
    "validate_item_key",
    "validate_mgt_key",
    "validate_submit_id",
]
