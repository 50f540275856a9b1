"""The xdist workers of one run share one PostgreSQL cluster and one migrated template
(tests/pg_cluster.py): started once, found by the others, stopped by the controller."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests import pg_cluster
from tests.pg_cluster import PostgresCluster, shared_cluster, stop_run
from tests.pg_emptying import asyncpg_dsn


def test_the_first_worker_starts_and_migrates_the_cluster_and_the_others_find_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Path | None] = []
    migrated: list[str] = []

    def fake_start(parent: Path | None = None) -> PostgresCluster:
        started.append(parent)
        return PostgresCluster(admin_url=f"postgresql+asyncpg://postgres@/postgres?host={parent}&port=5432")

    monkeypatch.setattr(pg_cluster, "start_cluster", fake_start)
    found: list[PostgresCluster] = []
    workers = [threading.Thread(target=lambda: found.append(shared_cluster(tmp_path, migrated.append)))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert started == [tmp_path]
    assert migrated == [found[0].admin_url]
    assert [c.admin_url for c in found] == [found[0].admin_url] * 3
    assert {c.template for c in found} == {pg_cluster.TEMPLATE_DATABASE}


def test_a_failed_migration_stops_the_cluster_and_leaves_nothing_for_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stopped: list[str] = []
    monkeypatch.setattr(pg_cluster, "start_cluster", lambda parent=None: PostgresCluster(admin_url="x"))
    monkeypatch.setattr(PostgresCluster, "stop", lambda self: stopped.append(self.admin_url))

    def broken(_url: str) -> None:
        raise RuntimeError("migration failed")

    with pytest.raises(RuntimeError):
        shared_cluster(tmp_path, broken)
    assert stopped == ["x"]
    assert not (tmp_path / "cluster.json").exists()


def test_the_controller_stops_the_runs_cluster_and_removes_its_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stopped: list[str] = []
    monkeypatch.setattr(pg_cluster, "start_cluster", lambda parent=None: PostgresCluster(admin_url="y"))
    monkeypatch.setattr(PostgresCluster, "stop", lambda self: stopped.append(self.admin_url))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shared_cluster(run_dir, lambda _url: None)
    stop_run(run_dir)
    assert stopped == ["y"]
    assert not run_dir.exists()
    stop_run(tmp_path / "never-used")  # a run whose tests needed no PostgreSQL: nothing to stop


@pytest.mark.postgres
async def test_the_throwaway_cluster_is_reached_through_its_unix_socket(postgres_admin_url: str) -> None:
    if os.environ.get("DATABASE_URL_POSTGRES"):
        pytest.skip("an external server is reached as DATABASE_URL_POSTGRES says")
    socket_dir = str(make_url(postgres_admin_url).query["host"])
    assert socket_dir.startswith("/") and make_url(postgres_admin_url).host is None
    conn = await asyncpg.connect(asyncpg_dsn(postgres_admin_url))
    try:
        # a Unix-socket backend has no client address; a TCP one has 127.0.0.1
        assert await conn.fetchval("SELECT inet_client_addr()") is None
    finally:
        await conn.close()
