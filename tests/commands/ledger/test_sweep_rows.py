"""`SweepRepo.record_changes`: the sweep's changed documents in a few executemany statements, written
exactly as `DocumentRepo.record_status(expected=SWEPT)` and `AuditRepo.record` write them one by one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from commands.ledger import AuditKind, AuditOperation, Store, write_engine
from commands.ledger.schema import audit_events, documents
from commands.ledger.sweep_rows import SweepRow
from providers.models import (
    BusinessState,
    BusinessStatus,
    DocumentKind,
    DocumentRef,
    DocumentState,
    DocumentStatus,
    Provider,
)

NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
SEEDED = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
#: (lifecycle, team, enterprise, what the provider says now) of each pair of twin documents
CASES: list[tuple[str, str | None, str | None, dict[str, Any]]] = [
    ("issued", None, None, {"state": DocumentState.SENT, "raw_state": "R"}),
    ("issued", "T1", "E1", {"state": DocumentState.SENT, "raw_state": "R"}),  # the event is in T1/E1
    ("destroying", None, None, {"state": DocumentState.FILED, "raw_state": "304", "confirm_number": "2026113041",
                                "links": {"pay": "https://x.test/p"}, "detail": "filed with the NTS (SUC001)",
                                "issued_at": dt.datetime(2026, 11, 2, 9, 0)}),  # another column shape; naive: KST
    ("destroyed", None, None, {"state": DocumentState.CANCELED, "raw_state": "600"}),  # left the sweep: not written
    ("issued", None, None, {"state": DocumentState.SENT, "raw_state": "R"}),
    ("failed", None, None, {"state": DocumentState.SENT, "raw_state": "R"}),  # same shape as a moved one
]


async def _seed(store: Store, prefix: str) -> list[SweepRow]:
    rows: list[dict[str, Any]] = [
        {"provider": "payssam", "kind": "bill", "provider_id": f"{prefix}{n}", "ref": f"INV-{prefix}{n}",
             "origin": "bot", "sandbox": True, "lifecycle": lifecycle, "state": "issued", "raw_state": "W",
             "issued_at": SEEDED, "created_at": SEEDED, "updated_at": SEEDED, "links": {}, "channel_id": "C1",
             "thread_ts": "1700000000.000100", "team_id": team, "enterprise_id": enterprise}
            for n, (lifecycle, team, enterprise, _answer) in enumerate(CASES)]
    async with write_engine(store.engine).begin() as conn:
        await conn.execute(sa.insert(documents), rows)
        found = (await conn.execute(sa.select(documents.c.id, documents.c.provider_id)
                                    .where(documents.c.provider_id.like(f"{prefix}%")))).all()
    ids = {pid: doc_id for doc_id, pid in found}
    return [SweepRow(id=ids[f"{prefix}{n}"], ref=f"INV-{prefix}{n}", provider=Provider.PAYSSAM, kind=DocumentKind.BILL,
                     provider_id=f"{prefix}{n}", sandbox=True, state=DocumentState.ISSUED, raw_state="W",
                     channel_id="C1", thread_ts="1700000000.000100", team_id=team)
            for n, (_l, team, _e, _a) in enumerate(CASES)]


def _status(row: SweepRow, answer: dict[str, Any]) -> DocumentStatus:
    return DocumentStatus(ref=DocumentRef(provider=row.provider, kind=row.kind, provider_id=row.provider_id),
                          **answer)


async def _one_by_one(store: Store, row: SweepRow, status: DocumentStatus) -> bool:
    """What the sweep wrote per changed document before (`sweep_run._record_change`)."""
    moved = await store.documents.record_status(row.id, status, expected=store.documents.SWEPT_LIFECYCLES, now=NOW)
    if moved:
        await store.audit.record(
            actor="sweep", action=AuditKind.SYSTEM, operation=AuditOperation.STATUS_CHANGE, document_id=row.id,
            document_ref=row.ref, outcome=status.state.value, now=NOW,
            detail={"from": row.state.value if row.state else None, "to": status.state.value,
                    "raw_state": status.raw_state, "detail": status.detail})
    return moved


async def _written(store: Store, rows: list[SweepRow]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each document's columns and its audit events, without what differs between twins (ids, keys)."""
    found = []
    async with store.engine.connect() as conn:
        for row in rows:
            doc = dict((await conn.execute(sa.select(documents).where(documents.c.id == row.id))).mappings().one())
            events = (await conn.execute(sa.select(audit_events).where(audit_events.c.document_id == row.id)
                                         .order_by(audit_events.c.id))).mappings().all()
            for key in ("id", "provider_id", "ref"):
                doc.pop(key)
            found.append((doc, [{k: v for k, v in e.items() if k not in ("id", "document_id", "document_ref")}
                                for e in events]))
    return found


async def test_changes_are_written_as_record_status_and_audit_record_write_them_one_by_one(store: Store) -> None:
    before = await _seed(store, "OLD")
    after = await _seed(store, "NEW")

    moved_before = {row.id for row, (_l, _t, _e, answer) in zip(before, CASES, strict=True)
                    if await _one_by_one(store, row, _status(row, answer))}
    changes = [(row, _status(row, answer)) for row, (_l, _t, _e, answer) in zip(after, CASES, strict=True)]
    moved = await store.sweeps.record_changes(changes[:2] + changes[4:5], NOW, actor="sweep")  # one shape
    moved |= await store.sweeps.record_changes(changes[2:4] + changes[5:], NOW, actor="sweep")  # mixed

    assert [row.id in moved for row in after] == [row.id in moved_before for row in before] \
        == [True, True, True, False, True, False]
    assert await _written(store, after) == await _written(store, before)
    (event,) = (await _written(store, after))[1][1]
    assert (event["team_id"], event["enterprise_id"], event["outcome"]) == ("T1", "E1", "sent")


async def test_no_change_writes_nothing(store: Store) -> None:
    assert await store.sweeps.record_changes([], NOW, actor="sweep") == set()


async def test_closure_checks_are_written_as_closure_record_writes_them(store: Store) -> None:
    """`record_closures` (one executemany INSERT) stores each number's check exactly as
    `ClosureRepo.record` (an INSERT ... RETURNING per number) does, naive times read as KST."""
    statuses = [
        BusinessStatus(bizno="1231212312", state=BusinessState.ACTIVE, raw_state="1", tax_type="general",
                       checked_at=dt.datetime(2026, 11, 30, 9, 0)),
        BusinessStatus(bizno="2208875476", state=BusinessState.CLOSED, raw_state="2", state_date=dt.date(2026, 10, 1),
                       detail="closed"),
    ]
    before = await store.closures.record(statuses, provider=Provider.POPBILL, checked_by="sweep", now=NOW)
    await store.sweeps.record_closures([], provider=Provider.POPBILL, checked_by="sweep", now=NOW)
    assert await store.sweeps.record_closures(statuses, provider=Provider.POPBILL, checked_by="sweep", now=NOW) == 2
    latest = await store.closures.latest([s.bizno for s in statuses])
    assert [dataclasses.replace(latest[r.bizno], id=r.id) for r in before] == before
    assert all(latest[r.bizno].id > r.id for r in before)


async def test_sweep_reads_see_open_documents_of_a_group_only(store: Store) -> None:
    """The prebuilt page and stalest statements bind the group (workspace or none, provider) and the page."""
    rows = await _seed(store, "PG")  # lifecycles issued, destroying, destroyed, failed; team T1 for one
    open_ids = [row.id for row, (lifecycle, team, _e, _a) in zip(rows, CASES, strict=True)
                if lifecycle in ("issued", "destroying") and team is None]
    page = await store.sweeps.page(Provider.PAYSSAM, None, after_id=0, limit=2)
    assert [r.id for r in page] == open_ids[:2]
    rest = await store.sweeps.page(Provider.PAYSSAM, None, after_id=page[-1].id, limit=10)
    assert [r.id for r in rest] == open_ids[2:]
    assert [r.id for r in await store.sweeps.page(Provider.PAYSSAM, "T1", after_id=0, limit=10)] == [rows[1].id]
    assert await store.sweeps.page(Provider.POPBILL, None, after_id=0, limit=10) == []
    assert sorted(r.id for r in await store.sweeps.stalest(Provider.PAYSSAM, None, limit=10)) == open_ids
    assert [r.id for r in await store.sweeps.stalest(Provider.PAYSSAM, "T1", limit=10)] == [rows[1].id]
    groups = {(g.team_id, g.provider): g.count for g in await store.sweeps.open_groups()}
    assert groups[(None, Provider.PAYSSAM)] == len(open_ids) and groups[("T1", Provider.PAYSSAM)] == 1


def test_a_row_reads_its_enumerations_and_refuses_unknown_values() -> None:
    """`_row` looks the stored values up in tables built from the enumerations; a value no
    enumeration has still fails as `Enum(value)` does (ValueError), never as a KeyError."""
    from commands.ledger.sweep_rows import _row

    row = _row((7, None, "hiworks", "tax_invoice", "D1", 1, "sent", None, None, None, "T1"))
    assert (row.provider, row.kind, row.state, row.ref, row.raw_state, row.sandbox) == (
        Provider.HIWORKS, DocumentKind.TAX_INVOICE, DocumentState.SENT, "", "", True)
    assert _row((7, "R", "payssam", "bill", "B1", 0, None, "W", None, None, None)).state is None
    for bad in ((7, "R", "nope", "bill", "B1", 0, None, "", None, None, None),
                (7, "R", "payssam", "nope", "B1", 0, None, "", None, None, None),
                (7, "R", "payssam", "bill", "B1", 0, "nope", "", None, None, None)):
        with pytest.raises(ValueError, match="nope"):
            _row(bad)


async def test_a_batch_of_answers_is_written_as_touch_and_record_changes_write_it(store: Store) -> None:
    """`write_answers` (one transaction) leaves the rows and events `touch` + `record_changes` leave."""
    before = await _seed(store, "TWA")
    after = await _seed(store, "TWB")
    changes_before = [(row, _status(row, answer)) for row, (_l, _t, _e, answer) in zip(before, CASES, strict=True)]
    changes_after = [(row, _status(row, answer)) for row, (_l, _t, _e, answer) in zip(after, CASES, strict=True)]
    await store.sweeps.touch([before[0].id], NOW)
    moved_before = await store.sweeps.record_changes(changes_before[1:], NOW, actor="sweep")
    moved = await store.sweeps.write_answers([after[0].id], changes_after[1:], NOW, actor="sweep")
    assert await store.sweeps.write_answers([], [], NOW, actor="sweep") == set()
    assert [row.id in moved for row in after] == [row.id in moved_before for row in before] \
        == [False, True, True, False, True, False]
    assert await _written(store, after) == await _written(store, before)
    assert (await _written(store, after))[0][0]["state_checked_at"] == NOW


async def test_closure_states_are_the_newest_check_of_each_number(store: Store) -> None:
    def check(bizno: str, state: BusinessState, raw: str) -> BusinessStatus:
        return BusinessStatus(bizno=bizno, state=state, raw_state=raw)

    await store.sweeps.record_closures([check("1231212312", BusinessState.ACTIVE, "1"),
                                        check("2208875476", BusinessState.ACTIVE, "1")],
                                       provider=Provider.POPBILL, checked_by="sweep", now=NOW)
    await store.sweeps.record_closures([check("1231212312", BusinessState.CLOSED, "2")],
                                       provider=Provider.POPBILL, checked_by="sweep", now=NOW)
    found = await store.sweeps.closure_states(["1231212312", "2208875476", "6798700433"])
    assert found == {"1231212312": ("closed", "2"), "2208875476": ("active", "1")}
    assert await store.sweeps.closure_states([]) == {}
