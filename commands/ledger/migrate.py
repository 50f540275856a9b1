"""Run the Alembic migrations from code.

``await upgrade(url)`` at start-up and in tests; ``migrate(url)`` from synchronous code
such as the CLI. The migrations run in one transaction on a connection opened here,
so a failed upgrade leaves the database as it was (both SQLite and PostgreSQL have
transactional DDL).

Alembic is imported only when there is something to migrate: a database already at the
head is recognised by one ``SELECT`` on ``alembic_version`` against the heads read from the
migration files' own ``revision`` / ``down_revision`` lines, so `serve` starts without
loading Alembic (and Mako) on every restart.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from commands.ledger.db import create_engine, normalize_url, write_engine

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "head_revision", "migrate", "script_heads",
           "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | URL | None = None) -> Config:
    """The Alembic config shipped in the package, pointed at `url` when given."""
    from alembic.config import Config

    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    if url is not None:
        # render_as_string keeps the password; '%' must be escaped for ConfigParser
        rendered = normalize_url(url).render_as_string(hide_password=False)
        cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return cfg


_REVISION = re.compile(r"^revision(?:: str)? = ['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision(?:: [^=]+)? = ['\"]([^'\"]+)['\"]", re.MULTILINE)


def script_heads() -> frozenset[str]:
    """The head revisions of the shipped migrations, read from the files without Alembic.

    A test checks this agrees with Alembic's own `ScriptDirectory` on the shipped files.
    """
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(text))
        downs.update(_DOWN.findall(text))
    return frozenset(revisions - downs)


async def _at_heads(engine: AsyncEngine) -> bool:
    """Whether the database's ``alembic_version`` rows are exactly the shipped heads."""
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalars().all()
    except sa.exc.DBAPIError:  # no alembic_version table yet: a new database
        return False
    return bool(rows) and frozenset(rows) == script_heads()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


async def upgrade(target: str | URL | AsyncEngine, revision: str = "head") -> None:
    """Bring the database at `target` (a URL or an engine) up to `revision`.

    Example::

        await upgrade("sqlite+aiosqlite:///./invoicebot.db")
    """
    engine, owned = (target, False) if isinstance(target, AsyncEngine) else (create_engine(target), True)
    try:
        if revision == "head" and await _at_heads(engine):
            return
        from alembic import command

        cfg = alembic_config()

        def _upgrade(connection: Connection) -> None:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)

        async with write_engine(engine).begin() as conn:
            await conn.run_sync(_upgrade)
    finally:
        if owned:
            await engine.dispose()


async def current_revision(target: str | URL | AsyncEngine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    engine, owned = (target, False) if isinstance(target, AsyncEngine) else (create_engine(target), True)
    from alembic.runtime.migration import MigrationContext

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        if owned:
            await engine.dispose()


def migrate(url: str | URL, revision: str = "head") -> None:
    """Synchronous `upgrade`, for the CLI. Must not be called from a running event loop."""
    asyncio.run(upgrade(url, revision))
