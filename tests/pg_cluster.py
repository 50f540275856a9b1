"""The throwaway PostgreSQL cluster, and what the xdist workers of one run share.

* ``start_cluster`` runs ``initdb`` + ``pg_ctl`` from ``/usr/lib/postgresql/*/bin`` (as the
  ``postgres`` user when we are root, because initdb refuses to run as root). Clients reach it
  through its Unix socket: on loopback TCP every round trip also runs the kernel's TCP stack on
  both sides, and asyncpg asks the server for TLS and builds an SSL context at every connect
  (0.6 ms of client CPU per connect instead of 1.2 ms, and about 15% less CPU per statement on
  both sides, measured with asyncpg against this cluster).
* Under pytest-xdist the controller makes one folder for the run (``RUN_DIR_KEY`` in each
  worker's ``workerinput``). The first worker that needs a database starts the cluster in it
  and migrates a template database and a template SQLite file, under a file lock; the others
  find them there. Each worker then gets its own database, ``CREATE DATABASE ... TEMPLATE``
  (a file copy), instead of each running initdb, a server and every migration of its own:
  about 1.5 s of CPU and 2-3 s of its first PostgreSQL test's wall time per worker. The
  controller stops the cluster and removes the folder when the run ends (``stop_run``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

__all__ = ["RUN_DIR_KEY", "PostgresCluster", "run_lock", "shared_cluster", "start_cluster", "stop_run"]

#: workerinput key: the run's shared folder (set by the controller, read by the workers)
RUN_DIR_KEY = "invoicebot_run_dir"

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin. "
    "Install them with `apt-get install postgresql` (scripts/test does this as root), point "
    "DATABASE_URL_POSTGRES at a server, or opt out explicitly with INVOICEBOT_TEST_POSTGRES=0."
)

#: the name of the template database every worker's database is copied from
TEMPLATE_DATABASE = "invoicebot_template"


@dataclass
class PostgresCluster:
    """A running server and the asyncpg URL of a database we may create databases from."""

    admin_url: str
    data_dir: str | None = None
    pg_ctl: str | None = None
    as_postgres: bool = False
    #: a database migrated to head that nobody connects to, to copy (None: migrate each database)
    template: str | None = None

    def stop(self) -> None:
        if self.data_dir is None or self.pg_ctl is None:
            return
        cmd = [self.pg_ctl, "-D", str(Path(self.data_dir) / "data"), "-m", "immediate", "-w", "stop"]
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


def _postgres_owned(root: Path) -> None:
    try:
        pg_user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root, but there is no 'postgres' user to run initdb as. " + INSTALL_HINT,
                    pytrace=False)
    os.chown(root, pg_user.pw_uid, pg_user.pw_gid)
    root.chmod(0o700)


def start_cluster(parent: Path | None = None) -> PostgresCluster:
    """initdb + start a server listening only on a Unix socket in its own folder (under `parent`)."""
    bindir = _pg_bindir()
    if bindir is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="invoicebot-pg-", dir=parent))
    data = root / "data"
    as_postgres = os.geteuid() == 0
    if as_postgres:
        _postgres_owned(root)

    def run(cmd: list[str]) -> None:
        proc = subprocess.run(_as_postgres(cmd) if as_postgres else cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            log = root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.strip()}\n{tail}", pytrace=False)

    run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
         "--locale=C", "--no-sync"])
    port = 5432  # only names the socket file (.s.PGSQL.5432) in `root`: no TCP listener
    options = (
        f"-p {port} -k {root} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=300"
    )
    run([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start"])
    return PostgresCluster(
        admin_url=f"postgresql+asyncpg://postgres@/postgres?host={root}&port={port}",
        data_dir=str(root),
        pg_ctl=str(bindir / "pg_ctl"),
        as_postgres=as_postgres,
    )


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """The run's lock, held while a worker makes (or reads) what the workers share."""
    with open(run_dir / "lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_cluster(run_dir: Path, migrate: Callable[[str], None]) -> PostgresCluster:
    """The run's cluster: started (with `migrate` run on its template database) by the first
    worker that asks, read from the run's folder by the others."""
    state = run_dir / "cluster.json"
    with run_lock(run_dir):
        if state.exists():
            return PostgresCluster(**json.loads(state.read_text()))
        run_dir.chmod(0o711)  # the postgres user (when we are root) reaches its folder inside, lists nothing
        cluster = start_cluster(run_dir)
        try:
            migrate(cluster.admin_url)
        except BaseException:
            cluster.stop()
            raise
        cluster.template = TEMPLATE_DATABASE
        state.write_text(json.dumps(asdict(cluster)))
        return cluster


def stop_run(run_dir: Path) -> None:
    """At the end of the run (controller): stop the shared cluster, if one was started, and
    remove the run's folder."""
    state = run_dir / "cluster.json"
    if state.exists():
        PostgresCluster(**json.loads(state.read_text())).stop()
    shutil.rmtree(run_dir, ignore_errors=True)
