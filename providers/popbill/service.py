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
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from providers.base import BuyerField, Capabilities
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
    BusinessStatus,
    DocumentKind,
    DocumentRef,
    DocumentState,
    DocumentStatus,
    IssueRequest,
    Provider,
    ResendChannel,
    ResendRequest,
    StatusEvent,
    TaxType,
)
from providers.popbill import _filing
from providers.popbill._answers import (
    TAX_TYPE_NAMES,
    _state_code,
    business_status,
    cashbill_status,
    taxinvoice_history,
    taxinvoice_status,
)
from providers.popbill._auth import LINKHUB_URL, PROVIDER, LinkhubAuth
from providers.popbill._base import MAX_BATCH, POPBILL_URL_REAL, POPBILL_URL_TEST, chunks, validate_mgt_key
from providers.popbill._bodies import (
    _EMAIL,
    _PHONE,
    CANCEL_RECEIPT_SUFFIX,
    MAX_DETAIL_LINES,
    _digits,
    _DocumentBodies,
    _sms_text,
)
from providers.popbill._bulk import PopbillBulk
from providers.popbill._cashbill_destroy import deleted, destroy_cashbill, with_cancellation
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


#: statuses read from a getInfos answer between two turns of the event loop (`statuses`)
YIELD_EVERY = 100

log = logging.getLogger("invoicebot.providers.popbill")


_FILED_HINT = ("Issue an amended tax invoice (수정세금계산서) for the correction instead; "
               "Popbill cannot cancel a document the National Tax Service already has.")


_TAX_KINDS = (DocumentKind.TAX_INVOICE, DocumentKind.ZERO_RATED_INVOICE, DocumentKind.EXEMPT_INVOICE)
_FILING_STATES = frozenset({DocumentState.FILING, DocumentState.FILED, DocumentState.FILING_FAILED})


class PopbillService(_DocumentBodies, PopbillBulk):
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
        # Taxinvoice: invoiceeCorpNum and invoiceeCorpName are required (seed 001); the required
        # invoiceeCEOName falls back to the company name in the body, so it is not asked for
        required_buyer={kind: frozenset({BuyerField.BIZNO, BuyerField.NAME}) for kind in _TAX_KINDS},
        quantity_decimals=2,  # detailList qty: "Available to two decimal places"
        max_items=MAX_DETAIL_LINES,
        # cancelIssue works only before the NTS has it (state 300); a filed cash receipt is revoked
        # by a cancellation receipt, so only "being filed" blocks it
        destroy_blocked={
            **{kind: _FILING_STATES for kind in _TAX_KINDS},
            DocumentKind.CASH_RECEIPT: frozenset({DocumentState.FILING}),
        },
        # Cashbill taxationType is 과세 or 비과세; its tradeUsage picks whose identityNum it carries
        taxations={DocumentKind.CASH_RECEIPT: frozenset({TaxType.EXEMPT})},
        identity_kinds=frozenset({DocumentKind.CASH_RECEIPT}),
        notes={
            "resend": "resends tax invoices by email, SMS or fax, and cash receipts by email only",
            "destroy": "cancels and deletes documents not yet sent to the National Tax Service; a filed tax "
                       "invoice needs an amended (수정) invoice, a filed cash receipt a cancellation receipt",
            "links": "popup and PDF links are valid for about 30 seconds, so they are fetched when asked for",
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

    async def popup_url(self, ref: DocumentRef) -> str:
        """A fresh URL of the document's page at Popbill (getPopUpURL). It lives about 30 seconds,
        so it is fetched when someone asks to open the document, never kept in a message."""
        key = self._check_ref(ref)
        if ref.kind is DocumentKind.CASH_RECEIPT:
            return await self.cashbill.get_popup_url(key)
        return await self.taxinvoice.get_popup_url(MgtKeyType.SELL, key)

    async def history(self, ref: DocumentRef) -> tuple[StatusEvent, ...]:
        """A tax invoice's processing history (getLogs); cash receipts have none. Not part of
        `status`: nothing that reads a status shows it, and it is one more call per read."""
        key = self._check_ref(ref)
        if ref.kind is DocumentKind.CASH_RECEIPT:
            return ()
        return taxinvoice_history(await self.taxinvoice.get_logs(MgtKeyType.SELL, key))

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
            answer = await self.taxinvoice.regist_issue(self.taxinvoice_body(request), memo=request.memo,
                                                        force_issue=request.force_issue)
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
        """One document: getInfo only (a filed cash receipt also its cancellation receipt).

        No popup/PDF URLs (they live 30 seconds: `popup_url` and `pdf` fetch them on demand)
        and no history (`history`), so a status costs one call, not four.
        """
        key = self._check_ref(ref)
        if ref.kind is DocumentKind.CASH_RECEIPT:
            return await with_cancellation(self.cashbill, cashbill_status(await self.cashbill.get_info(key), ref))
        return taxinvoice_status(await self.taxinvoice.get_info(MgtKeyType.SELL, key), ref)

    async def statuses(self, refs: Sequence[DocumentRef]) -> dict[str, DocumentStatus]:
        """getInfos in batches of 1,000 (tax invoices and cash receipts separately).

        A batch's answer is read `YIELD_EVERY` documents at a time, letting the event loop run in
        between: reading 1,000 statuses is ~20 ms of CPU in one piece, and in the sweep the other
        providers' answers (the slowest provider's rounds set the sweep's wall time) waited behind it.
        """
        tax_refs: dict[str, DocumentRef] = {}
        cash_refs: dict[str, DocumentRef] = {}
        for ref in refs:
            key = self._check_ref(ref)
            (cash_refs if ref.kind is DocumentKind.CASH_RECEIPT else tax_refs)[key] = ref
        result: dict[str, DocumentStatus] = {}

        async def tax_batch(keys: list[str]) -> None:
            async with self._semaphore:
                infos = await self.taxinvoice.get_infos(MgtKeyType.SELL, keys)
            for index, info in enumerate(infos):
                if index and not index % YIELD_EVERY:
                    await asyncio.sleep(0)
                key = str(info.get("invoicerMgtKey") or "")
                if info.get("itemKey") and key in tax_refs:
                    result[key] = taxinvoice_status(info, tax_refs[key])

        async def cash_batch(keys: list[str]) -> None:
            async with self._semaphore:
                infos = await self.cashbill.get_infos(keys)
            for index, info in enumerate(infos):
                if index and not index % YIELD_EVERY:
                    await asyncio.sleep(0)
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
            return await destroy_cashbill(self.cashbill, ref, key, reason)
        info = await self.taxinvoice.get_info(MgtKeyType.SELL, key)
        code = _state_code(info)
        if code == 300:
            await self.taxinvoice.cancel_issue(MgtKeyType.SELL, key, reason)
            await self.taxinvoice.delete(MgtKeyType.SELL, key)
            return deleted(taxinvoice_status(info, ref), "600", "cancelled and deleted; the key is free again")
        if code == 600 or (code is not None and code < 300):
            await self.taxinvoice.delete(MgtKeyType.SELL, key)
            return deleted(taxinvoice_status(info, ref), str(code), "deleted; the key is free again")
        if code in (301, 302, 303, 304, 305):
            raise ProviderRejected(
                f"{key} was already sent to the National Tax Service (state {code}): it cannot be cancelled; "
                "issue an amended (수정) invoice instead",
                provider=PROVIDER, code="filed", user_hint=_FILED_HINT,
            )
        raise ProviderRejected(f"{key} is in Popbill state {info.get('stateCode')!r}, which cannot be cancelled here",
                               provider=PROVIDER, code="state",
                               user_hint="Check the document on the Popbill website.")

    async def send_to_nts(self, ref: DocumentRef, memo: str | None = None) -> DocumentStatus:
        """즉시전송: file an issued tax invoice with the NTS now (see `providers.popbill._filing`)."""
        return await _filing.send_to_nts(self.taxinvoice, self.status, ref, self._check_ref(ref), memo)

    async def pdf(self, ref: DocumentRef) -> bytes:
        """The document's PDF bytes (``getPDFURL`` fetched within the URL's 30 seconds)."""
        return await _filing.download_pdf(self._api_http, self.taxinvoice, self.cashbill, ref, self._check_ref(ref))

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
