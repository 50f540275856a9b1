"""The Alembic migrations build exactly the schema the code describes, on both databases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from commands.ledger import (
    alembic_config,
    create_engine,
    current_revision,
    head_revision,
    metadata,
    migrate,
    upgrade,
    write_engine,
)

TABLES = {
    "alembic_version",
    "approval_requests",
    "approval_votes",
    "audit_events",
    "bulk_batches",
    "bulk_rows",
    "bulk_submissions",
    "callback_events",
    "closure_checks",
    "issued_hourly",
    "digest_posts",
    "digest_runs",
    "digest_schedules",
    "documents",
    "idempotency_keys",
    "slack_bots",
    "slack_installations",
    "slack_oauth_states",
    "step_executions",
    "provider_calls",
    "unpaid_daily",
    "replay_keys",
    "user_prefs",
    "workspace_settings",
}


async def _inspect(url: str) -> tuple[set[str], list[Any]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:

            def run(sync_conn: sa.Connection) -> tuple[set[str], list[Any]]:
                tables = set(sa.inspect(sync_conn).get_table_names())
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return tables, compare_metadata(context, metadata)

            return await conn.run_sync(run)
    finally:
        await engine.dispose()


async def test_upgrade_creates_the_schema_the_code_expects(empty_database_url: str) -> None:
    assert await current_revision(empty_database_url) is None

    await upgrade(empty_database_url)

    assert await current_revision(empty_database_url) == head_revision()
    tables, differences = await _inspect(empty_database_url)
    assert tables == TABLES
    assert differences == []


async def test_upgrade_twice_is_harmless(empty_database_url: str) -> None:
    await upgrade(empty_database_url)
    await upgrade(empty_database_url)

    assert await current_revision(empty_database_url) == head_revision()


async def test_downgrade_to_nothing_and_back(empty_database_url: str) -> None:
    await upgrade(empty_database_url)
    engine = create_engine(empty_database_url)
    cfg = alembic_config()

    def downgrade(connection: sa.Connection) -> None:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "base")

    try:
        async with write_engine(engine).begin() as conn:
            await conn.run_sync(downgrade)
    finally:
        await engine.dispose()
    tables, _ = await _inspect(empty_database_url)
    assert tables == {"alembic_version"}

    await upgrade(empty_database_url)
    assert (await _inspect(empty_database_url))[0] == TABLES


def test_migrate_runs_from_synchronous_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"  # the plain spelling is accepted too

    migrate(url)

    import sqlite3

    with sqlite3.connect(tmp_path / "cli.db") as conn:
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        (journal,) = conn.execute("PRAGMA journal_mode").fetchone()
    assert version == head_revision()
    assert journal == "wal"


async def test_upgrading_to_digest_posts_keeps_the_posted_scheduled_digests(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    cfg = alembic_config()

    def to(revision: str) -> Any:
        def step(connection: sa.Connection) -> None:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
        return step

    try:
        async with write_engine(engine).begin() as conn:
            await conn.run_sync(to("0001"))
            await conn.execute(sa.text(
                "INSERT INTO digest_runs (channel_id, day, claimed_at, claimed_by, posted_at, message_ts) VALUES "
                "('C_FIN', '2026-11-27', '2026-11-27 00:00:00+00:00', 'h', '2026-11-27 00:00:05+00:00', '1.1'), "
                "('C_FIN', '2026-11-28', '2026-11-28 00:00:00+00:00', 'h', NULL, NULL)"))
            await conn.run_sync(to("head"))
            rows = (await conn.execute(sa.text("SELECT channel_id, kind, message_ts FROM digest_posts"))).all()
    finally:
        await engine.dispose()

    assert [tuple(r) for r in rows] == [("C_FIN", "scheduled", "1.1")]  # the unposted claim is not a post


async def test_upgrading_to_speed_fills_the_hourly_totals_from_the_documents(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    cfg = alembic_config()

    def to(revision: str) -> Any:
        def step(connection: sa.Connection) -> None:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
        return step

    insert = ("INSERT INTO documents (provider, kind, lifecycle, state, currency, total, issued_at, channel_id, "
              "created_at, updated_at) VALUES ('popbill', 'tax_invoice', :lc, :st, 'KRW', :total, :at, :ch, :at, :at)")
    rows = [{"lc": "issued", "st": "issued", "total": 100, "at": "2026-11-27 01:10:00", "ch": "C1"},
            {"lc": "issued", "st": None, "total": 20, "at": "2026-11-27 01:59:00", "ch": "C1"},
            {"lc": "issued", "st": "canceled", "total": 5000, "at": "2026-11-27 01:30:00", "ch": "C1"},
            {"lc": "failed", "st": None, "total": 7000, "at": "2026-11-27 01:30:00", "ch": None},
            {"lc": "destroying", "st": "filed", "total": 3, "at": "2026-11-27 02:00:00", "ch": None}]
    try:
        async with write_engine(engine).begin() as conn:
            await conn.run_sync(to("0006_workspaces"))
            for row in rows:  # as UtcDateTime stores them: naive UTC text on SQLite, timestamptz on PostgreSQL
                at: object = dt.datetime.fromisoformat(row["at"] + "+00:00") \
                    if engine.dialect.name == "postgresql" else row["at"] + ".000000"
                await conn.execute(sa.text(insert), {**row, "at": at})
            await conn.run_sync(to("head"))
            found = (await conn.execute(sa.text(
                "SELECT channel_id, count, amount FROM issued_hourly ORDER BY hour"))).all()
    finally:
        await engine.dispose()

    assert [tuple(r) for r in found] == [("C1", 2, 120), ("", 1, 3)]  # 01:00 and 02:00 UTC; gone and failed left out
