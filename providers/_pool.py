"""An httpx transport whose cost per request does not grow with the requests or connections it holds.

httpcore's `AsyncConnectionPool` re-plans the whole pool on every request and every response
(`_assign_requests_to_connections`): for each connection it asks `has_expired()` (a socket
readability check) and, for each idle one, counts the idle connections again, then scans every
connection for each queued request. With 100 keep-alive connections that is ~10,000 calls per
request: a profile of `/invoice status` found 63% of the bot's CPU there, and a micro-benchmark
(`python -m bench --only provider_http`) about 3 ms of CPU per request at 200 concurrent callers.

`FreeListTransport` keeps httpx's API (an `httpx.AsyncBaseTransport` under an ordinary
`httpx.AsyncClient`) and holds connections in a free list per origin: a request takes a slot (at
most `max_connections` requests at once; waiting is FIFO on an `asyncio.Semaphore`, bounded by
httpx's pool timeout), pops the most recently used idle connection (checked once: expired or
closed ones are dropped), or opens a new one; closing the response gives the connection back
(or closes it beyond `max_keepalive_connections` idle ones). Everything is O(1) per request.

The connections are `providers._h1.H1Connection`, not httpcore's: httpcore, anyio and h11 cost
about 0.5 ms of CPU per request, ten times the wire work, which made the status sweep's
one-call-per-document providers CPU-bound (`python -m bench --only sweep`).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator

import httpx

from providers._h1 import H1Connection

__all__ = ["FreeListPool", "FreeListTransport", "read_now"]

_Origin = tuple[str, str, int]


class _ReturningStream(httpx.AsyncByteStream):
    """An answer's body (already read) that gives its connection back to the pool when closed."""

    def __init__(self, body: bytes, pool: FreeListPool, origin: _Origin, connection: H1Connection) -> None:
        self._body = body
        self._pool = pool
        self._origin = origin
        self._connection: H1Connection | None = connection

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._body

    async def aclose(self) -> None:
        self.release()

    def release(self) -> None:
        """Give the connection back (once): the body is already in memory."""
        connection, self._connection = self._connection, None
        if connection is not None:
            self._pool.give_back(self._origin, connection)


def read_now(response: httpx.Response) -> bool:
    """Leave `response` as `await response.aread()` then `await response.aclose()` would, without
    httpx's async iteration, when it came from this pool and its body needs no decoding (no
    Content-Encoding); False (nothing done) otherwise, and the caller reads it the usual way.

    The pool has read the whole body off the wire already: httpx's `aread` still runs it through
    three async generators, a chunker, a decoder and two context managers (~0.02 ms, a tenth of a
    sweep's read). What `aread`/`aclose` leave behind is set here: the content, the bytes
    downloaded, the stream consumed, the response closed, and the connection given back.
    """
    stream = response.stream
    if type(stream) is not _ReturningStream or "content-encoding" in response.headers:
        return False
    body = stream._body
    response._content = body
    response._num_bytes_downloaded = len(body)
    response.is_stream_consumed = True
    response.is_closed = True
    stream.release()
    return True


class FreeListPool:
    """Slots and a free list of idle connections per origin."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None, max_connections: int,
                 max_keepalive_connections: int, keepalive_expiry: float | None) -> None:
        self._ssl_context = ssl_context
        self._keepalive = max(0, max_keepalive_connections)
        self._expiry = keepalive_expiry
        self._slots = asyncio.Semaphore(max(1, max_connections))
        self._idle: dict[_Origin, deque[H1Connection]] = {}
        self._idle_count = 0
        self._busy: set[H1Connection] = set()

    @property
    def connections(self) -> int:
        """Open connections (busy and idle): for tests and the benchmark."""
        return len(self._busy) + self._idle_count

    async def _take_slot(self, request: httpx.Request) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # free: no timer to arm
            return
        timeout = (request.extensions.get("timeout") or {}).get("pool")
        try:
            async with asyncio.timeout(timeout):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no connection slot within the pool timeout", request=request) from exc

    def _idle_connection(self, origin: _Origin) -> H1Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()  # the warmest first; the coldest expire at the left end
            self._idle_count -= 1
            if not connection.has_expired():
                return connection
            connection.close()
        return None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin: _Origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        await self._take_slot(request)
        try:
            connection = self._idle_connection(origin)
            if connection is None:
                connection = await H1Connection.open(request, self._ssl_context, self._expiry)
            self._busy.add(connection)
            try:
                answer = await connection.send(request)
            except BaseException:
                self._busy.discard(connection)
                raise
        except BaseException:
            self._slots.release()
            raise
        return httpx.Response(answer.status, headers=answer.headers,
                              stream=_ReturningStream(answer.body, self, origin, connection),
                              extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason})

    def give_back(self, origin: _Origin, connection: H1Connection) -> None:
        """The response was closed: keep the connection for the next request, or close it."""
        self._busy.discard(connection)
        self._slots.release()
        if not connection.is_closed() and self._idle_count < self._keepalive:
            self._idle.setdefault(origin, deque()).append(connection)
            self._idle_count += 1
        else:
            connection.close()

    async def aclose(self) -> None:
        connections = [c for idle in self._idle.values() for c in idle] + list(self._busy)
        self._idle.clear()
        self._idle_count = 0
        self._busy.clear()
        for connection in connections:
            connection.close()


class FreeListTransport(httpx.AsyncBaseTransport):
    """httpx's transport interface over `FreeListPool` (HTTP/1.1, no proxies: provider clients need neither)."""

    def __init__(self, *, verify: ssl.SSLContext, limits: httpx.Limits) -> None:
        self._pool = FreeListPool(
            ssl_context=verify, max_connections=limits.max_connections or 100,
            max_keepalive_connections=(limits.max_keepalive_connections
                                       if limits.max_keepalive_connections is not None else 20),
            keepalive_expiry=limits.keepalive_expiry)

    @property
    def pool(self) -> FreeListPool:
        return self._pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._pool.handle_async_request(request)

    async def aclose(self) -> None:
        await self._pool.aclose()
