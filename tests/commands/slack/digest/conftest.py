"""Fixtures the digest's tests share."""

from tests.slack_fixtures import slack

__all__ = ["slack"]
