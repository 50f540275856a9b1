"""Three `serve --http` replicas on one PostgreSQL, one of them killed with SIGKILL mid-batch.

What a load balancer in front of N replicas needs from the bot: every request ends exactly once
(one document per request at the shared Popbill sandbox, one issue execution in the audit
trail), and a digest that every replica wants to post (each catches up on start) is posted once
per channel at the shared Slack Web API double. The replicas share nothing but the database, the
provider sandbox process (POPBILL_API_URL) and the Slack double (SLACK_API_URL).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.schedule_types import DIGEST_SECOND
from commands.ledger import Store
from tests.app.serve_procs import (
    FINAL,
    Cluster,
    approval_id,
    cluster,
    now_true,
    open_issue_modal,
    post,
    wait_ready,
    wait_until,
)
from tests.local_http import LOCAL_TLS

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

COUNT = 30
DIGEST_CHANNELS = ("C_DIGEST_A", "C_DIGEST_B")
ZONE = "Asia/Seoul"
#: from scheduling the digests to their cron firing: three replicas start and arm in 3-5 s at load 3
START_LEAD = dt.timedelta(seconds=20)
#: INVOICEBOT_EXECUTING_STALE_SECONDS: how long the survivors wait before taking a dead replica's work over
STALE = "8"


async def _schedule_digests_soon(url: str) -> dt.datetime:
    """Digests due `START_LEAD` from now, to the second (the minute in the schedule, the second
    through INVOICEBOT_TEST_DIGEST_SECOND): time for the replicas to start, which arm their cron
    jobs from the database, so every replica's job fires at that same instant."""
    now = dt.datetime.now(ZoneInfo(ZONE))
    due = (now + START_LEAD).replace(microsecond=0) + dt.timedelta(seconds=1)
    store = await Store.open(url, migrate=False)
    try:
        for channel in DIGEST_CHANNELS:
            await store.digests.upsert_schedule(channel, time=due.strftime("%H:%M"), timezone=ZONE,
                                                created_by="U_ADMIN")
    finally:
        await store.close()
    return due


async def _digests_fire_on_every_replica(world: Cluster, due: dt.datetime) -> None:
    """Each replica's job ran (it posted or found the claim taken), and each channel got one post."""
    assert dt.datetime.now(ZoneInfo(ZONE)) < due, "the replicas started too slowly to race for the digest"
    await asyncio.sleep(max(0.0, (due - dt.datetime.now(ZoneInfo(ZONE))).total_seconds()))

    def every_replica_ran() -> bool:
        logs = [world.log_of(f"replica{i}") for i in range(3)]
        return all(f"digest for {channel}" in log for log in logs for channel in DIGEST_CHANNELS)

    await wait_until("every replica's digest job", now_true(every_replica_ran), 30, 0.2)
    assert _digest_posts(world) == dict.fromkeys(DIGEST_CHANNELS, 1), "each digest posted once"
    claimed = sum(world.log_of(f"replica{i}").count("already claimed; not posting again") for i in range(3))
    assert claimed == 2 * len(DIGEST_CHANNELS), "the two other replicas lost each claim"


def _digest_posts(world: Cluster) -> Counter[str]:
    return Counter(str(c.args.get("channel")) for c in world.double.calls("chat.postMessage")
                   if c.args.get("channel") in DIGEST_CHANNELS and c.response.get("ok"))


async def _submit_round_robin(http: httpx.AsyncClient, world: Cluster, ports: list[int]) -> None:
    """COUNT issue forms (each its own modal: one view id is one submission, replays are dropped),
    one in flight per replica at a time (people submit forms, not a burst)."""
    view, values = await open_issue_modal(http, world, ports[0])
    slots = asyncio.Semaphore(len(ports))

    async def submit(i: int) -> httpx.Response:
        async with slots:
            form = {**view, "id": f"V_REPLICA_{i:03d}"}
            return await post(http, ports[i % len(ports)],
                              world.factory.view_submission(user_id="U_ALICE", view=form, values=values))

    answers = await asyncio.gather(*(submit(i) for i in range(COUNT)))
    assert {a.status_code for a in answers} == {200}
    await wait_until(f"{COUNT} cards", now_true(lambda: len(world.cards()) >= COUNT), 90)


async def test_three_replicas_one_killed_mid_batch_end_every_request_once(tmp_path: Path, postgres_url: str) -> None:
    due = await _schedule_digests_soon(postgres_url)
    # a live execution renews its claim every third of STALE (1 s Popbill calls never outlast it), so
    # it is never taken over, and a dead one is: the no-duplicate assertions below prove both
    with cluster(tmp_path, postgres_url, INVOICEBOT_EXECUTING_STALE_SECONDS=STALE,
                 **{DIGEST_SECOND: str(due.second)}) as world:
        ports = [world.start_serve(f"replica{i}") for i in range(3)]
        limits = httpx.Limits(max_connections=60, max_keepalive_connections=0)
        async with httpx.AsyncClient(verify=LOCAL_TLS, timeout=30, limits=limits) as http:
            for port in ports:
                await wait_ready(http, world, port)
            await _digests_fire_on_every_replica(world, due)
            await _submit_round_robin(http, world, ports)

            world.set_popbill_latency(1000)  # issuances are in flight on every replica when one dies
            cards = world.cards()
            answers = await asyncio.gather(*(post(http, ports[i % 3], world.approve(card))
                                             for i, card in enumerate(cards)))
            assert {a.status_code for a in answers} == {200}
            await wait_until("the first documents at Popbill",
                             now_true(lambda: sum(world.popbill_documents().values()) >= 3), 60, 0.05)
            victim = world.procs[ports[1]]
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            at_kill = Counter(state for _i, state, *_ in await world.approvals())
            assert at_kill["executing"] + at_kill["approved"] + at_kill["pending"] > 0, at_kill
            world.set_popbill_latency(0)

            # the survivors take the dead replica's executions over once stale; a click the dead
            # replica acknowledged but never recorded leaves its card pending: the approver clicks again
            async def settled() -> bool:
                return not any(s in ("approved", "executing") for _i, s, *_ in await world.approvals())

            await wait_until("the survivors to finish every execution", settled, 120, 0.3)
            pending = {i for i, s, *_ in await world.approvals() if s == "pending"}
            survivors = [ports[0], ports[2]]
            again = [c for c in cards if approval_id(c) in pending]
            await asyncio.gather(*(post(http, survivors[i % 2], world.approve(c)) for i, c in enumerate(again)))

            async def all_final() -> bool:
                return all(s in FINAL for _i, s, *_ in await world.approvals())

            await wait_until("every request to end", all_final, 120, 0.3)

        rows = await world.approvals()
        documents = world.popbill_documents()
        assert len(rows) == COUNT, "no request is lost"
        assert Counter(state for _i, state, *_ in rows) == {"succeeded": COUNT}, rows
        assert documents == {ref: 1 for *_rest, ref in rows}, "one Popbill document per request, no duplicate"
        outcomes = await world.audit_count("issue", outcome="ok")
        assert outcomes == {ref: 1 for *_rest, ref in rows}, "one successful issue execution audited per request"
        assert any(attempts > 1 for _i, _s, _c, attempts, _r in rows), "the dead replica's work was taken over"
        assert _digest_posts(world) == dict.fromkeys(DIGEST_CHANNELS, 1), "still once after the kill and restarts"
