"""Seeding helpers shared by the digest, scheduler, webhook and App Home tests.

`add_document` goes through the repository (so refs and stored requests are real) and
then sets the provider-side columns a test needs directly, like a sweep would have.
`bulk_documents` inserts many rows in one statement for the performance tests.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Any

import sqlalchemy as sa

from commands.ledger import DocumentRecord, Lifecycle, Store, write_engine
from commands.ledger.schema import approval_requests, documents
from providers.models import Amounts, DocumentKind, DocumentState, Party, Provider

KINDS = {
    Provider.POPBILL: DocumentKind.TAX_INVOICE,
    Provider.PAYSSAM: DocumentKind.BILL,
    Provider.HIWORKS: DocumentKind.STATEMENT,
    Provider.ABILLIFY: DocumentKind.INVOICE,
}

_ids = itertools.count(1)


async def add_document(
    store: Store,
    provider: Provider,
    *,
    state: DocumentState | None = DocumentState.ISSUED,
    raw_state: str | None = None,
    lifecycle: Lifecycle = Lifecycle.ISSUED,
    total: int = 110_000,
    currency: str = "KRW",
    sandbox: bool = False,
    buyer_name: str = "Acme Corp",
    buyer_bizno: str | None = None,
    buyer_phone: str | None = "01012345678",
    issued_at: dt.datetime | None = None,
    created_at: dt.datetime | None = None,
    updated_at: dt.datetime | None = None,
    due_date: dt.date | None = None,
    detail: str | None = None,
    last_error: str | None = None,
    provider_id: str | None = None,
    kind: DocumentKind | None = None,
    channel_id: str | None = "C1",
    thread_ts: str | None = "1700000000.000100",
    requested_by: str | None = "U1",
) -> DocumentRecord:
    created = created_at or issued_at or dt.datetime.now(dt.UTC)
    vat = total // 11
    doc = await store.documents.create(
        provider=provider, kind=kind or KINDS[provider], lifecycle=lifecycle, sandbox=sandbox,
        buyer=Party(name=buyer_name, bizno=buyer_bizno, phone=buyer_phone),
        amounts=Amounts(supply=total - vat, vat=vat, total=total, currency=currency),
        provider_id=provider_id if provider_id is not None else f"{provider.value}-{next(_ids)}",
        due_date=due_date, requested_by=requested_by, channel_id=channel_id, thread_ts=thread_ts, now=created,
    )
    values: dict[str, Any] = {
        "state": state.value if state else None,
        "raw_state": raw_state if raw_state is not None else (state.value if state else None),
        "issued_at": issued_at,
        "updated_at": updated_at or created,
        "state_detail": detail,
        "last_error": last_error,
    }
    async with write_engine(store.engine).begin() as conn:
        await conn.execute(sa.update(documents).where(documents.c.id == doc.id).values(**values))
    found = await store.documents.get(doc.id)
    assert found is not None
    return found


async def age_approval(store: Store, approval_id: int, created_at: dt.datetime) -> None:
    async with write_engine(store.engine).begin() as conn:
        await conn.execute(sa.update(approval_requests).where(approval_requests.c.id == approval_id)
                           .values(created_at=created_at))


#: a load this large builds the documents' secondary indexes once at its end (see `_indexes_built_after`)
LARGE_LOAD = 20_000


async def bulk_documents(store: Store, count: int, *, now: dt.datetime, days: int = 30, seed: int = 7,
                         chunk: int = 10_000, first_id: int = 1) -> None:
    """`count` documents over `days` days across providers, states and lifecycles (ids from `first_id`)."""
    async with _indexes_built_after(store) if count >= LARGE_LOAD else nullcontext():
        await _bulk_documents(store, count, now=now, days=days, seed=seed, chunk=chunk, first_id=first_id)
    if store.engine.dialect.name == "postgresql":
        async with write_engine(store.engine).begin() as conn:
            # explicit ids leave the sequence behind; keep later inserts working
            await conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('documents', 'id'), :n)"),
                               {"n": count})
            await conn.execute(sa.text("ANALYZE documents"))


#: the secondary indexes of `documents` and their DDL: not the primary key nor a unique constraint's
_INDEXES = {
    "sqlite": "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'documents' "
              "AND sql IS NOT NULL",
    "postgresql": "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'documents' AND indexname NOT IN "
                  "(SELECT conname FROM pg_constraint WHERE conrelid = 'documents'::regclass)",
}


@asynccontextmanager
async def _indexes_built_after(store: Store) -> AsyncIterator[None]:
    """Drop the secondary indexes of `documents` for the load and create the very same ones (their
    stored DDL) after it, as the PostgreSQL benchmark seeding does. Kept up row by row, the dozen
    indexes were four fifths of a 100,000-row SQLite load (12 s of CPU against 3 s). Triggers, unique
    constraints and the primary key stay in place, so every aggregate is kept as before."""
    async with write_engine(store.engine).begin() as conn:
        found = (await conn.execute(sa.text(_INDEXES[store.engine.dialect.name]))).all()
        for name, _ddl in found:
            await conn.exec_driver_sql(f'DROP INDEX "{name}"')  # names read from the schema itself
    try:
        yield
    finally:
        async with write_engine(store.engine).begin() as conn:
            for _name, ddl in found:
                await conn.exec_driver_sql(ddl)


async def _bulk_documents(store: Store, count: int, *, now: dt.datetime, days: int, seed: int, chunk: int,
                          first_id: int) -> None:
    rng = random.Random(seed)
    providers = list(KINDS)
    states = [DocumentState.ISSUED, DocumentState.FILED, DocumentState.FILING, DocumentState.UNPAID,
              DocumentState.PAID, DocumentState.FILING_FAILED, DocumentState.CANCELED, DocumentState.SENT]
    lifecycles = [Lifecycle.ISSUED] * 18 + [Lifecycle.FAILED, Lifecycle.OUTCOME_UNKNOWN, Lifecycle.DESTROYED]
    rows: list[dict[str, Any]] = []
    for i in range(first_id, first_id + count):
        provider = providers[i % 4]
        created = now - dt.timedelta(seconds=rng.randrange(days * 86400))
        lifecycle = rng.choice(lifecycles)
        state = rng.choice(states)
        total = rng.randrange(10_000, 5_000_000)
        rows.append({
            "id": i, "ref": f"INV-{i:06d}", "provider": provider.value, "kind": KINDS[provider].value,
            "provider_id": f"bulk-{i}", "origin": "bot", "sandbox": provider is Provider.PAYSSAM,
            "buyer_name": f"Buyer {i % 500}", "buyer_bizno": f"{1000000000 + i % 500}",
            "supply": total - total // 11, "vat": total // 11, "total": total,
            "currency": "EUR" if provider is Provider.ABILLIFY and i % 8 == 3 else "KRW",
            "lifecycle": lifecycle.value, "state": state.value, "raw_state": state.value,
            "due_date": (created + dt.timedelta(days=rng.randrange(-5, 15))).date(),
            "issued_at": created + dt.timedelta(minutes=1), "created_at": created, "updated_at": created,
            "links": {}, "channel_id": "C1" if i % 3 else "C2", "requested_by": f"U{i % 20}",
        })
        if len(rows) >= chunk:
            await _insert(store, rows)
            rows = []
    if rows:
        await _insert(store, rows)


async def _insert(store: Store, rows: list[dict[str, Any]]) -> None:
    async with write_engine(store.engine).begin() as conn:
        await conn.execute(sa.insert(documents), rows)


async def bulk_open_documents(store: Store, provider: Provider, provider_ids: list[str], *,
                              state: DocumentState, raw_state: str, now: dt.datetime,
                              buyer_bizno: str | None = None, kind: DocumentKind | None = None) -> None:
    """Issued documents of one provider, open at the provider, as a sweep finds them."""
    rows: list[dict[str, Any]] = [
        {"provider": provider.value, "kind": (kind or KINDS[provider]).value, "provider_id": pid, "origin": "bot",
         "sandbox": True, "buyer_name": "데모 거래처", "buyer_bizno": buyer_bizno, "supply": 100_000, "vat": 10_000,
         "total": 110_000, "currency": "KRW", "lifecycle": Lifecycle.ISSUED.value, "state": state.value,
         "raw_state": raw_state, "issued_at": now, "created_at": now, "updated_at": now, "links": {},
         "channel_id": "C1", "thread_ts": "1700000000.000100", "requested_by": "U1"}
        for pid in provider_ids
    ]
    await _insert(store, rows)
