"""`invoicebot serve`: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP.

Both modes also serve `GET /health` and the provider callbacks under `/webhooks/` on
`--port`; only HTTP mode serves `POST /slack/events`, and only with a signing secret,
so an unsigned request can never reach a listener.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys

from aiohttp import web
from slack_sdk.models.blocks import Block

from bot.early_health import EarlyHealth
from bot.heap import CollectorPacing, settle_heap
from bot.lifecycle import Drain, readiness
from bot.runtime import Runtime, SettingsError, start_runtime
from bot.server import build_web_app
from bot.settings import Settings
from bot.signals import wait_for_signal
from bot.startup_gc import GRACE_SECONDS as COLLECTOR_GRACE_SECONDS
from bot.startup_gc import resume as resume_collector
from bot.webhooks import WebhookDeps, register_webhooks
from commands.ledger import current_revision

__all__ = ["ServeError", "attach_webhooks", "serve", "start_http"]

log = logging.getLogger("invoicebot.serve")


class ServeError(Exception):
    """The settings cannot serve in the requested mode."""


def check_mode(settings: Settings, force_http: bool) -> str:
    """'socket' or 'http', or ServeError saying what is missing (a bot token, or OAuth installs)."""
    if not settings.slack_bot_token and not settings.oauth_enabled:
        raise ServeError("SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth installs) "
                         "are required to serve Slack (try `invoicebot console` without Slack)")
    if settings.slack_app_token and not force_http:
        return "socket"
    if not settings.slack_signing_secret:
        raise ServeError("HTTP mode needs SLACK_SIGNING_SECRET to verify that requests come from Slack")
    return "http"


def attach_webhooks(runtime: Runtime, web_app: web.Application) -> None:
    """Provider callbacks under /webhooks/, each posting in the document's thread."""

    async def notify(document_ref: str, text: str, blocks: list[Block]) -> None:
        doc = await runtime.store.documents.get_by_ref(document_ref)
        if doc is not None:
            await runtime.deps.notifier.post_in_thread(doc.id, text, blocks)

    register_webhooks(web_app, WebhookDeps(store=runtime.store, providers=runtime.providers.services,
                                           notify=notify, settings=runtime.settings,
                                           providers_for=runtime.service.providers_for))


async def start_http(runtime: Runtime, host: str, port: int, *, slack_events: bool = True,
                     drain: Drain | None = None, sock: socket.socket | None = None) -> web.AppRunner:
    """Serve the app's HTTP endpoints; returns the runner (its sites say the bound port).

    With a `drain`, `/ready` is served and requests are refused with 503 once it drains. With a
    `sock` (already listening: `EarlyHealth.socket()`), it is served instead of binding host:port.
    """
    secret = runtime.settings.slack_signing_secret
    if slack_events and secret is None:  # the edge is the only check of Slack's signature (bot.runtime)
        raise ServeError("HTTP mode needs SLACK_SIGNING_SECRET to verify that requests come from Slack")
    ready = None
    if drain is not None:
        gate = drain

        async def ready_report() -> dict[str, object]:
            return await readiness(lambda: current_revision(runtime.store.engine), drain=gate,
                                   providers=len(runtime.providers.services))

        ready = ready_report
    web_app = build_web_app(runtime.app, runtime.health, path="/slack/events" if slack_events else None,
                            signing_secret=secret.get_secret_value() if secret is not None else None, ready=ready,
                            acks=runtime.deps.pacer.gate)
    if drain is not None:
        web_app.middlewares.append(drain.middleware)
    attach_webhooks(runtime, web_app)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site: web.BaseSite = web.SockSite(runner, sock) if sock is not None else \
        web.TCPSite(runner, host, port, backlog=2048)
    await site.start()
    return runner


async def serve(settings: Settings, *, force_http: bool = False, host: str = "0.0.0.0",  # noqa: S104
                port: int = 3000, early: EarlyHealth | None = None) -> int:
    """Run until SIGTERM/SIGINT. `early`: the port, already answering "starting" (`bot.cli`),
    handed over to the app's server once it is set up."""
    try:
        mode = check_mode(settings, force_http)
        # sandboxes (providers without credentials) get their own loop: their work is not the bot's
        runtime = await start_runtime(settings, sandbox_in_thread=True)
    except (ServeError, SettingsError) as exc:
        print(f"invoicebot serve: {exc}", file=sys.stderr)
        if early is not None:
            early.close()
        return 2
    handler = None
    runner: web.AppRunner | None = None
    drain = Drain()
    drain.install(asyncio.get_running_loop())
    try:
        runner = await start_http(runtime, host, port, slack_events=mode == "http", drain=drain,
                                  sock=early.socket() if early is not None else None)
        if early is not None:
            # the app's server accepts on the same socket from here on; requests held while it
            # started are forwarded to it
            await asyncio.to_thread(early.hand_over)
            early = None
        # the started bot's objects, out of the collector's full passes (`bot.heap`): once no ack waits
        # and the collector held off while acks wait, from then on (`bot.heap.CollectorPacing`)
        collector = CollectorPacing()
        runtime.deps.pacer.gate.watch(collector.arrived, collector.opened)
        runtime.deps.pacer.gate.later(settle_heap)
        runtime.deps.pacer.gate.later(collector.start)
        # the older generations `bot.cli` held off while the bot started, collected again after that
        # one collection (or `GRACE_SECONDS` from now at the latest)
        runtime.deps.pacer.gate.later(resume_collector)
        asyncio.get_running_loop().call_later(COLLECTOR_GRACE_SECONDS, resume_collector)
        if mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert settings.slack_app_token is not None
            handler = AsyncSocketModeHandler(runtime.app, settings.slack_app_token.get_secret_value())
            runtime.socket_mode_connected = handler.client.is_connected
            await handler.connect_async()
            log.info("connected to Slack in Socket Mode; health and webhooks on %s:%s", host, port)
        else:
            log.info("serving Slack over HTTP on %s:%s (POST /slack/events)", host, port)
        await wait_for_signal()
        # stop taking work (/ready and new requests answer 503), let started provider calls finish
        await drain.drain(settings.invoicebot_shutdown_grace_seconds, extra=runtime.background_tasks,
                          after_acks=runtime.deps.pacer.drain)
    finally:
        if early is not None:
            early.close()
        if handler is not None:
            await handler.close_async()
        if runner is not None:
            await runner.cleanup()
        await runtime.aclose()
    return 0


