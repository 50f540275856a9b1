"""Start-up: from launching `invoicebot serve --http` to its first `/health` answer, and idle memory.

A restart (deploy, crash, scale-up) is time in which Slack's requests get no answer, so the
bot should be serving within a second. The database is migrated before the clock starts, as it
is on every restart but the first (`Store.open` then recognises the head without loading
Alembic). Baseline: the bare Bolt app (`python -m bench._bare`), started the same way and timed
the same way, in the same run; rounds alternate bot / bare, `REPEATS` of each, every one a
fresh process.

* start to health: from `Popen` to the first HTTP answer of ``GET /health`` (polled every
  20 ms), so the interpreter's start and every import are inside the figure. The bot binds its
  port first and answers 503 "starting" while it imports and starts (`bot.early_health`), so
  this is when an orchestrator or Slack first gets an answer rather than a refused connection;
* start to ready: the first ``200`` from ``/health``, when the bot serves Slack (database,
  scheduler, providers up): reported next to it, never hidden behind the first figure. The bare
  app's first answer is its 200;
* idle RSS: VmRSS of the process 3 s after it is ready, nothing asked of it since.

The bot is launched as users launch it, with the installed `invoicebot` command (`bench._bot.bot_argv`),
which restarts `serve` under ``python -OO`` (`bot.launch`): the restart is inside both times, and
the idle RSS is the serving process's. The bare app runs without ``-OO``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

import aiohttp

from bench._common import REPEATS, BenchResult, Child, child_env, free_port, median, python, spread, temp_dir

__all__ = ["run"]

TARGET_START = 1.0
TARGET_RSS_MB = 80.0
IDLE_SECONDS = 3.0


def _rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _health_times(child: Child, url: str, started: float, timeout: float = 60.0) -> tuple[float, float]:
    """Seconds from launch to the first answer of /health (200 or 503), and to its first 200."""
    first: float | None = None
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - started < timeout:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited ({child.proc.returncode})\n{child.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url + "/health", timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    await resp.read()
                    now = time.perf_counter() - started
                    if resp.status in (200, 503) and first is None:
                        first = now
                    if resp.status == 200:
                        return first if first is not None else now, now
            await asyncio.sleep(0.02)
    raise RuntimeError(f"{child.name} was not healthy within {timeout:.0f} s\n{child.log_tail()}")


def _once(name: str, argv: list[str], env: dict[str, str], workdir: Path, url: str) -> tuple[float, float, float]:
    """(first answer s, ready s, idle RSS MB) of one fresh process."""
    started = time.perf_counter()
    child = Child(name, argv, env=env, workdir=workdir)
    try:
        first, ready = asyncio.run(_health_times(child, url, started))
        time.sleep(IDLE_SECONDS)
        return first, ready, _rss_mb(child.pid)
    finally:
        child.stop()


def run(quick: bool) -> BenchResult:
    from bench._bot import BOT_TOKEN, SIGNING_SECRET, bot_argv, seed_status_document

    del quick  # the same three rounds either way: a start takes a second or two
    result = BenchResult("start")
    with temp_dir("start") as workdir:
        slack = Child("slack-double", [python(), "-m", "bench._servers", "slack", "--token", BOT_TOKEN],
                      env=child_env({}, workdir=workdir), workdir=workdir, announce=True)
        try:
            api_url = str(slack.wait_line(60)["api_url"])
            db_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
            asyncio.run(seed_status_document(db_url))  # migrated: the start of a bot that has run before
            env = child_env({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                             "SLACK_API_URL": api_url, "DATABASE_URL": db_url,
                             "INVOICEBOT_SANDBOX_FAULTS": json.dumps({})}, workdir=workdir)
            found: dict[str, list[tuple[float, float, float]]] = {"bot": [], "bare": []}
            for rep in range(REPEATS):
                for who in ("bot", "bare"):  # alternating, so drift on the machine hits both
                    port = free_port()
                    argv = bot_argv(port) if who == "bot" else \
                        [python(), "-m", "bench._bare", "--port", str(port), "--api-url", api_url]
                    found[who].append(_once(f"{who}-{rep}", argv, env, workdir, f"http://127.0.0.1:{port}"))
                    first, ready, rss = found[who][-1]
                    print(f"  round {rep + 1} {who:<4}: first /health answer after {first:.2f} s, ready (200) "
                          f"after {ready:.2f} s, idle RSS {rss:.0f} MB", flush=True)
        finally:
            slack.stop()
    _report(result, found)
    return result


def _report(result: BenchResult, found: dict[str, list[tuple[float, float, float]]]) -> None:
    bot_start, bare_start = [s for s, _, _ in found["bot"]], [s for s, _, _ in found["bare"]]
    bot_ready, bare_ready = [s for _, s, _ in found["bot"]], [s for _, s, _ in found["bare"]]
    bot_rss, bare_rss = [r for _, _, r in found["bot"]], [r for _, _, r in found["bare"]]
    line = (f"start: invoicebot serve to first /health {spread(bot_start, '{:.2f}')} s, to ready (200) "
            f"{spread(bot_ready, '{:.2f}')} s (bare Bolt {spread(bare_ready, '{:.2f}')} s); idle RSS "
            f"{spread(bot_rss, '{:.0f}')} MB (bare {spread(bare_rss, '{:.0f}')} MB); fresh processes, warm OS cache")
    print(line, flush=True)
    result.final_lines.append(line)
    # the target is held against readiness (the first 200: serving Slack), not against the early
    # "starting" 503 that only proves the port is bound
    result.check("serve: launch to first /health answer, 503 \"starting\" (migrated database)", "reported",
                 f"{spread(bot_start, '{:.2f}')} s; bare Bolt app {spread(bare_start, '{:.2f}')} s", None)
    result.check("serve: launch to ready (first /health 200: serving Slack)", f"< {TARGET_START:.0f} s (median)",
                 f"{spread(bot_ready, '{:.2f}')} s; bare Bolt app {spread(bare_ready, '{:.2f}')} s",
                 median(bot_ready) < TARGET_START)
    result.check("serve: idle RSS 3 s after it is ready", f"< {TARGET_RSS_MB:.0f} MB (median)",
                 f"{spread(bot_rss, '{:.0f}')} MB; bare Bolt app {spread(bare_rss, '{:.0f}')} MB",
                 median(bot_rss) < TARGET_RSS_MB)
