"""A throwaway PostgreSQL cluster for the digest benchmark (the same recipe as tests/db_fixtures.py).

initdb refuses to run as root, so as root every server command runs as the `postgres`
user through `runuser`. The cluster lives in a temporary directory, listens on
127.0.0.1 only, and is stopped (``-m immediate``) and deleted by `stop()`.
DATABASE_URL_POSTGRES points at an existing server instead (its user needs CREATEDB).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bench._common import free_port

__all__ = ["PostgresCluster", "PostgresUnavailable", "start_cluster"]


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries, or the cluster would not start."""


def _bindir() -> Path | None:
    preferred = Path("/usr/lib/postgresql/15/bin")
    if (preferred / "initdb").exists() and (preferred / "pg_ctl").exists():
        return preferred
    for initdb in sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True):
        if (initdb.parent / "pg_ctl").exists():
            return initdb.parent
    found = shutil.which("initdb")
    return Path(found).parent if found and (Path(found).parent / "pg_ctl").exists() else None


def _as_postgres(cmd: list[str], as_postgres: bool) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if as_postgres else cmd


@dataclass
class PostgresCluster:
    admin_url: str
    root: Path | None = None
    pg_ctl: Path | None = None
    as_postgres: bool = False

    async def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"invoicebot_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(_dsn(self.admin_url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')  # generated name, never user input
        finally:
            await conn.close()
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    async def drop_database(self, url: str) -> None:
        name = make_url(url).database
        conn = await asyncpg.connect(_dsn(self.admin_url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def restart(self) -> bool:
        """Restart the server, emptying its shared buffers (for a cold read); False for an
        external server (DATABASE_URL_POSTGRES), which is left alone."""
        if self.root is None or self.pg_ctl is None:
            return False
        # -l: the server's output to its log, never to our pipes (which would then never close)
        cmd = [str(self.pg_ctl), "-D", str(self.root / "data"), "-l", str(self.root / "server.log"), "-m", "fast",
               "-w", "restart"]
        done = subprocess.run(_as_postgres(cmd, self.as_postgres), check=False, capture_output=True, timeout=120)
        return done.returncode == 0

    def stop(self) -> None:
        if self.root is None or self.pg_ctl is None:
            return
        cmd = [str(self.pg_ctl), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_postgres(cmd, self.as_postgres), check=False, capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def start_cluster() -> PostgresCluster:
    """Start a cluster (or use DATABASE_URL_POSTGRES). Raises PostgresUnavailable."""
    external = os.environ.get("DATABASE_URL_POSTGRES")
    if external:
        return PostgresCluster(admin_url=external)
    bindir = _bindir()
    if bindir is None:
        raise PostgresUnavailable("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin "
                                  "(apt-get install postgresql, or set DATABASE_URL_POSTGRES)")
    root = Path(tempfile.mkdtemp(prefix="invoicebot-bench-pg-"))
    as_postgres = os.geteuid() == 0
    cluster = PostgresCluster(admin_url="", root=root, pg_ctl=bindir / "pg_ctl", as_postgres=as_postgres)
    try:
        if as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(root, user.pw_uid, user.pw_gid)
            root.chmod(0o700)

        def run(cmd: list[str]) -> None:
            proc = subprocess.run(_as_postgres(cmd, as_postgres), capture_output=True, text=True, check=False,
                                  timeout=120)
            if proc.returncode != 0:
                log = root / "server.log"
                tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                raise PostgresUnavailable(f"{Path(cmd[0]).name} failed ({proc.returncode}): "
                                          f"{proc.stderr.strip()[-500:]}\n{tail}")

        run([str(bindir / "initdb"), "-D", str(root / "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8",
             "--locale=C", "--no-sync"])
        port = free_port()
        # durability off (a benchmark database), everything else at the server's defaults
        options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off")
        run([str(bindir / "pg_ctl"), "-D", str(root / "data"), "-o", options, "-l", str(root / "server.log"),
             "-w", "start"])
        cluster.admin_url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
        return cluster
    except BaseException:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
