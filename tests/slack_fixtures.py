"""The Slack Web API double with a client of it, for the tests whose conftest imports `slack`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble

__all__ = ["slack"]


@pytest.fixture
async def slack() -> AsyncIterator[tuple[SlackWebApiDouble, AsyncWebClient]]:
    """The Slack Web API double and a client of it."""
    double = SlackWebApiDouble()
    client = AsyncWebClient(token="xoxb-test", base_url=await double.start())
    yield double, client
    await double.stop()
