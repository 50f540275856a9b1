"""Engines for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite needs care to be a good citizen with several writers (two bot processes, a
migration, a test with 100 concurrent clicks): WAL so readers never block the writer,
a busy timeout so a writer waits instead of failing, foreign keys on, and write
transactions opened with ``BEGIN IMMEDIATE`` so a transaction that reads before it
writes cannot hit SQLITE_BUSY half-way (the busy timeout does not cover a deferred
transaction upgrading its lock). Read-only work uses a plain ``BEGIN``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from commands.ledger import sqlite_driver

__all__ = ["DEFAULT_DATABASE_URL", "create_engine", "normalize_url", "read_engine", "utc_now", "write_engine"]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./invoicebot.db"

#: execution option that makes the SQLite "begin" hook emit BEGIN IMMEDIATE
_IMMEDIATE = "invoicebot_sqlite_immediate"

#: execution option that makes the SQLite "begin" hook emit nothing: each statement is its own
#: (atomic) read, without the BEGIN's round-trip through aiosqlite's thread
_AUTOCOMMIT_READS = "invoicebot_sqlite_autocommit_reads"

_SQLITE_BUSY_TIMEOUT_MS = 15_000


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalize_url(url: str | URL) -> URL:
    """Accept the usual spellings and pick the async driver.

    ``sqlite:///x.db`` becomes ``sqlite+aiosqlite:///x.db``; ``postgres://`` and
    ``postgresql://`` become ``postgresql+asyncpg://``. Other databases are refused.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database {backend!r}: use sqlite+aiosqlite:// or postgresql+asyncpg://")


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url.query.get("mode", ""))


def create_engine(url: str | URL, *, echo: bool = False, pool_size: int | None = None) -> AsyncEngine:
    """An async engine with the pragmas and pool settings this application relies on.

    Args:
        url: ``sqlite+aiosqlite:///./invoicebot.db`` or ``postgresql+asyncpg://user:pw@host/db``.
        echo: log SQL (parameters are never interpolated into the text).
        pool_size: connections kept open (PostgreSQL default 10, SQLite default 15).

    Example::

        engine = create_engine("sqlite+aiosqlite:///./invoicebot.db")
    """
    parsed = normalize_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if _is_memory(parsed):
            # one shared connection, or every checkout would see a different empty database
            kwargs["poolclass"] = StaticPool
        else:
            # 15 kept open and none beyond: an overflow connection is opened (a thread and four
            # PRAGMAs under aiosqlite) and closed again for every request of a burst, which was
            # most of a status command's CPU at 200 at once (bench/status.py)
            kwargs.update(pool_size=pool_size or 15, max_overflow=0, pool_timeout=60)
        kwargs["connect_args"] = {"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000}
        if parsed.get_driver_name() == "aiosqlite":
            kwargs["module"] = sqlite_driver.dbapi()  # one trip to aiosqlite's thread per statement
        engine = create_async_engine(parsed, **kwargs)
        _install_sqlite_hooks(engine, memory=_is_memory(parsed))
        return engine
    kwargs.update(
        pool_size=pool_size or 10,
        max_overflow=10,
        pool_timeout=30,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": "invoicebot"}},
    )
    return create_async_engine(parsed, **kwargs)


def write_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (same pool) whose transactions take the write lock up front on SQLite."""
    return engine.execution_options(**{_IMMEDIATE: True})


def read_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (same pool) for reads only: on SQLite no BEGIN is sent, so each statement
    reads its own snapshot (as statements on connections of their own did) for one round-trip less.
    Never write through it. PostgreSQL is unaffected. Build it once: `execution_options` is not free."""
    return engine.execution_options(**{_AUTOCOMMIT_READS: True})


def _install_sqlite_hooks(engine: AsyncEngine, *, memory: bool) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # take transaction control away from the driver so the "begin" hook decides how to begin
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS:d}")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get(_AUTOCOMMIT_READS, False):
            return
        immediate = options.get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
