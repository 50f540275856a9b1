"""The provider HTTP layer retries only what is safe and maps every failure."""

from __future__ import annotations

import ssl

import httpx
import pytest

from providers.errors import OutcomeUnknown, ProviderProtocolError, ProviderUnavailable, RateLimited
from providers.http import HttpPolicy, ProviderHttp, parse_retry_after

FAST = HttpPolicy(read_timeout=0.2, backoff=0.0, max_attempts=3, max_retry_after=5)


class Script:
    """A MockTransport handler answering from a list of steps (a response or an exception)."""

    def __init__(self, *steps: httpx.Response | Exception) -> None:
        self.steps = list(steps)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        return step


async def no_sleep(_seconds: float) -> None:
    return None


def client(script: Script) -> ProviderHttp:
    return ProviderHttp("demo", "http://provider.test", policy=FAST, transport=httpx.MockTransport(script),
                        sleep=no_sleep)


async def test_a_read_is_retried_after_a_timeout() -> None:
    script = Script(httpx.ReadTimeout("slow"), httpx.Response(200, json={"ok": True}))
    response = await client(script).send("GET", "/doc", write=False)
    assert response.json() == {"ok": True}
    assert script.calls == 2


async def test_a_write_that_timed_out_is_outcome_unknown_and_not_retried() -> None:
    script = Script(httpx.ReadTimeout("slow"), httpx.Response(200, json={"ok": True}))
    with pytest.raises(OutcomeUnknown):
        await client(script).send("POST", "/doc", write=True)
    assert script.calls == 1


async def test_a_dropped_connection_on_a_write_is_outcome_unknown() -> None:
    script = Script(httpx.RemoteProtocolError("Server disconnected without sending a response."))
    with pytest.raises(OutcomeUnknown) as excinfo:
        await client(script).send("POST", "/doc", write=True)
    assert excinfo.value.user_hint and "check with the provider" in excinfo.value.user_hint


async def test_a_connect_error_never_reached_the_provider_so_even_writes_retry() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(200, json={"ok": True}))
    response = await client(script).send("POST", "/doc", write=True)
    assert response.status_code == 200
    assert script.calls == 2


async def test_an_idempotent_write_is_retried_after_a_timeout() -> None:
    script = Script(httpx.ReadTimeout("slow"), httpx.Response(200, json={"ok": True}))
    response = await client(script).send("POST", "/doc", write=True, retry_safe=True)
    assert response.status_code == 200
    assert script.calls == 2


async def test_429_waits_for_retry_after_on_reads() -> None:
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    script = Script(httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json={}))
    http = ProviderHttp("demo", "http://provider.test", policy=FAST, transport=httpx.MockTransport(script),
                        sleep=sleep)
    await http.send("GET", "/doc", write=False)
    assert waited == [2.0]


async def test_429_on_a_plain_write_is_rate_limited_with_retry_after() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimited) as excinfo:
        await client(script).send("POST", "/doc", write=True)
    assert excinfo.value.retry_after == 7.0
    assert script.calls == 1


async def test_a_retry_after_longer_than_we_wait_is_raised_at_once() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "600"}))
    with pytest.raises(RateLimited):
        await client(script).send("GET", "/doc", write=False)
    assert script.calls == 1


async def test_503_is_maintenance_after_the_last_attempt() -> None:
    script = Script(httpx.Response(503))
    with pytest.raises(ProviderUnavailable) as excinfo:
        await client(script).send("GET", "/doc", write=False)
    assert "maintenance" in str(excinfo.value)
    assert script.calls == FAST.max_attempts


async def test_html_and_garbage_bodies_are_protocol_errors() -> None:
    http = client(Script(httpx.Response(200)))
    html = httpx.Response(500, text="<html><body>oops</body></html>", headers={"content-type": "text/html"})
    with pytest.raises(ProviderProtocolError) as excinfo:
        http.json_body(html)
    assert excinfo.value.status == 500
    with pytest.raises(ProviderProtocolError):
        http.json_body(httpx.Response(200, text='{"code": 1,'))


def test_retry_after_parses_seconds_and_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_https_clients_share_one_verifying_tls_context() -> None:
    # httpx would load certifi's certificates again for every client (0.1-0.4 s each at start)
    from providers.http import tls_context

    first, second = tls_context("https://popbill.example"), tls_context("HTTPS://api.payssam.example/v1")
    assert first is second
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    assert first.cert_store_stats()["x509_ca"] > 0


def test_plain_http_clients_get_a_context_that_trusts_nothing() -> None:
    from providers.http import tls_context

    plain = tls_context("http://127.0.0.1:8080")
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.cert_store_stats()["x509_ca"] == 0  # an HTTPS connection with it could never be verified


async def test_provider_http_uses_the_shared_context() -> None:
    from providers.http import ProviderHttp, tls_context

    a, b = ProviderHttp("popbill", "https://popbill.example"), ProviderHttp("hiworks", "https://hiworks.example")
    try:
        pools = [h.client._transport._pool for h in (a, b)]  # type: ignore[attr-defined]
        assert pools[0]._ssl_context is pools[1]._ssl_context is tls_context("https://x")
    finally:
        await a.aclose()
        await b.aclose()


async def test_requests_beyond_max_connections_wait_in_provider_http_not_in_the_pool() -> None:
    """At most `max_connections` requests are in flight: the rest wait their turn in order, so no
    transport's queue grows with the number of callers."""
    import asyncio

    peak = in_transport = 0
    release = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal peak, in_transport
        in_transport += 1
        peak = max(peak, in_transport)
        await release.wait()
        in_transport -= 1
        return httpx.Response(200, json={})

    http = ProviderHttp("demo", "http://provider.test", policy=HttpPolicy(max_connections=8),
                        transport=httpx.MockTransport(handler))
    try:
        sends = [asyncio.create_task(http.send("GET", f"/doc/{i}", write=False)) for i in range(50)]
        for _ in range(20):
            await asyncio.sleep(0)
        assert (peak, http.in_flight) == (8, 8)
        release.set()
        assert all(r.status_code == 200 for r in await asyncio.gather(*sends))
        assert peak == 8 and http.in_flight == 0
    finally:
        await http.aclose()


def _answer_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records
            if r.name == "invoicebot.providers.http" and " -> " in r.getMessage()]


async def test_an_ordinary_read_is_logged_at_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    """A line per provider read (one per `/invoice status`) was CPU on every command; debug shows it."""
    caplog.set_level("INFO", logger="invoicebot.providers.http")
    await client(Script(httpx.Response(200, json={"ok": True}))).send("GET", "/doc", write=False)
    assert _answer_lines(caplog) == []
    caplog.set_level("DEBUG", logger="invoicebot.providers.http")
    await client(Script(httpx.Response(200, json={"ok": True}))).send("GET", "/doc", write=False)
    assert [level for level, _ in _answer_lines(caplog)] == ["DEBUG"]


async def test_writes_stay_at_info_and_errors_and_slow_answers_warn(caplog: pytest.LogCaptureFixture,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level("INFO", logger="invoicebot.providers.http")
    await client(Script(httpx.Response(200, json={"ok": True}))).send("POST", "/doc", write=True)
    await client(Script(httpx.Response(404, json={"code": -1}))).send("GET", "/gone", write=False)
    monkeypatch.setattr("providers.http.SLOW_CALL_SECONDS", 0.0)
    await client(Script(httpx.Response(200, json={"ok": True}))).send("GET", "/slow", write=False)
    assert [(level, msg.split(" -> ")[0]) for level, msg in _answer_lines(caplog)] == [
        ("INFO", "demo POST /doc"), ("WARNING", "demo GET /gone"), ("WARNING", "demo GET /slow")]


async def test_a_call_sends_the_clients_headers_merged_with_its_own_as_httpx_merges_them() -> None:
    """`ProviderHttp` builds the request itself (not through `AsyncClient.build_request`): the wire
    must not change. A request header replaces the client's of the same name; the rest are kept."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={}, headers={"Set-Cookie": "lb=1; Path=/"})

    http = ProviderHttp("demo", "http://provider.test/api", headers={"X-Office": "o", "Accept": "text/plain"},
                        transport=httpx.MockTransport(handler))
    try:
        expected = http.client.build_request("POST", "/v4/doc?x=1", content=b"{}", params={"y": "2"},
                                             headers={"accept": "application/json"})
        await http.send("POST", "/v4/doc?x=1", content=b"{}", headers={"accept": "application/json"},
                        params={"y": "2"}, write=True)
        await http.send("GET", "doc", write=False)
    finally:
        await http.aclose()
    first, second = seen
    assert (first.method, str(first.url), first.content) == ("POST", str(expected.url), b"{}")
    assert str(first.url) == "http://provider.test/api/v4/doc?y=2"  # params replace the query, as in httpx
    assert first.headers.raw == expected.headers.raw
    assert first.extensions["timeout"] == expected.extensions["timeout"]
    assert str(second.url) == "http://provider.test/api/doc"
    assert second.headers["cookie"] == "lb=1"  # a cookie the provider set is sent back, as httpx's client does


async def test_a_parsed_url_is_reused_and_every_request_still_goes_where_httpx_would_send_it() -> None:
    """`ProviderHttp` keeps the URLs it parsed (the sweep reads the same path thousands of times),
    bounded, and the request goes to the same place as through httpx's own client."""
    from providers._urls import URL_CACHE

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    http = ProviderHttp("demo", "http://provider.test/api", transport=httpx.MockTransport(handler))
    try:
        calls = [("/bill/read", None), ("bill/read", None), ("/bill/read", {"y": "2"}), ("/a b?q=1 2", None),
                 ("https://other.test/x", None), ("/bill/read", None)]
        for path, params in calls:
            await http.send("POST", path, content=b"{}", params=params, write=False)
        expected = [str(http.client.build_request("POST", path, params=params).url) for path, params in calls]
        assert [str(r.url) for r in seen] == expected
        cached = http._urls.cached("/bill/read")
        assert cached is not None
        parsed = cached._uri_reference
        assert seen[0].url._uri_reference is parsed and seen[-1].url._uri_reference is parsed  # parsed once
        for index in range(URL_CACHE * 2):
            await http.send("GET", f"/v4/invoices/{index}", write=False)
        assert len(http._urls) <= URL_CACHE
        assert str(seen[-1].url) == f"http://provider.test/api/v4/invoices/{URL_CACHE * 2 - 1}"
        with pytest.raises(httpx.InvalidURL):
            await http.send("GET", "/bad\npath", write=False)
    finally:
        await http.aclose()
