"""The sandbox framework's faults behave as documented, seen through the real HTTP layer."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from providers.errors import OutcomeUnknown, ProviderProtocolError, RateLimited
from providers.http import HttpPolicy, ProviderHttp
from providers.sandbox.base import FaultRule, Faults, Sandbox, SandboxThread, json_response
from tests.local_http import LOCAL_TLS, json_posts


class CounterSandbox(Sandbox):
    """A minimal sandbox whose only state is how many writes it committed."""

    name = "counter"

    def reset_state(self) -> None:
        self.writes = 0

    def setup_routes(self, app: web.Application) -> None:
        async def write(_request: web.Request) -> web.Response:
            self.writes += 1
            return json_response({"writes": self.writes})

        async def read(_request: web.Request) -> web.Response:
            return json_response({"writes": self.writes})

        app.router.add_post("/w", write)
        app.router.add_get("/r", read)


@pytest.fixture
async def sandbox() -> AsyncIterator[CounterSandbox]:
    sb = CounterSandbox()
    await sb.start()
    yield sb
    await sb.stop()


@pytest.fixture
async def http(sandbox: CounterSandbox) -> AsyncIterator[ProviderHttp]:
    client = ProviderHttp("counter", sandbox.base_url, policy=HttpPolicy(read_timeout=0.3, backoff=0.0))
    yield client
    await client.aclose()


async def test_drop_commits_the_write_but_the_client_gets_no_answer(sandbox: CounterSandbox,
                                                                     http: ProviderHttp) -> None:
    sandbox.add_fault(FaultRule(kind="drop", path="^/w$"))
    with pytest.raises(OutcomeUnknown):
        await http.send("POST", "/w", write=True)
    assert sandbox.writes == 1


async def test_reset_drops_the_connection_before_anything_happens(sandbox: CounterSandbox,
                                                                  http: ProviderHttp) -> None:
    sandbox.add_fault(FaultRule(kind="reset"))
    with pytest.raises(OutcomeUnknown):
        await http.send("POST", "/w", write=True)
    assert sandbox.writes == 0


async def test_timeout_hangs_then_commits_late(sandbox: CounterSandbox, http: ProviderHttp) -> None:
    sandbox.add_fault(FaultRule(kind="timeout", seconds=0.5))
    with pytest.raises(OutcomeUnknown):
        await http.send("POST", "/w", write=True)
    assert sandbox.writes == 0
    await asyncio.sleep(0.4)
    assert sandbox.writes == 1


async def test_one_shot_rules_are_used_up(sandbox: CounterSandbox, http: ProviderHttp) -> None:
    sandbox.add_fault(FaultRule(kind="503", count=2, retry_after=0))
    response = await http.send("GET", "/r", write=False)  # two 503s, then an answer
    assert response.status_code == 200
    assert len(sandbox.requests_to("^/r$")) == 3


async def test_429_carries_retry_after(sandbox: CounterSandbox, http: ProviderHttp) -> None:
    sandbox.add_fault(FaultRule(kind="429", retry_after=3))
    with pytest.raises(RateLimited) as excinfo:
        await http.send("POST", "/w", write=True)
    assert excinfo.value.retry_after == 3.0


async def test_html_and_malformed_bodies(sandbox: CounterSandbox, http: ProviderHttp) -> None:
    sandbox.add_fault(FaultRule(kind="html"))
    with pytest.raises(ProviderProtocolError):
        http.json_body(await http.send("GET", "/r", write=False))
    sandbox.add_fault(FaultRule(kind="malformed"))
    with pytest.raises(ProviderProtocolError):
        http.json_body(await http.send("GET", "/r", write=False))


async def test_standing_error_rate_and_latency(sandbox: CounterSandbox, http: ProviderHttp) -> None:
    sandbox.set_faults(Faults(error_rate=1.0))
    assert (await http.send("GET", "/r", write=False)).status_code == 500
    sandbox.set_faults(Faults(latency_ms=150))
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await http.send("GET", "/r", write=False)).status_code == 200
    assert loop.time() - started >= 0.15


async def test_admin_routes_reset_state_and_faults(sandbox: CounterSandbox) -> None:
    async with httpx.AsyncClient(verify=LOCAL_TLS, base_url=sandbox.base_url) as client:
        await client.post("/w")
        assert (await client.post("/_sandbox/faults", json={"kind": "500", "count": 5})).status_code == 200
        assert (await client.post("/w")).status_code == 500
        assert (await client.post("/_sandbox/reset")).json() == {"ok": True}
        assert (await client.get("/r")).json() == {"writes": 0}
        clock = await client.post("/_sandbox/clock", json={"advance": 3600})
        assert clock.status_code == 200
    assert sandbox.clock.offset == 3600


def test_sandbox_thread_serves_sync_callers() -> None:
    thread = SandboxThread([CounterSandbox()])
    urls = thread.start()
    try:
        response = httpx.post(urls["counter"] + "/w", verify=LOCAL_TLS)
        assert response.json() == {"writes": 1}
        assert thread.call(lambda: thread["counter"].writes) == 1  # type: ignore[attr-defined]
    finally:
        thread.stop()


async def test_callbacks_are_posted_with_the_processs_one_verifying_tls_context() -> None:
    """A sandbox's callback client verifies certificates like httpx's default, without loading the
    trust store again for each sandbox (about 20 ms of CPU each)."""
    from providers.http import verified_context

    boxes = [CounterSandbox(), CounterSandbox()]
    async with json_posts("/hook") as hook:
        try:
            for box in boxes:
                await box.start()
                box.fire_callback(hook.url, {"n": 1})
                await box.wait_callbacks()
            contexts = [box._callback_client._transport._pool._ssl_context  # type: ignore[union-attr]
                        for box in boxes]
            assert contexts[0] is contexts[1] is verified_context()
            assert verified_context().verify_mode is ssl.CERT_REQUIRED and verified_context().check_hostname
            assert hook.received == [{"n": 1}, {"n": 1}]
        finally:
            for box in boxes:
                await box.stop()
