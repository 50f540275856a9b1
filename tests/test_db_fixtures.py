"""The database fixtures hand every test a database as good as a new one, however they make it
faster: a copy of a migrated SQLite file, and the session's PostgreSQL database emptied."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from commands.ledger import Store, current_revision, head_revision, metadata
from commands.ledger.db import write_engine
from commands.ledger.schema import documents, issued_hourly
from tests.db_fixtures import copy_migrated_sqlite, empty_postgres, postgres_enabled

AT = dt.datetime(2026, 12, 1, 3, 17, tzinfo=dt.UTC)


def _document(ref: str) -> dict[str, object]:
    return {"ref": ref, "provider": "popbill", "kind": "tax_invoice", "lifecycle": "issued", "state": "issued",
            "currency": "KRW", "total": 110_000, "issued_at": AT, "channel_id": "C1", "created_at": AT,
            "updated_at": AT}


async def _counts(store: Store) -> dict[str, int]:
    async with store.engine.connect() as conn:
        return {t.name: int((await conn.execute(sa.select(sa.func.count()).select_from(t))).scalar_one())
                for t in metadata.sorted_tables}


async def _insert_document(store: Store, ref: str) -> int:
    async with write_engine(store.engine).begin() as conn:
        return int((await conn.execute(sa.insert(documents).values(_document(ref)).returning(documents.c.id)))
                   .scalar_one())


async def test_a_copied_sqlite_database_is_at_head_and_empty(tmp_path: Path) -> None:
    url = copy_migrated_sqlite(tmp_path / "copy.db")
    assert await current_revision(url) == head_revision()
    store = await Store.open(url, migrate=False)
    try:
        assert set((await _counts(store)).values()) == {0}
        assert await _insert_document(store, "INV-000001") == 1
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.skipif(not postgres_enabled(), reason="INVOICEBOT_TEST_POSTGRES=0")
async def test_an_emptied_postgres_database_is_empty_with_ids_from_1(postgres_session_url: str) -> None:
    store = await Store.open(postgres_session_url, migrate=False)
    try:
        await empty_postgres(postgres_session_url)
        for i in range(1, 4):
            await _insert_document(store, f"INV-{i:06d}")
        counts = await _counts(store)
        assert counts[documents.name] == 3 and counts[issued_hourly.name] > 0  # the trigger wrote its totals

        await empty_postgres(postgres_session_url)

        assert await _counts(store) == {t.name: 0 for t in metadata.sorted_tables}
        assert await _insert_document(store, "INV-000001") == 1
    finally:
        await store.close()
