"""Hiworks as the bot sees it: :class:`HiworksService` implements ``InvoiceProvider``.

Kinds and ``invoiceType`` (from the Postman "InvoiceType" data type)::

    TAX_INVOICE         typeCode A (세금계산서), taxType A (과세), 10% VAT per line
    ZERO_RATED_INVOICE  typeCode A (세금계산서), taxType B (영세), no VAT
    EXEMPT_INVOICE      typeCode B (계산서),     taxType B (면세), no VAT (taxType A is refused)
    STATEMENT           typeCode D (거래명세서), taxType A, 10% VAT per line; never reported to the NTS
    purposeType         C (청구) for Purpose.CHARGE, R (영수) for Purpose.RECEIPT; transactionType S

Where our key goes: Hiworks assigns the ``documentId`` itself, so ``request.key`` is written
to ``information.serial`` (일련번호, printed on the document and shown in the console). The
seller is sent as the office's business number in ``123-45-12345`` form: Hiworks fills in the
registered supplier details, so they cannot drift from what the office registered. For a
``CHARGE`` document the whole total is written as ``uncollected`` (외상미수금), as in the
official examples; for ``RECEIPT`` no payment means are sent (we do not know how it was paid).

Tax invoices are created with ``easySign: "Y"`` by default (issued and sent to the NTS at once,
with the office's registered certificate); statements never carry it ("거래명세서는 간편서명이
적용되지 않습니다"). Pass ``easy_sign=False`` to leave documents for signing in the console.

What Hiworks cannot do, and what the service does instead:

* No list or search call: :meth:`HiworksService.find` cannot look a document up by our key and
  raises ``NotSupported`` telling the user to look for ``serial <key>`` in the Hiworks console.
* No resend call: ``resend`` raises ``NotSupported`` (resend from the Hiworks console).
* No batch status: ``statuses`` reads each document, at most `concurrency` at a time.
* ``DELETE`` takes no reason; a document being or already reported to the NTS cannot be deleted
  (an amendment, ``POST /v4/invoices/amendment``, is the way to cancel it).

States (``data.status`` of ``GET /v4/invoices/{id}``). providers.md §3.5 lists the meanings as
undocumented for v4, but the Postman "Status" data type gives them; we use those and assume they
hold. ``raw_state`` keeps both codes, e.g. ``approval=T,declare=2``::

    declareStatus 4 (성공)                        -> FILED
    declareStatus 3 (발송실패), 5 (전송 실패)        -> FILING_FAILED (NTS code in `detail`)
    declareStatus 1 (발송시작), 2 (결과수신대기)      -> FILING
    declareStatus 0 (발송 전), then approvalStatus:
        W (승인요청전)                             -> ISSUED
        T (승인요청), R (승인요청읽음), S (승인)      -> SENT
        B (반려, the buyer refused it)             -> CANCELED
    anything else                                -> UNKNOWN

Assumptions (not confirmed by Hiworks): the declaration status wins over the approval status;
``issueId`` is the NTS approval number (승인번호); the ``documentId`` starts with its creation
time as ``YYYYMMDDHHMMSS`` in Korean time, which we report as ``issued_at``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from providers.bizno import InvalidBizno, normalize_bizno
from providers.config import DEMO_HIWORKS, HiworksConfig, SellerConfig
from providers.errors import DocumentNotFound, NotSupported, ProviderRejected, RequestInvalid
from providers.hiworks._amendment import issue_amendment
from providers.hiworks._answers import (
    NTS_CODES,
    _created_at,
    business_status,
    document_status,
    normalize_state,
)
from providers.hiworks._capabilities import _DECLARED, _RESEND_NOTE, CAPABILITIES
from providers.hiworks._invoice import build_invoice
from providers.hiworks.client import PROVIDER, HiworksClient, HiworksRejected
from providers.models import (
    Amounts,
    BusinessStatus,
    DocumentKind,
    DocumentRef,
    DocumentState,
    DocumentStatus,
    IssueRequest,
    Provider,
    ResendRequest,
)

__all__ = [
    "CAPABILITIES",
    "NTS_CODES",
    "HiworksService",
    "build_invoice",
    "business_status",
    "create_service",
    "document_status",
    "normalize_state",
]


class HiworksService:
    """``InvoiceProvider`` for Hiworks bill-api v4.

    Args:
        client: the low-level client.
        seller: our business (its number must be the office's registered one).
        sandbox: True when `client` talks to the built-in sandbox.
        concurrency: at most this many calls at once in `statuses` and `check_closure`.
        easy_sign: issue tax invoices with ``easySign: "Y"`` (issued and sent to the NTS at once).
    """

    provider = Provider.HIWORKS
    capabilities = CAPABILITIES

    def __init__(
        self,
        client: HiworksClient,
        *,
        seller: SellerConfig,
        sandbox: bool = False,
        concurrency: int = 16,
        easy_sign: bool = True,
    ) -> None:
        self.client = client
        self.seller = seller
        self.sandbox = sandbox
        self.easy_sign = easy_sign
        self._semaphore = asyncio.Semaphore(max(1, concurrency))

    def _ref(self, kind: DocumentKind, document_id: str) -> DocumentRef:
        return DocumentRef(provider=Provider.HIWORKS, kind=kind, provider_id=document_id)

    async def issue(self, request: IssueRequest) -> DocumentStatus:
        """Create the document. Hiworks assigns the id, so a retry after `OutcomeUnknown` could
        issue twice: the caller must check the console (see `find`) before trying again.

        The answer is built from what we sent rather than read back: a failed read right after a
        successful create must not look like a failed issue.
        """
        if request.provider is not Provider.HIWORKS:
            raise RequestInvalid(f"this request is for {request.provider.value}, not hiworks", provider=PROVIDER,
                                 code="provider")
        invoice = build_invoice(request, seller=self.seller, easy_sign=self.easy_sign)
        result = await self.client.create_invoice(invoice)
        document_id = result.document_ids[0]
        detail = "; ".join(result.easy_sign_messages) or (
            "created; sign and send it from the Hiworks console" if invoice.easy_sign != "Y" else "created")
        return DocumentStatus(
            ref=self._ref(request.kind, document_id),
            state=DocumentState.ISSUED,
            raw_state="created",
            amounts=Amounts(supply=invoice.information.total_supply_price, vat=invoice.information.total_tax,
                            total=invoice.information.total_supply_price + invoice.information.total_tax),
            buyer_name=request.buyer.name,
            buyer_bizno=invoice.invoicee.company_number,
            issued_at=_created_at(document_id),
            detail=detail,
            raw=result.raw,
        )

    async def issue_amendment(self, requests: Sequence[IssueRequest]) -> list[DocumentStatus]:
        """수정(세금)계산서: the documents one reason produces, in one ``POST /v4/invoices/amendment``
        (see `providers.hiworks._amendment`); their statuses in the order of `requests`."""
        return await issue_amendment(self.client, self.seller, requests, easy_sign=self.easy_sign)

    async def find(self, request: IssueRequest) -> DocumentStatus | None:
        """Always refuses: Hiworks has no list or search call, and the documentId is Hiworks' own."""
        raise NotSupported(
            f"hiworks has no search call, so I cannot tell whether {request.key} was issued. "
            f"Check the Hiworks console for a document with serial {request.key} before issuing it again.",
            provider=PROVIDER,
            code="find",
            user_hint=f"Open Hiworks 전자세금계산서 and look for serial (일련번호) {request.key}. If it is there, "
            "it was issued; if not, issue it again.",
        )

    async def status(self, ref: DocumentRef) -> DocumentStatus:
        detail = await self.client.get_invoice(ref.provider_id)
        return document_status(ref, detail)

    async def statuses(self, refs: Sequence[DocumentRef]) -> dict[str, DocumentStatus]:
        """Reads each document (Hiworks has no batch call), at most `concurrency` at once."""
        found: dict[str, DocumentStatus] = {}

        async def one(ref: DocumentRef) -> None:
            async with self._semaphore:
                try:
                    found[ref.provider_id] = await self.status(ref)
                except DocumentNotFound:
                    return

        unique = list({r.provider_id: r for r in refs}.values())
        if len(unique) == 1:  # the sweep's read of one document: no task group around one call
            await one(unique[0])
            return found
        async with asyncio.TaskGroup() as group:
            for ref in unique:
                group.create_task(one(ref))
        return found

    async def resend(self, ref: DocumentRef, request: ResendRequest) -> None:
        raise NotSupported(
            f"hiworks {_RESEND_NOTE}",
            provider=PROVIDER,
            code="resend",
            user_hint="Open the document in the Hiworks console and send the mail again from there.",
        )

    async def destroy(self, ref: DocumentRef, reason: str | None = None) -> DocumentStatus:
        """Delete the document when Hiworks allows it (not yet reported to the NTS).

        Hiworks' DELETE takes no reason, so `reason` stays in our own audit log only.
        """
        current = document_status(ref, await self.client.get_invoice(ref.provider_id))
        if current.state in (DocumentState.FILING, DocumentState.FILED):
            raise self._declared(ref, current, code="declared")
        try:
            await self.client.delete_invoice(ref.provider_id)
        except HiworksRejected as exc:
            if exc.http_status in (400, 409):
                raise self._declared(ref, current, code=exc.code, said=str(exc.message)) from exc
            raise
        return current.model_copy(update={"state": DocumentState.DELETED, "raw_state": "deleted",
                                          "detail": "deleted at Hiworks"})

    def _declared(self, ref: DocumentRef, current: DocumentStatus, *, code: str | None,
                  said: str | None = None) -> ProviderRejected:
        number = f" (NTS approval number {current.confirm_number})" if current.confirm_number else ""
        message = f"hiworks cannot delete {ref}: it is {_DECLARED}"
        if said:
            message += f" (Hiworks said: {said})"
        return ProviderRejected(
            message,
            provider=PROVIDER,
            code=code,
            user_hint=f"Issue an amended invoice (수정세금계산서) referencing the original{number}, e.g. reason "
            "04 (계약의 해제) to cancel it in full.",
        )

    async def check_closure(self, biznos: Sequence[str]) -> list[BusinessStatus]:
        """One ``/v4/check`` call per number (no batch call), at most `concurrency` at once; results
        in the order asked. Every number is validated before any call is made."""
        numbers: list[str] = []
        for text in biznos:
            try:
                numbers.append(normalize_bizno(text))
            except InvalidBizno as exc:
                raise RequestInvalid(str(exc), provider=PROVIDER, code="bizno") from exc
        results: dict[str, BusinessStatus] = {}

        async def one(number: str) -> None:
            async with self._semaphore:
                results[number] = business_status(await self.client.check_closure(number))

        async with asyncio.TaskGroup() as group:
            for number in dict.fromkeys(numbers):
                group.create_task(one(number))
        return [results[n] for n in numbers]

    async def aclose(self) -> None:
        await self.client.aclose()


def create_service(
    config: HiworksConfig,
    *,
    seller: SellerConfig,
    sandbox: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> HiworksService:
    """The Hiworks service for `config` (``config.api_url`` or the production host).

    Against a sandbox without credentials, the sandbox's demo tokens are used.
    """
    is_sandbox = sandbox or config.sandbox
    if not config.configured and is_sandbox:
        config = config.model_copy(update={"office_token": DEMO_HIWORKS.office_token,
                                           "bill_access_token": DEMO_HIWORKS.bill_access_token})
    client = HiworksClient.from_config(config, transport=transport)
    return HiworksService(client, seller=seller, sandbox=is_sandbox)
