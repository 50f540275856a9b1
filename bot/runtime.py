"""Everything the bot runs on, built from settings: storage, providers (or their sandboxes),
the service, the Bolt app, the scheduler.

`SlackDeps` is built complete first, then `register_all` wires every feature (listeners and
jobs) onto the app and the scheduler, and only then does the scheduler start. `serve`, the
console and the tests all start the same `Runtime`, so what the tests prove is what runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import aiohttp
from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text

from bot.callback_auth import callback_signer
from bot.config_errors import DATABASE_ERRORS, database_error_line, provider_config_lines
from bot.oauth import OAuth, WorkspaceTokens, build_oauth
from bot.scheduler import InvoiceScheduler, create_scheduler
from bot.settings import Settings
from bot.slack_app import WorkspaceClientApp
from bot.webhooks import abillify_notify_url, payssam_callback_url
from bot.workspace_config import build_workspace_settings, wire_workspace_settings
from commands.ledger import Store, utc_now
from commands.ledger.issued import LedgerIssued
from commands.slack.authz import ApproverDirectory
from commands.slack.blocks import sdk_json
from commands.slack.features import SlackDeps, register_all
from commands.slack.features.approvals import recover_in_flight
from commands.slack.language import Languages
from commands.slack.notify import Notifier
from commands.workflow import ExecutionResult, InvoiceService
from commands.workflow.provider_directory import Built, ProviderDirectory
from commands.workflow.workspace_settings import WorkspaceSettings
from providers.models import Provider
from providers.registry import (
    ProviderConfigs,
    ProviderRuntime,
    build_services,
    configs_with_credentials,
    start_providers,
)

__all__ = ["Runtime", "SettingsError", "provider_configs", "start_runtime"]

log = logging.getLogger("invoicebot.runtime")


class SettingsError(Exception):
    """The configuration cannot run in this mode (e.g. production on sandboxes)."""


def _instance_id(settings: Settings) -> str:
    return settings.invoicebot_instance_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class Runtime:
    """A started bot: what `serve`, the console and the tests hold on to."""

    settings: Settings
    store: Store
    providers: ProviderRuntime
    service: InvoiceService
    client: AsyncWebClient
    app: AsyncApp
    deps: SlackDeps
    instance_id: str
    scheduler: InvoiceScheduler | None = None
    #: installs for many workspaces (None: the one workspace of SLACK_BOT_TOKEN)
    oauth: OAuth | None = None
    #: each workspace's bot token, for work no Slack request started
    tokens: WorkspaceTokens | None = None
    socket_mode_connected: Callable[[], Awaitable[bool]] | None = None
    #: each workspace's provider accounts (its own when it stored credentials); `providers_for` for sweeps
    provider_directory: ProviderDirectory | None = None
    _background: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def notifier(self) -> Notifier:
        """The Slack notifier the features use (tests post cards through it)."""
        return self.deps.notifier

    @property
    def approvers(self) -> ApproverDirectory:
        return self.deps.approvers

    def spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        """Run work in the background, keeping a reference and logging its failure."""

        async def _guarded() -> Any:
            try:
                return await coro
            except Exception:
                log.exception("background task %s failed", name)
                return None

        task = asyncio.get_running_loop().create_task(_guarded(), name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def background_tasks(self) -> set[asyncio.Task[Any]]:
        """Work the runtime started on its own (start-up recovery): `serve` lets it finish on SIGTERM."""
        return set(self._background)

    async def recover(self) -> list[ExecutionResult]:
        """Re-drive requests a crash left approved or executing, then update their cards."""
        return await recover_in_flight(self.deps)

    async def health(self) -> dict[str, object]:
        report: dict[str, object] = {"instance": self.instance_id}
        try:
            async with self.store.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            report["database"] = "ok"
        except Exception as exc:
            report["database"] = f"unreachable: {type(exc).__name__}"
        running = bool(self.scheduler is not None and self.scheduler.running)
        report["scheduler"] = "running" if running else "stopped"
        if self.socket_mode_connected is not None:
            connected = await self.socket_mode_connected()
            report["socket_mode"] = "connected" if connected else "disconnected"
        report["sandbox_providers"] = [p.value for p in self.providers.sandboxed()]
        report["ok"] = (
            report["database"] == "ok"
            and running
            and report.get("socket_mode", "connected") == "connected"
        )
        return report

    async def aclose(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.shutdown()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.provider_directory is not None:
            await self.provider_directory.aclose()
        await self.providers.aclose()
        await self.store.close()
        if self.client.session is not None:
            await self.client.session.close()


def build_client(settings: Settings, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """The Web API client: 429s are retried after Retry-After; one shared HTTP session (a new
    session per call costs milliseconds on the acknowledging path)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    if settings.oauth_enabled:
        token = None  # each workspace's installed token is found per request (bot.oauth)
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        session=session,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


def _checked_configs(settings: Settings) -> ProviderConfigs:
    """The provider configurations; production refuses any provider left on its sandbox."""
    configs = provider_configs(settings)
    if settings.production:
        missing = [name for name, cfg in vars(configs).items() if not cfg.configured]
        if missing:
            raise SettingsError(
                "INVOICEBOT_ENV=production refuses to run providers on their sandboxes; "
                f"configure credentials for: {', '.join(missing)}"
            )
    return configs


async def _open_store(settings: Settings) -> Store:
    """The ledger, migrated; an unreachable database is one `SettingsError` line, password hidden."""
    try:
        return await Store.open(settings.database_url, migrate=True)
    except DATABASE_ERRORS as exc:
        raise SettingsError(database_error_line(settings.database_url, exc)) from None


async def start_runtime(
    settings: Settings,
    *,
    sandbox_in_thread: bool = False,
    with_scheduler: bool = True,
    recover: bool = True,
    sandbox_state_dir: Path | None = None,
    sandbox_ports: Mapping[str, int] | None = None,
    clock: Callable[[], dt.datetime] = utc_now,
) -> Runtime:
    """Open storage (migrating it), start providers or sandboxes, build the app.

    `clock`: the aware "now" of the workflow, cards and digests (tests freeze it).

    Raises:
        SettingsError: production settings with providers falling back to sandboxes.
    """
    configs = _checked_configs(settings)
    sdk_json.install()  # Block Kit serialised without a reference cycle per object (see the module)
    store = await _open_store(settings)
    providers = await start_providers(
        configs,
        settings.seller(),
        faults=settings.invoicebot_sandbox_faults,
        host=settings.invoicebot_sandbox_host,
        sandbox_in_thread=sandbox_in_thread,
        issued=LedgerIssued(store.documents), state_dir=sandbox_state_dir, ports=sandbox_ports,
    )
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    client = build_client(settings, session)
    approvers = ApproverDirectory(settings.approvers, client, admins=settings.admins, requesters=settings.requesters)
    service = _build_service(settings, store, providers, approvers, clock=clock)
    deps = _build_deps(settings, store, providers, client, approvers, service, clock)
    directory = _provider_directory(providers, deps.workspace_settings, service)
    oauth = build_oauth(settings, store.engine, client) if settings.oauth_enabled else None
    app = _build_app(settings, client, oauth)
    scheduler = (create_scheduler(settings, store, client, providers.sandboxed(), clock=clock, languages=deps.languages)
                 if with_scheduler else None)
    if scheduler is not None:
        scheduler.pacer = deps.pacer  # the features' periodic jobs give way to acks like queued work
    register_all(app, deps, scheduler)
    runtime = Runtime(settings=settings, store=store, providers=providers, service=service, client=client,
                      app=app, deps=deps, instance_id=_instance_id(settings), scheduler=scheduler,
                      oauth=oauth, tokens=_workspace_tokens(settings, client, oauth), provider_directory=directory)
    if scheduler is not None and oauth is not None and runtime.tokens is not None:
        scheduler.runs.client_for = runtime.tokens.client_for  # each workspace's digest posts with its own token
    if oauth is not None and runtime.tokens is not None:
        deps.notifier.client_for = runtime.tokens.client_for  # and its sweep notices
    if scheduler is not None:
        # digest and sweep schedules, restored from the database
        await scheduler.start()
    if recover:
        runtime.spawn(runtime.recover(), "recover")
    for provider in providers.sandboxed():
        log.warning("%s runs against its built-in SANDBOX: nothing is really issued", provider.value)
    return runtime


def _build_deps(settings: Settings, store: Store, providers: ProviderRuntime, client: AsyncWebClient,
                approvers: ApproverDirectory, service: InvoiceService, clock: Callable[[], dt.datetime]) -> SlackDeps:
    """What the Slack features need, with who reads which language (INVOICEBOT_LANGUAGE) and each
    workspace's own settings."""
    languages = Languages(settings.invoicebot_language, store=store, client=client)
    notifier = Notifier(client, store, settings.invoicebot_approvals_channel, settings.timezone,
                        four_eyes=service.four_eyes, clock=clock, languages=languages)
    workspace_settings = _workspace_settings(settings, store)
    wire_workspace_settings(workspace_settings, service, approvers, notifier)
    languages.use_workspace_setting(lambda: _workspace_language(workspace_settings))
    return SlackDeps(service=service, store=store, providers=providers.services, approvers=approvers,
                     notifier=notifier, tz=settings.timezone, clock=clock,
                     deadline_days=settings.invoicebot_deadline_days,
                     sweep_concurrency=settings.invoicebot_sweep_concurrency, languages=languages,
                     workspace_settings=workspace_settings)


def _provider_directory(providers: ProviderRuntime, workspace_settings: WorkspaceSettings | None,
                        service: InvoiceService) -> ProviderDirectory:
    """Each workspace's providers: built from its stored credentials over the environment's hosts and
    settings, else the environment's; the service's calls go through it."""

    def build(credentials: Mapping[str, str]) -> Built:
        assert providers.configs is not None and providers.seller is not None
        configs, own, incomplete = configs_with_credentials(providers.configs, credentials)
        return Built(build_services(configs, providers.seller, issued=providers.issued, only=own), incomplete)

    directory = ProviderDirectory(providers.services, settings=workspace_settings, build=build)
    service.context = dataclasses.replace(service.context, providers=directory.registry,
                                          provider_directory=directory)
    return directory


async def _workspace_language(workspace_settings: WorkspaceSettings) -> str | None:
    """The language setting of the workspace being served (App Home → Settings)."""
    return (await workspace_settings.current()).language


def _workspace_settings(settings: Settings, store: Store) -> WorkspaceSettings:
    try:
        return build_workspace_settings(settings, store)
    except ValueError as exc:
        raise SettingsError(f"INVOICEBOT_ENCRYPTION_KEY: {exc}") from None


def _build_app(settings: Settings, client: AsyncWebClient, oauth: OAuth | None) -> AsyncApp:
    """The Bolt app: one token (SLACK_BOT_TOKEN) or, with OAuth installs, each workspace's own."""
    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    # one Web API client per workspace, with the static token or with OAuth installs (bot.slack_app)
    return WorkspaceClientApp(
        client=client,
        signing_secret=signing_secret,
        # Socket Mode has no signatures to verify. HTTP mode verifies every request at the edge,
        # before Bolt parses it (`bot.server.build_web_app`, which refuses to serve Slack without
        # the secret), so Bolt does not compute the same signature a second time on the ack path.
        request_verification_enabled=False,
        process_before_response=False,
        oauth_flow=oauth.flow if oauth is not None else None,
        # an AsyncAuthorize is awaitable with the request's context; its stub says a plain function
        authorize=cast("Callable[..., Awaitable[AuthorizeResult]]", oauth.authorize) if oauth is not None else None,
    )


def _workspace_tokens(settings: Settings, client: AsyncWebClient, oauth: OAuth | None) -> WorkspaceTokens:
    secret = settings.slack_client_secret.get_secret_value() if settings.slack_client_secret else None
    return WorkspaceTokens(client, oauth=oauth, client_id=settings.slack_client_id, client_secret=secret)


def provider_configs(settings: Settings) -> ProviderConfigs:
    """Each provider's configuration; a bad value is a `SettingsError` naming its setting."""
    built = []
    for name in ("popbill", "payssam", "hiworks", "abillify"):
        try:
            built.append(getattr(settings, name)())
        except ValidationError as exc:
            raise SettingsError("\n".join(provider_config_lines(name, exc))) from None
    return ProviderConfigs(*built)


def _build_service(settings: Settings, store: Store, providers: ProviderRuntime,
                   approvers: ApproverDirectory, *, clock: Callable[[], dt.datetime] = utc_now) -> InvoiceService:
    """The workflow façade, with the approval rules from the settings."""
    return InvoiceService(
        store,
        providers.services,
        callback_url=_callback_urls(settings),
        is_approver=approvers.is_approver,
        roles=approvers,
        four_eyes=settings.invoicebot_four_eyes,
        approval_ttl=settings.approval_ttl,
        approval_actions=settings.approval_actions,
        timezone=settings.invoicebot_timezone,
        executing_stale_after=dt.timedelta(seconds=settings.invoicebot_executing_stale_seconds),
        two_approvals_above=settings.invoicebot_two_approvals_above,
        large_amount_approvals=settings.invoicebot_large_amount_approvals,
        closure_ttl=dt.timedelta(hours=settings.invoicebot_closure_ttl_hours),
        clock=clock,
    )


def _callback_urls(settings: Settings) -> Callable[[Provider, str], str | None] | None:
    """Where Payssam and Abillify call back, when the bot is reachable from outside: each URL
    carries the token of its document (`bot.callback_auth`)."""
    public_url = settings.invoicebot_public_url
    if not public_url:
        return None
    signer = callback_signer(settings)

    def url(provider: Provider, ref: str) -> str | None:
        if provider is Provider.PAYSSAM:
            return payssam_callback_url(public_url, ref, signer)
        if provider is Provider.ABILLIFY:
            return abillify_notify_url(public_url, ref, signer)
        return None

    return url

