"""`invoicebot serve --http` processes around one shared sandbox process and one Slack double.

Used by the graceful-shutdown and replica tests: the provider sandboxes run as their own
`invoicebot sandbox` process (so they outlive a killed replica and count what every replica
sent), the Slack Web API double runs in this process (every replica points SLACK_API_URL at
it), and everything the bot is asked to do arrives as signed HTTP.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.console.render import build_view_state, modal_to_prompts
from bot.console.slack_double import SlackDoubleThread, SlackWebApiDouble
from bot.console.slack_requests import SignedRequest, SlackRequestFactory
from providers.config import DEMO_POPBILL
from tests.app.harness import find_button
from tests.faults.flows import BUYER
from tests.local_http import LOCAL_TLS, free_port
from tests.paths import REPO_ROOT

SECRET = "replica-test-signing-secret-0123456789"
TOKEN = "xoxb-test"
APPROVALS = "C_APPROVALS"
FINAL = ("succeeded", "failed", "unknown", "rejected", "expired")



@dataclass
class Cluster:
    """The shared pieces (sandbox, Slack double, database) and the `serve` processes started on them."""

    tmp: Path
    slack: SlackDoubleThread
    popbill_url: str
    env: dict[str, str]
    database_url: str
    factory: SlackRequestFactory
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)  # port -> process

    @property
    def double(self) -> SlackWebApiDouble:
        return self.slack.double

    def start_serve(self, name: str, **extra_env: str) -> int:
        """Start one `serve --http` replica as the `invoicebot` command starts it (`bot.launch`:
        restarted under python -OO, so these scenarios run the bot as it runs in production); its port."""
        port = free_port()
        log = (self.tmp / f"{name}.log").open("wb")
        env = dict(self.env, INVOICEBOT_INSTANCE_ID=name, **extra_env)
        self.procs[port] = subprocess.Popen(
            [sys.executable, "-m", "bot.launch", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        return port

    def log_of(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def cards(self) -> list[dict[str, Any]]:
        async def read() -> list[dict[str, Any]]:
            return [dict(m) for m in self.double.messages_in(APPROVALS) if not m.get("thread_ts")]

        return self.slack.run(read())

    async def approvals(self) -> list[tuple[int, str, str | None, int, str]]:
        """(id, state, outcome_code, attempts, document ref) of every request, from the database."""
        engine = create_async_engine(self.database_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(text(
                    "SELECT a.id, a.state, a.outcome_code, a.attempts, d.ref FROM approval_requests a "
                    "JOIN documents d ON d.id = a.document_id ORDER BY a.id"))
                return [tuple(r) for r in rows]  # type: ignore[misc]
        finally:
            await engine.dispose()

    async def audit_count(self, operation: str, *, outcome: str) -> Counter[str]:
        """Audit events of `operation` ending in `outcome`, counted by document ref."""
        engine = create_async_engine(self.database_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(text("SELECT document_ref FROM audit_events "
                                               "WHERE operation = :op AND outcome = :outcome"),
                                          {"op": operation, "outcome": outcome})
                return Counter(str(r[0]) for r in rows)
        finally:
            await engine.dispose()

    def popbill_documents(self) -> Counter[str]:
        state = httpx.get(self.popbill_url + "/_sandbox/state", timeout=10, verify=LOCAL_TLS).json()
        return Counter(d["mgtKey"] for d in state["documents"] if str(d["mgtKey"] or "").startswith("INV-"))

    def set_popbill_latency(self, latency_ms: int) -> None:
        if latency_ms:
            httpx.put(self.popbill_url + "/_sandbox/faults", json={"latency_ms": latency_ms},
                      timeout=10, verify=LOCAL_TLS).raise_for_status()
        else:
            httpx.delete(self.popbill_url + "/_sandbox/faults", timeout=10, verify=LOCAL_TLS).raise_for_status()

    def approve(self, card: dict[str, Any]) -> SignedRequest:
        return self.factory.block_action(
            user_id="U_BOB", action_id="approval_approve", value=str(approval_id(card)),
            block_id="approval_actions", channel_id=APPROVALS, message=card,
            response_url=self.double.response_url(channel=APPROVALS, ts=str(card["ts"])))

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def approval_id(card: dict[str, Any]) -> int:
    return int(str(find_button(card.get("blocks") or [], "approval_approve")["value"]))


@contextmanager
def cluster(tmp: Path, database_url: str, **env_extra: str) -> Iterator[Cluster]:
    """The sandbox process and the Slack double, torn down at the end with every replica."""
    slack = SlackDoubleThread(SlackWebApiDouble(valid_tokens={TOKEN}))
    api_url = slack.start()
    env = dict(os.environ)
    env.update({"INVOICEBOT_CONFIG": str(tmp / "absent.toml"), "INVOICEBOT_LOG_LEVEL": "INFO",
                "INVOICEBOT_SANDBOX_FAULTS": "{}", "PYTHONPATH": str(REPO_ROOT)})
    sandbox = subprocess.Popen([sys.executable, "-m", "bot.cli", "sandbox", "--port-base", "0"], cwd=REPO_ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    made: Cluster | None = None
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
            "DATABASE_URL": database_url, "INVOICEBOT_APPROVERS": "U_BOB", "INVOICEBOT_APPROVALS_CHANNEL": APPROVALS,
            "POPBILL_LINK_ID": str(DEMO_POPBILL.link_id),
            "POPBILL_SECRET_KEY": DEMO_POPBILL.secret_key.get_secret_value(),
            "POPBILL_API_URL": urls["popbill"], "POPBILL_AUTH_URL": urls["popbill"], "PROVIDER_READ_TIMEOUT": "20",
        })
        env.update(env_extra)
        factory = SlackRequestFactory(SECRET, team_id=slack.double.team_id, api_app_id=slack.double.app_id)
        made = Cluster(tmp, slack, urls["popbill"], env, database_url, factory)
        yield made
    finally:
        if made is not None:
            made.stop_all()
        sandbox.send_signal(signal.SIGTERM)
        try:
            sandbox.wait(10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
        slack.stop()


async def wait_until(what: str, check: Callable[[], Awaitable[Any]], timeout: float, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def now_true(check: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def run() -> Any:
        return check()

    return run


async def wait_ready(http: httpx.AsyncClient, world: Cluster, port: int, timeout: float = 60) -> dict[str, Any]:
    proc = world.procs[port]

    async def ready() -> dict[str, Any] | None:
        assert proc.poll() is None, f"serve on {port} exited with {proc.returncode}"
        try:
            response = await http.get(f"http://127.0.0.1:{port}/ready")
        except httpx.HTTPError:
            return None
        return dict(response.json()) if response.status_code == 200 else None

    return dict(await wait_until(f"serve on {port} to be ready", ready, timeout))


async def post(http: httpx.AsyncClient, port: int, request: SignedRequest) -> httpx.Response:
    return await http.post(f"http://127.0.0.1:{port}/slack/events", content=request.body.encode(),
                           headers=request.headers)


async def open_issue_modal(http: httpx.AsyncClient, world: Cluster, port: int) -> tuple[dict[str, Any], Any]:
    """The issue modal (opened through `port`) and the form values of a valid Popbill tax invoice."""
    await post(http, port, world.factory.slash_command(
        "issue popbill tax", user_id="U_ALICE", channel_id="C_FINANCE",
        response_url=world.double.response_url(channel="C_FINANCE")))

    async def modal() -> dict[str, Any] | None:
        opened = world.double.calls("views.open")
        return dict(opened[-1].response["view"]) if opened and opened[-1].ok else None

    view = await wait_until("the issue modal", modal, 15)
    return view, build_view_state(modal_to_prompts(view), BUYER)
