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


def _public(response: httpx.Response) -> dict[str, object]:
    """What a caller can see of a read and closed response."""
    return {"status": response.status_code, "headers": response.headers.raw, "content": response.content,
            "text": response.text, "closed": response.is_closed, "consumed": response.is_stream_consumed,
            "downloaded": response.num_bytes_downloaded, "version": response.http_version,
            "reason": response.reason_phrase, "encoding": response.encoding}


async def test_read_now_leaves_an_answer_as_aread_and_aclose_would() -> None:
    """The sweep's reads skip httpx's async body iteration (`read_now`): for every framing the
    pool reads, the response must look exactly as after `aread()` + `aclose()`, and the
    connection must go back to the free list."""
    from providers._pool import read_now
    from tests.providers.test_h1 import ok, scripted

    framings = [
        ok(b'{"a": 1}', b"Content-Type: application/json; charset=utf-8"),
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nContent-Type: text/plain\r\n\r\nnot found",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        ok(b""),
    ]
    answers = iter(a for a in framings for _ in range(2))  # each framing twice: the new path and httpx's
    transport = FreeListTransport(verify=__import__("ssl").create_default_context(),
                                  limits=httpx.Limits(max_connections=2, max_keepalive_connections=2))
    async with scripted(lambda _: next(answers)) as base:
        for index in range(len(framings)):
            request = httpx.Request("GET", f"{base}/{index}")
            fast = await transport.handle_async_request(request)
            assert read_now(fast)
            assert transport.pool.connections == 1 and transport.pool._idle_count == 1  # given back
            usual = await transport.handle_async_request(request)
            await usual.aread()
            await usual.aclose()
            assert _public(fast) == _public(usual)
        fast.request = request
        assert fast.raise_for_status() is fast
        await transport.aclose()


async def test_an_encoded_answer_is_left_to_httpx_to_decode() -> None:
    import gzip

    from providers._pool import read_now
    from tests.providers.test_h1 import ok, scripted

    zipped = ok(gzip.compress(b'{"zipped": true}'), b"Content-Encoding: gzip")
    async with scripted(lambda _: zipped) as base:
        transport = FreeListTransport(verify=__import__("ssl").create_default_context(), limits=httpx.Limits())
        response = await transport.handle_async_request(httpx.Request("GET", f"{base}/z"))
        assert not read_now(response) and not response.is_closed  # untouched: httpx decodes it
        await response.aread()
        await response.aclose()
        assert response.content == b'{"zipped": true}'
        await transport.aclose()
        http = ProviderHttp("demo", base)
        try:
            answer = await http.send("GET", "/z", write=False)
            assert (answer.json(), answer.is_closed) == ({"zipped": True}, True)
        finally:
            await http.aclose()


async def test_provider_http_answers_are_read_closed_and_raise_as_before(server: str) -> None:
    http = ProviderHttp("demo", server)
    try:
        answer = await http.send("GET", "/doc/1", write=False)
        assert (answer.json(), answer.is_closed, answer.is_stream_consumed) == ({"path": "/doc/1"}, True, True)
        assert str(answer.request.url) == f"{server}/doc/1"
        assert http.client._transport.pool._idle_count == 1  # type: ignore[attr-defined]
        missing = await http.send("POST", "/doc/2", write=False)  # the server routes GET only: 405
        with pytest.raises(httpx.HTTPStatusError):
            missing.raise_for_status()
    finally:
        await http.aclose()
