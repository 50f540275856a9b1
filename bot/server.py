"""HTTP mode: one aiohttp application for Slack, health and provider callbacks.

    POST /slack/events      commands, interactivity and events (signatures verified by Bolt)
    GET  /health            database reachable, scheduler running, Socket Mode connected
    POST /webhooks/...      provider callbacks (registered by `bot.webhooks`)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

__all__ = ["HealthCheck", "build_web_app"]

log = logging.getLogger("invoicebot.server")

HealthCheck = Callable[[], Awaitable[dict[str, object]]]


def build_web_app(bolt: AsyncApp, health: HealthCheck, *, path: str | None = "/slack/events") -> web.Application:
    """The aiohttp application serving Slack, `/health` and (later registered) webhooks.

    Args:
        path: where Slack's requests arrive; None in Socket Mode, where Slack never calls over
            HTTP and Bolt verifies no signatures, so no HTTP route may reach the listeners.
    """
    web_app = web.Application(client_max_size=2 * 1024 * 1024)

    async def slack_events(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        bolt_response = await bolt.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def health_check(_request: web.Request) -> web.Response:
        report = await health()
        ok = bool(report.get("ok"))
        return web.json_response(report, status=200 if ok else 503)

    if path is not None:
        web_app.router.add_post(path, slack_events)
    web_app.router.add_get("/health", health_check)
    return web_app
