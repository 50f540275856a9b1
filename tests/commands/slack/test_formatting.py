"""One label per state enum, and one label per document whatever surface shows it."""

from __future__ import annotations

import pytest

from commands.ledger.vocabulary import ApprovalState, AuditOperation, Lifecycle, Standing
from commands.slack.formatting import (
    approval_state_label,
    business_state_label,
    document_label,
    operation_label,
    standing_label,
    state_label,
)
from providers.models import BusinessState, DocumentState


def test_every_audit_operation_has_words_not_its_code() -> None:
    for operation in AuditOperation:
        label = operation_label(operation)
        assert label and label != operation.value and "_" not in label, operation
    assert len({operation_label(o) for o in AuditOperation}) == len(AuditOperation)


@pytest.mark.parametrize(("enum", "label"), [(Standing, standing_label), (ApprovalState, approval_state_label),
                                             (DocumentState, state_label), (BusinessState, business_state_label)])
def test_every_state_of_every_enum_has_its_own_label(enum: type, label: object) -> None:
    labels = [label(member) for member in enum]  # type: ignore[operator]
    assert all(isinstance(text, str) and text and text not in {m.value for m in enum} for text in labels)
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize(("lifecycle", "state", "expected"), [
    (Lifecycle.PENDING_APPROVAL, None, "⏳ waiting for approval"),
    (Lifecycle.REJECTED, None, "🚫 rejected"),
    (Lifecycle.EXPIRED, None, "⌛ approval expired"),
    (Lifecycle.ISSUING, None, "⏳ issuing"),
    (Lifecycle.FAILED, None, "❌ failed"),
    (Lifecycle.OUTCOME_UNKNOWN, None, "❔ outcome unknown"),
    (Lifecycle.ISSUED, DocumentState.SENT, "📨 sent"),
    (Lifecycle.ISSUED, DocumentState.PAID, "✅ paid"),
    (Lifecycle.ISSUED, None, "📄 issued"),
    (Lifecycle.DESTROYING, DocumentState.ISSUED, "📄 issued"),
    (Lifecycle.ISSUED, DocumentState.CANCELED, "🗑️ cancelled"),
    (Lifecycle.DESTROYED, DocumentState.DELETED, "🗑️ cancelled"),
    (Lifecycle.DESTROYED, DocumentState.DESTROYED, "🗑️ cancelled"),
])
def test_a_document_reads_as_its_standing_unless_it_is_live(
    lifecycle: Lifecycle, state: DocumentState | None, expected: str
) -> None:
    assert document_label(lifecycle, state) == expected
