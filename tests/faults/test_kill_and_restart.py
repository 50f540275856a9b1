"""`kill -9` of `invoicebot serve` in the middle of a hundred approved issuances, then a
restart: every approved request ends issued exactly once (one Popbill document per MgtKey)
or clearly failed; none is lost, none is duplicated.

The Popbill sandbox runs as its own process (`invoicebot sandbox`) so it survives the
kill, slowed down so that issuances are in flight when the bot dies. The Slack Web API
double runs in this process. Everything the bot is asked to do arrives as signed HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.console.render import build_view_state, modal_to_prompts
from bot.console.slack_double import SlackDoubleThread, SlackWebApiDouble
from bot.console.slack_requests import SignedRequest, SlackRequestFactory
from providers.config import DEMO_POPBILL
from tests.app.serve_procs import FINAL, approval_id, now_true, wait_until
from tests.faults.flows import BUYER, assert_find_before_every_resend, header
from tests.local_http import LOCAL_TLS, free_port
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # kill -9 of a real process amid a hundred issuances

ROOT = REPO_ROOT
SECRET = "kill-test-signing-secret-0123456789"
TOKEN = "xoxb-test"
APPROVALS = "C_APPROVALS"
COUNT = 100


@dataclass
class World:
    tmp: Path
    slack: SlackDoubleThread
    popbill_url: str
    env: dict[str, str]
    port: int
    factory: SlackRequestFactory

    @property
    def double(self) -> SlackWebApiDouble:
        return self.slack.double

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cards(self) -> list[dict[str, Any]]:
        async def read() -> list[dict[str, Any]]:
            return [dict(m) for m in self.double.messages_in(APPROVALS) if not m.get("thread_ts")]

        return self.slack.run(read())

    def approvals(self) -> list[tuple[int, str, str | None, int, str]]:
        """(id, state, outcome_code, attempts, document ref) of every request, from the database."""
        with contextlib.closing(sqlite3.connect(self.tmp / "bot.db", timeout=30)) as db:
            return list(db.execute(
                "SELECT a.id, a.state, a.outcome_code, a.attempts, d.ref FROM approval_requests a "
                "JOIN documents d ON d.id = a.document_id ORDER BY a.id"))


def start_serve(world: World, log_name: str) -> subprocess.Popen[bytes]:
    log = (world.tmp / log_name).open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--http", "--host", "127.0.0.1", "--port", str(world.port)],
        cwd=ROOT, env=world.env, stdout=log, stderr=subprocess.STDOUT,
    )


async def wait_healthy(http: httpx.AsyncClient, world: World, proc: subprocess.Popen[bytes]) -> None:
    async def up() -> bool:
        assert proc.poll() is None, (world.tmp / "serve.log").read_text()[-3000:]
        try:
            return (await http.get(world.bot_url + "/health")).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    await wait_until("serve to answer /health", up, 60)


async def post(http: httpx.AsyncClient, world: World, request: SignedRequest) -> httpx.Response:
    return await http.post(world.bot_url + "/slack/events", content=request.body.encode(), headers=request.headers)


def popbill_documents(http_sync: httpx.Client, world: World) -> Counter[str]:
    state = http_sync.get(world.popbill_url + "/_sandbox/state").json()
    return Counter(d["mgtKey"] for d in state["documents"] if str(d["mgtKey"] or "").startswith("INV-"))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    slack = SlackDoubleThread(SlackWebApiDouble(valid_tokens={TOKEN}))
    api_url = slack.start()
    env = dict(os.environ)
    env.update({"INVOICEBOT_CONFIG": str(tmp_path / "absent.toml"), "INVOICEBOT_LOG_LEVEL": "INFO",
                "INVOICEBOT_SANDBOX_FAULTS": '{"popbill": {"latency_ms": 250}}', "PYTHONPATH": str(ROOT)})
    sandbox = subprocess.Popen([sys.executable, "-m", "bot.cli", "sandbox", "--port-base", "0"], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        urls: dict[str, str] = {}
        assert sandbox.stdout is not None
        while len(urls) < 4:
            line = sandbox.stdout.readline()
            assert line, "the sandbox process ended before printing its URLs"
            name, url = line.split()
            urls[name] = url
        assert DEMO_POPBILL.secret_key is not None
        env.update({
            "SLACK_API_URL": api_url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            "INVOICEBOT_APPROVERS": "U_BOB", "INVOICEBOT_APPROVALS_CHANNEL": APPROVALS,
            "INVOICEBOT_SANDBOX_FAULTS": "{}", "INVOICEBOT_EXECUTING_STALE_SECONDS": "1",
            "POPBILL_LINK_ID": str(DEMO_POPBILL.link_id),
            "POPBILL_SECRET_KEY": DEMO_POPBILL.secret_key.get_secret_value(),
            "POPBILL_API_URL": urls["popbill"], "POPBILL_AUTH_URL": urls["popbill"],
            "PROVIDER_READ_TIMEOUT": "10",
        })
        factory = SlackRequestFactory(SECRET, team_id=slack.double.team_id, api_app_id=slack.double.app_id)
        yield World(tmp_path, slack, urls["popbill"], env, free_port(), factory)
    finally:
        sandbox.send_signal(signal.SIGTERM)
        try:
            sandbox.wait(10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
        slack.stop()


async def test_kill_9_during_a_hundred_issuances_then_restart_loses_and_duplicates_nothing(world: World) -> None:
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=0)
    async with httpx.AsyncClient(verify=LOCAL_TLS, timeout=30, limits=limits) as http, \
            _closing(httpx.Client(verify=LOCAL_TLS, timeout=10)) as sync_http:
        serve = start_serve(world, "serve.log")
        try:
            await wait_healthy(http, world, serve)
            # a hundred requests through the issue modal
            await post(http, world, world.factory.slash_command(
                "issue popbill tax", user_id="U_ALICE", channel_id="C_FINANCE",
                response_url=world.double.response_url(channel="C_FINANCE")))
            modal = await wait_until("the issue modal", _last_modal(world), 10)
            values = build_view_state(modal_to_prompts(modal), BUYER)
            for number in range(COUNT):
                # one modal each, as in Slack: the same view submitted again is a replay, handled once
                response = await post(http, world, world.factory.view_submission(
                    user_id="U_ALICE", view={**modal, "id": f"V_KILL_{number:03d}"}, values=values))
                assert response.status_code == 200 and not response.text
            await wait_until("a hundred cards", now_true(lambda: len(world.cards()) >= COUNT), 60)

            # a hundred approvals at once; kill -9 once some documents exist and others are in flight
            cards = world.cards()
            clicks = [_approve(world, card) for card in cards]
            answers = await asyncio.gather(*(post(http, world, c) for c in clicks))
            assert {a.status_code for a in answers} == {200}
            await wait_until("the first documents at Popbill",
                             now_true(lambda: sum(popbill_documents(sync_http, world).values()) >= 10), 60, 0.02)
            serve.send_signal(signal.SIGKILL)
            serve.wait(10)
        finally:
            if serve.poll() is None:
                serve.kill()

        at_kill = Counter(state for _id, state, *_ in world.approvals())
        issued_at_kill = sum(popbill_documents(sync_http, world).values())
        assert issued_at_kill < COUNT, f"the kill came too late to prove anything: {at_kill}"
        assert at_kill["executing"] + at_kill["approved"] + at_kill["pending"] > 0, at_kill

        # Popbill is fast again (recovery re-drives the requests one by one), and the dead executions
        # are older than INVOICEBOT_EXECUTING_STALE_SECONDS, so the restart takes them over
        sync_http.delete(world.popbill_url + "/_sandbox/faults").raise_for_status()
        await asyncio.sleep(1.2)
        serve = start_serve(world, "serve-restarted.log")
        try:
            await wait_healthy(http, world, serve)
            await wait_until("recovery of approved and executing requests", now_true(
                lambda: not any(s in ("approved", "executing") for _i, s, *_ in world.approvals())), 60, 0.2)
            # a click acknowledged but never recorded leaves its card with buttons: the approver clicks again
            still_pending = {i for i, s, *_ in world.approvals() if s == "pending"}
            again = [_approve(world, c) for c in cards if approval_id(c) in still_pending]
            answers = await asyncio.gather(*(post(http, world, c) for c in again))
            assert {a.status_code for a in answers} <= {200}
            await wait_until("every request to end", now_true(
                lambda: all(s in FINAL for _i, s, *_ in world.approvals())), 60, 0.2)
        finally:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(15)
            except subprocess.TimeoutExpired:
                serve.kill()

        rows = world.approvals()
        documents = popbill_documents(sync_http, world)
        assert len(rows) == COUNT, "no request is lost"
        for request_id, state, code, _attempts, ref in rows:
            if state == "succeeded":
                assert documents[ref] == 1, f"{ref} is issued exactly once"
            else:
                assert state in ("failed", "unknown") and code, f"#{request_id} {ref} ended {state} without a reason"
        assert all(count == 1 for count in documents.values()), "no MgtKey holds two documents"
        assert set(documents) <= {ref for *_rest, ref in rows}
        succeeded = [r for r in rows if r[1] == "succeeded"]
        assert len(succeeded) == COUNT, Counter(r[1] for r in rows)
        recovered = [r for r in rows if r[3] > 1]
        assert recovered, "some executions were taken over after the restart"
        # every second registIssue of a key was preceded by a read of that key
        log = sync_http.get(world.popbill_url + "/_sandbox/requests").json()
        _assert_reads_between_issues(log)


def _assert_reads_between_issues(log: list[dict[str, Any]]) -> None:
    import json

    seen: dict[str, list[str]] = {}
    for request in log:
        if request["path"] == "/Taxinvoice" and header(request, "X-HTTP-Method-Override") == "ISSUE":
            key = json.loads(request["body"])["invoicerMgtKey"]
            seen.setdefault(key, []).append("issue")
        elif request["path"].startswith("/Taxinvoice/SELL/") and request["method"] == "GET":
            key = request["path"].split("/")[3]
            seen.setdefault(key, []).append("find")
    for calls in seen.values():
        assert_find_before_every_resend(calls)


@contextlib.asynccontextmanager
async def _closing(client: httpx.Client) -> Any:
    try:
        yield client
    finally:
        client.close()


def _last_modal(world: World) -> Any:
    async def read() -> dict[str, Any] | None:
        opened = world.double.calls("views.open")
        return dict(opened[-1].response["view"]) if opened and opened[-1].ok else None

    return read


def _approve(world: World, card: dict[str, Any]) -> SignedRequest:
    return world.factory.block_action(
        user_id="U_BOB", action_id="approval_approve", value=str(approval_id(card)), block_id="approval_actions",
        channel_id=APPROVALS, message=card, response_url=world.double.response_url(channel=APPROVALS,
                                                                                   ts=str(card["ts"])))
