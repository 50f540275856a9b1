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

from tests.db_fixtures import *  # noqa: F403, E402
from tests.ordering import long_tests_first, worker_count  # noqa: E402


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest tests first, spread over the xdist workers' shares (tests/ordering.py says why).
    The same order on every worker, as xdist requires."""
    items[:] = long_tests_first(items, worker_count())
