"""What Hiworks would refuse, refused before sending: a mistake costs no call and no rate-limit budget."""

from __future__ import annotations

from providers.errors import RequestInvalid
from providers.hiworks._errors import PROVIDER
from providers.hiworks.models import MAX_ITEMS, Invoice

__all__ = ["check_invoice"]


def check_invoice(invoice: Invoice, *, label: str = "") -> None:
    """Refuse, before sending, what Hiworks would refuse anyway.

    Raises:
        RequestInvalid: more than 100 items, totals that are not the sums of the items,
            payment means that do not add up to the total, tax on a zero-rated or exempt
            document, or an item dated after the issue date.
    """
    where = f"{label}: " if label else ""
    items = invoice.items
    if len(items) > MAX_ITEMS:
        raise RequestInvalid(
            f"{where}a Hiworks document has at most {MAX_ITEMS} items; this one has {len(items)}",
            provider=PROVIDER, code="items",
            user_hint="Split the lines over several documents.",
        )
    info = invoice.information
    supply = sum(i.supply_price for i in items)
    tax = sum(i.tax for i in items)
    if supply != info.total_supply_price:
        raise RequestInvalid(
            f"{where}totalSupplyPrice {info.total_supply_price} is not the sum of the items' supplyPrice ({supply})",
            provider=PROVIDER, code="totals",
        )
    if tax != info.total_tax:
        raise RequestInvalid(
            f"{where}totalTax {info.total_tax} is not the sum of the items' tax ({tax})",
            provider=PROVIDER, code="totals",
        )
    paid = info.payment_total()
    if paid and paid != supply + tax:
        raise RequestInvalid(
            f"{where}cash + check + draft + uncollected ({paid}) must equal the total ({supply + tax})",
            provider=PROVIDER, code="payment",
        )
    kind = invoice.invoice_type
    if kind.type_code == "B" and kind.tax_type == "A":
        raise RequestInvalid(f"{where}an exempt invoice (typeCode B) needs taxType B", provider=PROVIDER,
                             code="tax_type")
    if kind.tax_type == "B" and kind.type_code != "D" and any(i.tax for i in items):
        raise RequestInvalid(f"{where}a zero-rated or exempt document carries no tax", provider=PROVIDER,
                             code="tax")
    issued = (info.issue_date.month, info.issue_date.day)
    for n, item in enumerate(items, start=1):
        if (int(item.month), int(item.day)) > issued:
            raise RequestInvalid(
                f"{where}item {n} is dated {item.month}-{item.day}, after the issue date {info.issue_date}",
                provider=PROVIDER, code="item_date",
            )
