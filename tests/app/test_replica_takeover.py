"""A replica killed with SIGKILL right after it claims the day's digest: the digest still posts,
exactly once, from another replica on the same PostgreSQL.

The victim runs with the test-only fault INVOICEBOT_TEST_FAULT_KILL_AFTER_DIGEST_CLAIM (inert
unless set): it catches up the digest that is due, claims it and kills itself before posting. Its
lease (INVOICEBOT_EXECUTING_STALE_SECONDS) runs out unfinished; the two replicas started after
it race to take it over by compare-and-set, the winner asks the Slack double whether the digest
is already in the channel (it is not) and posts it; the loser and every later takeover round
find nothing to do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from bot.digest_runs import KILL_AFTER_CLAIM
from commands.ledger import Store
from commands.ledger.schema import digest_runs
from tests.app.serve_procs import Cluster, cluster, now_true, wait_ready, wait_until
from tests.local_http import LOCAL_TLS

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CHANNEL = "C_DIGEST_TAKEOVER"
ZONE = "Asia/Seoul"
LEASE_SECONDS = 3


def _posts(world: Cluster) -> int:
    return sum(1 for c in world.double.calls("chat.postMessage")
               if c.args.get("channel") == CHANNEL and c.response.get("ok"))


async def _run_row(url: str) -> dict[str, object]:
    store = await Store.open(url, migrate=False)
    try:
        async with store.engine.connect() as conn:
            row = (await conn.execute(sa.select(digest_runs).where(digest_runs.c.channel_id == CHANNEL)))
            return dict(row.mappings().one())
    finally:
        await store.close()


async def test_a_replica_killed_right_after_claiming_the_digest_still_posts_it_exactly_once(
        tmp_path: Path, postgres_url: str) -> None:
    due = dt.datetime.now(ZoneInfo(ZONE)) - dt.timedelta(minutes=1)  # due, within the grace period
    store = await Store.open(postgres_url, migrate=False)
    try:
        await store.digests.upsert_schedule(CHANNEL, time=due.strftime("%H:%M"), timezone=ZONE, created_by="U_ADMIN")
    finally:
        await store.close()

    with cluster(tmp_path, postgres_url, INVOICEBOT_EXECUTING_STALE_SECONDS=str(LEASE_SECONDS)) as world:
        victim = world.procs[world.start_serve("victim", **{KILL_AFTER_CLAIM: CHANNEL})]
        await wait_until("the victim to kill itself after claiming", now_true(lambda: victim.poll() is not None), 60)
        assert victim.returncode == -signal.SIGKILL, world.log_of("victim")
        claimed = await _run_row(postgres_url)
        assert claimed["claimed_by"] == "victim" and claimed["done_at"] is None and _posts(world) == 0

        ports = [world.start_serve(f"replica{i}") for i in range(2)]
        async with httpx.AsyncClient(verify=LOCAL_TLS, timeout=30) as http:
            for port in ports:
                await wait_ready(http, world, port)
            await wait_until("the digest to be posted", now_true(lambda: _posts(world) >= 1), 60, 0.2)
            await asyncio.sleep(LEASE_SECONDS * 2)  # two more takeover rounds (one per lease) on both replicas

        assert _posts(world) == 1, "posted exactly once"
        done = await _run_row(postgres_url)
        assert done["claimed_by"] in ("replica0", "replica1") and done["takeovers"] == 1
        assert done["done_at"] is not None and done["posted_at"] is not None
        history = [c for c in world.double.calls("conversations.history") if c.args.get("channel") == CHANNEL]
        assert len(history) == 1, "the taker asked Slack once before posting"
        logs = world.log_of("replica0") + world.log_of("replica1")
        assert logs.count("lease ran out unfinished") == 1
