"""`SlackDeps`: everything the Slack features need, built complete before any registration.

`bot.runtime` builds it once from the settings; features read it and never assign to it, so
what a listener sees does not depend on the order features were registered in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from commands.i18n import DEFAULT_LOCALE
from commands.ledger import Store, utc_now
from commands.slack.authz import ApproverDirectory
from commands.slack.features.router import CommandRouter
from commands.slack.language import Languages
from commands.slack.notify import Notifier
from commands.slack.pacing import AckPacer
from commands.workflow import InvoiceService
from commands.workflow.workspace_settings import WorkspaceSettings
from providers.base import InvoiceProvider
from providers.models import DocumentKind, Provider

__all__ = ["SlackDeps"]


@dataclass(frozen=True)
class SlackDeps:
    """What the features need.

    Args:
        clock: aware wall-clock "now" (tests pass a frozen one); "today" is its date in `tz`.
        pacer: runs the work after an ack when no ack is waiting (bounded queue, back-pressure).
        router: the `/invoice` subcommand table features add their handlers to.
        expiring_days: the digest's "expiring soon" window.
        sweep_concurrency: provider reads the status sweep runs at once.
        languages: who reads which language (`bot.runtime` builds it from INVOICEBOT_LANGUAGE;
            the default writes English to everyone, as the message ids are).
        deadline_days: `/invoice deadlines` lists unissued tax invoices due within this many days.
    """

    service: InvoiceService
    store: Store
    providers: Mapping[Provider, InvoiceProvider]
    approvers: ApproverDirectory
    notifier: Notifier
    tz: ZoneInfo
    clock: Callable[[], dt.datetime] = utc_now
    pacer: AckPacer = field(default_factory=AckPacer)
    router: CommandRouter = field(default_factory=CommandRouter)
    sweep_concurrency: int = 16
    languages: Languages = field(default_factory=lambda: Languages(DEFAULT_LOCALE))
    deadline_days: int = 5  # the tax deadlines report's "due within" window (INVOICEBOT_DEADLINE_DAYS)
    #: per-workspace settings (App Home → Settings); None: the environment's settings only
    workspace_settings: WorkspaceSettings | None = None

    def today(self) -> dt.date:
        """Today's date in the bot's time zone, by the injected clock."""
        return self.clock().astimezone(self.tz).date()

    def offered(self) -> dict[Provider, frozenset[DocumentKind]]:
        """The document kinds each configured provider can issue."""
        return {p: frozenset(s.capabilities.kinds) for p, s in self.providers.items()}

    def sandboxed(self) -> list[Provider]:
        """Providers running on their sandbox (nothing they issue is real)."""
        return [p for p, s in self.providers.items() if s.sandbox]

    def any_sandbox(self) -> bool:
        return any(s.sandbox for s in self.providers.values())
