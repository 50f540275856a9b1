"""The bare Bolt app alone: ``python -m bench._bare --port N --api-url URL``.

Its own module so that starting it imports only Bolt and the bot's aiohttp serving path, not
the Slack double or anything else `bench._servers` needs: the floor for start-up time and idle
memory (`bench.start`) must not carry the benchmark's own luggage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from aiohttp import web

from bot.signals import wait_for_signal

__all__ = ["main", "serve_bare"]

HOST = "127.0.0.1"


async def serve_bare(port: int, api_url: str) -> None:
    """A Bolt AsyncApp with one `/invoice` listener that only acks, on the bot's own aiohttp
    serving path (`bot.server.build_web_app`): the floor the bot's ack is compared with."""
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.heap import settle_heap
    from bot.server import build_web_app

    app = AsyncApp(client=AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=api_url),
                   signing_secret=os.environ["SLACK_SIGNING_SECRET"], process_before_response=False)

    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    app.command("/invoice")(only_ack)

    async def health() -> dict[str, object]:
        return {"ok": True}

    runner = web.AppRunner(build_web_app(app, health), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, backlog=2048)
    await site.start()
    settle_heap()  # the same garbage-collector settings as `serve`: the baseline is served the same way
    print(json.dumps({"url": f"http://{HOST}:{port}"}), flush=True)
    try:
        await wait_for_signal()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._bare")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True)
    args = parser.parse_args(argv)
    asyncio.run(serve_bare(args.port, args.api_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
