"""The CSV export of documents, as a tax accountant and a spreadsheet read it.

What it lists: the documents *written* (작성일자) in the range that exist at the provider or
did until they were cancelled (standing issued or cancelled, `WRITTEN_STANDINGS`), never
requests that did not become documents (pending, rejected, expired, failed, unknown).
The file says so by its name (`export_file_name`) and the message that delivers it
(`export_scope`); inside, the first row is the column header and every other row is one
document, so a spreadsheet can sum the columns as they are.

UTF-8 with a byte-order mark, so Excel shows Korean names correctly; cells that would start
a formula are prefixed with a quote.

Two layouts (`ExportLayout`): `standard`, whose header row is in the reader's language (the
column ids in English, 작성일자 · 발행일자 · 국세청 승인번호 · 공급가액 · 세액 · 합계 · 품목 … in
Korean, through `_()`), and `hometax`, the columns of Hometax's e-tax invoice list download
for the bookkeeping team (`commands.workflow.hometax` says which layout and what it lists).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from commands.i18n import N_, _, current_locale
from commands.ledger import DocumentRecord, format_ref
from commands.ledger.documents import WRITTEN_STANDINGS
from commands.ledger.vocabulary import Standing, standing
from commands.workflow.context import WorkflowContext
from commands.workflow.errors import invalid
from commands.workflow.hometax import HOMETAX_COLUMNS, hometax_row, in_hometax
from commands.workflow.workspaces import current_scope

__all__ = [
    "CSV_COLUMNS",
    "ExportLayout",
    "csv_cell",
    "csv_header",
    "export_csv",
    "export_file_name",
    "export_rows",
    "export_scope",
]


class ExportLayout(StrEnum):
    STANDARD = "standard"
    HOMETAX = "hometax"


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
    "amends",
    "modify_code",
)

#: the header of each column, translated where shown: the msgid is the column id (what an
#: English spreadsheet reads); Korean readers get the tax office's own terms
_HEADERS: Mapping[str, str] = {
    "write_date": N_("write_date"),
    "issued_at": N_("issued_at"),
    "ref": N_("ref"),
    "provider": N_("provider"),
    "kind": N_("kind"),
    "standing": N_("standing"),
    "state": N_("state"),
    "raw_state": N_("raw_state"),
    "provider_id": N_("provider_id"),
    "nts_confirm_number": N_("nts_confirm_number"),
    "buyer": N_("buyer"),
    "bizno": N_("bizno"),
    "supply": N_("supply"),
    "vat": N_("vat"),
    "total": N_("total"),
    "currency": N_("currency"),
    "items": N_("items"),
    "requested_by": N_("requested_by"),
    "amends": N_("amends"),
    "modify_code": N_("modify_code"),
}

#: the Korean headers, used until the Korean catalog translates the ids above (it wins then)
_KOREAN_HEADERS: Mapping[str, str] = {
    "write_date": "작성일자",
    "issued_at": "발행일자",
    "ref": "관리번호",
    "provider": "발행 서비스",
    "kind": "문서 종류",
    "standing": "처리 상태",
    "state": "서비스 상태",
    "raw_state": "서비스 상태 코드",
    "provider_id": "서비스 문서번호",
    "nts_confirm_number": "국세청 승인번호",
    "buyer": "공급받는자 상호",
    "bizno": "공급받는자 사업자등록번호",
    "supply": "공급가액",
    "vat": "세액",
    "total": "합계",
    "currency": "통화",
    "items": "품목",
    "requested_by": "요청자",
    "amends": "당초 문서",
    "modify_code": "수정사유",
}


def csv_header(layout: ExportLayout = ExportLayout.STANDARD) -> list[str]:
    """The header row of `layout` in the current locale (Hometax's is Korean in every locale)."""
    if layout is ExportLayout.HOMETAX:
        return list(HOMETAX_COLUMNS)
    header = []
    for column in CSV_COLUMNS:
        translated = _(_HEADERS[column])
        if current_locale() == "ko" and translated == column:
            translated = _KOREAN_HEADERS[column]
        header.append(translated)
    return header


_STANDINGS_WORDS = " and ".join(s.value for s in sorted(WRITTEN_STANDINGS, key=list(Standing).index))


def export_scope(from_date: dt.date, to_date: dt.date, layout: ExportLayout = ExportLayout.STANDARD) -> str:
    """What an export of this range includes, in one sentence (the message that delivers the file)."""
    if layout is ExportLayout.HOMETAX:
        return _("E-tax invoices written (작성일자) from {start} to {end} that stand issued, in the columns of "
                 "Hometax's e-tax invoice list").format(start=from_date.isoformat(), end=to_date.isoformat())
    return (f"Documents written (작성일자) from {from_date.isoformat()} to {to_date.isoformat()}, "
            f"{_STANDINGS_WORDS} only (no pending, rejected, expired or failed requests)")


def export_file_name(from_date: dt.date, to_date: dt.date, layout: ExportLayout = ExportLayout.STANDARD) -> str:
    """``invoices-written-2024-05-01-to-2024-05-17-issued-cancelled.csv``: the range and standings.

    The Hometax layout: ``hometax-etax-invoices-written-2024-05-01-to-2024-05-17-issued.csv``.
    """
    if layout is ExportLayout.HOMETAX:
        return f"hometax-etax-invoices-written-{from_date.isoformat()}-to-{to_date.isoformat()}-issued.csv"
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
            format_ref(doc.amends_document_id) if doc.amends_document_id else None,
            doc.modify_code,
        )
    ]


async def export_csv(ctx: WorkflowContext, from_date: dt.date, to_date: dt.date,
                     layout: ExportLayout = ExportLayout.STANDARD) -> bytes:
    """Documents written from `from_date` to `to_date` (inclusive) that stand issued or cancelled, as CSV.

    The `hometax` layout lists only what Hometax lists (issued e-tax invoices), in its columns.
    """
    if to_date < from_date:
        raise invalid(f"the export ends ({to_date}) before it starts ({from_date})")
    tz = ctx.policy.timezone
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_header(layout))
    async for doc in ctx.store.documents.iter_written_between(from_date, to_date, workspace=current_scope()):
        if layout is ExportLayout.STANDARD:
            writer.writerow(_row(doc, tz))
        elif in_hometax(doc):
            seller = getattr(ctx.providers.get(doc.provider), "seller", None)
            writer.writerow([csv_cell(v) for v in hometax_row(doc, tz, seller)])
    return out.getvalue().encode("utf-8-sig")
