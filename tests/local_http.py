"""HTTP clients for the servers tests start on this machine (sandboxes, the bot, the Slack double).

httpx builds a verifying TLS context for every client made with its default ``verify=True``,
loading certifi's bundle: 20-25 ms of CPU each, 223 times in the not-slow lane and once per poll
in the loops that wait for a process's /health. These servers speak plain HTTP, so the clients
share the product's own context for plain-HTTP peers (`providers.http.tls_context`): built once,
trusting nothing, so a client sent to an HTTPS address by mistake fails closed.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from providers.http import tls_context

__all__ = ["LOCAL_TLS", "JsonPosts", "free_port", "json_posts"]

#: the `verify=` of every test client of a local plain-HTTP server
LOCAL_TLS = tls_context("http://127.0.0.1")


def free_port() -> int:
    """A loopback port nobody listens on right now (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class JsonPosts:
    """What a local receiver got: the JSON bodies POSTed to `url`, in order."""

    url: str
    received: list[Any] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


@asynccontextmanager
async def json_posts(path: str) -> AsyncIterator[JsonPosts]:
    """A plain-HTTP server on a free loopback port that answers every JSON POST to `path` with
    200 "ok" and keeps its body: the far end of a provider's callback in a test."""
    posts = JsonPosts(url="")

    async def keep(request: web.Request) -> web.Response:
        posts.received.append(await request.json())
        posts.arrived.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post(path, keep)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    posts.url = f"http://127.0.0.1:{port}{path}"
    try:
        yield posts
    finally:
        await runner.cleanup()
