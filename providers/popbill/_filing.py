"""Popbill beyond the uniform interface: send to the NTS now (즉시전송) and the PDF itself.

Used by `PopbillService`. ``sendToNTS`` files an issued tax invoice within about 30
minutes instead of waiting for Popbill's next-business-day batch; ``getPDFURL`` answers a URL
that lives about 30 seconds, so the bytes are fetched at once (a link in Slack would be dead
by the time someone clicks it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from providers.errors import NotSupported, ProviderProtocolError, ProviderRejected
from providers.http import ProviderHttp
from providers.models import DocumentKind, DocumentRef, DocumentState, DocumentStatus
from providers.popbill._auth import PROVIDER
from providers.popbill.cashbill import CashbillClient
from providers.popbill.taxinvoice import MgtKeyType, TaxinvoiceClient

__all__ = ["TAX_KINDS", "download_pdf", "send_to_nts"]

#: what Popbill files with the NTS through the Taxinvoice service (cash receipts file themselves)
TAX_KINDS = frozenset({DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE, DocumentKind.EXEMPT_INVOICE})

_PDF_MAGIC = b"%PDF-"


async def send_to_nts(taxinvoice: TaxinvoiceClient, status: Callable[[DocumentRef], Awaitable[DocumentStatus]],
                      ref: DocumentRef, key: str, memo: str | None = None) -> DocumentStatus:
    """File an issued, not yet filed tax invoice with the NTS now; its status afterwards.

    Raises:
        NotSupported: a cash receipt (Popbill files those itself).
        ProviderRejected: Popbill refused (e.g. already filed or cancelled).
    """
    if ref.kind not in TAX_KINDS:
        raise NotSupported("popbill files cash receipts with the NTS by itself; only tax invoices can be "
                           "sent to the NTS now", provider=PROVIDER, code="send_nts")
    await taxinvoice.send_to_nts(MgtKeyType.SELL, key, memo=memo)
    now = await status(ref)
    if now.state in (DocumentState.ISSUED, DocumentState.SENT):
        # Popbill answered 1 but the document reads as not yet filing: say it as it is
        now = now.model_copy(update={"detail": "sent to the NTS; the filing has not started yet"})
    return now


async def download_pdf(http: ProviderHttp, taxinvoice: TaxinvoiceClient, cashbill: CashbillClient,
                       ref: DocumentRef, key: str) -> bytes:
    """The document's PDF (``getPDFURL``, then the URL fetched within its 30 seconds)."""
    if ref.kind is DocumentKind.CASH_RECEIPT:
        url = await cashbill.get_pdf_url(key)
    else:
        url = await taxinvoice.get_pdf_url(MgtKeyType.SELL, key)
    response = await http.send("GET", url, write=False, operation="PDF download")
    if response.status_code == 410:
        raise ProviderRejected("popbill's PDF link expired before it was fetched", provider=PROVIDER,
                               code="pdf_expired", user_hint="Click PDF again.")
    if response.status_code != 200 or not response.content.startswith(_PDF_MAGIC):
        raise ProviderProtocolError(f"popbill's PDF link answered HTTP {response.status_code} without a PDF",
                                    provider=PROVIDER, code="pdf", status=response.status_code,
                                    body_excerpt=response.text[:200])
    return response.content
