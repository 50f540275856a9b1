"""What each amendment reason produces (`plan_amendment`), without a database or a provider."""

from __future__ import annotations

import datetime as dt

import pytest

from commands.workflow.amend import AmendDraft, plan_amendment
from providers.errors import RequestInvalid
from providers.models import DocumentKind, IssueRequest, LineItem, Party, Provider

ORIGINAL = IssueRequest(
    provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE, key="INV-000001",
    buyer=Party(name="구매자", bizno="1231212312"), write_date=dt.date(2024, 5, 1),
    items=[LineItem(name="Consulting", quantity=2, unit_price=50_000), LineItem(name="Support", unit_price=30_000)],
)
TODAY = dt.date(2024, 6, 3)
NTS = "20240501410000000000001"


def totals(reason: int, **fields: object) -> list[tuple[str, int, int, dt.date]]:
    planned = plan_amendment(ORIGINAL, AmendDraft(reason=reason, **fields), NTS, TODAY)  # type: ignore[arg-type]
    assert all(r.modify_code == reason and r.original_confirm_number == NTS for r in planned)
    return [(r.kind.value, r.amounts().supply, r.amounts().vat, r.write_date) for r in planned]


def test_reason_1_cancels_the_original_and_issues_the_corrected_one() -> None:
    assert totals(1, supply=120_000) == [("tax_invoice", -130_000, -13_000, dt.date(2024, 5, 1)),
                                         ("tax_invoice", 120_000, 12_000, dt.date(2024, 5, 1))]
    # without an amount the lines are kept (e.g. a wrong e-mail or memo), with a corrected date
    assert totals(1, write_date=dt.date(2024, 5, 2))[1] == ("tax_invoice", 130_000, 13_000, dt.date(2024, 5, 2))


def test_reason_2_is_one_invoice_for_the_difference_either_way() -> None:
    assert totals(2, supply=-50_000) == [("tax_invoice", -50_000, -5_000, TODAY)]
    assert totals(2, supply=20_000) == [("tax_invoice", 20_000, 2_000, TODAY)]


def test_reason_3_is_a_negative_invoice_for_the_returned_part_and_no_more() -> None:
    assert totals(3, supply=30_000) == [("tax_invoice", -30_000, -3_000, TODAY)]
    with pytest.raises(RequestInvalid, match="more than the original"):
        totals(3, supply=130_001)


@pytest.mark.parametrize(("reason", "when"), [(4, TODAY), (6, dt.date(2024, 5, 1))])
def test_reasons_4_and_6_negate_the_whole(reason: int, when: dt.date) -> None:
    assert totals(reason) == [("tax_invoice", -130_000, -13_000, when)]


def test_reason_5_is_a_negative_invoice_and_a_zero_rated_one() -> None:
    planned = plan_amendment(ORIGINAL, AmendDraft(reason=5, note="L/C M1234"), NTS, TODAY)
    assert [(r.kind, r.amounts().total) for r in planned] == [
        (DocumentKind.TAX_INVOICE, -143_000), (DocumentKind.ZERO_RATED_INVOICE, 130_000)]
    assert planned[1].memo == "L/C M1234"
    exempt = ORIGINAL.model_copy(update={"kind": DocumentKind.EXEMPT_INVOICE})
    with pytest.raises(RequestInvalid, match="reason 5"):
        plan_amendment(exempt, AmendDraft(reason=5), NTS, TODAY)


@pytest.mark.parametrize("reason", [2, 3])
def test_reasons_2_and_3_need_an_amount(reason: int) -> None:
    with pytest.raises(RequestInvalid, match=f"reason {reason} needs"):
        totals(reason)
