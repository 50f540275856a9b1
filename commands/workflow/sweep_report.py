"""What a status sweep did, as its callers (the Slack feature, the digest, the benchmark) read it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from commands.i18n import _
from providers.models import DocumentState, Provider

__all__ = ["BudgetUse", "ClosureUpdate", "StateChange", "SweepProgress", "SweepReport"]


@dataclass(frozen=True, slots=True)
class StateChange:
    """A document whose provider state moved during the sweep."""

    document_id: int
    ref: str
    provider: Provider
    provider_id: str
    sandbox: bool
    previous: DocumentState | None
    current: DocumentState
    raw_state: str
    detail: str | None
    channel_id: str | None
    thread_ts: str | None


@dataclass(frozen=True, slots=True)
class ClosureUpdate:
    """A buyer whose closure state differs from the last recorded check."""

    bizno: str
    previous: str | None
    current: str
    detail: str | None


@dataclass(frozen=True, slots=True)
class SweepProgress:
    provider: Provider
    checked: int  # documents of this provider done so far
    changed: int


@dataclass(frozen=True, slots=True)
class BudgetUse:
    """A provider's daily call budget as one workspace's sweep found and left it."""

    provider: Provider
    scope: str  # "" for the bot's own credentials, else the workspace with its own
    day: dt.date  # the provider's day (its own zone)
    limit: int  # calls a day a bulk job may spend
    spent_before: int  # calls counted today before this sweep
    granted: int  # calls this sweep reserved
    deferred: int  # open documents left for tomorrow


@dataclass
class SweepReport:
    """What one sweep did."""

    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    checked: dict[Provider, int] = field(default_factory=dict)
    missing: dict[Provider, int] = field(default_factory=dict)  # the provider does not know them
    changes: list[StateChange] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)  # provider -> what went wrong
    closure_checked: int = 0
    closure_changes: list[ClosureUpdate] = field(default_factory=list)
    #: open documents not read today because a daily call budget is spent, by provider
    deferred: dict[Provider, int] = field(default_factory=dict)
    budgets: list[BudgetUse] = field(default_factory=list)
    calls: dict[Provider, int] = field(default_factory=dict)  # status calls made, by provider
    #: workspaces whose own provider credentials could not be read (team id -> why): not swept
    skipped_workspaces: dict[str, str] = field(default_factory=dict)
    batches: int = 0  # write transactions

    @property
    def total_checked(self) -> int:
        return sum(self.checked.values())

    def leftover_text(self) -> str | None:
        """What was left for tomorrow, for people (None when nothing was)."""
        lines = []
        for provider in sorted((p for p, n in self.deferred.items() if n), key=lambda p: p.value):
            limit = max((b.limit for b in self.budgets if b.provider is provider), default=0)
            lines.append(_("{provider}: {count} open documents left for tomorrow (today's {limit} sweep calls are "
                           "spent)").format(provider=provider.value, count=self.deferred[provider], limit=limit))
        return "; ".join(lines) or None

    def as_detail(self) -> dict[str, object]:
        """The audit-event detail the digest reads back (`commands.ledger.digest_queries.last_sweep`)."""
        return {
            "checked": self.total_checked,
            "changed": len(self.changes),
            "missing": sum(self.missing.values()),
            "by_provider": {p.value: n for p, n in self.checked.items()},
            "unreachable": dict(self.unreachable),
            "closure_checked": self.closure_checked,
            "closure_changes": len(self.closure_changes),
            "deferred": {p.value: n for p, n in self.deferred.items() if n},
            "skipped_workspaces": dict(self.skipped_workspaces),
            "budgets": [{"provider": b.provider.value, "scope": b.scope, "day": b.day.isoformat(), "limit": b.limit,
                         "spent_before": b.spent_before, "granted": b.granted, "deferred": b.deferred}
                        for b in self.budgets],
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }
