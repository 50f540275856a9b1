"""bot.logs: the Slack libraries build no debug strings unless debug logging is on."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import SLACK_LOGGERS, setup_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), {n: logging.getLogger(n).level for n in SLACK_LOGGERS})
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def test_web_client_skips_debug_formatting_at_info(restore_logging: None) -> None:
    setup_logging("INFO", io.StringIO())
    client = AsyncWebClient(token="xoxb-test")
    # slack_sdk's own guard before formatting every request (async_internal_utils, base_client)
    assert not client.logger.level <= logging.DEBUG
    assert logging.getLogger("slack_bolt").level == logging.INFO


def test_debug_level_still_reaches_slack_sdk(restore_logging: None) -> None:
    setup_logging("DEBUG", io.StringIO())
    client = AsyncWebClient(token="xoxb-test")
    assert client.logger.level == logging.DEBUG
    assert client.logger.isEnabledFor(logging.DEBUG)
