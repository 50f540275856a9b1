"""Shared fixtures: database fixtures (SQLite per test, one throwaway PostgreSQL cluster per session).

The suite runs in English (``INVOICEBOT_LANGUAGE=en``, also for the processes tests start):
its assertions read the English message ids. Korean has its own tests, which set the
language they need.
"""

import os
import sys

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
from tests.ordering import long_tests_first, worker_count  # noqa: E402

compiled_cache.install()


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
