"""The test process's engines share the SQL they compiled, and only between alike dialects (tests/compiled_cache.py)."""

from __future__ import annotations

import gc
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from commands.ledger import create_engine, metadata
from tests.compiled_cache import SHARED, dialect_settings
from tests.db_fixtures import copy_migrated_sqlite


def _statement() -> object:
    documents = metadata.tables["documents"]
    return select(documents.c.id).where(documents.c.ref == "INV-000001")


async def _cache_hit(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        result = await conn.execute(_statement())  # type: ignore[call-overload]
        return bool(result.context.cache_hit == engine.dialect.CACHE_HIT)


async def test_a_new_engine_runs_the_sql_an_earlier_engine_compiled(tmp_path: Path, sqlite_template: Path) -> None:
    first = create_engine(f"sqlite+aiosqlite:///{sqlite_template}")
    second = create_engine(copy_migrated_sqlite(tmp_path / "other.db"))
    try:
        await _cache_hit(first)
        assert first.sync_engine._compiled_cache is SHARED
        assert await _cache_hit(second), "the second engine compiled the statement again"
    finally:
        await first.dispose()
        await second.dispose()


async def test_dialects_that_differ_in_a_setting_do_not_share(tmp_path: Path, sqlite_template: Path) -> None:
    first = create_engine(f"sqlite+aiosqlite:///{sqlite_template}")
    second = create_engine(copy_migrated_sqlite(tmp_path / "other.db"))
    try:
        await _cache_hit(first)
        async with second.connect():
            pass
        dialect = second.sync_engine.dialect
        assert dialect_settings(dialect) == dialect_settings(first.sync_engine.dialect)
        dialect.server_version_info = (3, 1, 0)  # as if connected to another SQLite
        dialect.__dict__.pop("_invoicebot_test_settings", None)
        assert dialect_settings(dialect) != dialect_settings(first.sync_engine.dialect)
        assert not await _cache_hit(second)
    finally:
        await first.dispose()
        await second.dispose()


def test_the_collected_session_is_set_aside_from_the_garbage_collector() -> None:
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] >= 50_000
