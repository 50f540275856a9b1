"""The double on its own thread, for synchronous clients."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.console.slack_double import SlackDoubleThread
from tests.bot.console.slack_double.support import TOKEN


def test_the_thread_runner_serves_sync_clients() -> None:
    runner = SlackDoubleThread()
    base = runner.start()
    try:
        sync = WebClient(token=TOKEN, base_url=base)
        args: dict[str, Any] = {"channel": "C1", "text": "from a sync client"}
        assert sync.chat_postMessage(**args)["ok"]
        assert runner.wait_for("chat.postMessage")[0].args["text"] == "from a sync client"
        assert sync.files_upload_v2(channel="C1", content="a,b\n1,2\n", filename="export.csv")["file"]["size"] == 8
    finally:
        runner.stop()
