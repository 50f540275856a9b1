"""The request bodies Abillify takes for our `IssueRequest`: identity, invoice, credit note.

A mixin of `AbillifyService`, because the seller and the payment kind come from its configuration."""

from __future__ import annotations

import hashlib
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from providers.abillify._errors import PROVIDER
from providers.abillify._money import is_currency, to_major
from providers.config import SellerConfig
from providers.errors import RequestInvalid
from providers.models import (
    IssueRequest,
    LineItem,
    Party,
    TaxType,
    compute_line_vat,
)

__all__ = [
    "DEFAULT_UNIT",
    "identity_reference",
    "tax_rate_percent",
]


#: Items need a unit on Abillify; our line items have none, so every line is counted in pieces.
DEFAULT_UNIT = "EA"


def tax_rate_percent(tax_type: TaxType, rate: Decimal | None = None) -> int | Decimal:
    """VAT rate sent as `detail.taxrate`: the line's or document's rate (Korea's 10% when none) for
    taxable lines, 0 for zero-rated or exempt ones (reverse charge is a 0% line)."""
    if tax_type is not TaxType.TAXABLE:
        return 0
    if rate is None:
        return 10
    return int(rate) if rate == rate.to_integral_value() else rate.normalize()


def identity_reference(buyer: Party) -> str:
    """The Abillify identityReference of a buyer: its business number when known, else a name slug.

    Stable for the same buyer, so every invoice of a customer lands on one identity. Names
    without any ASCII letters or digits (e.g. Korean) get a short digest of the name instead.
    """
    if buyer.bizno:
        digits = re.sub(r"\D", "", buyer.bizno)
        if digits:
            return f"biz-{digits}"
    slug = re.sub(r"[^a-z0-9]+", "-", buyer.name.lower()).strip("-")[:60].strip("-")
    if slug:
        return f"name-{slug}"
    return "name-" + hashlib.sha256(buyer.name.strip().encode("utf-8")).hexdigest()[:16]


class _AbillifyBodies:
    """Builds identity, invoice and credit-note bodies; idempotency keys per document step."""

    seller: SellerConfig
    payment_kind: str

    # -- request building ----------------------------------------------------------
    @staticmethod
    def idempotency_key(document_key: str, step: str, attempt: int = 1) -> str:
        """The Idempotency-Key of one step of one document: stable across retries of that step.

        Abillify replays a stored 5xx for 24 h; `attempt` > 1 gives a fresh key for a deliberate retry.
        """
        suffix = "" if attempt <= 1 else f":a{attempt}"
        return f"invoicebot:{document_key}:{step}{suffix}"

    def identity_body(self, buyer: Party, currency: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "incorporate" if buyer.bizno else "individual",
            "name": {"company": buyer.name} if buyer.bizno else {"lastname": buyer.name},
            "currency": currency,
        }
        if buyer.bizno:
            body["detail"] = {"vatId": buyer.bizno}
        if buyer.email:
            body["emails"] = [{"email": buyer.email}]
        if buyer.phone:
            body["phones"] = [{"phone": buyer.phone}]
        if buyer.address:
            body["addresses"] = [{"kind": "billing", "company": buyer.name, "street": buyer.address,
                                  "country": "KR"}]
        meta = {k: v for k, v in {"ceo_name": buyer.ceo_name, "contact_name": buyer.contact_name,
                                  "biz_type": buyer.biz_type, "biz_class": buyer.biz_class}.items() if v}
        if meta:
            body["meta"] = meta
        return body

    def _item(self, item: LineItem, request: IssueRequest) -> dict[str, Any]:
        line_rate = item.vat_rate if item.vat_rate is not None else request.vat_rate
        line_tax = item.tax_type or request.tax_type
        rate = tax_rate_percent(line_tax, line_rate)
        expected_supply = int((item.quantity * item.unit_price).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if item.supply is not None and item.supply != expected_supply:
            raise RequestInvalid(
                f"line '{item.name}': supply {item.supply} differs from quantity x unit price ({expected_supply}); "
                "Abillify computes line amounts itself",
                provider=PROVIDER, code="supply",
                user_hint="Leave the supply amount out or make it quantity x unit price.",
            )
        expected_vat = compute_line_vat(expected_supply, line_tax, line_rate)
        if item.vat is not None and item.vat != expected_vat:
            raise RequestInvalid(
                f"line '{item.name}': VAT {item.vat} differs from {rate}% of the supply ({expected_vat}); "
                "Abillify computes VAT itself",
                provider=PROVIDER, code="vat",
                user_hint="Leave the VAT out; Abillify computes it from the rate.",
            )
        detail: dict[str, Any] = {"taxrate": rate}
        if item.spec:
            detail["spec"] = item.spec
        if item.remark:
            detail["remark"] = item.remark
        return {
            "label": item.name,
            "quantity": item.quantity,
            "unit": DEFAULT_UNIT,
            "unitprice": to_major(item.unit_price, request.currency),
            "detail": detail,
        }

    def invoice_body(self, request: IssueRequest) -> dict[str, Any]:
        """The create-invoice body for `request`, refusing what Abillify would compute differently."""
        if not is_currency(request.currency):
            raise RequestInvalid(f"'{request.currency}' is not an ISO 4217 currency code", provider=PROVIDER,
                                 code="currency", user_hint="Use a three-letter code such as KRW or EUR.")
        meta: dict[str, Any] = {
            "invoicebot_key": request.key,
            "buyer_name": request.buyer.name,
            "purpose": request.purpose.value,
            "seller_bizno": (request.seller.bizno if request.seller else self.seller.bizno),
        }
        if request.buyer.bizno:
            meta["buyer_bizno"] = request.buyer.bizno
        if request.memo:
            meta["memo"] = request.memo
        body: dict[str, Any] = {
            "number": request.key,
            "currency": request.currency,
            "netbased": True,
            "paymentkind": self.payment_kind,
            "issued": request.write_date.isoformat(),
            "accountingdate": request.write_date.isoformat(),
            "items": [self._item(item, request) for item in request.items],
            "meta": meta,
        }
        if request.due_date is not None:
            body["due"] = request.due_date.isoformat()
        return body

    @staticmethod
    def _credit_note_body(invoice: dict[str, Any], reference: str, reason: str | None) -> dict[str, Any]:
        items = [
            {k: item[k] for k in ("label", "quantity", "unit", "unitprice", "detail") if k in item}
            for item in invoice.get("items") or []
            if isinstance(item, dict)
        ]
        meta: dict[str, Any] = {"invoiceReference": reference, "invoicebot": "destroy"}
        if reason:
            meta["reason"] = reason
        body: dict[str, Any] = {
            "currency": invoice.get("currency"),
            "netbased": invoice.get("netbased", True),
            "items": items,
            "detail": {"invoiceReference": reference},
            "meta": meta,
        }
        if invoice.get("paymentkind"):
            body["paymentkind"] = invoice["paymentkind"]
        return body
