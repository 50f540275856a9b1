"""Payssam as an :class:`~providers.base.InvoiceProvider`: bills paid by the customer online.

The billId is ours to choose, so it derives from `IssueRequest.key` one-to-one (see
`bill_id_for`: two keys never share a billId) and a repeated issue is refused by Payssam
instead of billing twice; after `OutcomeUnknown`, :meth:`PayssamService.find` reads the bill
to reconcile. Payssam has no list or batch query, so `statuses` reads bills one by one with
bounded concurrency.

What the bill asked for (price, supply and tax, ``expireDt``, the pay link) is not in any
documented answer, so it comes from our own record of the issue (`providers.issued`): the
ledger in the running bot, this process's memory otherwise. Destroying an unpaid bill sends
that price; expiry is that ``expireDt`` passed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any, Final

import httpx

from providers.base import BuyerField, Capabilities
from providers.config import DEMO_PAYSSAM, PayssamConfig, SellerConfig
from providers.errors import (
    DocumentNotFound,
    NotSupported,
    ProviderRejected,
    RequestInvalid,
)
from providers.issued import IssuedDocument, IssuedLedger, MemoryIssuedLedger
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
from providers.payssam._status import KST, bill_status
from providers.payssam.callback import PaymentCallback
from providers.payssam.client import (
    DEFAULT_BASE_URL,
    MAX_BILL_ISSUER,
    MAX_CANCEL_REASON,
    MAX_PRICE,
    PROVIDER,
    PayssamClient,
    SendType,
)

__all__ = ["CAPABILITIES", "KST", "SANDBOX_CALLBACK_PATH", "PayssamService", "bill_id_for", "create_service"]

#: Where a sandboxed service sends payment callbacks when no callback URL is configured:
#: the sandbox's own sink, which answers like a well-behaved partner.
SANDBOX_CALLBACK_PATH: Final = "/_sandbox/callback-sink"

#: escapes a character that is not a letter or digit (and "Z" itself) in a billId: Z + 2 hex digits
_ESCAPE: Final = "Z"

CAPABILITIES: Final = Capabilities(
    provider=Provider.PAYSSAM,
    kinds=frozenset({DocumentKind.BILL}),
    resend_channels=frozenset({ResendChannel.TALK}),
    destroy=True,
    closure_check=False,
    batch_status=False,
    batch_size=1,
    links=True,
    currencies=frozenset({"KRW"}),
    max_total=MAX_PRICE,
    mobile_kinds=frozenset({DocumentKind.BILL}),
    # BillRequest requires memberName and phone (seed 002); a bill carries one price, no quantities
    required_buyer={DocumentKind.BILL: frozenset({BuyerField.NAME, BuyerField.PHONE})},
    # seed 002: BillRequest has supplyPrice (공급가액) and tax (세액) beside price, so a bill may be
    # VAT-free (면세) or zero-rated: supplyPrice = price and tax = 0
    taxations={DocumentKind.BILL: frozenset({TaxType.ZERO_RATED, TaxType.EXEMPT})},
    notes={
        "mobile": "sends the bill to the buyer's mobile phone by KakaoTalk",
        "resend": "can only resend the KakaoTalk message, to the phone on the bill",
        "closure": "has no business closure check; use popbill or hiworks",
        "destroy": "destroys an unpaid bill and cancels the payment of a paid one (full amount only)",
        "status": "reads bills one by one (no batch query)",
    },
)


def bill_id_for(key: str) -> str:
    """The billId for our idempotency key, one-to-one: two keys never give the same billId.

    Letters and digits stay; any other ASCII character (and the escape letter ``Z``) becomes
    ``Z`` and its two hex digits, so ``INV-000123`` -> ``INVZ2D000123`` while ``INV000123``
    stays as it is. Seed 002 allows 1 to 20 characters; the V1 pages and public clients say
    letters and digits, and the escaped form satisfies both.
    """
    parts: list[str] = []
    for char in key:
        if char.isascii() and char.isalnum() and char != _ESCAPE:
            parts.append(char)
        elif char.isascii() and char.isprintable():
            parts.append(f"{_ESCAPE}{ord(char):02X}")
        else:
            parts = []
            break
    bill_id = "".join(parts)
    if not bill_id or len(bill_id) > 20:
        raise RequestInvalid(
            f"key {key!r} gives billId {bill_id!r}; payssam needs 1 to 20 characters",
            provider=PROVIDER,
            code="invalid_bill_id",
            user_hint="Use a shorter document key (ASCII; each character other than a letter or digit "
            "takes three of Payssam's 20).",
        )
    return bill_id


class PayssamService:
    """Bills (청구서) through Payssam.

    Args:
        client: the low-level client.
        seller: our business; its name is printed on the bill (billIssuer).
        sandbox: True when the client talks to the built-in sandbox.
        send_type: ``TALK`` (Payssam sends the KakaoTalk message) or ``URL`` (only a pay link,
            which the status carries in ``links["pay"]``).
        callback_url: payment callback used when the request has none.
        concurrency: parallel ``/bill/read`` calls in `statuses`.
        issued: where what we issued is kept (price, expireDt, pay link); defaults to this
            process's memory, which a restart forgets.
        now: the current time (tests pass a fixed one).
    """

    provider = Provider.PAYSSAM
    capabilities = CAPABILITIES

    def __init__(
        self,
        client: PayssamClient,
        *,
        seller: SellerConfig | None = None,
        sandbox: bool = False,
        send_type: SendType = "TALK",
        callback_url: str | None = None,
        concurrency: int = 16,
        issued: IssuedLedger | None = None,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.client = client
        self.seller = seller or SellerConfig()
        self.sandbox = sandbox
        self.send_type: SendType = send_type
        self.callback_url = callback_url
        self.concurrency = max(1, concurrency)
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        # What this process issued, asked first: the ledger may not have the row's provider id
        # yet while an issue is being recorded.
        self._memory = MemoryIssuedLedger()
        self.issued = issued

    # -- issue -------------------------------------------------------------------------
    async def issue(self, request: IssueRequest) -> DocumentStatus:
        self.capabilities.require_kind(request.kind)
        if request.provider is not Provider.PAYSSAM:
            raise RequestInvalid(
                f"this request is for {request.provider.value}, not payssam", provider=PROVIDER, code="provider"
            )
        self.capabilities.require_currency(request.currency)
        bill_id = bill_id_for(request.key)
        phone = self.capabilities.require_mobile(request.kind, request.buyer.phone)
        assert phone is not None  # every payssam kind goes to a mobile phone (CAPABILITIES.mobile_kinds)
        amounts = request.amounts()
        if amounts.total <= 0:
            raise RequestInvalid("a payssam bill must ask for more than 0 won", provider=PROVIDER, code="price")
        self.capabilities.require_total(amounts.total, request.currency)
        expire = request.due_date or (request.write_date + dt.timedelta(days=7))
        issuer = (request.seller.name if request.seller else self.seller.name)[:MAX_BILL_ISSUER]
        sent = await self.client.send_bill(
            bill_id=bill_id,
            send_type=self.send_type,
            product_name=self._product_name(request),
            price=str(amounts.total),
            supply_price=str(amounts.supply),
            tax=str(amounts.vat),
            member_name=request.buyer.name,
            phone=phone,
            callback_url=self._callback_url(request),
            expire_dt=expire,
            message=request.memo,
            bill_issuer=issuer,
        )
        links = {"pay": sent.short_url} if sent.short_url else {}
        self._memory.remember(IssuedDocument(provider=Provider.PAYSSAM, provider_id=bill_id, amounts=amounts,
                                             due_date=expire, links=links, buyer_name=request.buyer.name))
        return DocumentStatus(
            ref=self._ref(bill_id),
            state=DocumentState.UNPAID,
            raw_state="W",
            amounts=amounts,
            buyer_name=request.buyer.name,
            issued_at=self._now(),
            due_date=expire,
            links=links,
            history=(StatusEvent(at=self._now(), what=f"bill sent ({self.send_type})", raw_code="W"),),
            raw=sent.wire(),
        )

    @staticmethod
    def _product_name(request: IssueRequest) -> str:
        first = request.items[0].name
        more = len(request.items) - 1
        return f"{first} 외 {more}건" if more else first

    def _callback_url(self, request: IssueRequest) -> str:
        url = request.callback_url or self.callback_url
        if url:
            return url
        if self.sandbox:
            root = re.sub(r"/partner/?$", "", self.client.http.base_url.rstrip("/"))
            return root + SANDBOX_CALLBACK_PATH
        raise RequestInvalid(
            "payssam needs a payment callback URL for every bill, and none is configured",
            provider=PROVIDER,
            code="callback_url",
            user_hint="Set INVOICEBOT_PUBLIC_URL so Payssam can report payments to the bot.",
        )

    # -- read --------------------------------------------------------------------------
    async def find(self, request: IssueRequest) -> DocumentStatus | None:
        try:
            return await self.status(self._ref(bill_id_for(request.key)))
        except DocumentNotFound:
            return None

    async def status(self, ref: DocumentRef) -> DocumentStatus:
        info = await self.client.read(ref.provider_id)
        return bill_status(ref, info, self._now, await self._issued(ref.provider_id))

    async def _issued(self, bill_id: str) -> IssuedDocument | None:
        """Our record of the bill: this process's memory, else the ledger; None when not ours."""
        found = await self._memory.issued(Provider.PAYSSAM, bill_id)
        if found is None and self.issued is not None:
            found = await self.issued.issued(Provider.PAYSSAM, bill_id)
        return found

    async def statuses(self, refs: Sequence[DocumentRef]) -> dict[str, DocumentStatus]:
        limit = asyncio.Semaphore(self.concurrency)

        async def one(ref: DocumentRef) -> DocumentStatus | None:
            async with limit:
                try:
                    return await self.status(ref)
                except DocumentNotFound:
                    return None

        unique = list({ref.provider_id: ref for ref in refs}.values())
        if len(unique) == 1:  # the sweep's read of one bill: no task to schedule around one call
            results = [await one(unique[0])]
        else:
            results = await asyncio.gather(*(one(ref) for ref in unique))
        return {s.ref.provider_id: s for s in results if s is not None}

    # -- resend / destroy ----------------------------------------------------------------
    async def resend(self, ref: DocumentRef, request: ResendRequest) -> None:
        if request.channel not in (ResendChannel.DEFAULT, ResendChannel.TALK):
            raise NotSupported(
                f"payssam can only resend the KakaoTalk message (not by {request.channel.value})",
                provider=PROVIDER,
                code="resend_channel",
            )
        if request.address:
            raise NotSupported(
                "payssam can only resend the KakaoTalk message to the phone on the bill, not to another address",
                provider=PROVIDER,
                code="resend_address",
                user_hint="To bill another phone, destroy this bill and issue a new one.",
            )
        await self.client.resend(ref.provider_id)

    async def destroy(self, ref: DocumentRef, reason: str | None = None) -> DocumentStatus:
        """Unpaid: destroy (파기). Paid: cancel the payment, full amount. Otherwise refuse."""
        current = await self.status(ref)
        if current.raw_state == "W":
            # The price we sent when we issued it: /bill/read does not document one.
            issued = await self._issued(ref.provider_id)
            total = issued.amounts.total if issued is not None and issued.amounts is not None else None
            await self.client.destroy(ref.provider_id, self._price(ref, None if total is None else str(total)))
        elif current.raw_state == "F":
            paid = self._price(ref, current.raw.get("apprPrice"))  # documented approval field
            await self.client.cancel(ref.provider_id, paid, (reason or "청구 취소")[:MAX_CANCEL_REASON])
        elif current.raw_state in ("C", "D"):
            what = "cancelled" if current.raw_state == "C" else "destroyed"
            raise ProviderRejected(
                f"payssam bill {ref.provider_id} is already {what}",
                provider=PROVIDER,
                code=f"already_{what}",
                user_hint="Nothing to do: the bill can no longer be paid.",
            )
        else:
            raise ProviderRejected(
                f"payssam bill {ref.provider_id} is in state {current.raw_state!r}, which cannot be undone",
                provider=PROVIDER,
                code="state",
            )
        return await self.status(ref)

    @staticmethod
    def _price(ref: DocumentRef, price: Any) -> str:
        if isinstance(price, str) and price.isdigit():
            return price
        raise ProviderRejected(
            f"the amount of payssam bill {ref.provider_id}, which destroying it needs, is not known "
            "(it was not issued by this bot, and payssam's read does not say it)",
            provider=PROVIDER,
            code="price_unknown",
            user_hint="Cancel it in the Payssam back office.",
        )

    # -- callbacks -------------------------------------------------------------------------
    def authenticate(self, callback: PaymentCallback) -> bool:
        """Whether a payment callback carries our apiKey (constant-time)."""
        return self.client.is_own_api_key(callback.api_key)

    async def confirm_payment(self, callback: PaymentCallback) -> DocumentStatus:
        """The bill's status after a payment callback, confirmed with ``/bill/read``.

        The callback has no signature, so it is trusted only when Payssam itself says the
        bill is paid with the same approval number and amount.
        """
        status = await self.status(self._ref(callback.bill_id))
        agrees = (
            status.raw_state == "F"
            and (callback.appr_num is None or status.confirm_number == callback.appr_num)
            and (callback.appr_price is None or status.raw.get("apprPrice") == callback.appr_price)
        )
        if not agrees:
            raise ProviderRejected(
                f"payment callback for bill {callback.bill_id} does not match payssam's record "
                f"(state {status.raw_state!r})",
                provider=PROVIDER,
                code="callback_mismatch",
                user_hint="Ignored: Payssam does not confirm this payment.",
            )
        return status

    # -- unsupported ---------------------------------------------------------------------
    async def check_closure(self, biznos: Sequence[str]) -> list[BusinessStatus]:
        self.capabilities.require_closure()
        return []

    async def aclose(self) -> None:
        await self.client.aclose()

    def _ref(self, bill_id: str) -> DocumentRef:
        return DocumentRef(provider=Provider.PAYSSAM, kind=DocumentKind.BILL, provider_id=bill_id)


def create_service(
    config: PayssamConfig,
    *,
    seller: SellerConfig,
    sandbox: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    send_type: SendType = "TALK",
    callback_url: str | None = None,
    concurrency: int = 16,
    issued: IssuedLedger | None = None,
) -> PayssamService:
    """The Payssam service for `config` (``api_url`` or the V2 sandbox default).

    A sandboxed config without credentials gets the demo credentials the sandbox accepts.
    """
    sandboxed = sandbox or config.sandbox
    if not config.configured and sandboxed:
        config = DEMO_PAYSSAM.model_copy(update={"api_url": config.api_url, "policy": config.policy})
    client = PayssamClient.from_config(
        config.model_copy(update={"api_url": config.api_url or DEFAULT_BASE_URL}), transport=transport
    )
    return PayssamService(
        client,
        seller=seller,
        sandbox=sandboxed,
        send_type=send_type,
        callback_url=callback_url or getattr(config, "callback_url", None),
        concurrency=concurrency,
        issued=issued,
    )

