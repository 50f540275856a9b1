"""Database fixtures: a migrated SQLite file per test, and a throwaway PostgreSQL cluster.

Import them into a conftest with ``from tests.db_fixtures import *``.

* Running every Alembic migration costs about half a second of CPU; a test that does not test
  the migrations gets a copy of one file migrated once per test process
  (``copy_migrated_sqlite``, also what ``tests.app.harness.running_bot`` starts the bot on).

* ``database_url`` is parametrised over both backends: every test that uses it (or
  ``store``) runs once on SQLite and once on PostgreSQL, each time on a fresh database
  already migrated to head.
* The PostgreSQL cluster starts once per session (``initdb`` + ``pg_ctl`` from
  ``/usr/lib/postgresql/*/bin``, as the ``postgres`` user when we are root, because
  initdb refuses to run as root) and is removed at the end. One database is migrated
  per session and emptied (every table, ids from 1: ``tests.pg_emptying``) before each test;
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
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from commands.ledger import Store, upgrade
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

_INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin. "
    "Install them with `apt-get install postgresql` (scripts/test does this as root), point "
    "DATABASE_URL_POSTGRES at a server, or opt out explicitly with INVOICEBOT_TEST_POSTGRES=0."
)


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


def _migrated_template() -> Path:
    """The SQLite file this process migrated to head, made on first use (thread-safe: the
    fuzz fixtures start bots on threads of their own)."""
    with _TEMPLATE_LOCK:
        if "path" not in _TEMPLATE:
            folder = Path(tempfile.mkdtemp(prefix="invoicebot-sqlite-template-"))
            atexit.register(shutil.rmtree, folder, True)
            path = folder / "template.db"
            _run_async(lambda: upgrade(f"sqlite+aiosqlite:///{path}"))
            _TEMPLATE["path"] = path
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


@dataclass
class PostgresCluster:
    """A running server and the asyncpg URL of a database we may create databases from."""

    admin_url: str
    data_dir: Path | None = None
    pg_ctl: Path | None = None
    as_postgres: bool = False

    def stop(self) -> None:
        if self.data_dir is None or self.pg_ctl is None:
            return
        cmd = [str(self.pg_ctl), "-D", str(self.data_dir / "data"), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_postgres(cmd) if self.as_postgres else cmd, check=False, capture_output=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def _pg_bindir() -> Path | None:
    def version(p: Path) -> tuple[int, ...]:
        try:
            return (int(p.parent.parent.name),)
        except ValueError:
            return (0,)

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version, reverse=True)
    preferred = [p for p in found if p.parent.parent.name == "15"]
    for initdb in preferred + found:
        if (initdb.parent / "pg_ctl").exists():
            return initdb.parent
    which = shutil.which("initdb")
    return Path(which).parent if which and (Path(which).parent / "pg_ctl").exists() else None


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd]


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_cluster() -> PostgresCluster:
    bindir = _pg_bindir()
    if bindir is None:
        pytest.fail(_INSTALL_HINT, pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="invoicebot-pg-"))
    data = root / "data"
    as_postgres = os.geteuid() == 0
    if as_postgres:
        try:
            pg_user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root, but there is no 'postgres' user to run initdb as. " + _INSTALL_HINT,
                        pytrace=False)
        os.chown(root, pg_user.pw_uid, pg_user.pw_gid)
        root.chmod(0o700)

    def run(cmd: list[str]) -> None:
        proc = subprocess.run(_as_postgres(cmd) if as_postgres else cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            log = root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.strip()}\n{tail}", pytrace=False)

    run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
         "--locale=C", "--no-sync"])
    port = _free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    run([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start"])
    return PostgresCluster(
        admin_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres",
        data_dir=root,
        pg_ctl=bindir / "pg_ctl",
        as_postgres=as_postgres,
    )


#: one cluster per test process, however many conftests import these fixtures
_SHARED: dict[str, Any] = {"cluster": None, "users": 0}


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """URL of a PostgreSQL database whose user may CREATE DATABASE (started for the session)."""
    external = os.environ.get("DATABASE_URL_POSTGRES")
    if external:
        yield external
        return
    if _SHARED["cluster"] is None:
        _SHARED["cluster"] = _start_cluster()
    cluster: PostgresCluster = _SHARED["cluster"]
    _SHARED["users"] += 1
    try:
        yield cluster.admin_url
    finally:
        _SHARED["users"] -= 1
        if _SHARED["users"] == 0:
            _SHARED["cluster"] = None
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
    """A PostgreSQL database migrated to head, shared by the session and emptied before each test."""
    name = f"invoicebot_test_{uuid.uuid4().hex[:8]}"
    # identifiers cannot be bound parameters; `name` is generated here, never user input
    _run_async(lambda: _admin(postgres_admin_url, f'CREATE DATABASE "{name}"'))
    url = _database_url(postgres_admin_url, name)
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
