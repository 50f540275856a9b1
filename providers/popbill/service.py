"""`PopbillService`: the bot's uniform interface over Taxinvoice, Cashbill and CloseDown.

The document key the bot chooses (`IssueRequest.key`) is the Popbill MgtKey, so a repeated
issue can never create a second document and `find` can always reconcile. `DocumentRef.kind`
says which API a key belongs to: CASH_RECEIPT is a Cashbill, every other kind a Taxinvoice
(taxType 과세/영세/면세 for TAX/ZERO_RATED/EXEMPT).

Destroying follows Popbill's rules: an issued invoice (300) is cancelled and then deleted,
which frees the MgtKey; a cancelled one (600) is deleted; once filing with the National Tax
Service has started (301-305) only an amended invoice (수정세금계산서) can correct it, so the
service refuses and says so. A filed cash receipt (304) is revoked by issuing a cancellation
cash receipt (취소거래) under the derived key ``<key>-C``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import httpx

from providers.base import Capabilities
from providers.bizno import InvalidBizno, normalize_bizno
from providers.config import PopbillConfig, SellerConfig
from providers.errors import (
    DocumentNotFound,
    NotSupported,
    ProviderError,
    ProviderRejected,
    RequestInvalid,
)
from providers.http import ProviderHttp
from providers.models import (
    Amounts,
    BusinessState,
    BusinessStatus,
    DocumentKind,
    DocumentRef,
    DocumentState,
    DocumentStatus,
    IssueRequest,
    LineItem,
    Party,
    Provider,
    Purpose,
    ResendChannel,
    ResendRequest,
    StatusEvent,
    TaxType,
)
from providers.popbill._auth import LINKHUB_URL, PROVIDER, LinkhubAuth
from providers.popbill._base import MAX_BATCH, POPBILL_URL_REAL, POPBILL_URL_TEST, chunks, validate_mgt_key
from providers.popbill.cashbill import CashbillClient
from providers.popbill.closedown import CloseDownClient
from providers.popbill.taxinvoice import MgtKeyType, TaxinvoiceClient

__all__ = [
    "CANCEL_RECEIPT_SUFFIX",
    "TAX_TYPE_NAMES",
    "PopbillService",
    "business_status",
    "cashbill_status",
    "create_service",
    "taxinvoice_status",
]

log = logging.getLogger("invoicebot.providers.popbill")

KST = dt.timezone(dt.timedelta(hours=9), "KST")
MAX_DETAIL_LINES = 99
#: a filed cash receipt is revoked by a cancellation receipt under this derived key
CANCEL_RECEIPT_SUFFIX = "-C"

_TAX_TYPE_TEXT = {TaxType.TAXABLE: "과세", TaxType.ZERO_RATED: "영세", TaxType.EXEMPT: "면세"}
_PURPOSE_TEXT = {Purpose.RECEIPT: "영수", Purpose.CHARGE: "청구"}

#: CloseDown taxType codes
TAX_TYPE_NAMES = {
    "10": "general taxable business (일반과세자)",
    "20": "tax-exempt business (면세과세자)",
    "30": "simplified taxpayer (간이과세자)",
    "31": "simplified taxpayer issuing tax invoices (간이과세자, 세금계산서 발급사업자)",
    "40": "non-profit or government body (비영리법인 또는 국가기관, 고유번호)",
}
_BUSINESS_STATES = {"0": BusinessState.UNREGISTERED, "1": BusinessState.ACTIVE, "2": BusinessState.CLOSED,
                    "3": BusinessState.SUSPENDED}

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 -]{6,18}[0-9]")

_FILED_HINT = ("Issue an amended tax invoice (수정세금계산서) for the correction instead; "
               "Popbill cannot cancel a document the National Tax Service already has.")


# -- parsing helpers ---------------------------------------------------------------------------
def _kst_datetime(value: Any) -> dt.datetime | None:
    text = str(value or "").strip()
    for fmt in ("%Y%m%d%H%M%S", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=KST)
        except ValueError:
            continue
    return None


def _date(value: Any) -> dt.date | None:
    text = str(value or "").strip()
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date() if len(text) >= 8 else None
    except ValueError:
        return None


def _won(value: Any) -> int:
    text = str(value if value is not None else "0").strip().replace(",", "") or "0"
    return int(Decimal(text))


def _state_code(info: dict[str, Any]) -> int | None:
    try:
        return int(info.get("stateCode"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def taxinvoice_state(code: int | None) -> DocumentState:
    if code == 300:
        return DocumentState.ISSUED
    if code in (301, 302, 303):
        return DocumentState.FILING
    if code == 304:
        return DocumentState.FILED
    if code == 305:
        return DocumentState.FILING_FAILED
    if code == 600:
        return DocumentState.CANCELED
    return DocumentState.UNKNOWN


def cashbill_state(code: int | None) -> DocumentState:
    if code == 300:
        return DocumentState.ISSUED
    if code in (301, 302, 303):
        return DocumentState.FILING
    if code == 304:
        return DocumentState.FILED
    if code == 305:
        return DocumentState.FILING_FAILED
    if code in (400, 600):
        return DocumentState.CANCELED
    return DocumentState.UNKNOWN


def _raw(info: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in info.items() if not k.startswith("__")}


def taxinvoice_status(info: dict[str, Any], ref: DocumentRef, *, links: dict[str, str] | None = None,
                      logs: Sequence[dict[str, Any]] = ()) -> DocumentStatus:
    """A TaxinvoiceInfo as a `DocumentStatus` (raw stateCode and JSON kept)."""
    code = _state_code(info)
    state = taxinvoice_state(code)
    supply, vat = _won(info.get("supplyCostTotal")), _won(info.get("taxTotal"))
    detail = None
    if state is DocumentState.FILING_FAILED:
        detail = f"NTS filing failed: {info.get('ntssendErrCode') or 'no error code'}"
    elif state is DocumentState.FILED:
        detail = f"filed with the NTS ({info.get('ntssendErrCode') or 'SUC001'})"
    elif info.get("stateMemo"):
        detail = str(info["stateMemo"])
    history = tuple(
        StatusEvent(at=_kst_datetime(e.get("regDT")), what=str(e.get("log") or e.get("procType") or ""),
                    raw_code=None if e.get("docLogType") is None else str(e.get("docLogType")))
        for e in logs
    )
    return DocumentStatus(
        ref=ref,
        state=state,
        raw_state=str(code) if code is not None else str(info.get("stateCode")),
        amounts=Amounts(supply=supply, vat=vat, total=supply + vat),
        buyer_name=info.get("invoiceeCorpName") or None,
        buyer_bizno=info.get("invoiceeCorpNum") or None,
        issued_at=_kst_datetime(info.get("issueDT")),
        updated_at=_kst_datetime(info.get("stateDT")),
        confirm_number=info.get("ntsconfirmNum") or None,
        links=links or {},
        history=history,
        detail=detail,
        raw=_raw(info),
    )


def cashbill_status(info: dict[str, Any], ref: DocumentRef, *, links: dict[str, str] | None = None) -> DocumentStatus:
    """A CashbillInfo as a `DocumentStatus`; a service fee counts as supply so the total adds up."""
    code = _state_code(info)
    state = cashbill_state(code)
    supply = _won(info.get("supplyCost")) + _won(info.get("serviceFee"))
    vat = _won(info.get("tax"))
    detail = None
    if state is DocumentState.FILING_FAILED:
        detail = f"NTS filing failed: {info.get('ntsresultCode') or ''} {info.get('ntsresultMessage') or ''}".strip()
    elif info.get("stateMemo"):
        detail = str(info["stateMemo"])
    return DocumentStatus(
        ref=ref,
        state=state,
        raw_state=str(code) if code is not None else str(info.get("stateCode")),
        amounts=Amounts(supply=supply, vat=vat, total=supply + vat),
        buyer_name=info.get("customerName") or None,
        issued_at=_kst_datetime(info.get("issueDT")),
        updated_at=_kst_datetime(info.get("stateDT")),
        confirm_number=info.get("confirmNum") or None,
        links=links or {},
        detail=detail,
        raw=_raw(info),
    )


def business_status(state: dict[str, Any], *, bizno: str | None = None) -> BusinessStatus:
    """A CloseDown CorpState as a `BusinessStatus`."""
    raw_state = state.get("state")
    raw_state_text = None if raw_state in (None, "") else str(raw_state)
    tax_code = state.get("taxType")
    tax_code_text = None if tax_code in (None, "") else str(tax_code)
    business = _BUSINESS_STATES.get(raw_state_text or "", BusinessState.UNKNOWN)
    checked = _date(state.get("checkDate"))
    detail = None
    if business is BusinessState.UNKNOWN:
        detail = "the National Tax Service gave no status for this number"
    elif business is BusinessState.UNREGISTERED:
        detail = "not registered with the National Tax Service"
    return BusinessStatus(
        bizno=str(state.get("corpNum") or bizno or ""),
        state=business,
        raw_state=raw_state_text,
        tax_type=TAX_TYPE_NAMES.get(tax_code_text or "") if tax_code_text else None,
        tax_type_code=tax_code_text,
        state_date=_date(state.get("stateDate")),
        type_date=_date(state.get("typeDate")),
        checked_at=dt.datetime.combine(checked, dt.time(), tzinfo=KST) if checked else None,
        detail=detail,
    )


def _qty(value: Decimal) -> str:
    if value != value.quantize(Decimal("0.01")):
        raise RequestInvalid(f"quantity {value} has more than two decimals (Popbill allows two)", provider=PROVIDER,
                             code="qty")
    text = format(value.normalize(), "f")
    return text


def _digits(phone: str) -> str:
    return re.sub(r"[^0-9]", "", phone)


def _sms_text(text: str, limit: int = 90) -> str:
    """Cut to Popbill's 90-byte SMS limit (EUC-KR: 2 bytes per Korean letter) on a character boundary."""
    out = ""
    for ch in text:
        candidate = out + ch
        try:
            size = len(candidate.encode("cp949"))
        except UnicodeEncodeError:
            size = len(candidate.encode("utf-8"))
        if size > limit:
            break
        out = candidate
    return out


class PopbillService:
    """Popbill behind the bot's `InvoiceProvider` interface.

    Args:
        config: credentials, hosts and HTTP policy (`config.corp_num` is the seller).
        seller: our business as printed on documents.
        sandbox: True when talking to the built-in sandbox (auth and API on one URL).
        transport: injected httpx transport for tests.
        concurrency: parallel batch calls in `statuses`.
        token_margin: seconds before expiry at which a LinkHub token is replaced.
        clock: time source for tokens (tests share the sandbox clock).
    """

    provider = Provider.POPBILL
    capabilities = Capabilities(
        provider=Provider.POPBILL,
        kinds=frozenset({DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE, DocumentKind.EXEMPT_INVOICE,
                         DocumentKind.CASH_RECEIPT}),
        resend_channels=frozenset({ResendChannel.EMAIL, ResendChannel.SMS, ResendChannel.FAX}),
        destroy=True,
        closure_check=True,
        batch_status=True,
        batch_size=MAX_BATCH,
        links=True,
        currencies=frozenset({"KRW"}),
        notes={
            "resend": "resends tax invoices by email, SMS or fax, and cash receipts by email only",
            "destroy": "cancels and deletes documents not yet sent to the National Tax Service; a filed tax "
                       "invoice needs an amended (수정) invoice, a filed cash receipt a cancellation receipt",
            "links": "popup and PDF links are valid for about 30 seconds",
        },
    )

    def __init__(
        self,
        config: PopbillConfig,
        *,
        seller: SellerConfig,
        sandbox: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = 16,
        token_margin: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not config.link_id or config.secret_key is None:
            raise RequestInvalid("Popbill is not configured: a LinkID and SecretKey are required", provider=PROVIDER,
                                 code="credentials")
        self.config = config
        self.seller = seller
        self.sandbox = sandbox or config.sandbox
        api_url = config.api_url or (POPBILL_URL_TEST if config.is_test else POPBILL_URL_REAL)
        if config.auth_url:
            auth_url = config.auth_url
        elif self.sandbox and config.api_url:
            auth_url = config.api_url  # the sandbox serves LinkHub and Popbill on one port
        else:
            auth_url = LINKHUB_URL
        headers = {"User-Agent": "invoicebot-popbill/0.1"}
        self._auth_http = ProviderHttp(PROVIDER, auth_url, policy=config.policy, transport=transport, headers=headers)
        self._api_http = ProviderHttp(PROVIDER, api_url, policy=config.policy, transport=transport, headers=headers)
        self.auth = LinkhubAuth(self._auth_http, link_id=config.link_id,
                                secret_key=config.secret_key.get_secret_value(), is_test=config.is_test,
                                ip_restrict=config.ip_restrict, margin=token_margin, clock=clock)
        common: dict[str, Any] = {"corp_num": config.corp_num, "user_id": config.user_id}
        self.taxinvoice = TaxinvoiceClient(self._api_http, self.auth, **common)
        self.cashbill = CashbillClient(self._api_http, self.auth, **common)
        self.closedown = CloseDownClient(self._api_http, self.auth, **common)
        self._semaphore = asyncio.Semaphore(max(1, concurrency))

    async def aclose(self) -> None:
        await self._api_http.aclose()
        await self._auth_http.aclose()

    # -- helpers -----------------------------------------------------------------------------
    def _ref(self, kind: DocumentKind, key: str) -> DocumentRef:
        return DocumentRef(provider=Provider.POPBILL, kind=kind, provider_id=key)

    def _check_ref(self, ref: DocumentRef) -> str:
        if ref.provider is not Provider.POPBILL:
            raise RequestInvalid(f"{ref} is not a Popbill document", provider=PROVIDER, code="provider")
        self.capabilities.require_kind(ref.kind)
        return validate_mgt_key(ref.provider_id)

    def _seller_party(self, request: IssueRequest) -> Party:
        s = self.seller
        base = Party(name=s.name, bizno=self.config.corp_num, ceo_name=s.ceo_name, address=s.address,
                     biz_type=s.biz_type, biz_class=s.biz_class, contact_name=s.contact_name, email=s.email,
                     phone=s.phone)
        if request.seller is None:
            return base
        given = request.seller
        if given.bizno and _digits(given.bizno) != self.config.corp_num:
            raise RequestInvalid(
                f"the seller's business number {given.bizno} is not the Popbill member {self.config.corp_num}",
                provider=PROVIDER, code="seller",
                user_hint="Popbill issues only as the configured member business; remove the seller override.",
            )
        overrides = {k: v for k, v in given.model_dump().items() if v is not None and k != "bizno"}
        return base.model_copy(update=overrides)

    @staticmethod
    def _buyer_bizno(buyer: Party) -> str:
        if not buyer.bizno:
            raise RequestInvalid("a tax invoice needs the buyer's business number (사업자등록번호)", provider=PROVIDER,
                                 code="buyer_bizno",
                                 user_hint="Add the buyer's 10-digit business number, or issue a cash receipt.")
        try:
            return normalize_bizno(buyer.bizno)
        except InvalidBizno as exc:
            raise RequestInvalid(str(exc), provider=PROVIDER, code="buyer_bizno") from exc

    def taxinvoice_body(self, request: IssueRequest) -> dict[str, Any]:
        """The Taxinvoice object for `request` (field order as in Popbill's examples, amounts as strings)."""
        key = validate_mgt_key(request.key)
        if len(request.items) > MAX_DETAIL_LINES:
            raise RequestInvalid(f"a Popbill tax invoice has at most {MAX_DETAIL_LINES} lines "
                                 f"({len(request.items)} given)", provider=PROVIDER, code="lines")
        if request.currency != "KRW":
            raise RequestInvalid("Popbill tax invoices are in KRW only", provider=PROVIDER, code="currency")
        seller = self._seller_party(request)
        buyer = request.buyer
        write_date = request.write_date.strftime("%Y%m%d")
        amounts = request.amounts()
        body: dict[str, Any] = {
            "writeDate": write_date,
            "chargeDirection": "정과금",
            "issueType": "정발행",
            "purposeType": _PURPOSE_TEXT[request.purpose],
            "taxType": _TAX_TYPE_TEXT[request.tax_type],
            "invoicerCorpNum": self.config.corp_num,
            "invoicerCorpName": seller.name,
            "invoicerMgtKey": key,
            "invoicerCEOName": seller.ceo_name or seller.name,
            "invoicerAddr": seller.address,
            "invoicerBizType": seller.biz_type,
            "invoicerBizClass": seller.biz_class,
            "invoicerContactName": seller.contact_name,
            "invoicerEmail": seller.email,
            "invoicerTEL": seller.phone,
            "invoicerSMSSendYN": False,
            "invoiceeType": "사업자",
            "invoiceeCorpNum": self._buyer_bizno(buyer),
            "invoiceeCorpName": buyer.name,
            "invoiceeCEOName": buyer.ceo_name or buyer.name,
            "invoiceeAddr": buyer.address,
            "invoiceeBizType": buyer.biz_type,
            "invoiceeBizClass": buyer.biz_class,
            "invoiceeContactName1": buyer.contact_name,
            "invoiceeEmail1": buyer.email,
            "invoiceeTEL1": buyer.phone,
            "invoiceeSMSSendYN": False,
            "supplyCostTotal": str(amounts.supply),
            "taxTotal": str(amounts.vat),
            "totalAmount": str(amounts.total),
            "remark1": request.memo,
            "detailList": [self._detail(i, item, write_date, request.tax_type)
                           for i, item in enumerate(request.items, start=1)],
        }
        return {k: v for k, v in body.items() if v is not None}

    @staticmethod
    def _detail(serial: int, item: LineItem, write_date: str, tax_type: TaxType) -> dict[str, Any]:
        line: dict[str, Any] = {
            "serialNum": serial,
            "purchaseDT": write_date,
            "itemName": item.name,
            "spec": item.spec,
            "qty": _qty(item.quantity),
            "unitCost": str(item.unit_price),
            "supplyCost": str(item.supply_amount()),
            "tax": str(item.vat_amount(tax_type)),
            "remark": item.remark,
        }
        return {k: v for k, v in line.items() if v is not None}

    def cashbill_body(self, request: IssueRequest) -> dict[str, Any]:
        """The Cashbill object for `request`: 지출증빙용 with the buyer's business number, 소득공제용 with a
        phone number, or Popbill's voluntary-issuance number 0100001234 when the buyer gave neither."""
        key = validate_mgt_key(request.key)
        if request.currency != "KRW":
            raise RequestInvalid("Popbill cash receipts are in KRW only", provider=PROVIDER, code="currency")
        seller = self._seller_party(request)
        buyer = request.buyer
        amounts = request.amounts()
        if buyer.bizno:
            usage, identity = "지출증빙용", self._buyer_bizno(buyer)
        elif buyer.phone and _digits(buyer.phone):
            usage, identity = "소득공제용", _digits(buyer.phone)
        else:
            usage, identity = "소득공제용", "0100001234"
        names = [i.name for i in request.items]
        item_name = names[0] if len(names) == 1 else f"{names[0]} 외 {len(names) - 1}건"
        body: dict[str, Any] = {
            "mgtKey": key,
            "tradeDT": request.write_date.strftime("%Y%m%d") + "000000",
            "tradeType": "승인거래",
            "tradeUsage": usage,
            "tradeOpt": "일반",
            "taxationType": "과세" if amounts.vat > 0 else "비과세",
            "totalAmount": str(amounts.total),
            "supplyCost": str(amounts.supply),
            "tax": str(amounts.vat),
            "serviceFee": "0",
            "franchiseCorpNum": self.config.corp_num,
            "franchiseCorpName": seller.name,
            "franchiseCEOName": seller.ceo_name,
            "franchiseAddr": seller.address,
            "franchiseTEL": seller.phone,
            "identityNum": identity,
            "customerName": buyer.name,
            "itemName": item_name[:100],
            "orderNumber": request.key,
            "email": buyer.email,
            "hp": _digits(buyer.phone) if buyer.phone else None,
            "smssendYN": False,
        }
        return {k: v for k, v in body.items() if v is not None}

    async def _links(self, ref: DocumentRef) -> dict[str, str]:
        key = ref.provider_id
        try:
            if ref.kind is DocumentKind.CASH_RECEIPT:
                popup, pdf = await asyncio.gather(self.cashbill.get_popup_url(key), self.cashbill.get_pdf_url(key))
            else:
                popup, pdf = await asyncio.gather(self.taxinvoice.get_popup_url(MgtKeyType.SELL, key),
                                                  self.taxinvoice.get_pdf_url(MgtKeyType.SELL, key))
        except ProviderError as exc:
            # Links are a convenience: a status without them is still the truth.
            log.warning("popbill: no links for %s (%s)", ref, exc)
            return {}
        return {"popup": popup, "pdf": pdf}

    # -- InvoiceProvider -----------------------------------------------------------------------
    async def issue(self, request: IssueRequest) -> DocumentStatus:
        """Issue with the MgtKey = `request.key`; a repeat is refused by Popbill as a duplicate key."""
        if request.provider is not Provider.POPBILL:
            raise RequestInvalid(f"this request is for {request.provider.value}, not popbill", provider=PROVIDER,
                                 code="provider")
        self.capabilities.require_kind(request.kind)
        ref = self._ref(request.kind, validate_mgt_key(request.key))
        if request.kind is DocumentKind.CASH_RECEIPT:
            answer = await self.cashbill.regist_issue(self.cashbill_body(request), memo=request.memo)
            confirm = answer.get("confirmNum")
        else:
            answer = await self.taxinvoice.regist_issue(self.taxinvoice_body(request), memo=request.memo)
            confirm = answer.get("ntsConfirmNum")
        try:
            return await self.status(ref)
        except ProviderError as exc:
            # The document exists; only the follow-up read failed. Report what the issue answer said.
            log.warning("popbill: issued %s but reading it back failed (%s)", ref, exc)
            return DocumentStatus(ref=ref, state=DocumentState.ISSUED, raw_state="300", amounts=request.amounts(),
                                  buyer_name=request.buyer.name, buyer_bizno=request.buyer.bizno,
                                  confirm_number=confirm or None, raw=dict(answer),
                                  detail="issued; the status could not be read back yet")

    async def find(self, request: IssueRequest) -> DocumentStatus | None:
        self.capabilities.require_kind(request.kind)
        ref = self._ref(request.kind, validate_mgt_key(request.key))
        try:
            return await self._read(ref)
        except DocumentNotFound:
            return None

    async def _read(self, ref: DocumentRef) -> DocumentStatus:
        key = ref.provider_id
        if ref.kind is DocumentKind.CASH_RECEIPT:
            return cashbill_status(await self.cashbill.get_info(key), ref)
        return taxinvoice_status(await self.taxinvoice.get_info(MgtKeyType.SELL, key), ref)

    async def status(self, ref: DocumentRef) -> DocumentStatus:
        """One document with its popup/PDF links (and history for tax invoices)."""
        key = self._check_ref(ref)
        if ref.kind is DocumentKind.CASH_RECEIPT:
            info, links = await asyncio.gather(self.cashbill.get_info(key), self._links(ref))
            return cashbill_status(info, ref, links=links)
        info, links, logs = await asyncio.gather(self.taxinvoice.get_info(MgtKeyType.SELL, key), self._links(ref),
                                                 self._logs(key))
        return taxinvoice_status(info, ref, links=links, logs=logs)

    async def _logs(self, key: str) -> list[dict[str, Any]]:
        try:
            return await self.taxinvoice.get_logs(MgtKeyType.SELL, key)
        except ProviderError as exc:
            log.warning("popbill: no history for %s (%s)", key, exc)
            return []

    async def statuses(self, refs: Sequence[DocumentRef]) -> dict[str, DocumentStatus]:
        """getInfos in batches of 1,000 (tax invoices and cash receipts separately)."""
        tax_refs: dict[str, DocumentRef] = {}
        cash_refs: dict[str, DocumentRef] = {}
        for ref in refs:
            key = self._check_ref(ref)
            (cash_refs if ref.kind is DocumentKind.CASH_RECEIPT else tax_refs)[key] = ref
        result: dict[str, DocumentStatus] = {}

        async def tax_batch(keys: list[str]) -> None:
            async with self._semaphore:
                infos = await self.taxinvoice.get_infos(MgtKeyType.SELL, keys)
            for info in infos:
                key = str(info.get("invoicerMgtKey") or "")
                if info.get("itemKey") and key in tax_refs:
                    result[key] = taxinvoice_status(info, tax_refs[key])

        async def cash_batch(keys: list[str]) -> None:
            async with self._semaphore:
                infos = await self.cashbill.get_infos(keys)
            for info in infos:
                key = str(info.get("mgtKey") or "")
                if info.get("itemKey") and key in cash_refs:
                    result[key] = cashbill_status(info, cash_refs[key])

        jobs = [tax_batch(b) for b in chunks(list(tax_refs), MAX_BATCH)]
        jobs += [cash_batch(b) for b in chunks(list(cash_refs), MAX_BATCH)]
        await asyncio.gather(*jobs)
        return result

    async def resend(self, ref: DocumentRef, request: ResendRequest) -> None:
        """Email, SMS or fax for tax invoices; email only for cash receipts (Popbill has no other)."""
        key = self._check_ref(ref)
        channel = request.channel
        if ref.kind is DocumentKind.CASH_RECEIPT:
            if channel not in (ResendChannel.EMAIL, ResendChannel.DEFAULT):
                raise NotSupported(
                    f"popbill can resend a cash receipt only by email, not by {channel.value} "
                    "(SMS and fax are available for tax invoices)",
                    provider=PROVIDER, code="resend_channel",
                    user_hint="Resend the cash receipt by email instead.",
                )
            address = request.address or (await self.cashbill.get_info(key)).get("email")
            await self.cashbill.send_email(key, self._email(address))
            return
        self.capabilities.require_resend(channel)
        if channel in (ResendChannel.EMAIL, ResendChannel.DEFAULT):
            address = request.address
            if not address:
                address = (await self.taxinvoice.get_detail_info(MgtKeyType.SELL, key)).get("invoiceeEmail1")
            await self.taxinvoice.send_email(MgtKeyType.SELL, key, self._email(address))
        elif channel is ResendChannel.SMS:
            receiver = request.address
            if not receiver:
                detail = await self.taxinvoice.get_detail_info(MgtKeyType.SELL, key)
                receiver = detail.get("invoiceeHP1") or detail.get("invoiceeTEL1")
            text = _sms_text(f"[{self.seller.name}] 전자세금계산서가 발행되었습니다. 메일을 확인해 주세요.")
            await self.taxinvoice.send_sms(MgtKeyType.SELL, key, self._phone(self.seller.phone, "sender"),
                                           self._phone(receiver, "mobile"), text)
        else:  # FAX
            if not request.address:
                raise RequestInvalid("a fax resend needs the fax number", provider=PROVIDER, code="receiver",
                                     user_hint="Give the buyer's fax number.")
            await self.taxinvoice.send_fax(MgtKeyType.SELL, key, self._phone(self.seller.phone, "sender"),
                                           self._phone(request.address, "fax"))

    @staticmethod
    def _email(address: Any) -> str:
        if not address or not _EMAIL.fullmatch(str(address)):
            raise RequestInvalid(f"no valid e-mail address to send to ({address!r})", provider=PROVIDER,
                                 code="receiver", user_hint="Give the buyer's e-mail address.")
        return str(address)

    @staticmethod
    def _phone(number: Any, what: str) -> str:
        if not number or not _PHONE.fullmatch(str(number)):
            raise RequestInvalid(f"no valid {what} number ({number!r})", provider=PROVIDER, code="receiver",
                                 user_hint=f"Give a {what} number such as 010-1234-5678.")
        return _digits(str(number))

    async def destroy(self, ref: DocumentRef, reason: str | None = None) -> DocumentStatus:
        """Cancel and/or delete as the current state allows; refuse clearly once filing has started."""
        key = self._check_ref(ref)
        if ref.kind is DocumentKind.CASH_RECEIPT:
            return await self._destroy_cashbill(ref, key, reason)
        info = await self.taxinvoice.get_info(MgtKeyType.SELL, key)
        code = _state_code(info)
        if code == 300:
            await self.taxinvoice.cancel_issue(MgtKeyType.SELL, key, reason)
            await self.taxinvoice.delete(MgtKeyType.SELL, key)
            return self._deleted(taxinvoice_status(info, ref), "600", "cancelled and deleted; the key is free again")
        if code == 600 or (code is not None and code < 300):
            await self.taxinvoice.delete(MgtKeyType.SELL, key)
            return self._deleted(taxinvoice_status(info, ref), str(code), "deleted; the key is free again")
        if code in (301, 302, 303, 304, 305):
            raise ProviderRejected(
                f"{key} was already sent to the National Tax Service (state {code}): it cannot be cancelled; "
                "issue an amended (수정) invoice instead",
                provider=PROVIDER, code="filed", user_hint=_FILED_HINT,
            )
        raise ProviderRejected(f"{key} is in Popbill state {info.get('stateCode')!r}, which cannot be cancelled here",
                               provider=PROVIDER, code="state",
                               user_hint="Check the document on the Popbill website.")

    @staticmethod
    def _deleted(status: DocumentStatus, raw_state: str, detail: str) -> DocumentStatus:
        return status.model_copy(update={"state": DocumentState.DELETED, "raw_state": raw_state, "detail": detail,
                                         "links": {}})

    async def _destroy_cashbill(self, ref: DocumentRef, key: str, reason: str | None) -> DocumentStatus:
        info = await self.cashbill.get_info(key)
        code = _state_code(info)
        if code == 300:
            await self.cashbill.cancel_issue(key, reason)
            await self.cashbill.delete(key)
            return self._deleted(cashbill_status(info, ref), "300", "cancelled and deleted; the key is free again")
        if code in (400, 600) or (code is not None and code < 300):
            await self.cashbill.delete(key)
            return self._deleted(cashbill_status(info, ref), str(code), "deleted; the key is free again")
        if code == 304:
            return await self._revoke_cashbill(ref, key, info, reason)
        if code == 305:
            raise ProviderRejected(
                f"cash receipt {key} was refused by the National Tax Service (state 305): there is nothing filed "
                "to cancel", provider=PROVIDER, code="filing_failed",
                user_hint="Issue a corrected cash receipt under a new key if the buyer still needs one.",
            )
        raise ProviderRejected(
            f"cash receipt {key} is being sent to the National Tax Service (state {info.get('stateCode')}): "
            "it can be revoked once the filing result is in",
            provider=PROVIDER, code="filing", user_hint="Try again after the NTS result arrives (usually a day).",
        )

    async def _revoke_cashbill(self, ref: DocumentRef, key: str, info: dict[str, Any],
                               reason: str | None) -> DocumentStatus:
        """Issue the cancellation receipt (취소거래) for a filed receipt under the derived key ``<key>-C``."""
        cancel_key = key + CANCEL_RECEIPT_SUFFIX
        if len(cancel_key) > 24:
            raise ProviderRejected(
                f"cash receipt {key} is filed; revoking it needs a cancellation receipt with key {cancel_key!r}, "
                "which is longer than Popbill's 24 characters",
                provider=PROVIDER, code="cancel_key", user_hint="Revoke this receipt on the Popbill website.",
            )
        body = {
            "mgtKey": cancel_key,
            "tradeType": "취소거래",
            "tradeUsage": info.get("tradeUsage"),
            "tradeOpt": info.get("tradeOpt") or "일반",
            "taxationType": info.get("taxationType"),
            "totalAmount": str(info.get("totalAmount")),
            "supplyCost": str(info.get("supplyCost")),
            "tax": str(info.get("tax")),
            "serviceFee": str(info.get("serviceFee") or "0"),
            "franchiseCorpNum": self.config.corp_num,
            "franchiseCorpName": self.seller.name,
            "franchiseCEOName": self.seller.ceo_name,
            "identityNum": info.get("identityNum"),
            "customerName": info.get("customerName"),
            "itemName": info.get("itemName"),
            "orderNumber": info.get("orderNumber"),
            "email": info.get("email"),
            "hp": info.get("hp"),
            "smssendYN": False,
            "orgConfirmNum": info.get("confirmNum"),
            "orgTradeDate": info.get("tradeDate"),
        }
        try:
            answer = await self.cashbill.regist_issue({k: v for k, v in body.items() if v is not None}, memo=reason)
        except ProviderRejected as exc:
            if exc.code not in ("-14001019", "-14000004"):
                raise
            answer = {}  # already revoked by an earlier attempt: the derived key exists
        status = cashbill_status(info, ref)
        return status.model_copy(update={
            "state": DocumentState.CANCELED,
            "detail": f"revoked by the cancellation cash receipt {cancel_key}"
                      + (f" (NTS confirm number {answer['confirmNum']})" if answer.get("confirmNum") else ""),
            "links": {},
        })

    async def check_closure(self, biznos: Sequence[str]) -> list[BusinessStatus]:
        """checkCorpNums in batches of 1,000; one `BusinessStatus` per number, in the given order."""
        numbers: list[str] = []
        for text in biznos:
            try:
                numbers.append(normalize_bizno(text))
            except InvalidBizno as exc:
                raise RequestInvalid(str(exc), provider=PROVIDER, code="bizno") from exc
        if not numbers:
            return []
        unique = list(dict.fromkeys(numbers))
        answers = await self.closedown.check_corp_nums(unique)
        by_number = {str(a.get("corpNum")): a for a in answers}
        return [business_status(by_number.get(n, {"corpNum": n}), bizno=n) for n in numbers]


def create_service(
    config: PopbillConfig,
    *,
    seller: SellerConfig,
    sandbox: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> PopbillService:
    """The registry's factory: `config.api_url` is the API base (the sandbox URL in sandbox mode,
    where it also serves LinkHub); None means Popbill's own hosts chosen by `config.is_test`."""
    return PopbillService(config, seller=seller, sandbox=sandbox, transport=transport)
