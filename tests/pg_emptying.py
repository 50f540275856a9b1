"""Emptying the session's PostgreSQL database before a test, on one connection kept open.

Each PostgreSQL test gets the session's database emptied (``tests.db_fixtures.postgres_url``).
Done on a new connection each time, that was a server process started and its catalog caches
filled for every test (about 9 ms of the server's CPU, against 1 ms on a warm connection), and
the DELETE of ``documents`` ran the issued_hourly/unpaid_daily triggers for every row although
those tables are emptied in the same breath. So the connection stays open (on a loop of its own
thread: an asyncpg connection belongs to the loop that opened it, and each test has its own), it
runs with ``session_replication_role = replica`` (user triggers and foreign-key checks off for
this connection only, where the server lets us: every table is emptied, so nothing is left
half-kept), and the sequences to restart are read once.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable
from typing import TypeVar

import asyncpg
from sqlalchemy.engine import make_url

from commands.ledger import metadata

__all__ = ["EMPTIER", "Emptier", "asyncpg_dsn"]

T = TypeVar("T")

#: every sequence of the database, as a quoted literal for setval (quoted by the server itself)
_SEQUENCES = "SELECT quote_literal(format('%I.%I', schemaname, sequencename)) FROM pg_sequences ORDER BY 1"


def asyncpg_dsn(url: str) -> str:
    """asyncpg speaks plain ``postgresql://``."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def emptying_statement(sequences: list[str]) -> str:
    """DELETE every table, dependents first, then every sequence back to 1, as in a new database. On
    tables of a few rows DELETE is about five times faster than TRUNCATE, which replaces every
    table's files (tests/test_db_fixtures.py checks that the result is as good as new)."""
    deletes = [f'DELETE FROM "{t.name}"' for t in reversed(metadata.sorted_tables)]
    restart = ["SELECT " + ", ".join(f"setval({s}, 1, false)" for s in sequences)] if sequences else []
    return "; ".join(deletes + restart)


class Emptier:
    """One open connection per database URL, used only to empty that database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._open: dict[str, tuple[asyncpg.Connection, str]] = {}

    async def empty(self, url: str) -> None:
        """Empty the database at `url` and restart its ids at 1 (awaited from any loop)."""
        await self._on_own_loop(self._empty(url))

    def close(self, url: str) -> None:
        """Close the connection to `url` (before its server stops); from synchronous code."""
        if self._loop is not None and url in self._open:
            asyncio.run_coroutine_threadsafe(self._close(url), self._loop).result(30)

    def _on_own_loop(self, coro: Awaitable[T]) -> asyncio.Future[T]:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="pg-emptier", daemon=True).start()
                self._loop = loop
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))  # type: ignore[arg-type]

    async def _empty(self, url: str) -> None:
        for attempt in (1, 2):  # a connection the server dropped since (a restart) is opened again once
            conn, statement = await self._connection(url)
            try:
                await conn.execute(statement)
                return
            except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
                await self._close(url)
                if attempt == 2:
                    raise

    async def _connection(self, url: str) -> tuple[asyncpg.Connection, str]:
        if url not in self._open:
            conn = await asyncpg.connect(asyncpg_dsn(url))
            # on a server we do not administer this is refused: the DELETEs, dependents first, work as they are
            with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
                await conn.execute("SET session_replication_role = replica")
            sequences = [str(row[0]) for row in await conn.fetch(_SEQUENCES)]
            self._open[url] = (conn, emptying_statement(sequences))
        return self._open[url]

    async def _close(self, url: str) -> None:
        opened = self._open.pop(url, None)
        if opened is not None:
            try:
                await opened[0].close(timeout=5)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
                opened[0].terminate()


#: the test process's one emptier
EMPTIER = Emptier()
