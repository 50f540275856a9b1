"""Alembic environment.

Two ways in:

* programmatic (`commands.ledger.upgrade`): the caller opens an async connection and hands
  its sync facade over in ``config.attributes["connection"]``; migrations run on it,
  inside the caller's transaction;
* the ``alembic`` command line: the URL comes from ``sqlalchemy.url`` or ``DATABASE_URL``
  and this module opens its own async engine.

Logging is left alone, so running migrations at start-up does not reconfigure the bot's logs.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from commands.ledger.db import DEFAULT_DATABASE_URL, create_engine, write_engine
from commands.ledger.schema import metadata

config = context.config
target_metadata = metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_own_engine(url: str) -> None:
    engine = create_engine(url)
    try:
        async with write_engine(engine).begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


def _offline(url: str) -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if context.is_offline_mode():
        _offline(url)
    else:
        asyncio.run(_run_own_engine(url))


main()
