"""The digest benchmark's measuring process: `python -m bench._digest_child --measure URL --now ISO [--warm-up]`.

A fresh process, as a restarted bot is: modules imported and a first chart drawn before the
clock starts (a running bot has drawn charts), one pooled connection open. Then:

* ``--warm-up``: what the bot's scheduler does `WARMUP_LEAD` before the earliest digest
  (`bot.digest_warmup`): `DigestPublisher.warm`, the digest read and built once, never posted,
  at that earlier time. The first build timed after it is what a channel sees at 09:00 from a
  bot that was (re)started before the warm-up time;
* without it, the first build pays every one-time cost of the process (the `holidays`
  calendars, the message catalog and Babel's locale data, statement compiles, PostgreSQL's first
  plans): a ``digest now`` right after a restart, or a restart between the warm-up and the digest.

It prints one JSON line: the first build, the median of `repeats` more (warm), the warm-up's
own time, peak RSS (VmHWM) before and after, and the parts of the builds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from commands.ledger import Store

__all__ = ["rss_mb"]


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    VmHWM (Linux) rather than ``ru_maxrss``: Linux carries ``ru_maxrss`` over fork and exec,
    so a child of a parent that held 100,000 seeded rows would start at the parent's peak.
    VmHWM belongs to the process's own address space, which exec replaced.
    """
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


async def _warm_up(store: Store, now: dt.datetime, tz: dt.tzinfo) -> float:
    """The scheduler's warm-up (`DigestPublisher.warm`), run at its time: `WARMUP_LEAD` before `now`."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.digest_warmup import WARMUP_LEAD
    from commands.slack.digest import DigestPublisher

    publisher = DigestPublisher(store, AsyncWebClient(token="xoxb-bench"), tz=tz, clock=lambda: now - WARMUP_LEAD,
                                chart=False)
    started = time.perf_counter()
    await publisher.warm("C_FINANCE", tz=tz)
    return time.perf_counter() - started


async def measure(url: str, now: dt.datetime, repeats: int, warm_up: bool) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    from commands.slack.chart import render_chart_png
    from commands.slack.digest import CHART_DAYS, build_digest_blocks, build_digest_data

    tz = ZoneInfo("Asia/Seoul")
    render_chart_png({}, CHART_DAYS, end=now.astimezone(tz).date())  # a running bot has drawn a chart before
    store = await Store.open(url, migrate=False)
    try:
        async with store.engine.connect() as conn:  # the pool has its connection, as in a running bot
            await conn.execute(sa.text("SELECT 1"))
        rss_before = rss_mb()
        warmed = await _warm_up(store, now, tz) if warm_up else None
        parts: dict[str, list[float]] = {"data": [], "blocks": [], "chart": []}

        async def build() -> tuple[float, int, int]:
            started = time.perf_counter()
            data = await build_digest_data(store, now=now, since=now - dt.timedelta(hours=24), tz=tz)
            queried = time.perf_counter()
            blocks = build_digest_blocks(data, tz)
            built = time.perf_counter()
            png = render_chart_png(data.daily_krw, CHART_DAYS, end=data.chart_end)
            drawn = time.perf_counter()
            parts["data"].append(queried - started)
            parts["blocks"].append(built - queried)
            parts["chart"].append(drawn - built)
            return drawn - started, len(blocks), len(png)

        first, blocks, png = await build()
        warm = [(await build())[0] for _ in range(repeats)]
        rss_after = rss_mb()
        started = time.perf_counter()
        async with store.engine.connect() as conn:
            await conn.execute(sa.text("SELECT count(*), sum(total) FROM documents"))
        scan = time.perf_counter() - started
    finally:
        await store.close()
    return {"first": first, "warm": statistics.median(warm), "rss_before": rss_before, "rss_peak": rss_after,
            "blocks": blocks, "png": png, "scan": scan, "warm_up": warmed,
            "first_message": parts["data"][0] + parts["blocks"][0],
            "first_parts": {k: v[0] for k, v in parts.items()},
            "warm_message": statistics.median(d + b for d, b in zip(parts["data"][1:], parts["blocks"][1:],
                                                                     strict=True)),
            "parts": {k: statistics.median(v[1:]) for k, v in parts.items()}}


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._digest_child")
    parser.add_argument("--measure", required=True, help="database URL")
    parser.add_argument("--now", required=True, help="ISO time the digest is built at")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warm-up", action="store_true", help="run the scheduler's pre-digest warm-up first")
    args = parser.parse_args(argv)
    found = asyncio.run(measure(args.measure, dt.datetime.fromisoformat(args.now), args.repeats, args.warm_up))
    print(json.dumps(found), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
