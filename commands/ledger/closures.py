"""Business closure (휴폐업) checks: one row per number per check, so changes can be found later.

The digest reports businesses whose state changed since the check before; keeping every
check (not just the latest) is what lets it say "was active, now closed" and when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

import sqlalchemy as sa

from commands.ledger._db import Repo, aware, now_or
from commands.ledger.records import ClosureChange, ClosureCheckRecord
from commands.ledger.schema import closure_checks
from providers.models import BusinessStatus, Provider

__all__ = ["ClosureRepo", "closure_values"]


def closure_values(status: BusinessStatus, *, provider: Provider, checked_by: str | None,
                   now: dt.datetime) -> dict[str, object]:
    """The `closure_checks` row of one answer: what `ClosureRepo.record` and the sweep's batched
    insert (`SweepRepo.record_closures`) both write."""
    return {"bizno": status.bizno, "provider": provider.value, "state": status.state.value,
            "raw_state": status.raw_state, "tax_type": status.tax_type, "state_date": status.state_date,
            "detail": status.detail, "checked_at": aware(status.checked_at) or now, "checked_by": checked_by}


class ClosureRepo(Repo):
    """History of business closure (휴폐업) checks, one row per number per check."""

    async def record(
        self,
        statuses: Sequence[BusinessStatus],
        *,
        provider: Provider,
        checked_by: str | None,
        now: dt.datetime | None = None,
    ) -> list[ClosureCheckRecord]:
        if not statuses:
            return []
        rows = [closure_values(s, provider=provider, checked_by=checked_by, now=now_or(now)) for s in statuses]
        out = []
        async with self._db.write() as conn:
            for values in rows:
                row = (
                    (await conn.execute(sa.insert(closure_checks).values(**values).returning(*closure_checks.c)))
                    .mappings()
                    .one()
                )
                out.append(ClosureCheckRecord.from_row(row))
        return out

    async def latest(self, biznos: Collection[str]) -> dict[str, ClosureCheckRecord]:
        """The most recent check of each number (numbers never checked are absent)."""
        if not biznos:
            return {}
        c = closure_checks.c
        newest = sa.select(sa.func.max(c.id)).where(c.bizno.in_(list(biznos))).group_by(c.bizno)
        async with self._db.read() as conn:
            rows = (await conn.execute(sa.select(closure_checks).where(c.id.in_(newest)))).mappings().all()
        return {r["bizno"]: ClosureCheckRecord.from_row(r) for r in rows}

    async def history(self, bizno: str, *, limit: int = 20) -> list[ClosureCheckRecord]:
        """Newest first."""
        c = closure_checks.c
        stmt = sa.select(closure_checks).where(c.bizno == bizno).order_by(c.id.desc()).limit(limit)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [ClosureCheckRecord.from_row(r) for r in rows]

    async def changes_since(self, since: dt.datetime) -> list[ClosureChange]:
        """Numbers checked since `since` whose latest state differs from the check before it."""
        c = closure_checks.c
        async with self._db.read() as conn:
            checked = (await conn.execute(sa.select(c.bizno).where(c.checked_at >= since).distinct())).scalars().all()
        changes = []
        for bizno in sorted(checked):
            recent = await self.history(bizno, limit=2)
            if len(recent) == 2 and not recent[0].same_state(recent[1]):
                changes.append(ClosureChange(bizno=bizno, previous=recent[1], current=recent[0]))
        return changes
