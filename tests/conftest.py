"""Shared fixtures: database fixtures (SQLite per test, one throwaway PostgreSQL cluster per session)."""

from tests.db_fixtures import *  # noqa: F403
