"""The deadline line of a card, the late Approve's confirm dialog, and the deadlines report message."""

from __future__ import annotations

import datetime as dt
import json

from commands.ledger.vocabulary import ApprovalState, Lifecycle
from commands.slack.blocks import build_approval_message, build_status_message
from commands.slack.blocks.deadlines import build_deadlines_message, deadline_card, deadline_line, deadlines_text
from commands.slack.blocks.models import ApprovalCard, DocumentCard
from commands.slack.formatting import format_date
from commands.slack.ids import APPROVE_ACTION_ID, APPROVE_LATE_ACTION_ID
from commands.workflow.deadlines import DeadlineReport, issue_note, transmit_note
from providers.models import DocumentKind, Provider

D = dt.date
SUPPLY = 1_000_000


def doc(today: dt.date | None, *, written: dt.date = D(2026, 2, 10)) -> DocumentCard:
    note = deadline_card(issue_note(written, SUPPLY, today)) if today else None
    return DocumentCard(ref="INV-000001", provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE,
                        lifecycle=Lifecycle.PENDING_APPROVAL, state=None, write_date=written, deadline=note)


def approve(blocks: list[object]) -> dict[str, object]:
    for block in blocks:
        for element in json.loads(json.dumps(block.to_dict())).get("elements", []):  # type: ignore[attr-defined]
            if str(element.get("action_id", "")).startswith("approval_approve"):
                return dict(element)
    raise AssertionError("no Approve button")


def test_an_on_time_card_shows_the_deadline_and_the_ordinary_approve() -> None:
    card = ApprovalCard(id="7", action="issue", document=doc(D(2026, 3, 6)), requester="U_ALICE")
    blocks = build_approval_message(card)
    text = json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)
    assert f"Issuance deadline {format_date(D(2026, 3, 10))} (4 days left)" in text and "₩10,000" in text
    assert approve(list(blocks))["action_id"] == APPROVE_ACTION_ID


def test_a_late_card_says_the_penalty_and_its_approve_asks_to_confirm_it() -> None:
    card = ApprovalCard(id="7", action="issue", document=doc(D(2026, 3, 11)), requester="U_ALICE")
    blocks = build_approval_message(card)
    text = json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)
    assert "*Late*" in text and "지연발급" in text and "*₩10,000*" in text
    button = approve(list(blocks))
    assert button["action_id"] == APPROVE_LATE_ACTION_ID
    confirm = json.dumps(button["confirm"], ensure_ascii=False)
    assert "₩10,000" in confirm and format_date(D(2026, 3, 10)) in confirm


def test_a_decided_card_has_no_button_and_a_card_without_a_deadline_no_line() -> None:
    decided = ApprovalCard(id="7", action="issue", document=doc(D(2026, 3, 11)), requester="U_ALICE",
                           state=ApprovalState.REJECTED, decider="U_BOB", reason="no")
    assert "approval_approve" not in json.dumps([b.to_dict() for b in build_approval_message(decided)])
    plain = ApprovalCard(id="7", action="issue", document=doc(None), requester="U_ALICE")
    assert "deadline" not in json.dumps([b.to_dict() for b in build_approval_message(plain)]).lower()


def test_after_the_filing_deadline_it_counts_as_not_issued() -> None:
    line = deadline_line(doc(D(2026, 7, 28)).deadline)  # type: ignore[arg-type]
    assert "미발급" in line and "2%" in line and "₩20,000" in line and format_date(D(2026, 7, 27)) in line


def test_the_status_message_shows_the_transmission_deadline() -> None:
    card = DocumentCard(ref="INV-000001", provider=Provider.HIWORKS, kind=DocumentKind.TAX_INVOICE,
                        deadline=deadline_card(transmit_note(D(2026, 3, 3), D(2026, 3, 3), SUPPLY, D(2026, 3, 6))))
    text = json.dumps([b.to_dict() for b in build_status_message(card)], ensure_ascii=False)
    assert "Not transmitted" in text and format_date(D(2026, 3, 4)) in text and "₩3,000" in text and "지연전송" in text


def test_an_empty_report_says_so() -> None:
    report = DeadlineReport(today=D(2026, 3, 6), within_days=5)
    text = json.dumps([b.to_dict() for b in build_deadlines_message(report)], ensure_ascii=False)
    assert "Nothing is near or past a tax deadline" in text
    assert deadlines_text(report) == "Tax deadlines: nothing is near or past a deadline."
