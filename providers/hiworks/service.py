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
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

import httpx

from providers.base import Capabilities
from providers.bizno import InvalidBizno, format_bizno, normalize_bizno
from providers.config import DEMO_HIWORKS, HiworksConfig, SellerConfig
from providers.errors import DocumentNotFound, NotSupported, ProviderRejected, RequestInvalid
from providers.hiworks.client import PROVIDER, HiworksClient, HiworksRejected
from providers.hiworks.models import (
    BusinessCheck,
    Contact,
    Invoice,
    InvoiceDetail,
    InvoiceInformation,
    InvoiceItem,
    InvoiceParty,
    InvoiceType,
)
from providers.models import (
    Amounts,
    BusinessState,
    BusinessStatus,
    DocumentKind,
    DocumentRef,
    DocumentState,
    DocumentStatus,
    IssueRequest,
    Provider,
    Purpose,
    ResendRequest,
    StatusEvent,
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

KST = dt.timezone(dt.timedelta(hours=9), "KST")

_RESEND_NOTE = "cannot resend documents by e-mail or SMS through its API; resend from the Hiworks console"
_DECLARED = "already reported to the National Tax Service; issue an amendment instead"

CAPABILITIES = Capabilities(
    provider=Provider.HIWORKS,
    kinds=frozenset({DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE, DocumentKind.EXEMPT_INVOICE,
                     DocumentKind.STATEMENT}),
    resend_channels=frozenset(),
    destroy=True,
    closure_check=True,
    batch_status=False,
    batch_size=1,
    links=False,
    currencies=frozenset({"KRW"}),
    notes={
        "resend": _RESEND_NOTE,
        "find": "has no search call: a document can only be found by the documentId Hiworks assigned",
        "destroy": "deletes a document only before it is reported to the National Tax Service; "
        "after that, issue an amendment",
    },
)

_APPROVAL = {
    "W": "approval not requested yet",
    "T": "approval requested from the buyer",
    "R": "the buyer opened the approval request",
    "S": "approved by the buyer",
    "B": "refused by the buyer",
}
_DECLARE = {
    "0": "not sent to the NTS yet",
    "1": "sending to the NTS",
    "2": "sent to the NTS, waiting for the result",
    "3": "sending to the NTS failed",
    "4": "accepted by the NTS",
    "5": "transmission to the NTS failed",
}
#: NTS result codes (국세청 전송 결과 상태 코드) from the Postman "Status" data type.
NTS_CODES = {
    "SUC001": "accepted",
    "SYN001": "decryption failed",
    "SYN002": "invalid supplier signature",
    "SYN003": "duplicate approval number",
    "SYN004": "invalid e-tax invoice schema",
    "ERR001": "supplier business number not registered with the NTS",
    "ERR002": "buyer business or resident number not registered with the NTS",
    "ERR003": "trustee business number not registered with the NTS",
    "ERR004": "invalid transmission time",
    "ERR005": "invalid issue time",
    "ERR006": "invalid write date",
    "ERR007": "supply amount or tax is wrong (sign, zero-rated/exempt with tax, or VAT not 10%)",
    "ERR008": "invalid type, business number kind or amendment code",
    "ERR009": "issued after the supplier closed the business",
    "ERR010": "NTS registration number mismatch",
    "ERR011": "wrong original approval number",
    "ERR999": "other NTS error",
    "SYS001": "the issuing system is not approved by the NTS",
    "SYS002": "duplicate submission id",
    "SYS003": "unknown submission id",
    "WSM001": "SOAP communication error",
    "WSM002": "SOAP message structure error",
    "WSM003": "SOAP signature error",
}
_CLOSURE = {"01": BusinessState.ACTIVE, "02": BusinessState.SUSPENDED, "03": BusinessState.CLOSED}
_TAX_TYPES = {
    "01": "general taxable (부가가치세 일반과세자)",
    "02": "simplified taxable (부가가치세 간이과세자)",
    "03": "special taxable (부가가치세 과세특례자)",
    "04": "VAT exempt (부가가치세 면세사업자)",
    "05": "non-profit or public body (비영리법인, 국가기관 등)",
    "06": "organisation with a unique number (고유번호 단체)",
    "07": "simplified taxable issuing tax invoices (간이과세자, 세금계산서 발급사업자)",
}


def normalize_state(approval: str, declare: str) -> DocumentState:
    """One normalized state from Hiworks' two status codes (see the module docstring)."""
    if declare == "4":
        return DocumentState.FILED
    if declare in ("3", "5"):
        return DocumentState.FILING_FAILED
    if declare in ("1", "2"):
        return DocumentState.FILING
    if declare not in ("0", ""):
        return DocumentState.UNKNOWN
    if approval == "B":
        return DocumentState.CANCELED
    if approval in ("T", "R", "S"):
        return DocumentState.SENT
    if approval == "W":
        return DocumentState.ISSUED
    return DocumentState.UNKNOWN


_KIND_TYPES = {
    DocumentKind.TAX_INVOICE: InvoiceType.taxable,
    DocumentKind.ZERO_RATED_INVOICE: InvoiceType.zero_rated,
    DocumentKind.EXEMPT_INVOICE: InvoiceType.exempt,
    DocumentKind.STATEMENT: InvoiceType.statement,
}


def _invoice_type(kind: DocumentKind, purpose: Purpose) -> InvoiceType:
    CAPABILITIES.require_kind(kind)
    code: Literal["C", "R"] = "R" if purpose is Purpose.RECEIPT else "C"
    return _KIND_TYPES[kind](code)


def _contact(name: str, email: str | None, phone: str | None) -> Contact:
    if not email:
        raise RequestInvalid(
            "hiworks needs the buyer's e-mail address (the document is mailed to it)",
            provider=PROVIDER, code="buyer_email", user_hint="Add the buyer's e-mail address and try again.",
        )
    digits = (phone or "").replace("-", "").replace(" ", "")
    mobile = digits.startswith("01")
    return Contact(name=name[:100], email=email, cell=phone if mobile else None, phone=None if mobile else phone)


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def build_invoice(request: IssueRequest, *, seller: SellerConfig, easy_sign: bool = True) -> Invoice:
    """The ``POST /v4/invoices`` body for `request`.

    Raises:
        RequestInvalid: the buyer has no business number, CEO name or e-mail, or a quantity has
            more than two decimals (Hiworks' limit).
    """
    CAPABILITIES.require_kind(request.kind)
    buyer = request.buyer
    if not buyer.bizno:
        raise RequestInvalid("hiworks needs the buyer's business number (companyNumber)", provider=PROVIDER,
                             code="buyer_bizno", user_hint="Add the buyer's 10-digit business number.")
    try:
        buyer_bizno = normalize_bizno(buyer.bizno)
        seller_bizno = normalize_bizno(request.seller.bizno if request.seller and request.seller.bizno
                                       else seller.bizno)
    except InvalidBizno as exc:
        raise RequestInvalid(str(exc), provider=PROVIDER, code="bizno") from exc
    if not buyer.ceo_name:
        raise RequestInvalid("hiworks needs the buyer's CEO name (대표자명)", provider=PROVIDER, code="buyer_ceo",
                             user_hint="Add the buyer's CEO name and try again.")
    kind = _invoice_type(request.kind, request.purpose)
    tax_type = request.tax_type
    items: list[InvoiceItem] = []
    for n, line in enumerate(request.items, start=1):
        if _decimal_places(line.quantity) > 2:
            raise RequestInvalid(f"item {n}: hiworks allows at most two decimals in a quantity",
                                 provider=PROVIDER, code="quantity")
        items.append(InvoiceItem.on(
            request.write_date,
            subject=line.name,
            unit=line.spec,
            quantity=line.quantity,
            unit_price=Decimal(line.unit_price),
            supply_price=line.supply_amount(),
            tax=line.vat_amount(tax_type),
            description=line.remark,
        ))
    supply = sum(i.supply_price for i in items)
    tax = sum(i.tax for i in items)
    information = InvoiceInformation(
        issue_date=request.write_date,
        serial=request.key,
        memo=request.memo,
        total_supply_price=supply,
        total_tax=tax,
        uncollected=supply + tax if request.purpose is Purpose.CHARGE else None,
    )
    invoicee = InvoiceParty(
        company_number=buyer_bizno,
        company_name=buyer.name,
        ceo_name=buyer.ceo_name,
        company_address=buyer.address,
        biz_type=buyer.biz_type,
        biz_classification=buyer.biz_class,
        party_type_code="01",
        primary_contact=_contact(buyer.contact_name or buyer.name, buyer.email, buyer.phone),
    )
    sign = easy_sign and request.kind is not DocumentKind.STATEMENT
    return Invoice(
        easy_sign="Y" if sign else None,
        information=information,
        invoice_type=kind,
        invoicer=format_bizno(seller_bizno),
        invoicee=invoicee,
        items=items,
    )


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _created_at(document_id: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(document_id[:14], "%Y%m%d%H%M%S").replace(tzinfo=KST)
    except ValueError:
        return None


def document_status(ref: DocumentRef, detail: InvoiceDetail) -> DocumentStatus:
    """Map a ``GET /v4/invoices/{id}`` answer onto :class:`DocumentStatus`."""
    status = detail.status
    approval, declare = status.approval_status or "", status.declare_status or ""
    state = normalize_state(approval, declare)
    notes = [_APPROVAL.get(approval, f"approval status {approval or '?'}"),
             _DECLARE.get(declare, f"declare status {declare or '?'}")]
    nts = status.declare_status_code or ""
    if nts and nts != "SUC001":
        notes.append(f"NTS {nts}: {NTS_CODES.get(nts, 'see the Hiworks console')}")
    info = detail.information
    supply, vat = _int(info.get("totalSupplyPrice")), _int(info.get("totalTax"))
    amounts = Amounts(supply=supply, vat=vat, total=supply + vat) if supply is not None and vat is not None else None
    invoicee = detail.invoicee
    bizno = str(invoicee.get("companyNumber") or "").replace("-", "") or None
    history: list[StatusEvent] = []
    if detail.mail.send_date:
        sent = _parse_time(detail.mail.send_date)
        history.append(StatusEvent(at=sent, what="notification mail sent", raw_code=detail.mail.send_result_code))
    return DocumentStatus(
        ref=ref,
        state=state,
        raw_state=f"approval={approval},declare={declare}",
        amounts=amounts,
        buyer_name=invoicee.get("companyName") or None,
        buyer_bizno=bizno,
        issued_at=_created_at(ref.provider_id),
        confirm_number=status.issue_id or None,
        history=tuple(history),
        detail="; ".join(notes),
        raw=detail.model_dump(by_alias=True, mode="json"),
    )


def _parse_time(text: str) -> dt.datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S"):
        try:
            return dt.datetime.strptime(text[:19], fmt).replace(tzinfo=KST)
        except ValueError:
            continue
    return None


def _yyyymmdd(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date() if text else None
    except ValueError:
        return None


def business_status(check: BusinessCheck, *, checked_at: dt.datetime | None = None) -> BusinessStatus:
    """Map a ``POST /v4/check/{bizno}`` answer onto :class:`BusinessStatus`.

    An empty status code means the number is not registered with the NTS (as documented).
    """
    code = check.status_code.strip()
    state = _CLOSURE.get(code, BusinessState.UNREGISTERED if not code else BusinessState.UNKNOWN)
    notes: list[str] = []
    if state is BusinessState.UNREGISTERED:
        notes.append("not registered with the National Tax Service")
    elif check.status:
        notes.append(check.status)
    if check.utcc == "Y":
        notes.append("closed on conversion to unit taxation (단위과세 전환 폐업)")
    if check.invoice_apply_date:
        notes.append(f"tax invoices apply from {check.invoice_apply_date}")
    return BusinessStatus(
        bizno=check.idn,
        state=state,
        raw_state=code or None,
        tax_type=_TAX_TYPES.get(check.tax_type_code, check.tax_type or None),
        tax_type_code=check.tax_type_code or None,
        state_date=_yyyymmdd(check.end_date),
        type_date=_yyyymmdd(check.tax_type_change_date),
        checked_at=checked_at or dt.datetime.now(dt.UTC),
        detail="; ".join(notes) or None,
    )


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

        async with asyncio.TaskGroup() as group:
            for ref in {r.provider_id: r for r in refs}.values():
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
