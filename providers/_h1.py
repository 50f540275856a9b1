"""One HTTP/1.1 keep-alive connection on asyncio streams: what a provider call needs, at a tenth of the CPU.

httpx's default stack (httpcore over anyio over h11) spent about 0.5 ms of CPU per request on
this machine, where the bytes on the wire cost 0.05 ms (`python -m bench --only provider_http`;
the status sweep's one-call-per-document providers spent most of their time there). A provider
call is small and simple: a request with a known body, an answer with `Content-Length` or
chunked encoding, kept alive for the next call. `H1Connection` does exactly that and maps every
failure onto httpx's own exceptions (`ConnectError`, `ReadTimeout`, `RemoteProtocolError`, ...),
so `providers.http.ProviderHttp` keeps its retry rules. Not supported (never used by a provider
client): HTTP/2, proxies, upgrades, 101 Switching Protocols.

Timeouts are httpx's, per operation: connect, each write, and each read of the answer.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable
from typing import NamedTuple

import httpx

__all__ = ["Answer", "H1Connection"]

#: the longest head (status line and headers) we accept; beyond it the answer is refused
MAX_HEAD = 256 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


class Answer(NamedTuple):
    """A complete HTTP answer, read off the wire."""

    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool


def _timeouts(request: httpx.Request) -> dict[str, float | None]:
    found = request.extensions.get("timeout")
    return found if isinstance(found, dict) else {}


class H1Connection:
    """An open connection to one origin; `send` one request at a time, then reuse it while it lives."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 keepalive_expiry: float | None) -> None:
        self._reader = reader
        self._writer = writer
        self._expiry = keepalive_expiry
        self._idle_since = time.monotonic()
        self._busy = False
        self._closed = False

    @classmethod
    async def open(cls, request: httpx.Request, ssl_context: ssl.SSLContext | None,
                   keepalive_expiry: float | None) -> H1Connection:
        """Connect to the request's origin (TLS for https, verified by `ssl_context`)."""
        url = request.url
        https = url.scheme == "https"
        port = url.port or (443 if https else 80)
        try:
            async with asyncio.timeout(_timeouts(request).get("connect")):
                reader, writer = await asyncio.open_connection(
                    url.host, port, ssl=ssl_context if https else None,
                    server_hostname=url.host if https else None, limit=MAX_HEAD)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connect to {url.host}:{port} timed out", request=request) from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"connect to {url.host}:{port}: {exc}", request=request) from exc
        return cls(reader, writer, keepalive_expiry)

    def has_expired(self) -> bool:
        """Not to be reused: closed by either side, answer bytes nobody asked for, or idle too long."""
        if self._closed or self._writer.is_closing() or self._reader.at_eof():
            return True
        if self._reader._buffer:  # type: ignore[attr-defined]  # unsolicited bytes: the stream is out of step
            return True
        return self._expiry is not None and time.monotonic() - self._idle_since > self._expiry

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._writer.close()

    async def send(self, request: httpx.Request) -> Answer:
        """Write `request` and read its whole answer. On any failure the connection is closed."""
        if self._busy or self._closed:
            raise httpx.LocalProtocolError("connection not available", request=request)
        self._busy = True
        try:
            await self._write(request)
            answer = await self._read(request)
        except BaseException:
            self.close()
            raise
        finally:
            self._busy = False
        self._idle_since = time.monotonic()
        if not answer.keep_alive or _closes(request.headers.get("connection")):
            self.close()
        return answer

    async def _write(self, request: httpx.Request) -> None:
        url = request.url
        parts = [request.method.encode("ascii"), b" ", url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            if b"\n" in value or b"\r" in value or b"\n" in name or b"\r" in name or b":" in name:
                raise httpx.LocalProtocolError(f"invalid header {name!r}", request=request)
            parts += (name, b": ", value, b"\r\n")
        parts.append(b"\r\n")
        body = await _body(request)
        if body and "chunked" in request.headers.get("transfer-encoding", "").lower():
            body = b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)
        parts.append(body)
        try:
            self._writer.write(b"".join(parts))
            if self._writer.transport.get_write_buffer_size():
                async with asyncio.timeout(_timeouts(request).get("write")):
                    await self._writer.drain()
        except TimeoutError as exc:
            raise httpx.WriteTimeout("write timed out", request=request) from exc
        except OSError as exc:
            raise httpx.WriteError(f"write failed: {exc}", request=request) from exc

    async def _read(self, request: httpx.Request) -> Answer:
        timeout = _timeouts(request).get("read")
        while True:
            head = await self._until(request, b"\r\n\r\n", timeout, first=True)
            status, reason, headers, version = _parse_head(request, head)
            if not 100 <= status < 200:
                break
            if status == 101:
                raise httpx.RemoteProtocolError("101 Switching Protocols is not supported", request=request)
        keep_alive = _keeps_alive(version, headers)
        if request.method == "HEAD" or status in _NO_BODY_STATUS:
            return Answer(status, reason, headers, b"", keep_alive)
        coding = length = None
        for name, value in headers:
            lower = name.lower()
            if lower == b"transfer-encoding":
                coding = value.lower()
            elif lower == b"content-length":
                length = value
        if coding is not None and b"chunked" in coding:
            body = await self._chunked(request, timeout)
        elif length is not None:
            try:
                size = int(length)
            except ValueError as exc:
                raise httpx.RemoteProtocolError(f"bad Content-Length {length!r}", request=request) from exc
            body = await self._exactly(request, size, timeout)
        else:  # the body ends when the server closes the connection
            body = await self._guard(request, self._reader.read(), timeout)
            keep_alive = False
        return Answer(status, reason, headers, body, keep_alive)

    async def _chunked(self, request: httpx.Request, timeout: float | None) -> bytes:
        parts: list[bytes] = []
        while True:
            line = await self._until(request, b"\r\n", timeout)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise httpx.RemoteProtocolError(f"bad chunk size {line[:40]!r}", request=request) from exc
            if size == 0:
                while await self._until(request, b"\r\n", timeout) != b"\r\n":
                    pass  # trailers: ignored
                return b"".join(parts)
            parts.append((await self._exactly(request, size + 2, timeout))[:-2])

    async def _until(self, request: httpx.Request, separator: bytes, timeout: float | None, *,
                     first: bool = False) -> bytes:
        try:
            return await self._guard(request, self._reader.readuntil(separator), timeout)
        except asyncio.IncompleteReadError as exc:
            said = "without sending a response" if first and not exc.partial else "in the middle of the answer"
            raise httpx.RemoteProtocolError(f"server disconnected {said}", request=request) from exc
        except asyncio.LimitOverrunError as exc:
            raise httpx.RemoteProtocolError("answer head too long", request=request) from exc

    async def _exactly(self, request: httpx.Request, size: int, timeout: float | None) -> bytes:
        buffered: bytearray = self._reader._buffer  # type: ignore[attr-defined]
        if len(buffered) >= size:  # arrived with the head (a small answer): no wait, so no timer to arm
            return await self._reader.readexactly(size)
        try:
            return await self._guard(request, self._reader.readexactly(size), timeout)
        except asyncio.IncompleteReadError as exc:
            raise httpx.RemoteProtocolError("server disconnected in the middle of the body",
                                            request=request) from exc

    @staticmethod
    async def _guard(request: httpx.Request, read: Awaitable[bytes], timeout: float | None) -> bytes:
        """Await one read with the read timeout, mapping socket failures onto httpx's errors."""
        try:
            async with asyncio.timeout(timeout):
                return await read
        except TimeoutError as exc:
            raise httpx.ReadTimeout("read timed out", request=request) from exc
        except (ConnectionError, ssl.SSLError) as exc:
            raise httpx.ReadError(f"read failed: {exc}", request=request) from exc


async def _body(request: httpx.Request) -> bytes:
    """The request body: the bytes httpx already holds, or the stream read once."""
    try:
        return request.content
    except httpx.RequestNotRead:
        return b"".join([part async for part in request.stream])  # type: ignore[union-attr]


def _parse_head(request: httpx.Request, head: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]], bytes]:
    lines = head[:-4].split(b"\r\n")
    first = lines[0].split(b" ", 2)
    try:
        version, status = first[0], int(first[1])
    except (IndexError, ValueError) as exc:
        raise httpx.RemoteProtocolError(f"bad status line {lines[0][:80]!r}", request=request) from exc
    if not version.startswith(b"HTTP/1."):
        raise httpx.RemoteProtocolError(f"not HTTP/1.x: {lines[0][:80]!r}", request=request)
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding: continues the last header
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip())
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise httpx.RemoteProtocolError(f"bad header line {line[:80]!r}", request=request)
        headers.append((name, value.strip()))
    return status, first[2] if len(first) > 2 else b"", headers, version


def _keeps_alive(version: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
    connection = b",".join(v.lower() for n, v in headers if n.lower() == b"connection")
    if version == b"HTTP/1.0":
        return b"keep-alive" in connection
    return b"close" not in connection


def _closes(value: str | None) -> bool:
    return value is not None and "close" in value.lower()
