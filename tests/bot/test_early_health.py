"""The port `serve` binds first: probes hear "starting", other requests wait for the bot and get its answer."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from bot.early_health import EarlyHealth


def _call(url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


@contextmanager
def _in_thread(url: str, **kwargs: object) -> Iterator[list[tuple[int, bytes, dict]]]:
    """`_call` in a thread (it blocks while held); the list gets its answer once joined."""
    answers: list[tuple[int, bytes, dict]] = []
    thread = threading.Thread(target=lambda: answers.append(_call(url, **kwargs)))  # type: ignore[arg-type]
    thread.start()
    try:
        yield answers
    finally:
        thread.join(timeout=30)


def _until_held(early: EarlyHealth, count: int = 1) -> None:
    for _ in range(1500):
        if early.waiting == count:
            return
        threading.Event().wait(0.02)
    raise AssertionError(f"{count} request(s) never held")


def _echo_app() -> web.Application:
    """The "bot": echoes what it received, and says it is healthy."""

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"body": (await request.read()).decode(),
                                  "signature": request.headers.get("X-Slack-Signature")},
                                 headers={"X-From": "bot"})

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/slack/events", echo)
    app.router.add_get("/health", health)
    return app


def test_probes_hear_starting_before_the_bot_is_up() -> None:
    early = EarlyHealth("127.0.0.1", 0)
    try:
        for path in ("/health", "/ready"):
            status, body, _ = _call(f"http://127.0.0.1:{early.port}{path}")
            assert status == 503 and json.loads(body) == {"ok": False, "starting": True}
    finally:
        early.close()


def test_a_request_sent_while_starting_is_held_then_answered_by_the_bot() -> None:
    early = EarlyHealth("127.0.0.1", 0)
    base = f"http://127.0.0.1:{early.port}"
    headers = {"X-Slack-Signature": "v0=abc", "Content-Type": "application/x-www-form-urlencoded"}

    async def main() -> tuple[list[tuple[int, bytes, dict]], tuple[int, bytes, dict]]:
        with _in_thread(base + "/slack/events", body=b"command=%2Finvoice", headers=headers) as held:
            await asyncio.to_thread(_until_held, early)
            assert held == []  # it cannot be answered before the hand-over: it waits for the bot
            runner = web.AppRunner(_echo_app())
            await runner.setup()
            await web.SockSite(runner, early.socket()).start()
            await asyncio.to_thread(early.hand_over)
            for _ in range(1500):  # the forwarded request is served by this loop: wait here, not in join()
                if held:
                    break
                await asyncio.sleep(0.02)
        health = await asyncio.to_thread(_call, base + "/health")
        await runner.cleanup()
        return held, health

    held, health = asyncio.run(main())
    [(status, body, answer_headers)] = held
    assert status == 200 and answer_headers.get("X-From") == "bot"
    assert json.loads(body) == {"body": "command=%2Finvoice", "signature": "v0=abc"}  # unchanged, so it verifies
    assert health[0] == 200 and json.loads(health[1]) == {"ok": True}  # the bot answers on the same port now


def test_a_bot_that_fails_to_start_answers_held_requests_503() -> None:
    early = EarlyHealth("127.0.0.1", 0)
    with _in_thread(f"http://127.0.0.1:{early.port}/slack/events", body=b"x=1") as held:
        _until_held(early)
        early.close()
    [(status, _, headers)] = held
    assert status == 503 and headers.get("Retry-After") == "1"
