"""Business closure checks (휴폐업조회): is a business closed or suspended, and what changed.

Numbers that are not business numbers are reported one by one and the others are still
checked; a provider failure is reported on the result, not raised, since nothing was
checked and nothing needs undoing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from commands.i18n import _
from commands.ledger import AuditKind, AuditOperation, ClosureCheckRecord
from commands.workflow.context import WorkflowContext
from commands.workflow.views import ClosureItem, ClosureResult
from providers.base import InvoiceProvider
from providers.bizno import InvalidBizno, check_bizno
from providers.errors import NotSupported, ProviderError
from providers.models import BusinessState, BusinessStatus, Provider

__all__ = ["closure", "closure_provider"]


@dataclass
class _Screen:
    """The numbers as typed: items in input order (one per number), and the valid numbers."""

    items: dict[str, ClosureItem] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    valid: list[str] = field(default_factory=list)

    def result(self, provider: Provider, **extra: str | None) -> ClosureResult:
        items = tuple(self.items[k] for k in self.order)
        return ClosureResult(provider=provider, items=items, warnings=tuple(self.warnings), **extra)


def _screen(biznos: Sequence[str]) -> _Screen:
    screen = _Screen()
    for text in biznos:
        try:
            check = check_bizno(text)
        except InvalidBizno as exc:
            key = f"invalid:{text}"
            screen.items[key] = ClosureItem(input=text, error=str(exc))
            screen.order.append(key)
            continue
        if check.number in screen.items:
            continue
        if check.warning:
            screen.warnings.append(check.warning)
        screen.items[check.number] = ClosureItem(input=text, bizno=check.number, warning=check.warning)
        screen.order.append(check.number)
        screen.valid.append(check.number)
    return screen


def _merge(
    screen: _Screen,
    provider: Provider,
    answers: Mapping[str, BusinessStatus],
    previous: Mapping[str, ClosureCheckRecord],
) -> None:
    """Put each answer on its item, flagged `changed` when it differs from the previous check."""
    for number in screen.valid:
        status = answers.get(number)
        item = screen.items[number]
        if status is None:
            screen.items[number] = item.model_copy(update={"error": f"{provider.value} returned no result"})
            continue
        before = previous.get(number)
        changed = before is not None and (before.state, before.raw_state) != (status.state.value, status.raw_state)
        screen.items[number] = item.model_copy(
            update={
                "status": status,
                "changed": changed,
                "previous_state": BusinessState(before.state) if before else None,
                "previous_checked_at": before.checked_at if before else None,
            }
        )


async def closure(
    ctx: WorkflowContext, biznos: Sequence[str], actor: str, provider: Provider | None
) -> ClosureResult:
    """Check the numbers at `provider` (or the first configured one that can), recording what changed."""
    chosen = closure_provider(ctx, provider)
    screen = _screen(biznos)
    now = ctx.clock()
    if not screen.valid:
        return screen.result(chosen.provider)
    previous = await ctx.store.closures.latest(screen.valid)
    try:
        statuses = await chosen.check_closure(screen.valid)
    except ProviderError as exc:
        detail = {"count": len(screen.valid), "provider": chosen.provider.value, "error": str(exc)}
        await _audit(ctx, actor, exc.outcome_code, detail, now)
        hint = exc.user_hint or _("nothing was checked; try again in a moment")
        return screen.result(chosen.provider, error=str(exc), error_hint=hint)
    answers = {s.bizno: s for s in statuses if s.bizno in screen.items}
    await ctx.store.closures.record(list(answers.values()), provider=chosen.provider, checked_by=actor, now=now)
    _merge(screen, chosen.provider, answers, previous)
    changed = sum(1 for k in screen.valid if screen.items[k].changed)
    detail = {"provider": chosen.provider.value, "checked": len(answers), "changed": changed}
    await _audit(ctx, actor, "ok", detail, now)
    return screen.result(chosen.provider)


async def _audit(
    ctx: WorkflowContext, actor: str, outcome: str, detail: Mapping[str, object], now: dt.datetime
) -> None:
    await ctx.store.audit.record(
        actor=actor, action=AuditKind.PROVIDER_CALL, operation=AuditOperation.CLOSURE,
        outcome=outcome, detail=detail, now=now,
    )


def closure_provider(ctx: WorkflowContext, wanted: Provider | None) -> InvoiceProvider:
    """The named provider (refused when it cannot check closure), or the first configured that can."""
    if wanted is not None:
        service = ctx.provider(wanted)
        service.capabilities.require_closure()
        return service
    for candidate in (Provider.POPBILL, Provider.HIWORKS, *Provider):
        found = ctx.providers.get(candidate)
        if found is not None and found.capabilities.closure_check:
            return found
    raise NotSupported(
        _("no configured provider can check business closure status"), user_hint=_("configure Popbill or Hiworks")
    )
