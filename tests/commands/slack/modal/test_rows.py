"""Bulk rows go through the issue form's own validation: problems by row and column."""

from __future__ import annotations

import datetime as dt

from commands.slack.modal.rows import row_drafts
from commands.workflow.bulk_parse import SheetRow
from providers.models import DocumentKind, Provider
from providers.registry import CAPABILITIES

OFFERED = {p: c.kinds for p, c in CAPABILITIES.items()}
GOOD = {"provider": "팝빌", "kind": "세금계산서", "buyer_bizno": "220-81-62517", "buyer_name": "가나다",
        "item": "x", "quantity": "1", "unit_price": "1000", "write_date": "2026.11.30."}


def test_a_good_row_becomes_the_draft_the_form_would_make() -> None:
    result = row_drafts((SheetRow(2, GOOD),), today=dt.date(2026, 11, 30), offered=OFFERED)
    assert not result.problems
    draft = result.drafts[0].draft
    assert (draft.provider, draft.kind, draft.write_date) == (Provider.POPBILL, DocumentKind.TAX_INVOICE,
                                                              dt.date(2026, 11, 30))


def test_each_problem_is_placed_on_its_row_and_column() -> None:
    rows = (SheetRow(14, {**GOOD, "quantity": "1.2345"}), SheetRow(30, {**GOOD, "buyer_bizno": "123"}),
            SheetRow(31, {**GOOD, "purpose": "maybe"}))
    result = row_drafts(rows, today=dt.date(2026, 11, 30), offered=OFFERED)
    placed = {(p.row, p.column) for p in result.problems}
    assert placed == {(14, "quantity"), (30, "buyer_bizno"), (31, "purpose")}
    assert "allows 2" in next(p.message for p in result.problems if p.row == 14)
