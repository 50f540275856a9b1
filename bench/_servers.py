"""Servers the benchmarks run in child processes, so the load generator never shares their CPU.

    python -m bench._servers slack                         the Slack Web API double
    python -m bench._servers bare --port N --api-url URL   a bare Bolt app that only acks
    python -m bench._servers sandboxes --spec JSON          seeded provider sandboxes

Each prints one JSON line on stdout once it serves, then runs until SIGTERM/SIGINT.
Everything binds to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from aiohttp import web

from bot.console.slack_double import SlackWebApiDouble
from bot.signals import wait_for_signal

__all__ = ["BenchSlackDouble", "main"]

HOST = "127.0.0.1"


def _announce(data: dict[str, Any]) -> None:
    print(json.dumps(data), flush=True)


class BenchSlackDouble(SlackWebApiDouble):
    """The product's Slack double plus what a load test needs: any response_url id is accepted
    (the generator makes them up), and ``GET /_bench/calls?since=N`` lists calls with their times."""

    def build_app(self) -> web.Application:
        app = super().build_app()
        app.router.add_get("/_bench/calls", self._bench_calls)
        return app

    async def _response(self, request: web.Request) -> web.Response:
        self._responses.setdefault(request.match_info["response_id"], {"channel": None, "ts": None})
        return await super()._response(request)

    async def _bench_calls(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        calls = [
            {"method": c.method, "at": c.at, "status": c.status, "ok": c.ok,
             "response_id": c.args.get("response_id"), "trigger_id": c.args.get("trigger_id"),
             "error": c.response.get("error")}
            for c in self.recorded[since:]
        ]
        return web.json_response({"next": since + len(calls), "calls": calls})


async def serve_slack(token: str) -> None:
    double = BenchSlackDouble(valid_tokens={token})
    api_url = await double.start(HOST, 0)
    _announce({"api_url": api_url, "root_url": double.root_url})
    try:
        await wait_for_signal()
    finally:
        await double.stop()


async def serve_sandboxes(spec: dict[str, Any]) -> None:
    """Every provider sandbox (or only those of `providers`) with `latency_ms` on each request,
    seeded with `counts` open documents."""
    from bench._sandbox_seed import seed_sandboxes
    from providers.models import Provider
    from providers.registry import ProviderConfigs, build_sandboxes
    from providers.sandbox.base import Faults

    latency = int(spec.get("latency_ms", 0))
    faults = {name: Faults(latency_ms=latency) for name in ("popbill", "payssam", "hiworks", "abillify")}
    wanted = set(spec.get("providers") or faults)
    sandboxes = {s.name: s for s in build_sandboxes(ProviderConfigs(), faults) if s.name in wanted}
    counts = {Provider(name): int(n) for name, n in dict(spec.get("counts", {})).items()}
    seed_sandboxes(sandboxes, counts)
    urls: dict[str, str] = {}
    try:
        for name, sandbox in sandboxes.items():
            urls[name] = await sandbox.start(HOST, 0)
        _announce({"urls": urls, "pid": os.getpid()})
        await wait_for_signal()
    finally:
        for sandbox in sandboxes.values():
            await sandbox.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._servers")
    sub = parser.add_subparsers(dest="what", required=True)
    slack = sub.add_parser("slack")
    slack.add_argument("--token", default=os.environ.get("SLACK_BOT_TOKEN", "xoxb-bench"))
    bare = sub.add_parser("bare")
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--api-url", required=True)
    sandboxes = sub.add_parser("sandboxes")
    sandboxes.add_argument("--spec", required=True,
                           help='JSON: {"latency_ms": 50, "counts": {"popbill": 7000}, "providers": ["popbill"]}')
    args = parser.parse_args(argv)
    if args.what == "slack":
        asyncio.run(serve_slack(args.token))
    elif args.what == "bare":
        from bench._bare import serve_bare

        asyncio.run(serve_bare(args.port, args.api_url))
    else:
        asyncio.run(serve_sandboxes(json.loads(args.spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
