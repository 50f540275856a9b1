"""SQLite statements take one trip to aiosqlite's thread, and read and write exactly as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from commands.ledger.db import create_engine

metadata = sa.MetaData()
items = sa.Table("items", metadata, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.String, unique=True, nullable=False))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one-trip.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call queued to an aiosqlite connection's thread."""
    seen: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen


async def test_a_select_is_one_trip_to_the_connections_thread(engine: AsyncEngine, trips: list[str]) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.insert(items), [{"name": "a"}, {"name": "b"}])
        trips.clear()
        rows = (await conn.execute(sa.select(items.c.name).order_by(items.c.name))).all()
        assert [r.name for r in rows] == ["a", "b"]
        assert len(trips) == 1, trips  # it was four: open a cursor, execute, fetch, close


async def test_writes_report_their_row_counts_and_new_ids(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        inserted = await conn.execute(sa.insert(items).values(name="first"))
        assert inserted.inserted_primary_key == (1,)
        many = await conn.execute(sa.insert(items), [{"name": "x"}, {"name": "y"}, {"name": "z"}])
        assert many.rowcount == 3
        renamed = sa.update(items).where(items.c.name.in_(["x", "y"])).values(name=items.c.name + "!")
        updated = await conn.execute(renamed)
        assert updated.rowcount == 2
        returned = await conn.execute(sa.delete(items).where(items.c.name == "z").returning(items.c.id))
        assert returned.scalar_one() == 4
        assert (await conn.execute(sa.select(sa.func.count()).select_from(items))).scalar_one() == 3


async def test_errors_are_sqlalchemys_and_the_transaction_rolls_back(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(sa.insert(items).values(name="same"))
            await conn.execute(sa.insert(items).values(name="same"))
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(items))).scalar_one() == 0


async def test_a_streamed_result_still_reads_row_by_row(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.insert(items), [{"name": f"n{i:03d}"} for i in range(250)])
    async with engine.connect() as conn:
        result = await conn.stream(sa.select(items.c.name).order_by(items.c.id))
        names = [row.name async for row in result]
    assert names == [f"n{i:03d}" for i in range(250)]
