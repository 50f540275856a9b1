"""A step's inputs are checked exactly as the issue form's answers are."""

from __future__ import annotations

import datetime as dt

from commands.slack.modal.fields import DEFAULT_KINDS
from commands.slack.step_inputs import RequestInputs, read_request_inputs
from providers.models import DocumentKind, Provider
from providers.registry import CAPABILITIES

TODAY = dt.date(2026, 11, 30)


def read(**inputs: object) -> RequestInputs:
    base = {"provider": "팝빌", "kind": "세금계산서", "requester": "U_ALICE", "buyer_business_number": "220-81-62517",
            "buyer_name": "구매자", **inputs}
    return read_request_inputs(base, today=TODAY, offered=DEFAULT_KINDS, capabilities=CAPABILITIES)


def test_korean_words_and_an_amount_make_a_draft() -> None:
    got = read(amount=110000, description="Consulting | November")
    assert got.error is None and got.draft is not None
    draft = got.draft
    assert (draft.provider, draft.kind, draft.write_date) == (Provider.POPBILL, DocumentKind.TAX_INVOICE, TODAY)
    assert [(i.name, i.unit_price) for i in draft.items] == [("Consulting / November", 110000)]


def test_problems_name_the_input_the_author_typed() -> None:
    got = read(items="", buyer_business_number="123")
    assert got.draft is None
    assert got.error is not None and got.error.startswith("buyer_business_number:")
    assert "items:" in got.error
    unsupported = read(provider="payssam", kind="tax")
    assert unsupported.error is not None
    assert unsupported.error.startswith("kind:") and "cannot issue" in unsupported.error
