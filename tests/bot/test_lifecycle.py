"""`bot.lifecycle.Drain`: work a request started is waited for on shutdown; new requests get 503."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.lifecycle import Drain


async def test_a_task_started_by_a_request_is_waited_for_and_new_requests_are_refused() -> None:
    drain = Drain()
    drain.install(asyncio.get_running_loop())
    finished: list[str] = []

    async def provider_call() -> None:
        await asyncio.sleep(0.3)
        finished.append("issued")

    async def handler(_request: web.Request) -> web.Response:
        asyncio.ensure_future(provider_call())  # noqa: RUF006  (what Bolt does after the ack)
        return web.Response(text="ack")

    app = web.Application(middlewares=[drain.middleware])
    app.router.add_post("/slack/events", handler)
    app.router.add_get("/ready", lambda _r: web.Response(text="ready"))
    unrelated = asyncio.ensure_future(asyncio.sleep(30))  # not a request's work: not waited for
    async with TestClient(TestServer(app)) as client:
        assert (await client.post("/slack/events")).status == 200
        assert drain.inflight == 1
        waiting = asyncio.ensure_future(drain.drain(5))
        await asyncio.sleep(0.05)
        assert (await client.post("/slack/events")).status == 503
        assert (await client.get("/ready")).status == 200  # the route itself decides (bot.lifecycle.readiness)
        assert await waiting is True
    assert finished == ["issued"]
    assert not unrelated.done()
    unrelated.cancel()


async def test_drain_gives_up_after_the_grace_period() -> None:
    drain = Drain()
    drain.install(asyncio.get_running_loop())

    async def handler(_request: web.Request) -> web.Response:
        asyncio.ensure_future(asyncio.sleep(30))  # noqa: RUF006  (tracked by the drain)
        return web.Response(text="ack")

    app = web.Application(middlewares=[drain.middleware])
    app.router.add_post("/slack/events", handler)
    async with TestClient(TestServer(app)) as client:
        await client.post("/slack/events")
        assert await drain.drain(0.1) is False


async def test_drain_waits_for_work_queued_after_acks_and_still_running() -> None:
    """Work a command queued on the `AckPacer` (running, and waiting for a worker) is finished before exit."""
    from commands.slack.pacing import AckPacer

    drain = Drain()
    drain.install(asyncio.get_running_loop())
    pacer = AckPacer(workers=1)
    finished: list[str] = []

    def status(name: str):  # type: ignore[no-untyped-def]
        async def work() -> None:
            await asyncio.sleep(0.1)
            finished.append(name)

        return work

    async def handler(_request: web.Request) -> web.Response:
        assert pacer.submit(status("running")) and pacer.submit(status("queued"))
        return web.Response(text="ack")

    app = web.Application(middlewares=[drain.middleware])
    app.router.add_post("/slack/events", handler)
    async with TestClient(TestServer(app)) as client:
        assert (await client.post("/slack/events")).status == 200
        assert (pacer.running, pacer.queued) == (1, 1)
        assert await drain.drain(5, after_acks=pacer.drain) is True
    assert finished == ["running", "queued"]
    assert not pacer.submit(status("late")), "nothing new is taken once draining"
