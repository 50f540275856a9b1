"""The CSV export of documents, as a tax accountant and a spreadsheet read it.

What it lists: the documents *written* (작성일자) in the range that exist at the provider or
did until they were cancelled (standing issued or cancelled, `WRITTEN_STANDINGS`), never
requests that did not become documents (pending, rejected, expired, failed, unknown).
The file says so by its name (`export_file_name`) and the message that delivers it
(`export_scope`); inside, the first row is the column header and every other row is one
document, so a spreadsheet can sum the columns as they are.

UTF-8 with a byte-order mark, so Excel shows Korean names correctly; cells that would start
a formula are prefixed with a quote.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from commands.ledger import DocumentRecord
from commands.ledger.documents import WRITTEN_STANDINGS
from commands.ledger.vocabulary import Standing, standing
from commands.workflow.context import WorkflowContext
from commands.workflow.errors import invalid
from commands.workflow.workspaces import current_scope

__all__ = ["CSV_COLUMNS", "csv_cell", "export_csv", "export_file_name", "export_rows", "export_scope"]

CSV_COLUMNS = (
    "write_date",
    "issued_at",
    "ref",
    "provider",
    "kind",
    "standing",
    "state",
    "raw_state",
    "provider_id",
    "nts_confirm_number",
    "buyer",
    "bizno",
    "supply",
    "vat",
    "total",
    "currency",
    "items",
    "requested_by",
)
_STANDINGS_WORDS = " and ".join(s.value for s in sorted(WRITTEN_STANDINGS, key=list(Standing).index))


def export_scope(from_date: dt.date, to_date: dt.date) -> str:
    """What an export of this range includes, in one sentence (the message that delivers the file)."""
    return (f"Documents written (작성일자) from {from_date.isoformat()} to {to_date.isoformat()}, "
            f"{_STANDINGS_WORDS} only (no pending, rejected, expired or failed requests)")


def export_file_name(from_date: dt.date, to_date: dt.date) -> str:
    """``invoices-written-2024-05-01-to-2024-05-17-issued-cancelled.csv``: the range and standings."""
    standings = "-".join(s.value for s in sorted(WRITTEN_STANDINGS, key=list(Standing).index))
    return f"invoices-written-{from_date.isoformat()}-to-{to_date.isoformat()}-{standings}.csv"


def export_rows(data: bytes) -> list[list[str]]:
    """The document rows of an export (without the header), e.g. to count them."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    return [r for r in rows[1:] if r]


def csv_cell(value: Any) -> str:
    """Text for a CSV cell; a leading = + - @ is neutralised so a spreadsheet does not run it."""
    if value is None:
        return ""
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not text.lstrip("-").isdigit():
        return "'" + text
    return text


def _items(doc: DocumentRecord) -> str:
    """The line items in one readable cell: ``Consulting × 2 @ 50000 = 100000; …``."""
    request = doc.issue_request()
    if request is None:
        return ""
    return "; ".join(f"{item.name} × {item.quantity.normalize():f} @ {item.unit_price} = {item.supply_amount()}"
                     for item in request.items)


def _row(doc: DocumentRecord, tz: dt.tzinfo) -> list[str]:
    return [
        csv_cell(v)
        for v in (
            doc.write_date.isoformat() if doc.write_date else None,
            doc.issued_at.astimezone(tz).isoformat(timespec="seconds") if doc.issued_at else None,
            doc.ref,
            doc.provider.value,
            doc.kind.value,
            standing(doc.lifecycle, doc.state).value,
            doc.state.value if doc.state else None,
            doc.raw_state,
            doc.provider_id,
            doc.confirm_number,
            doc.buyer_name,
            doc.buyer_bizno,
            doc.supply,
            doc.vat,
            doc.total,
            doc.currency,
            _items(doc),
            doc.requested_by,
        )
    ]


async def export_csv(ctx: WorkflowContext, from_date: dt.date, to_date: dt.date) -> bytes:
    """Documents written from `from_date` to `to_date` (inclusive) that stand issued or cancelled, as CSV."""
    if to_date < from_date:
        raise invalid(f"the export ends ({to_date}) before it starts ({from_date})")
    tz = ctx.policy.timezone
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    async for doc in ctx.store.documents.iter_written_between(from_date, to_date, workspace=current_scope()):
        writer.writerow(_row(doc, tz))
    return out.getvalue().encode("utf-8-sig")
