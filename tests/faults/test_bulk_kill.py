"""`kill -9` of `invoicebot serve` after the first bulkSubmit of an approved 120-row batch, then a
restart: recovery reads the first submission back with getBulkResult, sends only the rows it did
not carry, and the sandbox ends with exactly one document per row (issue 11's "Done when").

The Popbill sandbox runs as its own process (it survives the kill), slowed so the second
submission is still to come when the bot dies; the Slack Web API double runs in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.app.serve_procs import approval_id, now_true, wait_until
from tests.app.test_bulk import bulk_csv
from tests.faults.test_kill_and_restart import (
    APPROVALS,
    World,
    _approve,
    popbill_documents,
    post,
    start_serve,
    wait_healthy,
)
from tests.faults.test_kill_and_restart import world as world
from tests.local_http import LOCAL_TLS

pytestmark = pytest.mark.slow  # two bot processes, a sandbox process and a hundred and twenty documents


def batch_state(world: World) -> tuple[str, int] | None:
    with contextlib.closing(sqlite3.connect(world.tmp / "bot.db", timeout=30)) as db:
        row = db.execute("SELECT state, attempts FROM approval_requests WHERE action = 'bulk_issue'").fetchone()
    return (str(row[0]), int(row[1])) if row else None


def bulk_submit_ids(http: httpx.Client, world: World) -> list[str]:
    log = http.get(world.popbill_url + "/_sandbox/requests").json()
    ids = []
    for request in log:
        headers = {str(k).lower(): v for k, v in dict(request["headers"]).items()}
        if request["path"] == "/Taxinvoice" and "x-pb-submit-id" in headers:
            ids.append(str(headers["x-pb-submit-id"]))
    return ids


def _click(world: World, message: dict[str, Any], action_id: str, value: str, user: str, channel: str) -> Any:
    return world.factory.block_action(user_id=user, action_id=action_id, value=value, block_id="bulk_preview",
                                      channel_id=channel, message=message,
                                      response_url=world.double.response_url(channel=channel))


async def test_kill_9_after_the_first_bulk_submit_ends_with_one_document_per_row(world: World) -> None:
    async with httpx.AsyncClient(verify=LOCAL_TLS, timeout=30) as http:
        sync_http = httpx.Client(verify=LOCAL_TLS, timeout=10)
        serve = start_serve(world, "serve.log")
        try:
            await wait_healthy(http, world, serve)
            world.double.share_user_file("U_ALICE", "C_FINANCE", "november.csv", bulk_csv())
            await post(http, world, world.factory.slash_command(
                "bulk", user_id="U_ALICE", channel_id="C_FINANCE",
                response_url=world.double.response_url(channel="C_FINANCE")))
            preview = await wait_until("the preview", now_true(lambda: next(
                (m for m in world.double.ephemerals(user="U_ALICE") if "bulk_submit" in str(m.get("blocks"))),
                None)), 60)
            file_id = next(f for f in world.double.files.values() if f.filename == "november.csv").id
            await post(http, world, _click(world, preview, "bulk_submit", file_id, "U_ALICE", "C_FINANCE"))
            await wait_until("the batch card", now_true(lambda: len(world.cards()) == 1), 60)
            card = world.cards()[0]
            assert approval_id(card) > 0
            await post(http, world, _approve(world, card))
            await wait_until("the first bulkSubmit's documents",
                             now_true(lambda: sum(popbill_documents(sync_http, world).values()) >= 100), 60, 0.02)
            serve.send_signal(signal.SIGKILL)
            serve.wait(10)
        finally:
            if serve.poll() is None:
                serve.kill()

        at_kill = sum(popbill_documents(sync_http, world).values())
        assert 100 <= at_kill < 120, f"the kill came at the wrong moment ({at_kill} documents)"
        assert batch_state(world) == ("executing", 1)
        submits_at_kill = bulk_submit_ids(sync_http, world)

        sync_http.delete(world.popbill_url + "/_sandbox/faults").raise_for_status()
        await asyncio.sleep(1.2)  # older than INVOICEBOT_EXECUTING_STALE_SECONDS: the restart takes it over
        serve = start_serve(world, "serve-restarted.log")
        try:
            await wait_healthy(http, world, serve)
            await wait_until("the batch to end", now_true(
                lambda: (batch_state(world) or ("", 0))[0] in ("succeeded", "failed", "unknown")), 90, 0.2)
        finally:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(15)
            except subprocess.TimeoutExpired:
                serve.kill()

        state, attempts = batch_state(world) or ("", 0)
        assert (state, attempts) == ("succeeded", 2), (world.tmp / "serve-restarted.log").read_text()[-3000:]
        documents = popbill_documents(sync_http, world)
        assert len(documents) == 120 and set(documents.values()) == {1}, Counter(documents.values())
        submits = bulk_submit_ids(sync_http, world)
        assert len(set(submits)) == 2 and submits[:len(submits_at_kill)] == submits_at_kill
        sync_http.close()
        assert APPROVALS
