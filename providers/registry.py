"""Build the provider services, starting a built-in sandbox for each unconfigured one.

A provider with credentials talks to its configured (or documented default) host.
A provider without credentials gets its sandbox, started on loopback, and the
sandbox's documented demo credentials; its service says `sandbox=True` so every
message about its documents can say SANDBOX.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr

from providers import abillify, hiworks, payssam, popbill
from providers.base import Capabilities, InvoiceProvider
from providers.config import (
    DEMO_ABILLIFY,
    DEMO_HIWORKS,
    DEMO_PAYSSAM,
    DEMO_POPBILL,
    AbillifyConfig,
    HiworksConfig,
    PayssamConfig,
    PopbillConfig,
    SellerConfig,
)
from providers.issued import IssuedLedger
from providers.models import Provider
from providers.sandbox.base import Faults, Sandbox, SandboxThread

__all__ = [
    "CAPABILITIES",
    "CREDENTIAL_SECRETS",
    "ProviderConfigs",
    "ProviderRuntime",
    "build_sandboxes",
    "build_services",
    "configs_with_credentials",
    "start_providers",
]

#: every provider's declared capabilities, for code that checks a request before any service exists
#: (the issue form, the parser); each is the same object its service exposes as `.capabilities`
CAPABILITIES: Mapping[Provider, Capabilities] = {
    Provider.POPBILL: popbill.PopbillService.capabilities,
    Provider.PAYSSAM: payssam.PayssamService.capabilities,
    Provider.HIWORKS: hiworks.HiworksService.capabilities,
    Provider.ABILLIFY: abillify.AbillifyService.capabilities,
}

log = logging.getLogger("invoicebot.providers")

C = TypeVar("C", PopbillConfig, PayssamConfig, HiworksConfig, AbillifyConfig)


@dataclass(frozen=True)
class ProviderConfigs:
    popbill: PopbillConfig = field(default_factory=PopbillConfig)
    payssam: PayssamConfig = field(default_factory=PayssamConfig)
    hiworks: HiworksConfig = field(default_factory=HiworksConfig)
    abillify: AbillifyConfig = field(default_factory=AbillifyConfig)


@dataclass
class ProviderRuntime:
    """The running services, and the sandboxes started for them."""

    services: dict[Provider, InvoiceProvider]
    sandboxes: dict[str, Sandbox] = field(default_factory=dict)
    sandbox_urls: dict[str, str] = field(default_factory=dict)
    thread: SandboxThread | None = None
    #: what the services were built from (sandbox hosts and demo accounts filled in), the seller and
    #: the issued ledger: what a workspace's own services are built over (`configs_with_credentials`)
    configs: ProviderConfigs | None = None
    seller: SellerConfig | None = None
    issued: IssuedLedger | None = None

    def sandboxed(self) -> list[Provider]:
        return [p for p, s in self.services.items() if s.sandbox]

    async def aclose(self) -> None:
        for service in self.services.values():
            await service.aclose()
        if self.thread is not None:
            self.thread.stop()
        else:
            for sandbox in self.sandboxes.values():
                await sandbox.stop()


def build_sandboxes(
    configs: ProviderConfigs,
    faults: Mapping[str, Faults] | None = None,
    *,
    seller: SellerConfig | None = None,
    state_dir: Path | None = None,
) -> list[Sandbox]:
    """One sandbox per provider, accepting the configured credentials (or the demo ones).

    Hiworks refuses invoices from a business that is not the office's own, so its sandbox
    is told our seller's business number. With `state_dir`, each sandbox keeps its state in
    ``<state_dir>/<provider>.state`` across restarts (`providers.sandbox.persist`).
    """
    # imported here: a bot whose providers all have credentials never loads a sandbox
    from providers.sandbox.abillify import AbillifySandbox
    from providers.sandbox.hiworks import HiworksSandbox
    from providers.sandbox.payssam import PayssamSandbox
    from providers.sandbox.persist import SandboxStateFile
    from providers.sandbox.popbill import PopbillSandbox

    faults = faults or {}
    seller = seller or SellerConfig()
    sandboxes: list[Sandbox] = [
        PopbillSandbox(configs.popbill if configs.popbill.configured else None, faults=faults.get("popbill")),
        PayssamSandbox(configs.payssam if configs.payssam.configured else None, faults=faults.get("payssam")),
        HiworksSandbox(configs.hiworks if configs.hiworks.configured else None, faults=faults.get("hiworks"),
                       office_bizno=seller.bizno),
        AbillifySandbox(configs.abillify if configs.abillify.configured else None, faults=faults.get("abillify")),
    ]
    if state_dir is not None:
        for sandbox in sandboxes:
            sandbox.state_file = SandboxStateFile(state_dir / f"{sandbox.name}.state")
    return sandboxes


async def _start_sandboxes(
    sandboxes: Mapping[str, Sandbox], host: str, ports: Mapping[str, int], *, in_thread: bool
) -> tuple[dict[str, str], SandboxThread | None]:
    """Start them (on their own loop when `in_thread`), each on its fixed port if it has one."""
    if sandboxes and in_thread:
        thread = SandboxThread(list(sandboxes.values()))
        return thread.start(host, dict(ports)), thread
    return {name: await sandbox.start(host, ports.get(name, 0)) for name, sandbox in sandboxes.items()}, None


async def start_providers(
    configs: ProviderConfigs,
    seller: SellerConfig,
    *,
    faults: Mapping[str, Faults] | None = None,
    host: str = "127.0.0.1",
    sandbox_in_thread: bool = False,
    issued: IssuedLedger | None = None,
    state_dir: Path | None = None,
    ports: Mapping[str, int] | None = None,
) -> ProviderRuntime:
    """Start sandboxes for unconfigured providers and build every service.

    Args:
        sandbox_in_thread: run the sandboxes on their own event loop (keeps their CPU
            work off the bot's loop; used by benchmarks and the console).
        issued: what we issued, kept by the ledger (Payssam's reads do not say a bill's price
            or expiry; see `providers.issued`).
        state_dir: keep each sandbox's state in a file there, so it survives a restart.
        ports: a fixed port per sandbox name (a taken one falls back to a free port), so the
            links a restarted console shows still point at its sandboxes.
    """
    needed = {
        "popbill": not configs.popbill.configured,
        "payssam": not configs.payssam.configured,
        "hiworks": not configs.hiworks.configured,
        "abillify": not configs.abillify.configured,
    }
    sandboxes = {s.name: s for s in build_sandboxes(configs, faults, seller=seller, state_dir=state_dir)
                 if needed[s.name]}
    urls, thread = await _start_sandboxes(sandboxes, host, ports or {}, in_thread=sandbox_in_thread)
    for name, url in urls.items():
        log.info("%s: no credentials, using the built-in SANDBOX at %s", name, url)

    def pick(name: str, cfg: C, demo: C) -> C:
        if name not in urls:
            return cfg
        return demo.model_copy(update={"api_url": urls[name], "policy": cfg.policy, "sandbox": True})

    pop = pick("popbill", configs.popbill, DEMO_POPBILL)
    # the seller's VAT rates and currency are settings, not credentials: a sandbox keeps them
    ab = pick("abillify", configs.abillify, DEMO_ABILLIFY).model_copy(update={
        k: getattr(configs.abillify, k) for k in ("vat_rates", "default_vat_rate", "currency")})
    if "popbill" in urls:
        pop = pop.model_copy(update={"auth_url": urls["popbill"]})
    effective = ProviderConfigs(popbill=pop, payssam=pick("payssam", configs.payssam, DEMO_PAYSSAM),
                                hiworks=pick("hiworks", configs.hiworks, DEMO_HIWORKS), abillify=ab)
    services = build_services(effective, seller, issued=issued)
    return ProviderRuntime(services=services, sandboxes=sandboxes, sandbox_urls=urls, thread=thread,
                           configs=effective, seller=seller, issued=issued)


def build_services(configs: ProviderConfigs, seller: SellerConfig, *, issued: IssuedLedger | None = None,
                   only: Collection[Provider] | None = None) -> dict[Provider, InvoiceProvider]:
    """One service per provider of `configs` (or of `only`), each labelled SANDBOX when its config says so.

    `start_providers` builds the environment's with it; a workspace with its own credentials gets
    its own services from it too (`configs_with_credentials`), over the same hosts and policies.
    """
    factories: dict[Provider, Callable[[], InvoiceProvider]] = {
        Provider.POPBILL: lambda: popbill.create_service(configs.popbill, seller=seller,
                                                         sandbox=configs.popbill.sandbox),
        Provider.PAYSSAM: lambda: payssam.create_service(configs.payssam, seller=seller,
                                                         sandbox=configs.payssam.sandbox, issued=issued),
        Provider.HIWORKS: lambda: hiworks.create_service(configs.hiworks, seller=seller,
                                                         sandbox=configs.hiworks.sandbox),
        Provider.ABILLIFY: lambda: abillify.create_service(configs.abillify, seller=seller,
                                                           sandbox=configs.abillify.sandbox),
    }
    return {p: make() for p, make in factories.items() if only is None or p in only}


#: the credential fields (``<provider>_<config field>``) a provider cannot work without; the others a
#: workspace may leave to the environment (Popbill's CorpNum)
CREDENTIAL_SECRETS: Mapping[Provider, tuple[str, ...]] = {
    Provider.POPBILL: ("link_id", "secret_key"),
    Provider.PAYSSAM: ("api_key",),
    Provider.HIWORKS: ("office_token", "bill_access_token"),
    Provider.ABILLIFY: ("username", "password"),
}
_SECRET_FIELDS = frozenset({"secret_key", "api_key", "office_token", "bill_access_token", "password"})


def configs_with_credentials(base: ProviderConfigs, credentials: Mapping[str, str]
                             ) -> tuple[ProviderConfigs, set[Provider], dict[Provider, list[str]]]:
    """`base` with a workspace's own credentials (``{"popbill_link_id": …}``) written over it.

    Returns the merged configs, the providers the workspace has complete credentials for (the
    only ones to build for it: the others stay the environment's), and per provider it has only
    some of, the missing fields (such a provider must be refused, never half the environment's
    account). Hosts, timeouts, sandbox mode and the seller's settings stay `base`'s.
    """
    merged: dict[str, Any] = {}
    own: set[Provider] = set()
    incomplete: dict[Provider, list[str]] = {}
    for provider, required in CREDENTIAL_SECRETS.items():
        prefix = provider.value + "_"
        given = {k[len(prefix):]: v for k, v in credentials.items() if k.startswith(prefix) and v}
        if not given:
            continue
        missing = [f for f in required if f not in given]
        if missing:
            incomplete[provider] = missing
            continue
        cfg = getattr(base, provider.value)
        merged[provider.value] = cfg.model_copy(update={k: SecretStr(v) if k in _SECRET_FIELDS else v
                                                         for k, v in given.items() if k in type(cfg).model_fields})
        own.add(provider)
    return dataclasses.replace(base, **merged), own, incomplete
