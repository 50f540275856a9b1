"""CPU per `/invoice status`, and how soon its answer comes at 200 at once against the provider's latency.

`invoicebot serve --http` answers signed `/invoice status INV-000001` commands (one issued
Popbill tax invoice). The provider sandboxes run in a child process of their own (the bot is
configured with their URLs and the sandboxes' demo credentials) and adds `latency_ms` to every
call; the Slack Web API double is another child, so the bot's CPU (`/proc/<pid>/stat`) over a
round is the ack plus all the work after it, and nothing else. Per repetition: one round of
`concurrency` commands at once; each command's answer time runs from its request to its
answer reaching the double's response_url. A warm-up round comes first (LinkHub token,
connections, imports).

Targets: CPU per status command < 5 ms (median of the repetitions), and the answer p99 at
c=200 within 1.2x the provider's latency (the answer needs one provider call: getInfo).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench._bot import (
    BOT_TOKEN,
    CHANNEL,
    SIGNING_SECRET,
    STATUS_REF,
    bot_argv,
    remote_provider_env,
    seed_status_document,
    wait_ready,
)
from bench._common import (
    REPEATS,
    BenchResult,
    Child,
    child_env,
    free_port,
    median,
    percentile,
    proc_cpu_seconds,
    python,
    spread,
    temp_dir,
)
from bot.console.slack_requests import SlackRequestFactory

__all__ = ["StatusPlan", "run"]

TARGET_CPU = 0.005
TARGET_ANSWER_RATIO = 1.2


@dataclass(frozen=True)
class StatusPlan:
    concurrency: int
    latency_ms: int


FULL = StatusPlan(concurrency=200, latency_ms=2000)
QUICK = StatusPlan(concurrency=40, latency_ms=500)


@dataclass
class Round:
    cpu_per_command: float
    answers: list[float]  # seconds from request to answer at the response_url
    missing: int
    errors: int


async def _answers(session: aiohttp.ClientSession, root_url: str, since: int) -> tuple[int, dict[str, float]]:
    async with session.get(f"{root_url}/_bench/calls", params={"since": str(since)}) as resp:
        data = await resp.json()
    found = {str(c["response_id"]): float(c["at"]) for c in data["calls"]
             if c.get("method") == "response_url" and c.get("response_id") and c.get("ok")}
    return int(data["next"]), found


async def _round(session: aiohttp.ClientSession, bot_url: str, root_url: str, pid: int, factory: SlackRequestFactory,
                 plan: StatusPlan, tag: str) -> Round:
    since, _ = await _answers(session, root_url, 0)
    ids = [f"R{tag}x{i}" for i in range(plan.concurrency)]
    requests = [factory.slash_command(f"status {STATUS_REF}", user_id="U_ALICE", channel_id=CHANNEL,
                                      response_url=f"{root_url}/response/{rid}") for rid in ids]
    cpu_before = proc_cpu_seconds(pid)

    async def post(body: str, headers: dict[str, str]) -> tuple[float, int]:
        sent = time.time()
        try:
            async with session.post(bot_url + "/slack/events", data=body.encode(), headers=headers) as resp:
                await resp.read()
                return sent, resp.status
        except (aiohttp.ClientError, TimeoutError):
            return sent, 0

    results = await asyncio.gather(*(post(r.body, dict(r.headers)) for r in requests))
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 60 + plan.latency_ms / 1000 * 4
    while len(seen) < len(ids) and time.monotonic() < deadline:
        since, found = await _answers(session, root_url, since)
        seen.update(found)
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # what the bot does after its answer (logging) counts too
    cpu = proc_cpu_seconds(pid) - cpu_before
    answers = [seen[rid] - sent for rid, (sent, _status) in zip(ids, results, strict=True) if rid in seen]
    return Round(cpu / len(ids), answers, len(ids) - len(answers), sum(1 for _s, st in results if st != 200))


async def _run(plan: StatusPlan, result: BenchResult, workdir: Path) -> list[Round]:
    children: list[Child] = []
    try:
        slack = Child("slack-double", [python(), "-m", "bench._servers", "slack", "--token", BOT_TOKEN],
                      env=child_env({}, workdir=workdir), workdir=workdir, announce=True)
        children.append(slack)
        sandboxes = Child("sandboxes", [python(), "-m", "bench._servers", "sandboxes", "--spec",
                                        json.dumps({"latency_ms": plan.latency_ms})],
                          env=child_env({}, workdir=workdir), workdir=workdir, announce=True)
        children.append(sandboxes)
        ready = slack.wait_line(60)
        urls = {name: str(url) for name, url in dict(sandboxes.wait_line(60)["urls"]).items()}
        db_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
        await seed_status_document(db_url)
        port = free_port()
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": ready["api_url"],
            "DATABASE_URL": db_url, "INVOICEBOT_APPROVERS": "U_BOB", "INVOICEBOT_APPROVALS_CHANNEL": "C_APPROVALS",
            # the sandboxes of the child process, with their published demo credentials
            **remote_provider_env(urls),
        }
        bot = Child("bot", bot_argv(port), env=child_env(env, workdir=workdir), workdir=workdir)
        children.append(bot)
        bot_url = f"http://127.0.0.1:{port}"
        await wait_ready(bot, bot_url)
        factory = SlackRequestFactory(SIGNING_SECRET)
        connector = aiohttp.TCPConnector(limit=plan.concurrency + 10)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
            print(f"  bot pid {bot.pid}; Popbill sandbox in pid {sandboxes.pid} adds {plan.latency_ms} ms per call; "
                  f"{plan.concurrency} `/invoice status {STATUS_REF}` at once per round", flush=True)
            await _round(session, bot_url, str(ready["root_url"]), bot.pid, factory, plan, "warm")
            rounds = []
            for rep in range(REPEATS):
                one = await _round(session, bot_url, str(ready["root_url"]), bot.pid, factory, plan, f"r{rep}")
                print(f"  repetition {rep + 1}: CPU {one.cpu_per_command * 1000:.2f} ms per status; answer p50 "
                      f"{percentile(one.answers, 50):.2f} s, p99 {percentile(one.answers, 99):.2f} s; "
                      f"missing {one.missing}, non-200 {one.errors}", flush=True)
                rounds.append(one)
        return rounds
    finally:
        for child in reversed(children):
            child.stop()


def _report(result: BenchResult, plan: StatusPlan, rounds: list[Round]) -> None:
    latency = plan.latency_ms / 1000
    cpu = [r.cpu_per_command * 1000 for r in rounds]
    p99 = [percentile(r.answers, 99) / latency for r in rounds]
    p50 = [percentile(r.answers, 50) / latency for r in rounds]
    line = (f"status c={plan.concurrency}: CPU per command {spread(cpu, '{:.2f}', ' ms')}; answer / provider "
            f"latency ({plan.latency_ms} ms) p50 {spread(p50, '{:.2f}', 'x')}, p99 {spread(p99, '{:.2f}', 'x')} "
            f"(min / median / max of {REPEATS})")
    print(line, flush=True)
    result.final_lines.append(line)
    result.check(f"CPU per `/invoice status` (ack + work after it), c={plan.concurrency}",
                 f"< {TARGET_CPU * 1000:.0f} ms (median)", spread(cpu, "{:.2f}", " ms"),
                 median(cpu) < TARGET_CPU * 1000)
    result.check(f"status answer p99 / provider latency, c={plan.concurrency}", f"≤ {TARGET_ANSWER_RATIO}x (median)",
                 spread(p99, "{:.2f}", "x"), median(p99) <= TARGET_ANSWER_RATIO)
    missing, errors = sum(r.missing for r in rounds), sum(r.errors for r in rounds)
    if missing or errors:
        result.notes.append(f"status: {missing} answers missing, {errors} non-200 acks")


def run(quick: bool) -> BenchResult:
    plan = QUICK if quick else FULL
    result = BenchResult("status")
    with temp_dir("status") as workdir:
        rounds = asyncio.run(_run(plan, result, workdir))
    _report(result, plan, rounds)
    return result
