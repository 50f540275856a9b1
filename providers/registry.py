"""Build the provider services, starting a built-in sandbox for each unconfigured one.

A provider with credentials talks to its configured (or documented default) host.
A provider without credentials gets its sandbox, started on loopback, and the
sandbox's documented demo credentials; its service says `sandbox=True` so every
message about its documents can say SANDBOX.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

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

__all__ = ["CAPABILITIES", "ProviderConfigs", "ProviderRuntime", "build_sandboxes", "start_providers"]

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
    services: dict[Provider, InvoiceProvider] = {
        Provider.POPBILL: popbill.create_service(pop, seller=seller, sandbox=pop.sandbox),
        Provider.PAYSSAM: payssam.create_service(
            (pay := pick("payssam", configs.payssam, DEMO_PAYSSAM)), seller=seller, sandbox=pay.sandbox,
            issued=issued,
        ),
        Provider.HIWORKS: hiworks.create_service(
            (hw := pick("hiworks", configs.hiworks, DEMO_HIWORKS)), seller=seller, sandbox=hw.sandbox
        ),
        Provider.ABILLIFY: abillify.create_service(ab, seller=seller, sandbox=ab.sandbox),
    }
    return ProviderRuntime(services=services, sandboxes=sandboxes, sandbox_urls=urls, thread=thread)
