"""AuditRepo: details are redacted, and events are typed by AuditKind and AuditOperation."""

from __future__ import annotations

from commands.ledger import AuditKind, AuditOperation, Store
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


async def test_audit_events_are_typed_and_stored_as_their_words(store: Store) -> None:
    await store.audit.record(actor="sweep", action=AuditKind.SYSTEM, operation=AuditOperation.SWEEP, now=T0)
    await store.audit.record(actor="U_ALICE", action=AuditKind.DECISION, operation=AuditOperation.APPROVE, now=T0)
    await store.audit.record(actor="U_BOB", action="command", now=T0)  # a plain word still reads back the same

    sweeps = await store.audit.search(action=AuditKind.SYSTEM, operation=AuditOperation.SWEEP)
    commands = await store.audit.search(action="command")

    assert [(e.actor, e.action, e.operation) for e in sweeps] == [("sweep", "system", "sweep")]
    assert [(e.actor, e.operation) for e in commands] == [("U_BOB", None)]
    assert [e.actor for e in await store.audit.search(operation="approve")] == ["U_ALICE"]
