"""`invoicebot serve` with SLACK_APP_TOKEN: Socket Mode against the double's WebSocket.

The double answers `apps.connections.open` with its own ws:// URL and pushes envelopes as
Slack does; the app acknowledges them over the socket. Health reports the connection.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.console.slack_double import SlackDoubleThread, SlackWebApiDouble
from tests.app.harness import BOT_TOKEN
from tests.app.test_serve import clean_env
from tests.local_http import LOCAL_TLS, free_port

pytestmark = pytest.mark.slow  # a Socket Mode session over a real WebSocket

APP_TOKEN = "xapp-test"  # only the double accepts it


@pytest.fixture
def slack() -> Iterator[SlackDoubleThread]:
    thread = SlackDoubleThread(SlackWebApiDouble(valid_tokens={BOT_TOKEN}))
    thread.start()
    yield thread
    thread.stop()


def slash(text: str, response_url: str) -> dict[str, str]:
    return {"token": "x", "team_id": "T0INVOICE", "team_domain": "dev", "channel_id": "C_FINANCE",
            "channel_name": "finance", "user_id": "U_ALICE", "user_name": "alice", "command": "/invoice",
            "text": text, "api_app_id": "A0INVOICE", "is_enterprise_install": "false",
            "response_url": response_url, "trigger_id": "1.2.socket"}


def test_socket_mode_connects_acks_over_the_socket_and_reports_health(tmp_path: Path,
                                                                        slack: SlackDoubleThread) -> None:
    port = free_port()
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=slack.double.base_url,
                    DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        health: dict[str, object] = {}
        while time.monotonic() < deadline and health.get("socket_mode") != "connected":
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            with contextlib.suppress(httpx.HTTPError):
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2, verify=LOCAL_TLS).json()
            time.sleep(0.2)
        assert health.get("socket_mode") == "connected" and health.get("ok") is True, health
        assert slack.double.calls("apps.connections.open")[-1].ok

        ack = slack.run(slack.double.push("slash_commands", slash("help", slack.double.response_url())))
        assert "/invoice issue" in str(ack["payload"])

        response_url = slack.double.response_url(channel="C_FINANCE")
        slack.run(slack.double.push("slash_commands", slash("closure 123-12-12312", response_url)))
        replies = slack.wait_for("response_url", 1, timeout=20)
        assert "closed" in str(replies[-1].args)

        # Socket Mode skips HTTP signatures, so HTTP must not accept unsigned Slack requests then.
        body = urllib.parse.urlencode(slash("help", response_url))
        for path in ("/slack/events", "/_no_slack", "/"):
            refused = httpx.post(f"http://127.0.0.1:{port}{path}", content=body,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5,
                                 verify=LOCAL_TLS)
            assert refused.status_code in (404, 405), path
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert APP_TOKEN not in out + err and BOT_TOKEN not in out + err
