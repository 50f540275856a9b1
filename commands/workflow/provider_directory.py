"""Each workspace's providers: its own accounts when its admins stored credentials, else the environment's.

An admin stores a workspace's Popbill LinkID/SecretKey/CorpNum (or another provider's keys)
from App Home (`commands.workflow.workspace_settings`); every provider call made for that
workspace's requests and documents must then act under that account, and never under the
environment's. `ProviderDirectory.providers_for(team_id)` is the one place that decides:

* a workspace with no stored credentials (and the bot's own work, and a single-workspace bot)
  gets the environment's services, unchanged;
* a workspace with credentials gets services built from them over the environment's non-secret
  settings (hosts, sandbox mode, timeouts, the seller), cached per workspace and rebuilt when an
  admin saves new ones (`invalidate`, called on save; another replica notices within `ttl`);
  a provider it has no credentials for stays the environment's;
* a workspace whose credentials cannot be read (no INVOICEBOT_ENCRYPTION_KEY, or a rotated one)
  or are incomplete for a provider is refused, in the language of the request being served:
  falling back to the environment's account would issue tax documents under another business.

The workflow reads providers through `ctx.providers` (`WorkspaceProviders`, a mapping that answers
for the workspace bound with `ProviderDirectory.bound`): the service binds the workspace of the
Slack request, an execution the workspace of its request, a status read the document's.

Example::

    directory = ProviderDirectory(runtime.services, settings=workspace_settings, build=build)
    async with directory.bound(WorkspaceScope("T_ALPHA")):
        ctx.provider(Provider.POPBILL)   # Alpha's own Popbill account
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from commands.i18n import _
from commands.ledger.workspaces import WorkspaceScope
from commands.workflow.context import WorkflowContext
from commands.workflow.credentials import InvalidToken
from commands.workflow.errors import NotAllowed
from commands.workflow.workspace_settings import WorkspaceSettings
from commands.workflow.workspaces import current_scope
from providers.base import InvoiceProvider
from providers.errors import ProviderError
from providers.models import Provider

__all__ = ["Built", "CredentialsUnavailable", "ProviderDirectory", "WorkspaceProviders", "workspace_providers"]

log = logging.getLogger("invoicebot.providers.directory")


class CredentialsUnavailable(NotAllowed):
    """A workspace's stored credentials cannot be used: it is refused, never served by the environment's."""

    code = "credentials_unavailable"


@dataclass(frozen=True)
class Built:
    """What `build` makes of a workspace's clear credentials: its own services, and per provider
    whose credentials are incomplete, the fields it lacks."""

    services: Mapping[Provider, InvoiceProvider]
    incomplete: Mapping[Provider, list[str]] = field(default_factory=dict)


#: builds a workspace's own services from its clear credentials (`bot.runtime` wires the registry's)
Build = Callable[[Mapping[str, str]], Built]


@dataclass
class _Entry:
    """One workspace's resolution: its registry, or why it is refused (the message is made per
    request, in that request's language)."""

    fingerprint: str | None
    checked_at: float
    own: Mapping[Provider, InvoiceProvider] = field(default_factory=dict)
    incomplete: Mapping[Provider, list[str]] = field(default_factory=dict)
    unreadable: str | None = None  # "no_key" | "rotated" | "invalid"


def _refusal(entry: _Entry, provider: Provider | None = None) -> CredentialsUnavailable:
    if entry.unreadable == "no_key":
        message = _("This workspace's provider credentials cannot be read: the bot has no encryption key.")
    elif entry.unreadable == "invalid":
        message = _("This workspace's provider credentials are not valid (a CorpNum is 10 digits).")
    elif entry.unreadable is not None:
        message = _("This workspace's provider credentials cannot be read: the encryption key has changed "
                    "since they were saved.")
    else:
        message = _("This workspace's {provider} credentials are incomplete (missing: {fields}).").format(
            provider=provider.value if provider else "", fields=", ".join(entry.incomplete.get(provider, [])
                                                                          if provider else []))
    return CredentialsUnavailable(message, user_hint=_(
        "Nothing was sent. An admin can enter them again in App Home → Settings (or whoever runs the bot "
        "can restore INVOICEBOT_ENCRYPTION_KEY)."), code="credentials_unavailable")


_bound: ContextVar[_Entry | None] = ContextVar("invoicebot_workspace_providers", default=None)


class WorkspaceProviders(Mapping[Provider, InvoiceProvider]):
    """The providers of the workspace bound by `ProviderDirectory.bound` (the environment's when none is).

    What `WorkflowContext.providers` is once the directory is wired: every `ctx.provider(...)`
    answers for the bound workspace, and a refused workspace's lookup raises its refusal.
    """

    def __init__(self, environment: Mapping[Provider, InvoiceProvider]) -> None:
        self.environment = environment

    def _resolve(self, provider: Provider) -> InvoiceProvider | None:
        entry = _bound.get()
        if entry is None:
            return self.environment.get(provider)
        if entry.unreadable is not None or provider in entry.incomplete:
            raise _refusal(entry, provider)
        return entry.own.get(provider) or self.environment.get(provider)

    def __getitem__(self, provider: Provider) -> InvoiceProvider:
        found = self._resolve(provider)
        if found is None:
            raise KeyError(provider)
        return found

    def get(self, provider: Provider, default: InvoiceProvider | None = None) -> InvoiceProvider | None:  # type: ignore[override]
        found = self._resolve(provider)
        return found if found is not None else default

    def __iter__(self) -> Iterator[Provider]:
        return iter(self.environment)

    def __len__(self) -> int:
        return len(self.environment)


class ProviderDirectory:
    """Resolves, caches and closes each workspace's provider services.

    Args:
        environment: the environment's services (every workspace without credentials uses them).
        settings: where credentials are stored (None: no per-workspace settings, always the environment's).
        build: turns clear credentials into the workspace's own services.
        ttl: how long a resolution is trusted before the stored row is read again (a change saved on
            this replica is seen at once through `invalidate`).
    """

    def __init__(self, environment: Mapping[Provider, InvoiceProvider], *, settings: WorkspaceSettings | None,
                 build: Build, ttl: float = 15.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.environment = environment
        self.registry = WorkspaceProviders(environment)
        self._settings = settings
        self._build = build
        self._ttl = ttl
        self._monotonic = monotonic
        self._entries: dict[str, _Entry] = {}
        #: rows being read again, by team (later callers share the read), and saves seen per team
        self._refreshing: dict[str, asyncio.Future[_Entry]] = {}
        self._saves: dict[str, int] = {}
        #: services replaced by a newer save: closed at shutdown, as a request may still be using them
        self._retired: list[InvoiceProvider] = []
        if settings is not None:
            settings.on_credentials_saved.append(self.invalidate)

    async def _entry(self, scope: WorkspaceScope | None) -> _Entry | None:
        """`scope`'s resolution (None: the environment's, for the bot's own work or no stored credentials)."""
        if scope is None or self._settings is None:
            return None
        cached = self._entries.get(scope.team_id)
        if cached is None or self._monotonic() - cached.checked_at >= self._ttl:
            cached = await self._refresh(scope)
        return cached if (cached.own or cached.incomplete or cached.unreadable) else None

    async def _refresh(self, scope: WorkspaceScope) -> _Entry:
        """`scope`'s row read again, one read per workspace at a time: a burst of requests past the
        ttl shares it (each sent its own SELECT, twice per status). Shielded: a cancelled caller
        does not cancel it for the others."""
        running = self._refreshing.get(scope.team_id)
        if running is None:
            running = asyncio.ensure_future(self._reread(scope))
            self._refreshing[scope.team_id] = running
            running.add_done_callback(functools.partial(self._refreshed, scope.team_id))
        return await asyncio.shield(running)

    def _refreshed(self, team: str, done: asyncio.Future[_Entry]) -> None:
        if self._refreshing.get(team) is done:
            del self._refreshing[team]

    async def _reread(self, scope: WorkspaceScope) -> _Entry:
        assert self._settings is not None
        saves, now = self._saves.get(scope.team_id, 0), self._monotonic()
        row = await self._settings.store.workspace_settings.get(scope)
        sealed = row.credentials if row else None
        cached = self._entries.get(scope.team_id)
        if cached is not None and cached.fingerprint == sealed:
            cached.checked_at = now
            return cached
        fresh = self._resolve(scope, sealed, now)
        if self._saves.get(scope.team_id, 0) == saves:  # not read before a save: keep it
            self._retire(cached)
            self._entries[scope.team_id] = fresh
        else:
            self._retire(fresh)  # this request may use it; closed at shutdown like any replaced one
        return fresh

    def _resolve(self, scope: WorkspaceScope, sealed: str | None, now: float) -> _Entry:
        if not sealed:
            return _Entry(fingerprint=sealed, checked_at=now)
        vault = self._settings.vault if self._settings is not None else None
        if vault is None:
            log.warning("workspace %s has stored provider credentials and the bot has no encryption key: "
                        "its provider calls are refused", scope.team_id)
            return _Entry(fingerprint=sealed, checked_at=now, unreadable="no_key")
        try:
            clear = vault.open(sealed)
        except (InvalidToken, ValueError):
            log.warning("workspace %s's provider credentials do not decrypt with the current key: its provider "
                        "calls are refused", scope.team_id)
            return _Entry(fingerprint=sealed, checked_at=now, unreadable="rotated")
        try:
            built = self._build(clear)
        except (ProviderError, ValueError) as exc:  # e.g. a CorpNum that is not 10 digits (never echoed)
            log.warning("workspace %s's provider credentials are not valid (%s): its provider calls are refused",
                        scope.team_id, type(exc).__name__)
            return _Entry(fingerprint=sealed, checked_at=now, unreadable="invalid")
        log.info("workspace %s: its own accounts for %s", scope.team_id,
                 ", ".join(sorted(p.value for p in built.services)) or "no provider")
        return _Entry(fingerprint=sealed, checked_at=now, own=dict(built.services), incomplete=dict(built.incomplete))

    def _retire(self, entry: _Entry | None) -> None:
        if entry is not None:
            self._retired.extend(entry.own.values())

    def invalidate(self, scope: WorkspaceScope) -> None:
        """Forget `scope`'s services (its admin saved new credentials): the next call rebuilds them."""
        self._retire(self._entries.pop(scope.team_id, None))
        self._saves[scope.team_id] = self._saves.get(scope.team_id, 0) + 1
        self._refreshing.pop(scope.team_id, None)  # a read under way may predate the save

    async def providers_for(self, workspace: str | None) -> Mapping[Provider, InvoiceProvider]:
        """The services of workspace `workspace` (a team id; None: the environment's), by provider.

        A provider whose credentials are incomplete is left out. Raises `CredentialsUnavailable` when
        the workspace's credentials cannot be decrypted: its documents must not be asked of the
        environment's account (the status sweep skips that workspace and says why).
        """
        entry = await self._entry(WorkspaceScope(workspace) if workspace else None)
        if entry is None:
            return self.environment
        if entry.unreadable is not None:
            raise _refusal(entry)
        return {p: entry.own.get(p) or s for p, s in self.environment.items() if p not in entry.incomplete}

    @contextlib.asynccontextmanager
    async def bound(self, scope: WorkspaceScope | None) -> AsyncIterator[None]:
        """Serve `ctx.providers` as `scope`'s for the block (tasks started inside inherit it)."""
        token = _bound.set(await self._entry(scope))
        try:
            yield
        finally:
            _bound.reset(token)

    async def aclose(self) -> None:
        """Close every workspace's own services (the environment's are the runtime's to close)."""
        for entry in self._entries.values():
            self._retire(entry)
        self._entries.clear()
        retired, self._retired = self._retired, []
        for service in retired:
            try:
                await service.aclose()
            except Exception as exc:  # shutting down: one client failing to close must not keep the others open
                log.warning("closing a workspace's provider client failed: %s", type(exc).__name__)


class _Served(Protocol):
    context: WorkflowContext


_S = TypeVar("_S", bound=_Served)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def workspace_providers(
    method: Callable[Concatenate[_S, _P], Awaitable[_R]],
) -> Callable[Concatenate[_S, _P], Awaitable[_R]]:
    """For the service's methods that may ask a provider: run with the providers of the workspace
    being served (bound from the Slack request by `commands.workflow.access`)."""

    @functools.wraps(method)
    async def bound(self: _S, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        async with self.context.providers_of(current_scope()):
            return await method(self, *args, **kwargs)

    return bound
