"""`serve --http` readiness and graceful shutdown, as an orchestrator sees them.

`/health` is up as soon as the process is; `/ready` only once migrated to head with providers
started. SIGTERM during a slow provider call: `/ready` turns 503 and new Slack requests are
refused, the call finishes, the document is issued once, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest

from commands.ledger import head_revision
from tests.app.serve_procs import cluster, now_true, open_issue_modal, post, wait_ready, wait_until
from tests.local_http import LOCAL_TLS

pytestmark = pytest.mark.slow  # starts `invoicebot serve` and `invoicebot sandbox` as processes


async def test_sigterm_during_a_slow_provider_call_finishes_it_and_exits_0(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    with cluster(tmp_path, url, INVOICEBOT_SHUTDOWN_GRACE_SECONDS="30") as world:
        port = world.start_serve("serve")
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(verify=LOCAL_TLS, timeout=30) as http:
            ready = await wait_ready(http, world, port)
            assert ready["database"] == "ok" and ready["providers"] == "started" and ready["draining"] is False
            assert (await http.get(base + "/health")).status_code == 200
            view, values = await open_issue_modal(http, world, port)
            await post(http, port, world.factory.view_submission(user_id="U_ALICE", view=view, values=values))
            card = await wait_until("the approval card", now_true(lambda: world.cards()), 30)
            # every Popbill call takes 2 s: the token, registIssue and getInfo still run for 6 s after
            # the SIGTERM below, far longer than the 0.5 s wait and the two requests the test makes meanwhile
            world.set_popbill_latency(2000)
            await post(http, port, world.approve(card[0]))

            async def executing() -> bool:
                return any(state == "executing" for _i, state, *_ in await world.approvals())

            await wait_until("the execution to start", executing, 30, 0.05)
            world.procs[port].send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            drained = await http.get(base + "/ready")
            assert drained.status_code == 503 and drained.json()["draining"] is True
            refused = await post(http, port, world.factory.view_submission(user_id="U_ALICE", view=view,
                                                                           values=values))
            assert refused.status_code == 503  # Slack retries it, the load balancer picks another replica
            assert world.procs[port].poll() is None, "still finishing the provider call"
            code = await asyncio.to_thread(world.procs[port].wait, 30)
        assert code == 0, world.log_of("serve")[-3000:]
        rows = await world.approvals()
        assert [(state, ref) for _i, state, _c, _a, ref in rows] == [("succeeded", rows[0][4])]
        assert world.popbill_documents() == {rows[0][4]: 1}
        assert "in-flight task" in world.log_of("serve")


async def test_ready_is_503_when_the_database_is_not_at_head(tmp_path: Path) -> None:
    """A replica of an older release (its code expects another head) must not get traffic."""
    from bot.lifecycle import Drain, readiness

    async def behind() -> str | None:
        return "0001"

    async def at_head() -> str | None:
        return head_revision()

    async def unreachable() -> str | None:
        raise OSError("connection refused")

    drain = Drain()
    assert (await readiness(at_head, drain=drain, providers=4))["ok"] is True
    report = await readiness(behind, drain=drain, providers=4)
    assert report["ok"] is False and "expected" in str(report["database"])
    assert (await readiness(unreachable, drain=drain, providers=4))["ok"] is False
    assert (await readiness(at_head, drain=drain, providers=0))["ok"] is False
    await drain.drain(0.1)
    assert (await readiness(at_head, drain=drain, providers=4))["ok"] is False
