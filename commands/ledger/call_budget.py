"""Calls spent today on providers that meter calls by the day, shared by every process.

Hiworks allows 1,000 calls a day per office (`providers.limits`). A sweep that counted in
memory would start from zero after a restart, and two replicas would each spend the whole
budget; so the count is a row per (provider, credentials scope, provider day) and every
reservation is a compare-and-set on it (``UPDATE ... WHERE calls = :seen``), portable to
SQLite and PostgreSQL alike. Callers reserve *before* calling and give back what they did
not use, so the count never runs behind the calls really made.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from commands.ledger._db import Repo, now_or
from commands.ledger.schema import provider_calls

__all__ = ["CallBudgetRepo"]

_ATTEMPTS = 20  # compare-and-set retries under contention before giving up (grant nothing)


class CallBudgetRepo(Repo):
    """Reserve, give back and read the calls spent per (provider, scope, day).

    Example::

        granted = await store.call_budget.reserve("hiworks", "", day, want=1200, limit=900)
        ...  # make at most `granted` calls
        await store.call_budget.give_back("hiworks", "", day, granted - made)
    """

    def _key(self, provider: str, scope: str, day: dt.date) -> sa.ColumnElement[bool]:
        c = provider_calls.c
        return sa.and_(c.provider == provider, c.scope == scope, c.day == day)

    async def spent(self, provider: str, scope: str, day: dt.date) -> int:
        """Calls recorded for `day` (0 when none)."""
        async with self._db.read() as conn:
            value = (await conn.execute(
                sa.select(provider_calls.c.calls).where(self._key(provider, scope, day)))).scalar_one_or_none()
        return int(value or 0)

    async def reserve(self, provider: str, scope: str, day: dt.date, *, want: int, limit: int,
                      now: dt.datetime | None = None) -> int:
        """Take up to `want` calls of what is left under `limit` for `day`; the number granted (maybe 0)."""
        if want <= 0:
            return 0
        now = now_or(now)
        await self._db.insert_first(provider_calls, {"provider": provider, "scope": scope, "day": day, "calls": 0,
                                                     "updated_at": now}, ("provider", "scope", "day"))
        for _ in range(_ATTEMPTS):
            seen = await self.spent(provider, scope, day)
            grant = max(0, min(want, limit - seen))
            if grant == 0:
                return 0
            stmt = (sa.update(provider_calls)
                    .where(self._key(provider, scope, day), provider_calls.c.calls == seen)
                    .values(calls=seen + grant, updated_at=now))
            async with self._db.write() as conn:
                if (await conn.execute(stmt)).rowcount == 1:
                    return grant
        return 0

    async def give_back(self, provider: str, scope: str, day: dt.date, calls: int,
                        now: dt.datetime | None = None) -> None:
        """Return reserved calls that were not made (never below zero)."""
        if calls <= 0:
            return
        c = provider_calls.c
        stmt = (sa.update(provider_calls).where(self._key(provider, scope, day))
                .values(calls=sa.case((c.calls > calls, c.calls - calls), else_=0), updated_at=now_or(now)))
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def record(self, provider: str, scope: str, day: dt.date, calls: int,
                     now: dt.datetime | None = None) -> None:
        """Count calls made outside a reservation (a person's status or issue command), unconditionally."""
        if calls <= 0:
            return
        now = now_or(now)
        await self._db.insert_first(provider_calls, {"provider": provider, "scope": scope, "day": day, "calls": 0,
                                                     "updated_at": now}, ("provider", "scope", "day"))
        stmt = (sa.update(provider_calls).where(self._key(provider, scope, day))
                .values(calls=provider_calls.c.calls + calls, updated_at=now))
        async with self._db.write() as conn:
            await conn.execute(stmt)
