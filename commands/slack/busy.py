"""Database contention on the Slack side: keep answering Slack, and never drop an acknowledged request.

Slack wants every request answered within 3 seconds, and a database can be locked for longer
(a backup, a long migration, another process's big transaction; SQLite gives up after its
15 s busy timeout). So the work that must survive that is run through `patiently`: it is
retried while the database says it is busy, for up to `DB_PATIENCE`, and only then reported
as `DatabaseBusy`, which the listener turns into a message to the person who clicked or typed
("could not be recorded, click again"). Nothing acknowledged is dropped without a word.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

__all__ = ["DB_PATIENCE", "DatabaseBusy", "is_busy", "patiently"]

log = logging.getLogger("invoicebot.busy")

T = TypeVar("T")

#: how long an acknowledged request keeps trying to reach a busy database before the user is told
DB_PATIENCE = 120.0
_FIRST_PAUSE = 0.2
_LONGEST_PAUSE = 5.0


class DatabaseBusy(Exception):
    """The database stayed locked or unreachable for longer than the caller would wait."""


def is_busy(exc: BaseException) -> bool:
    """True for a failure that says "try again later" (locked, busy, no connection), not a bug."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, OperationalError):
        return True  # SQLite "database is locked"/"busy", PostgreSQL connection loss
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


async def patiently(work: Callable[[], Awaitable[T]], *, what: str, patience: float | None = None) -> T:
    """Run `work`, again and again while the database is busy, for up to `patience` seconds
    (default `DB_PATIENCE`).

    `work` must be safe to run again after a busy failure (a transaction that failed was rolled
    back; a compare-and-set or a unique insert simply runs again).

    Raises:
        DatabaseBusy: still busy after `patience` seconds.
    """
    patience = DB_PATIENCE if patience is None else patience
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    pause = _FIRST_PAUSE
    while True:
        try:
            return await work()
        except Exception as exc:
            if not is_busy(exc):
                raise
            if loop.time() + pause > deadline:
                log.error("gave up on %s: the database stayed busy for %.0f s (%s)", what, patience,
                          type(exc).__name__)
                raise DatabaseBusy(what) from exc
            log.warning("the database is busy (%s); %s again in %.1f s", type(exc).__name__, what, pause)
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE)
