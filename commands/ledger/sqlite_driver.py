"""aiosqlite under SQLAlchemy, one trip to the connection's thread per statement instead of four.

aiosqlite runs every call on a thread of its own: the call is queued to that thread, and its
result comes back through `call_soon_threadsafe`, which writes to the event loop's wake-up pipe
and makes the loop read it again. SQLAlchemy's adapter makes four such calls for every statement
(open a cursor, execute, fetch all rows, close the cursor), so a `/invoice status` (two SELECTs
and a ROLLBACK) made nine trips, each about 40-60 µs of CPU between the two threads, and the
event loop that answers acks paid for the wake-ups (counted with a patched
`aiosqlite.Connection._execute`; `python -m bench --only status` for the CPU per command).

`OneTripCursor` runs the four steps as one function on the connection's thread: the cursor is
opened, used and closed there, and the rows, the description, the row count and the last row id
come back together. Everything else is SQLAlchemy's own adapter (the connection, its lock, error
mapping, server-side cursors, which stream and keep their trips). `dbapi()` is passed to
`create_async_engine(module=...)`, SQLAlchemy's documented way to give a dialect another DB-API
module; the URL and the dialect stay ``sqlite+aiosqlite``.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

__all__ = ["OneTripCursor", "dbapi"]

_Outcome = tuple[Any, list[Any] | None, int, int | None]


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """On the connection's thread: the whole statement, cursor opened and closed here."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statement costs one trip to the connection's thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # no aiosqlite cursor is opened here (that was a trip of its own): `_run` opens one
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    async def _async_soft_close(self) -> None:
        """Nothing to close: the rows and the description are already here."""

    async def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            outcome = await connection._execute(_run, connection._conn, operation, parameters, many)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows) if rows is not None else collections.deque()

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._trip(operation, parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        await self._trip(operation, seq_of_parameters, True)


class _OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls: type[AsyncAdapt_aiosqlite_cursor] = OneTripCursor


class _OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return _OneTripConnection(self, adapted._connection)


def dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DB-API module for ``create_async_engine(..., module=dbapi())`` on SQLite."""
    return _OneTripDbapi(aiosqlite, sqlite3)
