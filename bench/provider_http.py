"""CPU per provider request: does a request cost more when many are waiting or open?

`ProviderHttp` (the layer every provider client stands on) sends GETs to a loopback aiohttp
server in a child process that answers after `LATENCY_MS`, from `callers` concurrent callers,
each sending `per_caller` requests back to back. The CPU of this process (time.process_time)
over the sends, divided by their number, is the figure; the server's CPU is not in it.

Two transports, alternating in every repetition:

* ``httpcore pool``: httpx's default transport (httpcore's `AsyncConnectionPool`), behind
  ProviderHttp's in-flight cap, as main had it;
* ``free list``: `providers._pool.FreeListTransport` (its own HTTP/1.1 connections, `providers._h1`),
  ProviderHttp's default now.

Target: the free list's CPU per request at 200 callers within 1.5x of its cost at 10 callers
(flat in the number of waiting requests), and below the httpcore pool's.

    python -m bench.provider_http serve --port N --latency-ms MS   the loopback server
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from bench._common import REPEATS, BenchResult, Child, child_env, free_port, median, python, spread, temp_dir
from providers.http import HttpPolicy, ProviderHttp, tls_context

__all__ = ["HttpPlan", "main", "run"]

LATENCY_MS = 20
TARGET_FLAT = 1.5


@dataclass(frozen=True)
class HttpPlan:
    callers: tuple[int, ...]
    per_caller: int


FULL = HttpPlan(callers=(10, 200), per_caller=10)
QUICK = HttpPlan(callers=(10, 200), per_caller=2)


def _httpcore_pool(base_url: str) -> ProviderHttp:
    policy = HttpPolicy()
    limits = httpx.Limits(max_connections=policy.max_connections, max_keepalive_connections=policy.max_connections)
    transport = httpx.AsyncHTTPTransport(verify=tls_context(base_url), limits=limits, trust_env=False)
    return ProviderHttp("bench", base_url, policy=policy, transport=transport)


def _free_list(base_url: str) -> ProviderHttp:
    return ProviderHttp("bench", base_url, policy=HttpPolicy())


TRANSPORTS: dict[str, Callable[[str], ProviderHttp]] = {"httpcore pool": _httpcore_pool, "free list": _free_list}


async def _cpu_per_request(make: Callable[[str], ProviderHttp], base_url: str, callers: int, per_caller: int
                           ) -> float:
    """Seconds of this process's CPU per request, after a warm-up wave that opens the connections."""
    http = make(base_url)
    try:
        async def caller(count: int) -> None:
            for i in range(count):
                response = await http.send("GET", f"/doc/{i}", write=False)
                http.json_body(response)

        await asyncio.gather(*(caller(1) for _ in range(callers)))
        started = time.process_time()
        await asyncio.gather(*(caller(per_caller) for _ in range(callers)))
        return (time.process_time() - started) / (callers * per_caller)
    finally:
        await http.aclose()


def _report(result: BenchResult, plan: HttpPlan, cpu: dict[tuple[str, int], list[float]]) -> None:
    low, high = min(plan.callers), max(plan.callers)
    for (name, callers), values in cpu.items():
        print(f"  {name:<14} c={callers:<4} CPU per request {spread([v * 1e6 for v in values], '{:.0f}', ' us')}",
              flush=True)
    flat = [h / lo for h, lo in zip(cpu[("free list", high)], cpu[("free list", low)], strict=True)]
    gain = [o / n for o, n in zip(cpu[("httpcore pool", high)], cpu[("free list", high)], strict=True)]
    old_growth = [h / lo for h, lo in zip(cpu[("httpcore pool", high)], cpu[("httpcore pool", low)], strict=True)]
    line = (f"provider_http: CPU per request at c={high} / c={low}: free list {spread(flat, '{:.2f}', 'x')}, "
            f"httpcore pool {spread(old_growth, '{:.2f}', 'x')}; httpcore pool / free list at c={high} "
            f"{spread(gain, '{:.1f}', 'x')} (min / median / max of {REPEATS})")
    print(line, flush=True)
    result.final_lines.append(line)
    result.check(f"ProviderHttp CPU per request, c={high} / c={low} (free list)", f"≤ {TARGET_FLAT}x (median)",
                 spread(flat, "{:.2f}", "x"), median(flat) <= TARGET_FLAT)
    result.check(f"CPU per request at c={high}: httpcore pool / free list", "> 1x (median)",
                 f"{spread(gain, '{:.1f}', 'x')}; free list "
                 f"{spread([v * 1e6 for v in cpu[('free list', high)]], '{:.0f}', ' us')}, httpcore pool "
                 f"{spread([v * 1e6 for v in cpu[('httpcore pool', high)]], '{:.0f}', ' us')}", median(gain) > 1)


async def _measure(plan: HttpPlan, base_url: str) -> dict[tuple[str, int], list[float]]:
    cpu: dict[tuple[str, int], list[float]] = {(n, c): [] for n in TRANSPORTS for c in plan.callers}
    for _rep in range(REPEATS):
        for callers in plan.callers:
            for name, make in TRANSPORTS.items():  # alternating within every repetition
                cpu[(name, callers)].append(await _cpu_per_request(make, base_url, callers, plan.per_caller))
    return cpu


def run(quick: bool) -> BenchResult:
    plan = QUICK if quick else FULL
    result = BenchResult("provider_http")
    with temp_dir("provider-http") as workdir:
        port = free_port()
        server = Child("loopback", [python(), "-m", "bench.provider_http", "serve", "--port", str(port),
                                    "--latency-ms", str(LATENCY_MS)],
                       env=child_env({}, workdir=workdir), workdir=workdir, announce=True)
        try:
            server.wait_line(60)
            print(f"  loopback server (pid {server.pid}) answers after {LATENCY_MS} ms; {plan.per_caller} "
                  f"requests per caller; CPU of this process only", flush=True)
            _report(result, plan, asyncio.run(_measure(plan, f"http://127.0.0.1:{port}")))
        finally:
            server.stop()
    return result


async def _serve(port: int, latency_ms: int) -> None:
    from aiohttp import web

    from bot.signals import wait_for_signal

    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(latency_ms / 1000)
        return web.json_response({"ok": True, "path": request.path})

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    print(json.dumps({"port": port}), flush=True)
    try:
        await wait_for_signal()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.provider_http")
    sub = parser.add_subparsers(dest="what", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--latency-ms", type=int, default=LATENCY_MS)
    sub.add_parser("run").add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.what == "serve":
        asyncio.run(_serve(args.port, args.latency_ms))
    else:
        run(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
