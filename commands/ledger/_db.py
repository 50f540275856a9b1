"""Where repository statements run, and the small value conversions every repository shares.

Every state change that other processes might race on is a compare-and-set
(``UPDATE ... WHERE id = :id AND state = :expected``) that reports whether it moved, and
every "first one wins" is an ``INSERT`` against a unique key (``ON CONFLICT DO NOTHING``,
which SQLite and PostgreSQL spell the same). Nothing here builds SQL from strings.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commands.ledger.db import utc_now, write_engine
from providers.redact import redact_mapping

__all__ = ["Db", "Repo", "aware", "jsonable", "now_or", "state_values"]

#: Korean providers report local wall-clock times; a naive timestamp from one is read as KST.
_PROVIDER_TZ = ZoneInfo("Asia/Seoul")


def now_or(now: dt.datetime | None) -> dt.datetime:
    """`now` when the caller injected a clock reading, else the wall clock."""
    return now if now is not None else utc_now()


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """A provider timestamp as an aware datetime (naive ones are Korean local time)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=_PROVIDER_TZ)


def jsonable(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """Redacted, JSON-safe copy (dates, decimals and enums become strings)."""
    return dict(json.loads(json.dumps(redact_mapping(data), default=str, ensure_ascii=False)))


def state_values(value: Any) -> list[str]:
    """One state or a collection of them, as the strings an ``IN (...)`` compares."""
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class Db:
    """Where a repository's statements run: short transactions of its own, or the caller's."""

    def __init__(self, engine: AsyncEngine, conn: AsyncConnection | None = None) -> None:
        self.engine = engine
        self.writer = write_engine(engine)
        self.conn = conn

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """The caller's transaction, or a write transaction of our own (``BEGIN IMMEDIATE`` on SQLite)."""
        if self.conn is not None:
            yield self.conn
            return
        async with self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """The caller's transaction, or a plain read connection that never takes the write lock."""
        if self.conn is not None:
            yield self.conn
            return
        async with self.engine.connect() as conn:
            yield conn

    def insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which knows ON CONFLICT.

        Each dialect's module is imported here, by the database in use: PostgreSQL's package loads
        every PostgreSQL driver's module (2 MB) that a bot on SQLite would carry for nothing."""
        if self.dialect == "sqlite":
            from sqlalchemy.dialects import sqlite

            return sqlite.insert(table)
        if self.dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        raise ValueError(f"unsupported database dialect {self.dialect!r}")

    async def insert_first(self, table: sa.Table, values: Mapping[str, Any], conflict: Sequence[str]) -> bool:
        """INSERT unless a row with the same unique `conflict` columns exists; True when inserted.

        Safe across processes on both databases: the unique index decides, not a prior SELECT.
        """
        stmt = (
            self.insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(*(table.c[c] for c in conflict))
        )
        async with self.write() as conn:
            row = (await conn.execute(stmt)).first()
        return row is not None


class Repo:
    """A repository: typed access to one aggregate's tables through a `Db`."""

    def __init__(self, db: Db) -> None:
        self._db = db
