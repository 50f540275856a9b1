"""Our `IssueRequest` as the ``POST /v4/invoices`` body Hiworks takes.

Hiworks refuses a document without the buyer's business number, CEO name or e-mail; these
checks run before sending so the user hears what to add instead of an opaque provider code."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from providers.bizno import InvalidBizno, format_bizno, normalize_bizno
from providers.config import SellerConfig
from providers.errors import RequestInvalid
from providers.hiworks._capabilities import CAPABILITIES
from providers.hiworks._errors import PROVIDER
from providers.hiworks.models import (
    Contact,
    Invoice,
    InvoiceInformation,
    InvoiceItem,
    InvoiceParty,
    InvoiceType,
)
from providers.models import (
    DocumentKind,
    IssueRequest,
    Purpose,
)
from providers.phone import is_mobile, normalise_phone

__all__ = [
    "build_invoice",
]


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
    # Hiworks files a mobile number as `cell` and anything else as `phone`
    digits = normalise_phone(phone) if phone else None
    mobile = digits is not None and is_mobile(digits)
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
    items = _items(request)
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


def _items(request: IssueRequest) -> list[InvoiceItem]:
    """One Hiworks item per line, dated on the write date; Hiworks takes two decimals in a quantity."""
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
            tax=line.vat_amount(request.tax_type),
            description=line.remark,
        ))
    return items
