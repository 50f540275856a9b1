"""DocumentRepo on SQLite and PostgreSQL: refs, compare-and-set lifecycles, status records, paging."""

from __future__ import annotations

import datetime as dt

from commands.ledger import Lifecycle, Store
from providers.models import Amounts, DocumentKind, DocumentState, Provider
from tests.commands.ledger.factories import T0, issued_status, new_document, request


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


async def test_amounts_type_roundtrip_for_large_totals(store: Store) -> None:
    doc = await store.documents.create(
        provider=Provider.ABILLIFY, kind=DocumentKind.INVOICE, lifecycle=Lifecycle.ISSUED,
        amounts=Amounts(supply=9_000_000_000_000, vat=900_000_000_000, total=9_900_000_000_000),
    )

    stored = await store.documents.get(doc.id)
    assert stored is not None and stored.total == 9_900_000_000_000


async def _written(store: Store, day: dt.date, lifecycle: Lifecycle, state: DocumentState | None = None) -> int:
    doc = await store.documents.create(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE,
                                       lifecycle=lifecycle, write_date=day)
    if state is not None:
        await store.documents.record_status(doc.id, issued_status(f"P{doc.id}", state))
    return doc.id


async def test_iter_written_between_lists_issued_and_cancelled_by_write_date(store: Store) -> None:
    may1, may2, may3, may4 = (dt.date(2024, 5, d) for d in (1, 2, 3, 4))
    late_issued = await _written(store, may3, Lifecycle.ISSUED, DocumentState.ISSUED)
    paid = await _written(store, may2, Lifecycle.ISSUED, DocumentState.PAID)
    deleted = await _written(store, may2, Lifecycle.ISSUED, DocumentState.DELETED)
    destroyed = await _written(store, may1, Lifecycle.DESTROYED, DocumentState.DESTROYED)
    destroying = await _written(store, may3, Lifecycle.DESTROYING, DocumentState.ISSUED)
    for lifecycle in (Lifecycle.PENDING_APPROVAL, Lifecycle.REJECTED, Lifecycle.EXPIRED, Lifecycle.ISSUING,
                      Lifecycle.FAILED, Lifecycle.OUTCOME_UNKNOWN):
        await _written(store, may2, lifecycle)  # requests that never became documents
    await _written(store, may4, Lifecycle.ISSUED, DocumentState.ISSUED)  # after the range
    await _written(store, may1 - dt.timedelta(days=1), Lifecycle.ISSUED, DocumentState.ISSUED)  # before it

    listed = [(d.id, d.write_date) async for d in store.documents.iter_written_between(may1, may3, batch_size=2)]

    assert listed == [(destroyed, may1), (paid, may2), (deleted, may2), (late_issued, may3), (destroying, may3)]
