"""Database fixtures: a migrated SQLite file per test, and a throwaway PostgreSQL cluster.

Import them into a conftest with ``from tests.db_fixtures import *``.

* Running every Alembic migration costs about half a second of CPU; a test that does not test
  the migrations gets a copy of one file migrated once per run (once per process without xdist)
  (``copy_migrated_sqlite``, also what ``tests.app.harness.running_bot`` starts the bot on).

* ``database_url`` is parametrised over both backends: every test that uses it (or
  ``store``) runs once on SQLite and once on PostgreSQL, each time on a fresh database
  already migrated to head.
* The PostgreSQL cluster starts once per run (``tests.pg_cluster``: under pytest-xdist the
  workers share one cluster and copy one migrated template database) and is removed at the
  end. Each test process has one database migrated to head, emptied (every table, ids
  from 1: ``tests.pg_emptying``) before each test;
  ``empty_database_url`` gives a database with no tables, for migration tests.
* ``DATABASE_URL_POSTGRES=postgresql+asyncpg://user:pw@host:port/db`` uses an existing
  server instead (its user needs CREATEDB).
* Missing PostgreSQL binaries FAIL the PostgreSQL tests with instructions. The only way
  to leave PostgreSQL out is to say so: ``INVOICEBOT_TEST_POSTGRES=0`` (then the
  PostgreSQL variants are not generated, and the report header says so).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from commands.ledger import Store, upgrade
from tests.pg_cluster import TEMPLATE_DATABASE, PostgresCluster, run_lock, shared_cluster, start_cluster
from tests.pg_emptying import EMPTIER, asyncpg_dsn

__all__ = [
    "DATABASE_BACKENDS",
    "PostgresCluster",
    "copy_migrated_sqlite",
    "database_url",
    "empty_database_url",
    "empty_postgres",
    "empty_postgres_url",
    "postgres_admin_url",
    "postgres_enabled",
    "postgres_session_url",
    "postgres_url",
    "pytest_report_header",
    "sqlite_template",
    "sqlite_url",
    "store",
]

T = TypeVar("T")

#: the run's folder shared by the xdist workers (tests/pg_cluster.py), set in each worker's
#: pytest_configure; None without xdist (then this process makes its own cluster and template)
RUN: dict[str, Path | None] = {"dir": None}


def postgres_enabled() -> bool:
    """PostgreSQL variants run unless INVOICEBOT_TEST_POSTGRES=0 says otherwise."""
    return os.environ.get("INVOICEBOT_TEST_POSTGRES", "1").strip().lower() not in ("0", "false", "no", "off")


DATABASE_BACKENDS: list[Any] = ["sqlite"]
if postgres_enabled():
    DATABASE_BACKENDS.append(pytest.param("postgresql", marks=pytest.mark.postgres))


def pytest_report_header() -> str:
    if postgres_enabled():
        return "invoicebot databases: sqlite + postgresql"
    return "invoicebot databases: sqlite only (INVOICEBOT_TEST_POSTGRES=0)"


def _run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a private loop in another thread.

    Session fixtures are synchronous and must not disturb the loops pytest-asyncio manages.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        async def main() -> T:
            return await factory()

        try:
            box["value"] = asyncio.run(main())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="db-fixture")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


# --------------------------------------------------------------------------- SQLite


_TEMPLATE_LOCK = threading.Lock()
_TEMPLATE: dict[str, Path] = {}


def _migrate_sqlite(path: Path) -> Path:
    _run_async(lambda: upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


def _migrated_template() -> Path:
    """The SQLite file migrated to head, made on first use: once for the run, in its shared folder,
    under xdist (tests/pg_cluster.py); else once by this process (thread-safe: the fuzz fixtures
    start bots on threads of their own)."""
    with _TEMPLATE_LOCK:
        if "path" not in _TEMPLATE:
            run_dir = RUN["dir"]
            if run_dir is not None:
                with run_lock(run_dir):
                    shared = run_dir / "template.db"
                    if not shared.exists():
                        try:
                            _migrate_sqlite(shared)
                        except BaseException:
                            shared.unlink(missing_ok=True)  # never a half-migrated template for the others
                            raise
                _TEMPLATE["path"] = shared
            else:
                folder = Path(tempfile.mkdtemp(prefix="invoicebot-sqlite-template-"))
                atexit.register(shutil.rmtree, folder, True)
                _TEMPLATE["path"] = _migrate_sqlite(folder / "template.db")
        return _TEMPLATE["path"]


def copy_migrated_sqlite(path: Path) -> str:
    """Put a database already migrated to head at `path` (a copy of the process's template,
    indistinguishable from running the migrations there); its URL."""
    shutil.copyfile(_migrated_template(), path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def sqlite_template() -> Path:
    """A SQLite file migrated to head, copied for each test."""
    return _migrated_template()


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database file for this test."""
    return copy_migrated_sqlite(tmp_path / "invoicebot.db")


# --------------------------------------------------------------------------- PostgreSQL


#: one cluster per test process, however many conftests import these fixtures
_SHARED: dict[str, Any] = {"cluster": None, "users": 0}


def _migrate_template(admin_url: str) -> None:
    """Create the run's template database and migrate it (its engine is disposed of after, so
    nothing stays connected to it: CREATE DATABASE ... TEMPLATE requires that)."""
    _run_async(lambda: _admin(admin_url, f'CREATE DATABASE "{TEMPLATE_DATABASE}"'))
    _run_async(lambda: upgrade(_database_url(admin_url, TEMPLATE_DATABASE)))


def _cluster() -> PostgresCluster:
    """The run's shared cluster under xdist, else one this process starts (and stops)."""
    run_dir = RUN["dir"]
    if run_dir is not None:
        return shared_cluster(run_dir, _migrate_template)
    return start_cluster()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """URL of a PostgreSQL database whose user may CREATE DATABASE (started for the session)."""
    external = os.environ.get("DATABASE_URL_POSTGRES")
    if external:
        yield external
        return
    if _SHARED["cluster"] is None:
        _SHARED["cluster"] = _cluster()
    cluster: PostgresCluster = _SHARED["cluster"]
    _SHARED["users"] += 1
    try:
        yield cluster.admin_url
    finally:
        _SHARED["users"] -= 1
        if _SHARED["users"] == 0:
            _SHARED["cluster"] = None
            if RUN["dir"] is None:  # the run's shared cluster is stopped by the xdist controller
                cluster.stop()


async def _admin(admin_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_session_url(postgres_admin_url: str) -> Iterator[str]:
    """A PostgreSQL database migrated to head, shared by the session and emptied before each test:
    a copy of the run's migrated template when there is one, else migrated here."""
    name = f"invoicebot_test_{uuid.uuid4().hex[:8]}"
    cluster: PostgresCluster | None = _SHARED["cluster"]
    template = cluster.template if cluster is not None else None
    url = _database_url(postgres_admin_url, name)
    # identifiers cannot be bound parameters; `name` and `template` are generated here, never user input
    if template is not None:
        _run_async(lambda: _admin(postgres_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    else:
        _run_async(lambda: _admin(postgres_admin_url, f'CREATE DATABASE "{name}"'))
        _run_async(lambda: upgrade(url))
    try:
        yield url
    finally:
        EMPTIER.close(url)  # before the server stops


async def empty_postgres(url: str) -> None:
    """Empty every table of the database at `url` and restart its ids at 1 (on a connection kept
    open for it: tests/pg_emptying.py says why)."""
    await EMPTIER.empty(url)


@pytest.fixture
async def postgres_url(postgres_session_url: str) -> str:
    """The session's PostgreSQL database, emptied (ids restart at 1): as good as a fresh one, and
    far faster to get than CREATE DATABASE."""
    await empty_postgres(postgres_session_url)
    return postgres_session_url


@pytest.fixture
async def empty_postgres_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A brand-new PostgreSQL database with no tables (for migration tests)."""
    name = f"invoicebot_empty_{uuid.uuid4().hex[:12]}"
    await _admin(postgres_admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield _database_url(postgres_admin_url, name)
    finally:
        await _admin(postgres_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------- both


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database migrated to head: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=DATABASE_BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no tables yet: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("empty_postgres_url"))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A `Store` on a fresh database (both backends)."""
    opened = await Store.open(database_url, migrate=False)
    try:
        yield opened
    finally:
        await opened.close()
