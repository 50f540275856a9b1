"""Reading a bulk file (CSV or XLSX) into rows of named cells, headers in English or Korean.

A finance team keeps month-end batches in a spreadsheet: one row per document, one line item
per row. The header row names the columns in either language (``Buyer business number`` or
``공급받는자 사업자번호``, the column id ``buyer_bizno`` too), in any order; unknown columns are
refused, so a misspelt header is not silently dropped. Rows are numbered as the spreadsheet
numbers them (the header is row 1), so "row 14" is the row a person sees in Excel.

This module only reads cells; what a row means is checked by the same path as the issue form
(`commands.slack.modal.rows`, then `commands.workflow.bulk`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from commands.i18n import N_, _, current_locale, use_locale

__all__ = [
    "COLUMNS",
    "MAX_BYTES",
    "MAX_ROWS",
    "BulkColumn",
    "BulkSheet",
    "RowProblem",
    "SheetRow",
    "header",
    "read_sheet",
    "template_csv",
    "template_xlsx",
]

#: the largest file read (a thousand rows of text are far below it)
MAX_BYTES = 2 * 1024 * 1024
#: the most rows one batch takes (ten bulkSubmit calls at Popbill)
MAX_ROWS = 1000


@dataclass(frozen=True)
class BulkColumn:
    """A column of the bulk file: its id, its English header (a msgid) and its Korean header."""

    id: str
    english: str
    korean: str
    required: bool = False
    example: str = ""


COLUMNS: tuple[BulkColumn, ...] = (
    BulkColumn("provider", N_("Provider"), "발행 서비스", example="popbill"),
    BulkColumn("kind", N_("Document kind"), "문서 종류", example="tax_invoice"),
    BulkColumn("buyer_bizno", N_("Buyer business number"), "공급받는자 사업자번호", example="220-81-62517"),
    BulkColumn("buyer_name", N_("Buyer name"), "공급받는자 상호", required=True, example="주식회사 구매자"),
    BulkColumn("buyer_ceo", N_("Buyer representative"), "공급받는자 대표자", example="김대표"),
    BulkColumn("buyer_email", N_("Buyer e-mail"), "공급받는자 이메일", example="buyer@example.com"),
    BulkColumn("buyer_phone", N_("Buyer mobile phone"), "공급받는자 휴대전화", example="010-1234-5678"),
    BulkColumn("item", N_("Item"), "품목", required=True, example="Consulting"),
    BulkColumn("quantity", N_("Quantity"), "수량", example="1"),
    BulkColumn("unit_price", N_("Unit price"), "단가", required=True, example="100000"),
    BulkColumn("write_date", N_("Write date"), "작성일자", example="2026-11-30"),
    BulkColumn("due_date", N_("Due date"), "결제기한"),
    BulkColumn("purpose", N_("Receipt or charge"), "영수/청구", example="charge"),
    BulkColumn("memo", N_("Memo"), "비고"),
    BulkColumn("override_reason", N_("Closure override reason"), "휴폐업 무시 사유"),
)
_BY_ID = {c.id: c for c in COLUMNS}


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with the file: the row (None: the file itself), the column id, what to do."""

    row: int | None
    column: str | None
    message: str


@dataclass(frozen=True)
class SheetRow:
    """One data row: its spreadsheet number and its cells by column id (blank cells left out)."""

    number: int
    values: Mapping[str, str]


@dataclass(frozen=True)
class BulkSheet:
    rows: tuple[SheetRow, ...] = ()
    problems: tuple[RowProblem, ...] = field(default_factory=tuple)


def _fold(text: str) -> str:
    """A header as compared: NFC, case and spaces, underscores and dots ignored."""
    folded = unicodedata.normalize("NFC", text).casefold()
    return "".join(ch for ch in folded if ch not in " _-.\t\u3000")


def _header_names() -> dict[str, str]:
    """Every accepted spelling of every header → column id (both languages, whatever the catalogs say)."""
    names: dict[str, str] = {}
    for column in COLUMNS:
        spellings = {column.id, column.english, column.korean}
        for locale in ("en", "ko"):
            with use_locale(locale):
                spellings.add(_(column.english))
        for spelling in spellings:
            names[_fold(spelling)] = column.id
    return names


def header(column: BulkColumn, locale: str | None = None) -> str:
    """The column's header in `locale` (the current one by default), as the template writes it."""
    with use_locale(locale or current_locale()) as chosen:
        translated = _(column.english)
    if chosen == "ko" and translated == column.english:
        return column.korean  # the catalog has no entry yet: the built-in Korean header
    return translated


def _cell(value: Any) -> str:
    """A spreadsheet cell as the text a person typed (dates ISO, whole numbers without ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    return str(value).replace("\x00", "").strip()


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp949"):  # Excel in Korea saves CSV as CP949
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError(_("The file is neither UTF-8 nor CP949 text: save it as “CSV UTF-8”."))


def _csv_rows(data: bytes) -> list[list[str]]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    return [[_cell(c) for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # type: ignore[import-untyped]  # imported when a workbook arrives: it is slow to import

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ValueError(_("The file is not a readable XLSX workbook ({why}).").format(why=type(exc).__name__)) \
            from exc
    try:
        sheet = book.worksheets[0]
        return [[_cell(c) for c in row] for row in sheet.iter_rows(max_row=MAX_ROWS + 2, values_only=True)]
    finally:
        book.close()


def _columns(head: Sequence[str]) -> tuple[list[str | None], list[RowProblem]]:
    names = _header_names()
    ids: list[str | None] = []
    problems: list[RowProblem] = []
    for position, text in enumerate(head, start=1):
        if not text:
            ids.append(None)
            continue
        column = names.get(_fold(text))
        if column is None:
            problems.append(RowProblem(1, None, _("column {n} “{header}” is not a column of the template.").format(
                n=position, header=text[:40])))
        elif column in ids:
            problems.append(RowProblem(1, column, _("the column appears twice.")))
        ids.append(column)
    for wanted in COLUMNS:
        if wanted.required and wanted.id not in ids:
            problems.append(RowProblem(1, wanted.id, _("the column “{header}” is missing.").format(
                header=header(wanted))))
    return ids, problems


def _rows(table: Iterable[Sequence[str]], ids: Sequence[str | None]) -> tuple[list[SheetRow], list[RowProblem]]:
    rows: list[SheetRow] = []
    problems: list[RowProblem] = []
    for number, cells in enumerate(table, start=2):
        values = {ids[i]: v for i, v in enumerate(cells) if i < len(ids) and ids[i] and v}
        if not values:
            continue  # a blank line between rows
        if len(rows) >= MAX_ROWS:
            problems.append(RowProblem(None, None, _("A file holds at most {n} rows: split it.").format(n=MAX_ROWS)))
            break
        rows.append(SheetRow(number, {str(k): v for k, v in values.items()}))
    return rows, problems


def read_sheet(data: bytes, filename: str) -> BulkSheet:
    """The rows of a CSV or XLSX file, or the problems that stop it being read."""
    if len(data) > MAX_BYTES:
        return BulkSheet(problems=(RowProblem(None, None, _("The file is larger than {mb} MB.").format(
            mb=MAX_BYTES // (1024 * 1024))),))
    try:
        table = _xlsx_rows(data) if filename.lower().endswith(".xlsx") else _csv_rows(data)
    except (ValueError, csv.Error) as exc:
        return BulkSheet(problems=(RowProblem(None, None, str(exc)),))
    if not table:
        return BulkSheet(problems=(RowProblem(None, None, _("The file is empty.")),))
    ids, problems = _columns(table[0])
    if problems:
        return BulkSheet(problems=tuple(problems))
    rows, more = _rows(table[1:], ids)
    if not rows and not more:
        more = [RowProblem(None, None, _("The file has a header but no rows."))]
    return BulkSheet(rows=tuple(rows), problems=tuple(more))


def _template_table(locale: str | None) -> list[list[str]]:
    return [[header(c, locale) for c in COLUMNS], [c.example for c in COLUMNS]]


def template_csv(locale: str | None = None) -> bytes:
    """The template as CSV (UTF-8 with a BOM, which Excel needs to show Hangul)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(_template_table(locale))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(locale: str | None = None) -> bytes:
    """The template as an XLSX workbook: the header row and one example row."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "invoices"
    for row in _template_table(locale):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def column_header(column_id: str) -> str:
    """A column id as a person reads it in their language (for row errors)."""
    column = _BY_ID.get(column_id)
    return header(column) if column else column_id
