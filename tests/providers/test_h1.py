"""`providers._h1`: the lean HTTP/1.1 connection under `ProviderHttp`, against a scripted loopback server.

Each test's server answers with raw bytes, so the framing cases a provider may send
(Content-Length, chunked, close-delimited, HEAD, 204, 100 Continue, gzip) and the failures
(a disconnect, a silent server, a refused port) are checked as the bytes arrive on the wire;
the failures must surface as httpx's own exceptions, which `ProviderHttp` maps and retries.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from providers._pool import FreeListTransport
from providers.errors import ProviderUnavailable
from providers.http import HttpPolicy, ProviderHttp

Script = Callable[[bytes], bytes | None]  # request bytes -> raw answer (None: close without answering)


@asynccontextmanager
async def scripted(script: Script, seen: list[bytes] | None = None) -> AsyncIterator[str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                request = head + (await reader.readexactly(length) if length else b"")
                if seen is not None:
                    seen.append(request)
                answer = script(request)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


def _client(base: str, **policy: float) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    return httpx.AsyncClient(base_url=base, transport=FreeListTransport(verify=ssl.create_default_context(),
                                                                        limits=limits),
                             timeout=httpx.Timeout(policy.get("timeout", 5.0)))


def ok(body: bytes, *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%b\r\n%b" % (len(body), b"".join(e + b"\r\n" for e in extra),
                                                                 body)


async def test_framings_are_read_and_the_connection_is_kept_alive() -> None:
    answers = iter([
        ok(b'{"a": 1}', b"Content-Type: application/json"),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nabcd\r\n3\r\nefg\r\n0\r\nT: 1\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        ok(gzip.compress(b"zipped"), b"Content-Encoding: gzip"),
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",  # HEAD: no body follows
        b"HTTP/1.1 200 OK\r\nX-Long: one\r\n two\r\nConnection: close\r\n\r\nuntil the end",
    ])
    async with scripted(lambda _: next(answers)) as base, _client(base) as client:
        pool = client._transport.pool  # type: ignore[attr-defined]
        assert (await client.get("/a")).json() == {"a": 1}
        assert (await client.get("/b")).content == b"abcdefg"
        assert (await client.get("/c")).status_code == 204
        assert (await client.get("/d")).content == b"zipped"
        head = await client.head("/e")
        assert (head.status_code, head.content, pool.connections) == (200, b"", 1)  # one connection all along
        last = await client.get("/f")
        assert (last.content, last.headers["x-long"]) == (b"until the end", "one two")
        assert pool.connections == 0  # close-delimited: not reusable


async def test_the_request_goes_on_the_wire_as_httpx_builds_it() -> None:
    seen: list[bytes] = []
    async with scripted(lambda _: ok(b"{}"), seen) as base, _client(base) as client:
        await client.post("/v4/invoices?x=1%202", content=b'{"data": {}}', headers={"Authorization": "Bearer t"})
    head, _, body = seen[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v4/invoices?x=1%202 HTTP/1.1"
    assert b"Authorization: Bearer t" in lines and b"Content-Length: 12" in lines
    assert any(line.startswith(b"Host: 127.0.0.1:") for line in lines)
    assert body == b'{"data": {}}'


async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    seen: list[bytes] = []
    async with scripted(lambda _: ok(b"{}"), seen) as base, _client(base) as client:
        with pytest.raises(httpx.LocalProtocolError):
            await client.get("/x", headers={"X-Evil": "a\r\nInjected: 1"})
    assert seen == []


async def test_failures_are_httpx_errors_and_provider_http_retries_a_read() -> None:
    calls = 0

    def flaky(_: bytes) -> bytes | None:
        nonlocal calls
        calls += 1
        return None if calls == 1 else ok(b'{"ok": true}')  # the first request: dropped without an answer

    async with scripted(flaky) as base:
        async with _client(base) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get("/dropped")
        http = ProviderHttp("demo", base, policy=HttpPolicy(backoff=0.0))
        try:
            assert (await http.send("GET", "/again", write=False)).json() == {"ok": True}
        finally:
            await http.aclose()
    silent = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"  # 5 of 10 bytes, then silence
    async with scripted(lambda _: silent) as base, _client(base, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/slow")
    with pytest.raises(httpx.ConnectError):
        async with _client(base) as client:  # the server is gone: nothing listens on the port
            await client.get("/refused")


async def test_provider_http_maps_a_refused_connection_to_unavailable() -> None:
    async with scripted(lambda _: None) as base:
        pass
    http = ProviderHttp("demo", base, policy=HttpPolicy(max_attempts=1))
    try:
        with pytest.raises(ProviderUnavailable):
            await http.send("GET", "/x", write=False)
    finally:
        await http.aclose()


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async with scripted(lambda _: ok(b"one", b"Connection: keep-alive")) as base, _client(base) as client:
        pool = client._transport.pool  # type: ignore[attr-defined]
        await client.get("/one")
        idle = next(iter(pool._idle.values()))[0]
        idle._writer.transport.abort()  # as if the server had closed it
        await asyncio.sleep(0.01)
        assert idle.has_expired()
        assert (await client.get("/two")).content == b"one"
        assert pool.connections == 1


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for ``localhost`` and its key, made here (no network, no CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


async def test_https_is_verified_against_the_context_and_the_host_name(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(ok(b'{"tls": true}'))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    trusting = ssl.create_default_context(cafile=str(cert))
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    try:
        async with httpx.AsyncClient(transport=FreeListTransport(verify=trusting, limits=limits)) as client:
            assert (await client.get(f"https://localhost:{port}/x")).json() == {"tls": True}
            with pytest.raises(httpx.ConnectError):  # the certificate names localhost, not 127.0.0.1
                await client.get(f"https://127.0.0.1:{port}/x")
        untrusted = FreeListTransport(verify=ssl.create_default_context(), limits=limits)
        async with httpx.AsyncClient(transport=untrusted) as client:
            with pytest.raises(httpx.ConnectError):  # a certificate no CA signed
                await client.get(f"https://localhost:{port}/x")
    finally:
        server.close()


async def test_a_body_that_arrives_after_its_head_is_waited_for_within_the_read_timeout() -> None:
    """A body already buffered with the head is taken without arming a timer; one that comes in a
    later segment is still awaited, and the read timeout still applies to it."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n")
            await writer.drain()
            if b"/never" in head:
                continue
            await asyncio.sleep(0.05)
            writer.write(b"later!")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with _client(base, timeout=0.5) as client:
            assert (await client.get("/late")).content == b"later!"
        async with _client(base, timeout=0.2) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get("/never")
    finally:
        server.close()
