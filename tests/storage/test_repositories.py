"""Repositories on SQLite and PostgreSQL: refs, compare-and-set, claims, dedup, queries."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from commands.ledger import (
    ApprovalAction,
    ApprovalState,
    IdempotencyConflict,
    IdempotencyState,
    Lifecycle,
    Store,
)
from providers.models import (
    Amounts,
    BusinessState,
    BusinessStatus,
    DocumentKind,
    DocumentRef,
    DocumentState,
    DocumentStatus,
    IssueRequest,
    LineItem,
    Party,
    Provider,
)

T0 = dt.datetime(2024, 5, 1, 0, 0, tzinfo=dt.UTC)


def request(buyer_name: str = "주식회사 가나다") -> IssueRequest:
    return IssueRequest(
        provider=Provider.POPBILL,
        kind=DocumentKind.TAX_INVOICE,
        key="PLACEHOLDER",
        buyer=Party(name=buyer_name, bizno="6798700433", email="buyer@example.com"),
        items=[LineItem(name="컨설팅", unit_price=100_000)],
        write_date=dt.date(2024, 5, 1),
    )


async def new_document(store: Store, *, buyer_name: str = "주식회사 가나다", now: dt.datetime = T0,
                       provider: Provider = Provider.POPBILL) -> int:
    doc = await store.documents.create(
        provider=provider,
        kind=DocumentKind.TAX_INVOICE,
        lifecycle=Lifecycle.PENDING_APPROVAL,
        request=request(buyer_name),
        requested_by="U_ALICE",
        now=now,
    )
    return doc.id


def issued_status(provider_id: str, state: DocumentState = DocumentState.ISSUED) -> DocumentStatus:
    return DocumentStatus(
        ref=DocumentRef(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE, provider_id=provider_id),
        state=state,
        raw_state="300",
        confirm_number="20240501-41000000-00000001",
        links={"popup": "https://example.invalid/popup"},
    )


# --------------------------------------------------------------------------- documents


async def test_documents_get_refs_from_their_ids_and_keep_the_request(store: Store) -> None:
    first = await store.documents.create(
        provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE, lifecycle=Lifecycle.PENDING_APPROVAL,
        request=request(), now=T0,
    )
    second = await store.documents.create(
        provider=Provider.PAYSSAM, kind=DocumentKind.BILL, lifecycle=Lifecycle.PENDING_APPROVAL, now=T0
    )

    assert (first.ref, second.ref) == ("INV-000001", "INV-000002")
    assert (first.supply, first.vat, first.total, first.currency) == (100_000, 10_000, 110_000, "KRW")
    stored = first.issue_request()
    assert stored is not None and stored.key == "INV-000001"
    assert stored.buyer.name == "주식회사 가나다"
    assert first.created_at == T0 and first.created_at.tzinfo is not None
    assert await store.documents.get_by_ref("INV-000002") == second


async def test_hostile_text_is_stored_as_text(store: Store) -> None:
    hostile = "'; DROP TABLE documents; --"

    document_id = await new_document(store, buyer_name=hostile)

    doc = await store.documents.get(document_id)
    assert doc is not None and doc.buyer_name == hostile
    assert len(await store.documents.search()) == 1
    await store.audit.record(actor=hostile, action="command", detail={"text": hostile})
    assert (await store.audit.search())[0].actor == hostile


async def test_lifecycle_moves_only_from_the_expected_state(store: Store) -> None:
    document_id = await new_document(store)

    assert await store.documents.set_lifecycle(document_id, Lifecycle.ISSUING, expected=Lifecycle.PENDING_APPROVAL)
    assert not await store.documents.set_lifecycle(document_id, Lifecycle.ISSUING, expected=Lifecycle.PENDING_APPROVAL)
    assert await store.documents.set_lifecycle(
        document_id, Lifecycle.FAILED, expected=(Lifecycle.ISSUING, Lifecycle.DESTROYING), error="provider said no"
    )
    doc = await store.documents.get(document_id)
    assert doc is not None and doc.lifecycle is Lifecycle.FAILED and doc.last_error == "provider said no"


async def test_record_status_stores_what_the_provider_said(store: Store) -> None:
    document_id = await new_document(store)
    now = T0 + dt.timedelta(minutes=5)

    assert await store.documents.record_status(
        document_id, issued_status("INV-000001"), lifecycle=Lifecycle.ISSUED, now=now
    )

    doc = await store.documents.get(document_id)
    assert doc is not None
    assert doc.lifecycle is Lifecycle.ISSUED
    assert (doc.provider_id, doc.state, doc.raw_state) == ("INV-000001", DocumentState.ISSUED, "300")
    assert doc.confirm_number == "20240501-41000000-00000001"
    assert doc.links == {"popup": "https://example.invalid/popup"}
    assert doc.issued_at == now and doc.state_checked_at == now
    assert doc.document_ref == issued_status("INV-000001").ref
    assert await store.documents.get_by_provider_id(Provider.POPBILL, "INV-000001") == doc
    # a later refresh keeps the first issuance time
    later = now + dt.timedelta(hours=1)
    await store.documents.record_status(document_id, issued_status("INV-000001", DocumentState.FILED), now=later)
    refreshed = await store.documents.get(document_id)
    assert refreshed is not None and refreshed.issued_at == now and refreshed.state is DocumentState.FILED


async def test_search_pages_newest_first_and_filters(store: Store) -> None:
    ids = [await new_document(store) for _ in range(5)]
    await store.documents.record_status(ids[1], issued_status("A"), lifecycle=Lifecycle.ISSUED)
    await store.documents.record_status(ids[3], issued_status("B"), lifecycle=Lifecycle.ISSUED)

    page1 = await store.documents.search(limit=2)
    page2 = await store.documents.search(limit=2, before_id=page1[-1].id)
    issued = await store.documents.search(state=DocumentState.ISSUED)
    pending = await store.documents.search(lifecycle=Lifecycle.PENDING_APPROVAL, provider=Provider.POPBILL)

    assert [d.id for d in page1 + page2] == [ids[4], ids[3], ids[2], ids[1]]
    assert [d.id for d in issued] == [ids[3], ids[1]]
    assert [d.id for d in pending] == [ids[4], ids[2], ids[0]]


async def test_list_open_is_what_a_status_sweep_refreshes(store: Store) -> None:
    ids = [await new_document(store) for _ in range(4)]
    await store.documents.record_status(ids[0], issued_status("A"), lifecycle=Lifecycle.ISSUED)
    await store.documents.record_status(ids[1], issued_status("B", DocumentState.FILED), lifecycle=Lifecycle.ISSUED)
    await store.documents.record_status(ids[2], issued_status("C", DocumentState.SENT), lifecycle=Lifecycle.ISSUED)

    first = await store.documents.list_open(limit=1)
    rest = await store.documents.list_open(after_id=first[-1].id)

    assert [d.id for d in first + rest] == [ids[0], ids[2]]


async def test_aggregate_counts_and_totals_per_day(store: Store) -> None:
    day = T0
    for _ in range(3):
        await new_document(store, now=day)
    await new_document(store, now=day, provider=Provider.HIWORKS)
    await new_document(store, now=day + dt.timedelta(days=1))

    rows = await store.documents.aggregate(day, day + dt.timedelta(days=1))

    assert [(r.provider, r.lifecycle, r.state, r.count, r.total) for r in rows] == [
        (Provider.HIWORKS, Lifecycle.PENDING_APPROVAL, None, 1, 110_000),
        (Provider.POPBILL, Lifecycle.PENDING_APPROVAL, None, 3, 330_000),
    ]


async def test_iter_created_between_pages_through_everything(store: Store) -> None:
    for i in range(7):
        await new_document(store, now=T0 + dt.timedelta(hours=i))

    seen = [d.ref async for d in store.documents.iter_created_between(T0, T0 + dt.timedelta(hours=6), batch_size=2)]

    assert seen == [f"INV-{i:06d}" for i in range(1, 7)]


# --------------------------------------------------------------------------- approvals


async def test_approval_transitions_are_compare_and_set(store: Store) -> None:
    document_id = await new_document(store)
    approval = await store.approvals.create(
        action=ApprovalAction.ISSUE, document_id=document_id, requester="U_ALICE",
        expires_at=T0 + dt.timedelta(hours=24), now=T0,
    )
    assert approval.state is ApprovalState.PENDING

    moved = await asyncio.gather(
        *(
            store.approvals.transition(approval.id, expected=ApprovalState.PENDING, to=ApprovalState.APPROVED,
                                       decider=f"U{i}", unexpired_at=T0)
            for i in range(20)
        )
    )

    assert moved.count(True) == 1
    current = await store.approvals.get(approval.id)
    assert current is not None and current.state is ApprovalState.APPROVED
    assert current.decider == f"U{moved.index(True)}"
    with pytest.raises(TypeError):
        await store.approvals.transition(approval.id, expected=ApprovalState.APPROVED, to=ApprovalState.EXECUTING,
                                         requester="U_EVE")


async def test_an_expired_request_cannot_be_approved(store: Store) -> None:
    document_id = await new_document(store)
    approval = await store.approvals.create(
        action=ApprovalAction.ISSUE, document_id=document_id, requester="U_ALICE",
        expires_at=T0 + dt.timedelta(hours=1), now=T0,
    )
    late = T0 + dt.timedelta(hours=2)

    assert not await store.approvals.transition(
        approval.id, expected=ApprovalState.PENDING, to=ApprovalState.APPROVED, unexpired_at=late
    )
    assert [a.id for a in await store.approvals.search(states=ApprovalState.PENDING, expired_at=late)] == [approval.id]
    assert await store.approvals.search(states=ApprovalState.PENDING, expired_at=T0) == []


async def test_taking_over_a_stuck_execution_happens_once(store: Store) -> None:
    document_id = await new_document(store)
    approval = await store.approvals.create(
        action=ApprovalAction.ISSUE, document_id=document_id, requester="U_ALICE", state=ApprovalState.APPROVED
    )
    assert await store.approvals.transition(approval.id, expected=ApprovalState.APPROVED,
                                            to=ApprovalState.EXECUTING, count_attempt=True)

    takeovers = await asyncio.gather(
        *(
            store.approvals.transition(approval.id, expected=ApprovalState.EXECUTING, to=ApprovalState.EXECUTING,
                                       attempts_seen=1, count_attempt=True)
            for _ in range(10)
        )
    )

    assert takeovers.count(True) == 1
    current = await store.approvals.get(approval.id)
    assert current is not None and current.attempts == 2


async def test_pending_list_for_an_approver_leaves_out_their_requests(store: Store) -> None:
    document_id = await new_document(store)
    mine = await store.approvals.create(action=ApprovalAction.ISSUE, document_id=document_id, requester="U_ALICE")
    theirs = await store.approvals.create(action=ApprovalAction.DESTROY, document_id=document_id, requester="U_BOB")

    assert [a.id for a in await store.approvals.search(states=ApprovalState.PENDING)] == [mine.id, theirs.id]
    assert [a.id for a in await store.approvals.search(states=ApprovalState.PENDING, exclude_requester="U_ALICE")] == [
        theirs.id
    ]
    assert await store.approvals.count(ApprovalState.PENDING) == 2


async def test_a_transaction_is_all_or_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.documents.create(
                provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE, lifecycle=Lifecycle.PENDING_APPROVAL
            )
            raise RuntimeError("crash before the approval row")

    assert await store.documents.search() == []


# --------------------------------------------------------------------------- audit


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


# --------------------------------------------------------------------------- closure checks


def business(bizno: str, state: BusinessState, raw: str) -> BusinessStatus:
    return BusinessStatus(bizno=bizno, state=state, raw_state=raw, tax_type="general taxable")


async def test_closure_history_latest_and_changes(store: Store) -> None:
    await store.closures.record(
        [business("6798700433", BusinessState.ACTIVE, "1"), business("1231212312", BusinessState.ACTIVE, "1")],
        provider=Provider.POPBILL, checked_by="U_ALICE", now=T0,
    )
    later = T0 + dt.timedelta(days=1)
    await store.closures.record(
        [business("6798700433", BusinessState.CLOSED, "3"), business("1231212312", BusinessState.ACTIVE, "1")],
        provider=Provider.POPBILL, checked_by="U_BOB", now=later,
    )

    latest = await store.closures.latest(["6798700433", "1231212312", "0000000000"])
    changes = await store.closures.changes_since(later)

    assert {b: (c.state, c.checked_by) for b, c in latest.items()} == {
        "6798700433": ("closed", "U_BOB"),
        "1231212312": ("active", "U_BOB"),
    }
    assert [(c.bizno, c.previous.state, c.current.state) for c in changes] == [("6798700433", "active", "closed")]
    assert [c.state for c in await store.closures.history("6798700433")] == ["closed", "active"]


# --------------------------------------------------------------------------- idempotency


async def test_idempotency_key_is_claimed_once(store: Store) -> None:
    claims = await asyncio.gather(*(store.idempotency.claim("issue:INV-000001", "issue", "h1") for _ in range(20)))

    assert [c.claimed for c in claims].count(True) == 1
    assert all(c.record.state is IdempotencyState.IN_FLIGHT for c in claims)


async def test_idempotency_key_lifecycle(store: Store) -> None:
    assert (await store.idempotency.claim("k", "issue", "h1")).claimed
    await store.idempotency.fail("k", {"error": "unavailable"})
    again = await store.idempotency.claim("k", "issue", "h1")  # nothing happened: may be claimed again
    assert again.claimed and again.record.attempts == 2
    await store.idempotency.complete("k", {"provider_id": "INV-000001"})

    done = await store.idempotency.claim("k", "issue", "h1")

    assert not done.claimed
    assert done.record.state is IdempotencyState.DONE
    assert done.record.result == {"provider_id": "INV-000001"}
    with pytest.raises(IdempotencyConflict):
        await store.idempotency.claim("k", "issue", "another request")


# --------------------------------------------------------------------------- digests and callbacks


async def test_digest_run_is_claimed_once_per_channel_and_day(store: Store) -> None:
    day = dt.date(2024, 5, 1)

    claims = await asyncio.gather(*(store.claim_digest_run("C_FIN", day, f"instance-{i}") for i in range(30)))

    assert claims.count(True) == 1
    assert await store.claim_digest_run("C_FIN", day + dt.timedelta(days=1), "instance-0")
    assert await store.claim_digest_run("C_OPS", day, "instance-0")
    run = await store.digests.get_run("C_FIN", day)
    assert run is not None and run.claimed_by == f"instance-{claims.index(True)}" and run.posted_at is None
    assert await store.digests.finish_run("C_FIN", day, message_ts="1714521600.000200", summary={"issued": 3})
    posted = await store.digests.get_run("C_FIN", day)
    assert posted is not None and posted.message_ts == "1714521600.000200" and posted.summary == {"issued": 3}


async def test_digest_run_claim_across_two_engines(database_url: str) -> None:
    """Two bot processes, each with its own engine and pool, race for the same morning digest."""
    first, second = await Store.open(database_url, migrate=False), await Store.open(database_url, migrate=False)
    try:
        day = dt.date(2024, 5, 1)
        claims = await asyncio.gather(
            *(s.claim_digest_run("C_FIN", day, name) for _ in range(10) for s, name in ((first, "a"), (second, "b")))
        )
    finally:
        await first.close()
        await second.close()

    assert claims.count(True) == 1


async def test_digest_schedules_upsert(store: Store) -> None:
    await store.digests.upsert_schedule("C_FIN", time="09:00", created_by="U_ALICE")
    updated = await store.digests.upsert_schedule("C_FIN", time="08:30", timezone="UTC", created_by="U_BOB")
    await store.digests.upsert_schedule("C_OFF", time="10:00", enabled=False)

    assert (updated.time, updated.timezone, updated.created_by) == ("08:30", "UTC", "U_ALICE")
    assert [s.channel_id for s in await store.digests.list_schedules()] == ["C_FIN"]
    assert len(await store.digests.list_schedules(enabled_only=False)) == 2
    with pytest.raises(ValueError, match="HH:MM"):
        await store.digests.upsert_schedule("C_FIN", time="9am")
    assert await store.digests.delete_schedule("C_OFF")
    assert await store.digests.get_schedule("C_OFF") is None


async def test_callbacks_are_deduplicated(store: Store) -> None:
    payload = {"billId": "INV-000001", "apprState": "F", "hash": "secret-hash"}

    firsts = await asyncio.gather(*(store.record_callback("payssam", "INV-000001:F", payload) for _ in range(10)))

    assert firsts.count(True) == 1
    assert await store.record_callback("payssam", "INV-000001:C", payload)
    assert await store.record_callback("abillify", "INV-000001:F", payload)  # keys are per provider
    (latest, *_) = await store.callbacks.recent("payssam")
    assert latest.payload == {"billId": "INV-000001", "apprState": "F", "hash": "***"}


async def test_amounts_type_roundtrip_for_large_totals(store: Store) -> None:
    doc = await store.documents.create(
        provider=Provider.ABILLIFY, kind=DocumentKind.INVOICE, lifecycle=Lifecycle.ISSUED,
        amounts=Amounts(supply=9_000_000_000_000, vat=900_000_000_000, total=9_900_000_000_000),
    )

    stored = await store.documents.get(doc.id)
    assert stored is not None and stored.total == 9_900_000_000_000
