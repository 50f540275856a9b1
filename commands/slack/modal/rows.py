"""Bulk file rows → issue drafts, through the issue form's own validation.

Each row of a bulk file is turned into the values the issue modal would submit and validated
by `parse_issue_submission`, the function the form itself uses: a row is refused for exactly
what the form refuses (a bad business number, a quantity with too many decimals, a kind the
provider does not issue, ...). The form's errors are keyed by block id; here each is said by
row and column ("row 14, Quantity: ...") so the person can find the cell.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from commands.i18n import _
from commands.slack.modal.fields import CONFIRM_VALUE, IssueBlocks
from commands.slack.modal.submission import parse_issue_submission
from commands.slack.parser.tokens import KIND_WORDS, PROVIDER_WORDS
from commands.workflow.bulk import RowDraft
from commands.workflow.bulk_parse import RowProblem, SheetRow
from providers.models import DocumentKind, Provider, Purpose

__all__ = ["RowDrafts", "row_drafts"]

B = IssueBlocks

#: the form's block → the file's column a problem there is about
_BLOCK_COLUMNS: Mapping[str, str] = {
    B.PROVIDER: "provider", B.KIND: "kind", B.BUYER_BIZNO: "buyer_bizno", B.BIZNO_CONFIRM: "buyer_bizno",
    B.BUYER_NAME: "buyer_name", B.BUYER_CEO: "buyer_ceo", B.BUYER_EMAIL: "buyer_email",
    B.BUYER_PHONE: "buyer_phone", B.ITEMS: "item", B.WRITE_DATE: "write_date", B.DUE_DATE: "due_date",
    B.PURPOSE: "purpose", B.MEMO: "memo", B.CLOSURE_OVERRIDE: "override_reason",
}
_PURPOSE_WORDS: Mapping[str, Purpose] = {
    "charge": Purpose.CHARGE, "청구": Purpose.CHARGE, "receipt": Purpose.RECEIPT, "영수": Purpose.RECEIPT,
}
_DATE = re.compile(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})\.?")


@dataclass(frozen=True)
class RowDrafts:
    drafts: tuple[RowDraft, ...]
    problems: tuple[RowProblem, ...]


def _word(text: str | None) -> str:
    return (text or "").strip().lower().replace(" ", "")


def _provider(row: SheetRow, default: Provider | None) -> str | None:
    text = _word(row.values.get("provider"))
    found = PROVIDER_WORDS.get(text) if text else default
    return found.value if found else (text or None)


def _kind(row: SheetRow, provider: str | None, offered: Mapping[Provider, Collection[DocumentKind]]) -> str | None:
    text = _word(row.values.get("kind"))
    if text:
        found = KIND_WORDS.get(text) or next((k for k in DocumentKind if k.value == text), None)
        return found.value if found else text
    kinds = offered.get(Provider(provider), ()) if provider in {p.value for p in Provider} else ()
    return next(iter(kinds)).value if len(kinds) == 1 else None  # one kind offered: the form preselects it


def _date(text: str | None) -> str | None:
    """An ISO date from ``2026-11-30``, ``2026.11.30.`` or ``2026/11/30``; other text as it is (refused)."""
    if not text:
        return None
    match = _DATE.fullmatch(text.strip())
    if not match:
        return text
    try:
        return dt.date(*(int(g) for g in match.groups())).isoformat()
    except ValueError:
        return text


def _values(row: SheetRow, provider: str | None, kind: str | None, today: dt.date) -> dict[str, dict[str, object]]:
    """The view-state values the issue modal would submit for this row."""
    cells = row.values
    values: dict[str, dict[str, object]] = {}

    def text(block: str, value: str | None) -> None:
        values[block] = {B.action(block): {"type": "plain_text_input", "value": value}}

    def choice(block: str, value: str | None) -> None:
        option = {"value": value} if value else None
        values[block] = {B.action(block): {"type": "static_select", "selected_option": option}}

    choice(B.PROVIDER, provider)
    choice(B.KIND, kind)
    for block in (B.BUYER_BIZNO, B.BUYER_NAME, B.BUYER_CEO, B.BUYER_EMAIL, B.BUYER_PHONE, B.MEMO,
                  B.CLOSURE_OVERRIDE):
        text(block, cells.get(_BLOCK_COLUMNS[block]))
    # a file has no "the number is correct" tick: a number failing only its check digit is taken as typed,
    # with the warning on the approval card (the tax office decides)
    values[B.BIZNO_CONFIRM] = {B.action(B.BIZNO_CONFIRM): {"type": "checkboxes",
                                                         "selected_options": [{"value": CONFIRM_VALUE}]}}
    item, quantity, price = cells.get("item", ""), cells.get("quantity") or "1", cells.get("unit_price", "")
    text(B.ITEMS, f"{item} | {quantity} | {price}" if item or price else None)
    for block, column in ((B.WRITE_DATE, "write_date"), (B.DUE_DATE, "due_date")):
        day = _date(cells.get(column)) or (today.isoformat() if block == B.WRITE_DATE else None)
        values[block] = {B.action(block): {"type": "datepicker", "selected_date": day}}
    purpose = _PURPOSE_WORDS.get(_word(cells.get("purpose")))
    choice(B.PURPOSE, purpose.value if purpose else None)
    return values


def _item_column(message: str) -> str:
    """Which of the item cells an items problem is about (the form has one field for the three)."""
    lowered = message.lower()
    if "quantity" in lowered or "수량" in message:
        return "quantity"
    if "price" in lowered or "amount" in lowered or "total" in lowered or "단가" in message:
        return "unit_price"
    return "item"


def row_drafts(rows: tuple[SheetRow, ...], *, today: dt.date, offered: Mapping[Provider, Collection[DocumentKind]],
               default_provider: Provider | None = None) -> RowDrafts:
    """Every row as a draft, or its problems by row and column (the form's validation, row by row)."""
    drafts: list[RowDraft] = []
    problems: list[RowProblem] = []
    for row in rows:
        provider = _provider(row, default_provider)
        if row.values.get("purpose") and _word(row.values.get("purpose")) not in _PURPOSE_WORDS:
            problems.append(RowProblem(row.number, "purpose", _("write “charge” (청구) or “receipt” (영수).")))
        values = _values(row, provider, _kind(row, provider, offered), today)
        draft, errors, warnings = parse_issue_submission(values, today=today, offered=offered)
        for block, message in errors.items():
            column = _BLOCK_COLUMNS.get(block, "provider")
            problems.append(RowProblem(row.number, _item_column(message) if column == "item" else column, message))
        if draft is not None and not errors:
            drafts.append(RowDraft(number=row.number, draft=draft, warnings=tuple(warnings)))
    return RowDrafts(tuple(drafts), tuple(problems))
