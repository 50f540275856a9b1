"""`providers._pool`: connections in a free list, so a request costs the same however many are open.

Against a real loopback server (aiohttp): httpcore's own pool asks every connection
`has_expired()` on every request and response (a socket check each: the CPU the status
profile found), the free list asks only the connection it hands out. The connections are
`providers._h1`'s, not httpcore's (httpcore's cost ten times the wire work per request).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from providers._h1 import H1Connection
from providers._pool import FreeListPool, FreeListTransport
from providers.http import HttpPolicy, ProviderHttp


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(0.02)
        return web.json_response({"path": request.path})

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def _wave(http: ProviderHttp, count: int) -> None:
    answers = await asyncio.gather(*(http.send("GET", f"/doc/{i}", write=False) for i in range(count)))
    assert [r.json()["path"] for r in answers] == [f"/doc/{i}" for i in range(count)]


async def test_provider_http_sends_through_the_free_list(server: str) -> None:
    http = ProviderHttp("demo", server, policy=HttpPolicy(max_connections=20))
    try:
        assert isinstance(http.client._transport, FreeListTransport)
        await _wave(http, 60)
        pool = http.client._transport.pool
        assert pool.connections == 20  # 60 callers, 20 connections, all kept alive
        await _wave(http, 60)
        assert pool.connections == 20  # the second wave reused them
    finally:
        await http.aclose()


async def test_a_request_checks_one_connection_not_all_of_them(server: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    checks = 0
    original = H1Connection.has_expired

    def counted(self: H1Connection) -> bool:
        nonlocal checks
        checks += 1
        return original(self)

    monkeypatch.setattr(H1Connection, "has_expired", counted)
    http = ProviderHttp("demo", server, policy=HttpPolicy(max_connections=50))
    try:
        await _wave(http, 100)
        checks = 0
        await _wave(http, 100)
        assert 0 < checks <= 100, f"{checks} expiry checks for 100 requests"
    finally:
        await http.aclose()


async def test_the_pool_timeout_is_kept_and_a_closed_response_frees_its_slot(server: str) -> None:
    transport = FreeListTransport(verify=__import__("ssl").create_default_context(),
                                  limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))
    async with httpx.AsyncClient(transport=transport, base_url=server,
                                 timeout=httpx.Timeout(5.0, pool=0.05)) as client:
        held = await client.send(client.build_request("GET", "/held"), stream=True)
        with pytest.raises(httpx.PoolTimeout):
            await client.get("/waits")
        await held.aclose()
        assert (await client.get("/after")).json() == {"path": "/after"}
        assert transport.pool.connections == 1


async def test_a_connection_the_server_closed_is_not_reused(server: str) -> None:
    pool = FreeListPool(ssl_context=None, max_connections=4, max_keepalive_connections=4, keepalive_expiry=0.0)
    transport = FreeListTransport(verify=__import__("ssl").create_default_context(), limits=httpx.Limits())
    transport._pool = pool
    async with httpx.AsyncClient(transport=transport, base_url=server) as client:
        assert (await client.get("/one")).status_code == 200
        await asyncio.sleep(0.01)  # keepalive_expiry=0: the idle connection has expired
        assert (await client.get("/two")).status_code == 200
        assert pool.connections == 1


async def test_provider_http_does_not_go_through_httpcore(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """httpcore, anyio and h11 cost ~0.5 ms of CPU a request (the sweep's one-call-per-document
    providers were CPU-bound on it): provider calls never reach them."""
    import httpcore

    async def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a provider call went through httpcore")

    monkeypatch.setattr(httpcore.AsyncConnectionPool, "handle_async_request", refuse)
    monkeypatch.setattr(httpcore.AsyncHTTPConnection, "handle_async_request", refuse)
    http = ProviderHttp("demo", server)
    try:
        await _wave(http, 10)
    finally:
        await http.aclose()
