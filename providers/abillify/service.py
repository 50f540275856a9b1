"""`AbillifyService`: the bot's invoice operations mapped onto Abillify calls.

* **issue** = upsert the customer (identity) -> create the invoice -> commit it (which locks
  it and makes Abillify send it; `request.callback_url` becomes `notifyUrl`). Each POST has
  its own Idempotency-Key derived from `request.key` and the step, so repeating `issue`
  (or a dropped connection retried by the HTTP layer) can never create a second invoice.
  The invoice `number` is `request.key` and is also kept in `meta.invoicebot_key`, so
  `find()` lists the customer's invoices and matches it; Abillify refuses a second invoice
  with the same number for a customer (409), which `issue` treats as "already created".
* **Money**: `IssueRequest` carries integer minor units plus `currency`; Abillify takes
  decimal major units (`unitprice` 12.50 EUR, 1250 KRW). Invoices are `netbased` and each
  item's `detail.taxrate` is the VAT rate in percent: 10 for taxable kinds, 0 otherwise,
  whatever the currency (we do not model foreign VAT regimes). Abillify computes VAT per
  line rounded to the currency's minor unit, the same rule as `Amounts.of_items`, so an
  item with an explicit `supply`/`vat` that disagrees is refused before anything is sent.
* **States** (the full invoice state enum is not public): `raw_state` is
  ``"<state>/<draft|committed>"`` from the voucher `state` (none|paid|canceled, as in the
  workflow webhook) and whether the invoice is committed. draft -> ISSUED, committed and
  unpaid -> UNPAID (Abillify has sent it and waits for payment), paid -> PAID,
  canceled (or a `cancelationdate`) -> CANCELED.
* **resend** is e-mail only, to the address Abillify has on file.
* **destroy**: Abillify has no documented "cancel invoice" call. A committed invoice is
  cancelled by a credit note for its full amount referencing it (`detail.invoiceReference`);
  a paid one can be credited too, which leaves a credit balance the merchant must refund
  outside the API. A draft (never sent) is cancelled with `PUT /invoices/{ref}
  {"state": "canceled", "cancelationdate"}`, the credit-note pattern applied to invoices
  (inferred, not documented). An already cancelled invoice is refused.
* **closure check**: not offered by Abillify.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx

from providers.abillify._answers import _amounts, _meta, _normalize, invoice_status
from providers.abillify._bodies import DEFAULT_UNIT, _AbillifyBodies, identity_reference, tax_rate_percent
from providers.abillify._errors import PROVIDER
from providers.abillify._money import to_major, to_minor
from providers.abillify.client import AbillifyClient
from providers.base import Capabilities
from providers.config import (
    DEFAULT_ABILLIFY_VAT_RATE,
    DEFAULT_ABILLIFY_VAT_RATES,
    AbillifyConfig,
    SellerConfig,
)
from providers.errors import DocumentNotFound, NotSupported, ProviderRejected, RequestInvalid
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
    TaxType,
)

__all__ = [
    "CAPABILITIES",
    "DEFAULT_UNIT",
    "AbillifyService",
    "create_service",
    "identity_reference",
    "invoice_status",
    "tax_rate_percent",
]


CAPABILITIES = Capabilities(
    provider=Provider.ABILLIFY,
    kinds=frozenset({DocumentKind.INVOICE}),
    resend_channels=frozenset({ResendChannel.EMAIL}),
    destroy=True,
    closure_check=False,
    batch_status=False,
    batch_size=1,
    links=False,
    # any ISO 4217 currency in its minor units; VAT rates per line as the seller configures them
    currencies=None,
    default_currency="EUR",
    vat_rates=DEFAULT_ABILLIFY_VAT_RATES,
    default_vat_rate=DEFAULT_ABILLIFY_VAT_RATE,
    taxations={DocumentKind.INVOICE: frozenset({TaxType.ZERO_RATED, TaxType.EXEMPT})},
    notes={
        "closure": "has no business closure check (휴폐업 조회); use Popbill or Hiworks for that",
        "resend": "resends the invoice e-mail to the address on file",
        "destroy": "cancels an invoice with a credit note for its full amount",
    },
)


class AbillifyService(_AbillifyBodies):
    """Abillify as an `InvoiceProvider`. Args:
        client: the low-level client (owned: `aclose` closes it).
        seller: our business; kept in each invoice's `meta` (Abillify knows the merchant already).
        sandbox: True when `client` talks to the built-in sandbox.
        concurrency: parallel GETs in `statuses` (Abillify has no batch read).
        payment_kind: Abillify `paymentkind` of new invoices (CT: credit transfer).
    """

    provider: Provider = Provider.ABILLIFY
    capabilities: Capabilities = CAPABILITIES

    def __init__(
        self,
        client: AbillifyClient,
        *,
        seller: SellerConfig | None = None,
        sandbox: bool = False,
        concurrency: int = 16,
        payment_kind: str = "CT",
        vat_rates: tuple[Decimal, ...] | None = None,
        default_vat_rate: Decimal | None = None,
        currency: str | None = None,
    ) -> None:
        if vat_rates is not None or default_vat_rate is not None or currency is not None:
            # the seller's configured rates and currency, on this instance's capabilities only
            self.capabilities = CAPABILITIES.model_copy(update={
                "vat_rates": vat_rates if vat_rates is not None else CAPABILITIES.vat_rates,
                "default_vat_rate": default_vat_rate if default_vat_rate is not None
                else CAPABILITIES.default_vat_rate,
                "default_currency": currency or CAPABILITIES.default_currency,
            })
        self.client = client
        self.seller = seller or SellerConfig()
        self.sandbox = sandbox
        self.payment_kind = payment_kind
        self._semaphore = asyncio.Semaphore(max(1, concurrency))

    def _check_ref(self, ref: DocumentRef) -> str:
        if ref.provider is not Provider.ABILLIFY:
            raise RequestInvalid(f"{ref} is not an Abillify document", provider=PROVIDER, code="ref")
        return ref.provider_id

    # -- InvoiceProvider ------------------------------------------------------------------
    async def issue(self, request: IssueRequest, *, attempt: int = 1) -> DocumentStatus:
        """Upsert the customer, create the invoice, commit it. Safe to repeat for the same request."""
        self.capabilities.require_kind(request.kind)
        body = self.invoice_body(request)
        identity = identity_reference(request.buyer)
        await self.client.upsert_identity(identity, self.identity_body(request.buyer, request.currency))
        try:
            invoice = await self.client.create_invoice(
                identity, body, idempotency_key=self.idempotency_key(request.key, "create", attempt))
        except ProviderRejected as exc:
            if exc.code != "ERR_UNIQUE_VIOLATION":
                raise
            # Created by an earlier call whose key expired or differed: continue with that invoice.
            existing = await self._find_invoice(identity, request.key)
            if existing is None:
                raise
            self._same_invoice_or_refuse(existing, request)
            invoice = existing
        reference = str(invoice.get("reference") or "")
        if not reference:
            raise ProviderRejected("create invoice: the answer has no invoice reference", provider=PROVIDER,
                                   code="no_reference")
        if not invoice.get("committed") and (invoice.get("state") or "none") == "none":
            await self.client.commit_invoice(
                reference,
                idempotency_key=self.idempotency_key(request.key, "commit", attempt),
                notify_url=request.callback_url,
            )
        return await self.status(DocumentRef(provider=Provider.ABILLIFY, kind=DocumentKind.INVOICE,
                                             provider_id=reference))

    def _same_invoice_or_refuse(self, invoice: dict[str, Any], request: IssueRequest) -> None:
        expected = request.amounts()
        found = _amounts(invoice)
        if found is None or found.total != expected.total or found.currency != expected.currency:
            raise ProviderRejected(
                f"an invoice numbered {request.key} already exists for this customer with different amounts "
                f"({found.total if found else '?'} {invoice.get('currency')} instead of {expected.total} "
                f"{expected.currency})",
                provider=PROVIDER, code="ERR_UNIQUE_VIOLATION",
                user_hint="Use a new invoice key, or cancel the existing invoice first.",
            )

    async def _find_invoice(self, identity: str, key: str) -> dict[str, Any] | None:
        try:
            invoices = await self.client.list_invoices(identity)
        except DocumentNotFound:
            return None
        for invoice in invoices:
            meta = _meta(invoice)
            if invoice.get("number") == key or meta.get("invoicebot_key") == key:
                return invoice
        return None

    async def find(self, request: IssueRequest) -> DocumentStatus | None:
        """The invoice numbered `request.key` among the buyer's invoices, or None."""
        invoice = await self._find_invoice(identity_reference(request.buyer), request.key)
        return None if invoice is None else invoice_status(invoice)

    async def status(self, ref: DocumentRef) -> DocumentStatus:
        return invoice_status(await self.client.get_invoice(self._check_ref(ref)))

    async def statuses(self, refs: Sequence[DocumentRef]) -> dict[str, DocumentStatus]:
        """Abillify has no batch read: one GET per invoice, at most `concurrency` at a time."""

        async def one(ref: DocumentRef) -> DocumentStatus | None:
            async with self._semaphore:
                try:
                    return await self.status(ref)
                except DocumentNotFound:
                    return None

        unique = list({ref.provider_id: ref for ref in refs}.values())
        if len(unique) == 1:  # the sweep's read of one invoice: no task to schedule around one call
            results = [await one(unique[0])]
        else:
            results = await asyncio.gather(*(one(ref) for ref in unique))
        return {s.ref.provider_id: s for s in results if s is not None}

    async def resend(self, ref: DocumentRef, request: ResendRequest, idempotency_key: str | None = None) -> None:
        """E-mail the invoice again. `idempotency_key` (e.g. the Slack action id) makes a repeated
        click a replay instead of a second e-mail; without one, each call sends once."""
        self.capabilities.require_resend(request.channel)
        if request.address:
            raise NotSupported(
                "abillify resends to the customer's e-mail address on file; it cannot send to another address",
                provider=PROVIDER, code="resend_address",
                user_hint="Update the customer's e-mail address at Abillify, then resend without an address.",
            )
        reference = self._check_ref(ref)
        nonce = idempotency_key or uuid.uuid4().hex
        answer = await self.client.resend_invoice(
            reference, idempotency_key=f"invoicebot:{reference}:resend:{nonce}")
        if answer.get("result") != "OK":
            raise ProviderRejected(
                f"resend invoice: result {answer.get('result')!r} (resultcode {answer.get('resultcode')!r})",
                provider=PROVIDER, code=str(answer.get("resultcode") or "result"),
            )

    async def destroy(self, ref: DocumentRef, reason: str | None = None, *, attempt: int = 1) -> DocumentStatus:
        """Cancel: a draft by update, a committed (even paid) invoice by a full credit note."""
        reference = self._check_ref(ref)
        invoice = await self.client.get_invoice(reference)
        state, _raw = _normalize(invoice)
        number = invoice.get("number") or reference
        if state is DocumentState.CANCELED:
            when = invoice.get("cancelationdate")
            raise ProviderRejected(
                f"invoice {number} is already canceled" + (f" (on {str(when)[:10]})" if when else ""),
                provider=PROVIDER, code="already_canceled",
                user_hint="Nothing to do: the invoice is already canceled at Abillify.",
            )
        if state is DocumentState.UNKNOWN:
            raise ProviderRejected(
                f"invoice {number} is in state {invoice.get('state')!r}, which cannot be canceled from here",
                provider=PROVIDER, code="state", user_hint="Cancel it in the Abillify platform.",
            )
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if state is DocumentState.ISSUED:
            updated = await self.client.update_invoice(reference, {"state": "canceled", "cancelationdate": now})
            return invoice_status(updated, detail="draft canceled before it was sent")
        was_paid = state is DocumentState.PAID
        identity = str(invoice.get("identityReference") or "")
        if not identity:
            raise ProviderRejected(f"invoice {number}: Abillify did not say which customer it belongs to",
                                   provider=PROVIDER, code="no_identity")
        note = await self.client.create_credit_note(
            identity,
            self._credit_note_body(invoice, reference, reason),
            idempotency_key=self.idempotency_key(reference, "creditnote", attempt),
        )
        after = await self.client.get_invoice(reference)
        detail = f"canceled by credit note {note.get('number') or note.get('reference')}"
        if was_paid:
            currency = str(after.get("currency") or "EUR")
            owed = to_minor(after.get("total"), currency) or 0
            detail += (f"; the invoice had been paid, so the customer is owed {to_major(owed, currency)} "
                       f"{currency}: refund it outside Abillify")
        return invoice_status(after, detail=detail)

    async def check_closure(self, biznos: Sequence[str]) -> list[BusinessStatus]:
        self.capabilities.require_closure()
        return []

    async def aclose(self) -> None:
        await self.client.aclose()


def create_service(
    config: AbillifyConfig,
    *,
    seller: SellerConfig,
    sandbox: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    concurrency: int = 16,
) -> AbillifyService:
    """The Abillify service for `config` (`config.api_url` or the documented staging host)."""
    if not config.configured or config.username is None or config.password is None:
        raise RequestInvalid(
            "abillify is not configured: an API username and password are needed",
            provider=PROVIDER, code="config",
            user_hint="Set the Abillify API credentials, or run against the built-in sandbox.",
        )
    client = AbillifyClient(config.username, config.password.get_secret_value(), base_url=config.api_url,
                            policy=config.policy, transport=transport)
    return AbillifyService(client, seller=seller, sandbox=sandbox or config.sandbox, concurrency=concurrency,
                           vat_rates=config.vat_rates, default_vat_rate=config.default_vat_rate,
                           currency=config.currency)
