"""The CSV export of documents, as a spreadsheet opens it.

UTF-8 with a byte-order mark, so Excel shows Korean names correctly; cells that would start
a formula are prefixed with a quote.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from commands.ledger import DocumentRecord
from commands.workflow.context import WorkflowContext
from commands.workflow.errors import invalid

__all__ = ["CSV_COLUMNS", "csv_cell", "export_csv"]

CSV_COLUMNS = (
    "ref",
    "provider",
    "kind",
    "provider_id",
    "buyer",
    "bizno",
    "supply",
    "vat",
    "total",
    "currency",
    "state",
    "raw_state",
    "issued_at",
    "requested_by",
)


def csv_cell(value: Any) -> str:
    """Text for a CSV cell; a leading = + - @ is neutralised so a spreadsheet does not run it."""
    if value is None:
        return ""
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not text.lstrip("-").isdigit():
        return "'" + text
    return text


def _row(doc: DocumentRecord, tz: dt.tzinfo) -> list[str]:
    return [
        csv_cell(v)
        for v in (
            doc.ref,
            doc.provider.value,
            doc.kind.value,
            doc.provider_id,
            doc.buyer_name,
            doc.buyer_bizno,
            doc.supply,
            doc.vat,
            doc.total,
            doc.currency,
            doc.state.value if doc.state else doc.lifecycle.value,
            doc.raw_state,
            doc.issued_at.astimezone(tz).isoformat(timespec="seconds") if doc.issued_at else None,
            doc.requested_by,
        )
    ]


async def export_csv(ctx: WorkflowContext, from_date: dt.date, to_date: dt.date) -> bytes:
    """Documents created from `from_date` to `to_date` (inclusive, the policy's time zone) as CSV."""
    if to_date < from_date:
        raise invalid(f"the export ends ({to_date}) before it starts ({from_date})")
    tz = ctx.policy.timezone
    since = dt.datetime.combine(from_date, dt.time(), tz)
    until = dt.datetime.combine(to_date + dt.timedelta(days=1), dt.time(), tz)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    async for doc in ctx.store.documents.iter_created_between(since, until):
        writer.writerow(_row(doc, tz))
    return out.getvalue().encode("utf-8-sig")
