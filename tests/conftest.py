"""Shared fixtures: database fixtures (SQLite per test, one throwaway PostgreSQL cluster per run).

The suite runs in English (``INVOICEBOT_LANGUAGE=en``, also for the processes tests start):
its assertions read the English message ids. Korean has its own tests, which set the
language they need.
"""

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

os.environ["INVOICEBOT_LANGUAGE"] = "en"
# Write bytecode even where PYTHONDONTWRITEBYTECODE=1 is set: otherwise each run, each xdist worker
# and each process a test starts compiles the tree from source again, and pytest rewrites every
# test module's asserts again (about 6 s of CPU per worker). It goes to __pycache__ (gitignored).
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

from bot.heap import settle_heap  # noqa: E402
from tests import compiled_cache  # noqa: E402
from tests.db_fixtures import *  # noqa: F403, E402
from tests.db_fixtures import RUN  # noqa: E402
from tests.ordering import long_tests_first, worker_count  # noqa: E402
from tests.pg_cluster import RUN_DIR_KEY, stop_run  # noqa: E402

compiled_cache.install()

#: the xdist controller's folder for the run, shared with its workers (tests/pg_cluster.py)
_RUN_DIR = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """An xdist worker learns the run's shared folder (one PostgreSQL cluster and one migrated
    template of each database for all the workers, tests/pg_cluster.py)."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and workerinput.get(RUN_DIR_KEY):
        RUN["dir"] = Path(workerinput[RUN_DIR_KEY])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto` starts one worker per core plus two, as scripts/test does: the tests wait a third
    of their time (PostgreSQL, sandboxes, processes they start, real-time waits), and the extra
    workers fill those waits. On 2 cores, quiet, 2026-11-30: the `not slow` lane 62.6-63.2 s with 3
    workers against 58.9-61.0 s with 4, the whole suite 2:17 against 2:04 (each worker also
    collects every test, about 2.7 s of CPU). PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return len(os.sched_getaffinity(0)) + 2


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand each worker the run's shared folder (made for the first worker)."""
    config: pytest.Config = node.config
    if _RUN_DIR not in config.stash:
        config.stash[_RUN_DIR] = Path(tempfile.mkdtemp(prefix="invoicebot-run-"))
    node.workerinput[RUN_DIR_KEY] = str(config.stash[_RUN_DIR])


def pytest_unconfigure(config: pytest.Config) -> None:
    """xdist controller: stop the cluster a worker started for the run, remove the run's folder."""
    run_dir = config.stash.get(_RUN_DIR, None)
    if run_dir is not None:
        stop_run(run_dir)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest tests first, spread over the xdist workers' shares (tests/ordering.py says why).
    The same order on every worker, as xdist requires."""
    items[:] = long_tests_first(items, worker_count())


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Set the collected session's heap aside from the garbage collector, as `serve` does once started
    (`bot.heap.settle_heap`: collect, `gc.freeze()`, young collections every 50,000 allocations).

    After collection a worker holds every test module, the product's modules and pytest's items,
    all alive until the end; the collector traversed them in each of its full collections, and
    collected the young generation every 700 allocations: 3.75 s of 55 s of CPU went to the
    collector in tests/commands/{ledger,workflow} + tests/app/test_flows.py, 1.35 s after this.
    Garbage made by the tests is collected as before, only less often (tests/bot/test_heap.py's
    fixture puts this state back after its own test of settle_heap)."""
    settle_heap()
