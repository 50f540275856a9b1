"""Every query the digest runs is served by an index, on SQLite and PostgreSQL (EXPLAIN).

A query that reads a whole table is as slow as the table is big: at 1,000,000 documents the
time-window queries without an index took seconds each. The digest is built once over a
small seeded database while every statement is recorded; each is then EXPLAINed:

* SQLite: no ``SCAN`` of a ledger table (a full table or full index scan), only ``SEARCH``;
* PostgreSQL, with sequential scans disabled (so the planner takes an index whenever one
  can serve, however small the table): no ``Seq Scan`` on a ledger table.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from commands.ledger import Store
from commands.slack.digest import build_digest_data
from providers.models import Provider
from tests.commands.slack.digest.seed import bulk_documents

SEOUL = ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SEOUL).astimezone(dt.UTC)
TABLES = ("documents", "approval_requests", "audit_events", "closure_checks", "issued_hourly", "unpaid_daily",
          "digest_posts")


async def _digest_statements(store: Store, channel: str | None) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        await build_digest_data(store, now=NOW, since=NOW - dt.timedelta(hours=24), tz=SEOUL, scope_channel=channel,
                                sandbox_providers={Provider.PAYSSAM})
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def _full_scans(store: Store, statements: list[tuple[str, Any]]) -> list[str]:
    postgres = store.engine.dialect.name == "postgresql"
    names = "|".join(TABLES)
    bad = re.compile(rf"Seq Scan on ({names})\b" if postgres else rf"^SCAN ({names})\b")
    found: list[str] = []
    async with store.engine.connect() as conn:
        if postgres:
            await conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in statements:
            prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            plan = [str(r[-1]).strip() for r in (await conn.exec_driver_sql(prefix + statement, parameters)).all()]
            found += [f"{line}  <-  {' '.join(statement.split())[:200]}" for line in plan if bad.search(line)]
    return found


async def test_every_digest_query_uses_an_index(store: Store) -> None:
    await bulk_documents(store, 2_000, now=NOW, days=30)
    for channel in (None, "C_SALES"):
        statements = await _digest_statements(store, channel)
        assert len(statements) >= 10
        assert await _full_scans(store, statements) == []
