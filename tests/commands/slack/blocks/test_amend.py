"""The document's own buttons, the amendment form and the links between an original and its amendments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from commands.ledger import Lifecycle
from commands.slack.blocks.amend import amendment_fields, build_amend_modal, document_buttons, parse_amend_submission
from commands.slack.blocks.models import DocumentCard
from providers.models import DocumentKind, DocumentState, Provider


def card(provider: Provider = Provider.POPBILL, state: DocumentState = DocumentState.FILED, **extra: Any
         ) -> DocumentCard:
    return DocumentCard(ref="INV-000001", provider=provider, kind=DocumentKind.TAX_INVOICE, state=state,
                        lifecycle=Lifecycle.ISSUED, provider_id="INV-000001", **extra)


def action_ids(blocks: list[Any]) -> list[str]:
    return [e.action_id for b in blocks for e in b.elements]


def test_amend_only_on_a_filed_tax_invoice_and_send_nts_only_before_filing() -> None:
    assert action_ids(document_buttons(card(), pdf=True, send_nts=True)) == ["doc_amend", "doc_pdf"]
    assert action_ids(document_buttons(card(state=DocumentState.SENT), pdf=True, send_nts=True)) == [
        "doc_send_nts", "doc_pdf"]
    assert action_ids(document_buttons(card(Provider.HIWORKS), pdf=False, send_nts=False)) == ["doc_amend"]
    assert document_buttons(card(Provider.PAYSSAM, DocumentState.PAID), pdf=False, send_nts=False) == []


def test_status_names_the_original_and_the_amendments() -> None:
    assert amendment_fields(card(amendments=("INV-000002", "INV-000003"))) == [
        ("Amended by", "`INV-000002`, `INV-000003`")]
    (label, value), = amendment_fields(card(amends="INV-000001", modify_code=4))
    assert label == "Amends" and value.startswith("`INV-000001` 4 · contract cancelled")


def test_the_form_parses_per_reason() -> None:
    view = build_amend_modal("INV-000001", today=dt.date(2024, 6, 3)).to_dict()
    assert view["callback_id"] == "invoice_amend"

    def values(reason: str, supply: str = "", date: str | None = None) -> dict[str, Any]:
        return {"amend_reason": {"reason_choice": {"selected_option": {"value": reason}}},
                "amend_supply": {"supply_input": {"value": supply}},
                "amend_date": {"date_input": {"selected_date": date}},
                "amend_note": {"note_input": {"value": None}}}

    fields, errors = parse_amend_submission(values("2", "-50,000", "2024-06-01"))
    assert errors == {} and fields == {"reason": 2, "supply": -50_000, "write_date": dt.date(2024, 6, 1),
                                       "note": None}
    assert "amend_supply" in parse_amend_submission(values("3"))[1]
    assert "amend_supply" in parse_amend_submission(values("1", "12x"))[1]
    assert parse_amend_submission(values("4"))[1] == {}
