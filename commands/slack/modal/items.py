"""The line-items field: one item per line, ``name | quantity | unit price``.

Finance people keep line items in a spreadsheet, and a pasted spreadsheet range
(tab-separated) is accepted as it is, which beats filling a fixed grid of inputs.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from commands.i18n import _
from commands.slack.formatting import clip, currency_exponent
from providers.models import LineItem

__all__ = ["MAX_AMOUNT", "MAX_ITEMS", "MAX_QUANTITY", "format_items", "parse_items"]

MAX_ITEMS = 99  # Popbill's detail list holds at most 99 lines; no provider takes more
MAX_QUANTITY = Decimal(10_000_000)
MAX_AMOUNT = 10**13  # minor units; far above any real document, below every provider's field width

_NUMBER_JUNK = re.compile(r"[\s,₩원€$£¥]|KRW|EUR|USD", re.IGNORECASE)


def _decimal(text: str) -> Decimal | None:
    cleaned = _NUMBER_JUNK.sub("", text)
    if not re.fullmatch(r"-?\d+(\.\d+)?", cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only valid numbers
        return None


def _line_item(number: int, line: str, currency: str) -> LineItem | str:
    """One line as an item, or the problem with it (said so the user finds the line)."""
    separator = "\t" if "\t" in line else "|"
    parts = [p.strip() for p in line.split(separator)]
    if len(parts) == 2:
        parts = [parts[0], "1", parts[1]]
    rate: Decimal | None = None
    if len(parts) == 4:  # name | quantity | unit price | VAT rate (providers with the seller's own rates)
        rate = _vat_rate(parts.pop())
        if rate is None:
            return _("Line {n}: the VAT rate must be a percentage such as 19% or 7.").format(n=number)
    if len(parts) != 3:
        return f"Line {number} (“{clip(line, 40)}”): write name | quantity | unit price."
    name, qty_text, price_text = parts
    if not name:
        return f"Line {number}: the item has no name."
    if len(name) > 100:
        return f"Line {number}: the name is {len(name)} characters; 100 at most."
    quantity = _decimal(qty_text)
    if quantity is None or quantity <= 0 or quantity > MAX_QUANTITY or _decimals(quantity) > 4:
        return f"Line {number}: quantity “{clip(qty_text, 20)}” must be a positive number (up to 4 decimals)."
    unit_price = _unit_price(number, price_text, currency)
    if isinstance(unit_price, str):
        return unit_price
    supply = (quantity * unit_price).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if unit_price > MAX_AMOUNT or supply > MAX_AMOUNT:
        return f"Line {number}: the amount is too large."
    return LineItem(name=name, quantity=quantity.normalize(), unit_price=unit_price, vat_rate=rate)


def _vat_rate(text: str) -> Decimal | None:
    """``19%`` or ``19`` -> 19; a percentage from 0 to 100 with at most two decimals, else None."""
    value = _decimal(text.strip().rstrip("%"))
    if value is None or not 0 <= value <= 100 or value != value.quantize(Decimal("0.01")):
        return None
    return value.normalize() if value else Decimal(0)


def _unit_price(number: int, price_text: str, currency: str) -> int | str:
    """The price in minor units, or the problem with it."""
    price = _decimal(price_text)
    if price is None or price < 0:
        return f"Line {number}: unit price “{clip(price_text, 20)}” must be an amount, e.g. 1,500,000."
    exponent = currency_exponent(currency)
    minor = price.scaleb(exponent)
    if minor != minor.to_integral_value():
        unit = "won has no decimals" if exponent == 0 else f"{currency} has {exponent} decimals"
        return f"Line {number}: unit price “{clip(price_text, 20)}” — {unit}."
    return int(minor)


def parse_items(text: str | None, currency: str = "KRW") -> tuple[list[LineItem], list[str]]:
    """Parse the line-items field. Returns (items, problems); items are valid only without problems."""
    lines = [(n, line.strip()) for n, line in enumerate((text or "").splitlines(), start=1) if line.strip()]
    if not lines:
        return [], ["Add at least one line item: name | quantity | unit price."]
    if len(lines) > MAX_ITEMS:
        return [], [f"{len(lines)} line items; a document holds at most {MAX_ITEMS}. Split it in two."]
    items: list[LineItem] = []
    problems: list[str] = []
    for number, line in lines:
        parsed = _line_item(number, line, currency)
        if isinstance(parsed, str):
            problems.append(parsed)
        else:
            items.append(parsed)
    return items, problems


def format_items(items: list[LineItem], currency: str = "KRW") -> str:
    """Line items back into the modal's text form, e.g. to prefill a retried document."""
    exponent = currency_exponent(currency)
    lines = []
    for item in items:
        quantity = format(item.quantity.normalize(), "f")
        price = Decimal(item.unit_price).scaleb(-exponent)
        rate = f" | {item.vat_rate.normalize():f}%" if item.vat_rate is not None else ""
        lines.append(f"{item.name} | {quantity} | {price:,.{exponent}f}{rate}")
    return "\n".join(lines)


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
