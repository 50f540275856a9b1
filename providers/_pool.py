"""An httpx transport whose cost per request does not grow with the requests or connections it holds.

httpcore's `AsyncConnectionPool` re-plans the whole pool on every request and every response
(`_assign_requests_to_connections`): for each connection it asks `has_expired()` (a socket
readability check) and, for each idle one, counts the idle connections again, then scans every
connection for each queued request. With 100 keep-alive connections that is ~10,000 calls per
request: a profile of `/invoice status` found 63% of the bot's CPU there, and a micro-benchmark
(`python -m bench --only provider_http`) about 3 ms of CPU per request at 200 concurrent callers.

`FreeListTransport` keeps httpx's API (it is an `httpx.AsyncHTTPTransport`; only its pool is
replaced) and holds connections in a free list per origin: a request takes a slot (at most
`max_connections` requests at once; waiting is FIFO on an `asyncio.Semaphore`, bounded by
httpx's pool timeout), pops the most recently used idle connection (checked once: expired or
closed ones are dropped), or opens a new one; closing the response gives the connection back
(or closes it beyond `max_keepalive_connections` idle ones). Everything is O(1) per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator

import httpcore
import httpx

__all__ = ["FreeListPool", "FreeListTransport"]

_Origin = tuple[bytes, bytes, int]


class _ReturningStream:
    """A response body that gives its connection back to the pool when it is closed."""

    def __init__(self, stream: AsyncIterable[bytes], pool: FreeListPool, origin: _Origin,
                 connection: httpcore.AsyncHTTPConnection) -> None:
        self._stream = stream
        self._pool = pool
        self._origin = origin
        self._connection = connection
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if hasattr(self._stream, "aclose"):
                await self._stream.aclose()
        finally:
            await self._pool.give_back(self._origin, self._connection)


class FreeListPool:
    """What `httpx.AsyncHTTPTransport` asks of its httpcore pool, with a free list per origin."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None, max_connections: int,
                 max_keepalive_connections: int, keepalive_expiry: float | None) -> None:
        self._ssl_context = ssl_context
        self._keepalive = max(0, max_keepalive_connections)
        self._expiry = keepalive_expiry
        self._slots = asyncio.Semaphore(max(1, max_connections))
        self._idle: dict[_Origin, deque[httpcore.AsyncHTTPConnection]] = {}
        self._idle_count = 0
        self._busy: set[httpcore.AsyncHTTPConnection] = set()

    @property
    def connections(self) -> int:
        """Open connections (busy and idle): for tests and the benchmark."""
        return len(self._busy) + self._idle_count

    async def _take_slot(self, request: httpcore.Request) -> None:
        timeout = (request.extensions.get("timeout") or {}).get("pool")
        try:
            async with asyncio.timeout(timeout):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpcore.PoolTimeout("no connection slot within the pool timeout") from exc

    def _idle_connection(self, origin: _Origin) -> httpcore.AsyncHTTPConnection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()  # the warmest first; the coldest expire at the left end
            self._idle_count -= 1
            if connection.is_available() and not connection.has_expired():
                return connection
            self._close_soon(connection)
        return None

    def _close_soon(self, connection: httpcore.AsyncHTTPConnection) -> None:
        if not connection.is_closed():
            task = asyncio.get_running_loop().create_task(connection.aclose())
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        url = request.url
        origin: _Origin = (url.scheme, url.host, url.port or (443 if url.scheme == b"https" else 80))
        await self._take_slot(request)
        try:
            while True:
                connection = self._idle_connection(origin) or httpcore.AsyncHTTPConnection(
                    origin=httpcore.Origin(*origin), ssl_context=self._ssl_context, keepalive_expiry=self._expiry)
                self._busy.add(connection)
                try:
                    response = await connection.handle_async_request(request)
                except httpcore.ConnectionNotAvailable:
                    self._busy.discard(connection)  # closed under us: another connection
                    continue
                except BaseException:
                    self._busy.discard(connection)
                    self._close_soon(connection)
                    raise
                break
        except BaseException:
            self._slots.release()
            raise
        assert isinstance(response.stream, AsyncIterable)
        stream = _ReturningStream(response.stream, self, origin, connection)
        return httpcore.Response(status=response.status, headers=response.headers, content=stream,
                                 extensions=response.extensions)

    async def give_back(self, origin: _Origin, connection: httpcore.AsyncHTTPConnection) -> None:
        """The response was closed: keep the connection for the next request, or close it."""
        self._busy.discard(connection)
        self._slots.release()
        if connection.is_idle() and self._idle_count < self._keepalive:
            self._idle.setdefault(origin, deque()).append(connection)
            self._idle_count += 1
        elif not connection.is_closed():
            await connection.aclose()

    async def aclose(self) -> None:
        connections = [c for idle in self._idle.values() for c in idle] + list(self._busy)
        self._idle.clear()
        self._idle_count = 0
        self._busy.clear()
        for connection in connections:
            with contextlib.suppress(Exception):
                await connection.aclose()

    async def __aenter__(self) -> FreeListPool:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()


class FreeListTransport(httpx.AsyncHTTPTransport):
    """`httpx.AsyncHTTPTransport` (same request/response mapping and errors) over `FreeListPool`."""

    def __init__(self, *, verify: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=httpx.Limits(max_connections=1, max_keepalive_connections=0),
                         trust_env=False)
        self._pool = FreeListPool(  # type: ignore[assignment]
            ssl_context=verify, max_connections=limits.max_connections or 100,
            max_keepalive_connections=(limits.max_keepalive_connections
                                       if limits.max_keepalive_connections is not None else 20),
            keepalive_expiry=limits.keepalive_expiry)

    @property
    def pool(self) -> FreeListPool:
        assert isinstance(self._pool, FreeListPool)
        return self._pool
