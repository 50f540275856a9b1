"""Shared fixtures: database fixtures (SQLite per test, one throwaway PostgreSQL cluster per session).

The suite runs in English (``INVOICEBOT_LANGUAGE=en``, also for the processes tests start):
its assertions read the English message ids. Korean has its own tests, which set the
language they need.
"""

import os

os.environ["INVOICEBOT_LANGUAGE"] = "en"

from tests.db_fixtures import *  # noqa: F403
