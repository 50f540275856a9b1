"""HTTP mode: one aiohttp application for Slack, health and provider callbacks.

    POST /slack/events      commands, interactivity and events (signature checked by `bot.slack_guard`
                            before Bolt builds its request, then verified again by Bolt)
    GET  /slack/install     OAuth installs (with SLACK_CLIENT_ID/SECRET): the "Add to Slack" page
    GET  /slack/oauth_redirect  where Slack sends the installer back with a code (`bot.oauth`)
    GET  /health            database reachable, scheduler running, Socket Mode connected
    GET  /ready             migrated to head, providers started, not shutting down (`bot.lifecycle`)
    POST /webhooks/...      provider callbacks (registered by `bot.webhooks`)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.slack_guard import MAX_SLACK_BODY, check_slack_request, is_ssl_check
from commands.slack.ack_gate import AckGate

__all__ = ["HealthCheck", "build_web_app"]

log = logging.getLogger("invoicebot.server")

HealthCheck = Callable[[], Awaitable[dict[str, object]]]


def _refuse(request: web.Request, status: int, reason: str, size: int) -> web.Response:
    """One bounded log line per refused request: never its body, which a sender controls."""
    log.warning("slack request refused with %d: %s (%d bytes from %s)", status, reason, size,
                str(request.remote)[:64])
    return web.json_response({"error": "invalid request"}, status=status)


async def _read_capped(request: web.Request) -> bytes | None:
    """The body, or None when it is larger than `MAX_SLACK_BODY` (read no further than that)."""
    if request.content_length is not None and request.content_length > MAX_SLACK_BODY:
        return None
    raw = await request.content.read(MAX_SLACK_BODY + 1)
    return None if len(raw) > MAX_SLACK_BODY else raw


def build_web_app(bolt: AsyncApp, health: HealthCheck, *, path: str | None = "/slack/events",
                  signing_secret: str | None = None, ready: HealthCheck | None = None,
                  acks: AckGate | None = None) -> web.Application:
    """The aiohttp application serving Slack, `/health` and (later registered) webhooks.

    Args:
        path: where Slack's requests arrive; None in Socket Mode, where Slack never calls over
            HTTP and Bolt verifies no signatures, so no HTTP route may reach the listeners.
        signing_secret: checks every request on `path` before Bolt parses it (unsigned,
            malformed and oversized requests get 401/400/413 and one short log line).
        ready: the readiness report served on `/ready` (200 when its ``ok``, else 503).
        acks: shut while a Slack request waits for its answer, from its arrival to Bolt's answer
            (the work after acks runs only when it is open: `commands.slack.pacing`).
    """
    web_app = web.Application(client_max_size=MAX_SLACK_BODY)

    async def slack_events(request: web.Request) -> web.Response:
        if acks is None:
            return await answer(request)
        with acks.answering():
            return await answer(request)

    async def answer(request: web.Request) -> web.Response:
        raw = await _read_capped(request)
        if raw is None:
            return _refuse(request, 413, f"body larger than {MAX_SLACK_BODY} bytes",
                           request.content_length or MAX_SLACK_BODY + 1)
        if signing_secret is not None and not is_ssl_check(raw):
            # headers and signature here; the body is read once, by Bolt, just below
            refusal = check_slack_request(raw, request.headers, signing_secret, time.time())
            if refusal is not None:
                return _refuse(request, refusal.status, refusal.reason, len(raw))
        try:
            bolt_request = AsyncBoltRequest(body=raw.decode("utf-8"), query=request.query_string,
                                            headers=request.headers)  # type: ignore[arg-type]
        except (ValueError, AttributeError, TypeError):  # not UTF-8, not JSON or a form, not an object
            return _refuse(request, 400, "body is not valid JSON or form data", len(raw))
        if not isinstance(bolt_request.body, dict):
            return _refuse(request, 400, "body is not a JSON object", len(raw))
        bolt_response = await bolt.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def health_check(_request: web.Request) -> web.Response:
        report = await health()
        ok = bool(report.get("ok"))
        return web.json_response(report, status=200 if ok else 503)

    if path is not None:
        web_app.router.add_post(path, slack_events)
    _add_oauth_routes(web_app, bolt)
    web_app.router.add_get("/health", health_check)
    if ready is not None:
        _add_ready_route(web_app, ready)
    return web_app


def _add_ready_route(web_app: web.Application, ready: HealthCheck) -> None:
    """`/ready`: whether a load balancer should send this process traffic (503 while it drains)."""

    async def ready_check(_request: web.Request) -> web.Response:
        report = await ready()
        return web.json_response(report, status=200 if report.get("ok") else 503)

    web_app.router.add_get("/ready", ready_check)


def _add_oauth_routes(web_app: web.Application, bolt: AsyncApp) -> None:
    """The OAuth flow's two pages, as Bolt's aiohttp adapter serves them (no signature: a browser
    calls them; the flow's one-use state and its cookie stand in for it)."""
    flow = bolt.oauth_flow
    if flow is None:
        return

    async def install(request: web.Request) -> web.Response:
        bolt_request = AsyncBoltRequest(body="", query=request.query_string,
                                        headers=request.headers)  # type: ignore[arg-type]
        return await to_aiohttp_response(await flow.handle_installation(bolt_request))

    async def redirect(request: web.Request) -> web.Response:
        bolt_request = AsyncBoltRequest(body="", query=request.query_string,
                                        headers=request.headers)  # type: ignore[arg-type]
        return await to_aiohttp_response(await flow.handle_callback(bolt_request))

    web_app.router.add_get(flow.install_path, install)
    web_app.router.add_get(flow.redirect_uri_path, redirect)
