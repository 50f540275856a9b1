"""AuditRepo: details are redacted, and events are typed by AuditKind and AuditOperation."""

from __future__ import annotations

from commands.ledger import Store
from tests.commands.ledger.factories import T0


async def test_audit_details_are_redacted(store: Store) -> None:
    await store.audit.record(
        actor="U_ALICE",
        action="provider_call",
        operation="issue",
        outcome="ok",
        detail={"headers": {"Authorization": "Bearer abc"}, "apiKey": "k", "amount": 110000, "at": T0},
    )

    (event,) = await store.audit.search(action="provider_call")
    assert event.detail == {"headers": {"Authorization": "***"}, "apiKey": "***", "amount": 110000,
                            "at": "2024-05-01 00:00:00+00:00"}
