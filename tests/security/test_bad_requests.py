"""Unsigned, malformed and oversized requests to `/slack/events` are refused with 401/400/413
and one short log line: no HTTP 500, no traceback, never the body in the log.

Before, Bolt parsed the body before verifying the signature (invalid JSON: 500 with a
traceback), `int()` of a non-integer timestamp raised (500), and every refused request was
logged with its whole body (1.9 MB of body, 1.9 MB of log).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from pathlib import Path

import httpx
import pytest

from tests.app.harness import SIGNING_SECRET, BotHarness, running_bot

LOG_LINE_LIMIT = 300


def signed_headers(body: bytes, timestamp: str | None = None, content_type: str = "application/json") -> dict[str, str]:
    ts = timestamp or str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}


async def post(bot: BotHarness, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await bot.http.post(bot.base_url + "/slack/events", content=body, headers=headers)


def watch_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Capture from here on: Bolt (which logged refused bodies) at DEBUG, everything else at INFO."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="slack_bolt")
    caplog.clear()


def assert_short_logs(caplog: pytest.LogCaptureFixture, marker: bytes) -> None:
    """Every record is one short line without a traceback, and no record carries the body."""
    for record in caplog.records:
        message = record.getMessage()
        assert record.exc_info is None, f"traceback logged: {message[:200]}"
        assert len(message) <= LOG_LINE_LIMIT, f"{record.name}: {len(message)} chars"
        assert marker.decode() not in message


async def test_unsigned_invalid_json_is_401_without_a_traceback(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    async with running_bot(tmp_path) as bot:
        watch_logs(caplog)
        body = b'{"type": "block_actions", "MARKER-JSON": '  # cut short
        response = await post(bot, body, {"Content-Type": "application/json"})

        assert response.status_code == 401, response.text
        assert_short_logs(caplog, b"MARKER-JSON")
        assert any("refused with 401" in r.getMessage() for r in caplog.records)


async def test_a_non_integer_timestamp_is_400(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with running_bot(tmp_path) as bot:
        watch_logs(caplog)
        body = b"command=%2Finvoice&text=help&MARKER-TS=1"
        headers = {**signed_headers(body, content_type="application/x-www-form-urlencoded"),
                   "X-Slack-Request-Timestamp": "soon"}
        response = await post(bot, body, headers)

        assert response.status_code == 400, response.text
        assert_short_logs(caplog, b"MARKER-TS")


async def test_a_signed_body_that_is_not_json_is_400(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with running_bot(tmp_path) as bot:
        watch_logs(caplog)
        for body in (b'{"MARKER-SIGNED": ', b"payload=%7Bnot-json-MARKER-SIGNED", b"\xff\xfeMARKER-SIGNED"):
            content_type = "application/json" if body.startswith(b"{") else "application/x-www-form-urlencoded"
            response = await post(bot, body, signed_headers(body, content_type=content_type))
            assert response.status_code == 400, (body, response.text)
        assert_short_logs(caplog, b"MARKER-SIGNED")
        assert bot.slack.calls() == []


async def test_a_huge_unsigned_body_is_refused_without_logging_it(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    async with running_bot(tmp_path) as bot:
        watch_logs(caplog)
        body = b"payload=" + b"MARKER-HUGE" * 180_000  # about 1.9 MB
        response = await post(bot, body, {"Content-Type": "application/x-www-form-urlencoded"})

        assert response.status_code == 413
        assert sum(len(r.getMessage()) for r in caplog.records) < 20_000
        assert_short_logs(caplog, b"MARKER-HUGE")

        # just under the cap, unsigned: 401, and still only a short line
        body = b"payload=" + b"MARKER-HUGE" * 90_000
        response = await post(bot, body, {"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 401
        assert_short_logs(caplog, b"MARKER-HUGE")


async def test_a_good_request_still_works(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        response = await bot.command("help")
        assert response.status_code == 200
        assert "/invoice issue" in response.text
