"""Workflow views -> cards: both state columns travel, and history reads as words."""

from __future__ import annotations

import datetime as dt

from commands.ledger import AuditEventRecord
from commands.ledger.vocabulary import AuditOperation, Lifecycle
from commands.slack.blocks import build_list_message, build_status_message, status_text
from commands.slack.cards import document_card, history_from_audit
from commands.workflow import DocumentView
from providers.models import DocumentKind, DocumentState, Provider

NOW = dt.datetime(2024, 5, 17, 5, 30, tzinfo=dt.UTC)


def view(lifecycle: Lifecycle | None, state: DocumentState | None) -> DocumentView:
    return DocumentView(ref="INV-000001", provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE,
                        lifecycle=lifecycle, state=state, supply=100_000, vat=10_000, total=110_000)


def event(n: int, operation: str | None, action: str = "command", actor: str = "U1",
          outcome: str | None = "ok") -> AuditEventRecord:
    return AuditEventRecord(id=n, at=NOW + dt.timedelta(minutes=n), actor=actor, action=action, operation=operation,
                            document_id=1, document_ref="INV-000001", approval_id=None, outcome=outcome, detail={})


def test_pending_and_rejected_documents_are_not_listed_as_unknown() -> None:
    cards = [document_card(view(Lifecycle.PENDING_APPROVAL, None)), document_card(view(Lifecycle.REJECTED, None))]
    text = str([b.to_dict() for b in build_list_message(cards)])
    assert "⏳ waiting for approval" in text and "🚫 rejected" in text and "unknown" not in text


def test_a_deleted_document_has_one_label_in_its_status() -> None:
    card = document_card(view(Lifecycle.DESTROYED, DocumentState.DELETED))
    assert status_text(card) == "INV-000001: 🗑️ cancelled, ₩110,000"
    assert "deleted" not in str([b.to_dict() for b in build_status_message(card)])


def test_a_document_only_the_provider_knows_keeps_the_providers_state() -> None:
    assert document_card(view(None, None)).label == "❔ unknown"
    assert document_card(view(None, DocumentState.FILED)).label == "✅ filed with NTS"


def test_history_uses_the_words_of_every_recorded_operation() -> None:
    events = [event(1, AuditOperation.ISSUE_REQUEST.value), event(2, "approve", action="decision", actor="U2"),
              event(3, "issue", action="provider_call", actor="system"),
              event(4, "status_change", action="system", actor="system:sweep"),
              event(5, None, action="callback", actor="provider:popbill")]
    lines = [what for _, what in history_from_audit(events)]
    assert lines == ["issue requested by <@U1>", "approved by <@U2>", "issued at the provider", "state changed",
                     "provider callback"]


def test_history_shows_an_unknown_code_readably_and_keeps_failed_outcomes() -> None:
    lines = [what for _, what in history_from_audit([event(1, "something.new_thing", outcome="refused")])]
    assert lines == ["something new thing by <@U1> (refused)"]


def test_status_says_not_found_and_not_reachable_in_different_words_and_shows_no_dead_links() -> None:
    base = view(Lifecycle.ISSUED, DocumentState.ISSUED).model_copy(
        update={"links": {"popup": "http://127.0.0.1:41234/popup/INV-000001"}})
    missing = document_card(base.model_copy(update={"error": "popbill: [-11000005] Document ID does not exist",
                                                    "error_code": "not_found:-11000005"}))
    down = document_card(base.model_copy(update={"error": "popbill: connect timeout", "error_code": "unavailable"}))
    fine = document_card(base)

    assert missing.detail and missing.detail.startswith("popbill does not know this document: ")
    assert "not reachable" not in missing.detail and "could not be reached" not in missing.detail
    assert down.detail and down.detail.startswith("popbill could not be reached: ")
    assert missing.links == {} and down.links == {}
    assert fine.links == {"popup": "http://127.0.0.1:41234/popup/INV-000001"}
    blocks = str([b.to_dict() for b in build_status_message(missing)])
    assert "41234" not in blocks and "does not know this document" in blocks
