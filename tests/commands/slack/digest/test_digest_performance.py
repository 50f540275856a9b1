"""The digest over 100,000 documents is built from real aggregates within 300 MB, on SQLite and PostgreSQL,
with as many statements as over 2,000 documents.

How long it takes is measured by `python -m bench` (min / median / max against a baseline in the same
run), never asserted here: a timed test fails on a busy machine and proves nothing on an idle one. What
is asserted cannot be flaky: the statements a digest runs do not grow with the table (each is served by
an index: tests/commands/ledger/test_digest_indexes.py), and its memory stays bounded.
"""

from __future__ import annotations

import datetime as dt
import tracemalloc
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from commands.ledger import Store
from commands.slack.digest import MAX_DIGEST_BLOCKS, build_digest_blocks, build_digest_data
from providers.models import Provider
from tests.commands.slack.digest.seed import bulk_documents

pytestmark = pytest.mark.slow  # seeds 100,000 documents

SEOUL = ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SEOUL).astimezone(dt.UTC)
DOCUMENTS = 100_000


async def _statements(store: Store) -> list[str]:
    """The statements one digest build runs, as sent to the database."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        await build_digest_data(store, now=NOW, since=NOW - dt.timedelta(hours=24), tz=SEOUL)
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def test_digest_of_100k_documents_is_whole_and_small(store: Store) -> None:
    await bulk_documents(store, 2_000, now=NOW, days=30)
    small = await _statements(store)
    await bulk_documents(store, DOCUMENTS - 2_000, now=NOW, days=30, first_id=2_001)
    big = await _statements(store)
    assert len(big) == len(small) <= 60  # a fixed set of statements, whatever the size of the table
    # the unpaid, expiring and overdue totals are read from the daily aggregate, never summed over documents
    assert sum("FROM unpaid_daily" in s for s in big) == 4

    data = await build_digest_data(store, now=NOW, since=NOW - dt.timedelta(hours=24), tz=SEOUL,
                                   sandbox_providers={Provider.PAYSSAM})
    blocks = build_digest_blocks(data, SEOUL)

    tracemalloc.start()
    try:
        await build_digest_data(store, now=NOW, since=NOW - dt.timedelta(hours=24), tz=SEOUL)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 300 * 1024 * 1024, f"digest peaked at {peak / 1e6:.0f} MB"
    # sanity: the numbers are real aggregates over the whole table, not a sample
    assert 2_000 < data.issued_count < 5_000  # about a 30th of the documents were issued in the last 24 h
    assert data.unpaid_payssam.count > 1_000 and data.overdue.count > 1_000
    assert len(data.overdue.rows) == 10 and len(blocks) <= MAX_DIGEST_BLOCKS
    assert sum(sum(days.values()) for days in data.daily_krw.values()) > 0
