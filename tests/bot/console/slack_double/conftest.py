"""A started double and a real slack_sdk client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_double import SlackWebApiDouble
from tests.bot.console.slack_double.support import TOKEN


@pytest.fixture
async def double() -> AsyncIterator[SlackWebApiDouble]:
    server = SlackWebApiDouble()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def client(double: SlackWebApiDouble) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=double.base_url)
