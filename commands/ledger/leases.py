"""Leases on run claims: a daily digest or sweep runs once even when the replica running it dies.

A plain claim (an INSERT on a unique key) gives *at most once*: the first claimer wins, and if
it is killed before it finishes, the day's run is lost. A lease makes the claim temporary until
the work is done:

* `RunLeases.claim` inserts the (channel, day) row with its holder and ``lease_expires_at``;
* the holder renews the lease while it works (`RunLeases.kept` does it in the background)
  and marks the run done at the end (`RunLeases.done`, final: nobody can claim it again);
* a claim whose lease ran out and that is not done belonged to a replica that died (or hung
  longer than a lease): another replica takes it over with a compare-and-set (``UPDATE ...
  WHERE done_at IS NULL AND lease_expires_at <= now``), so exactly one taker wins. The taker
  gets a `Lease` with ``taken_over`` set: the dead holder may have done part of the work
  (posted the digest), so side effects outside the database are reconciled before redoing them.

Claims made without a lease (``lease_expires_at`` NULL: `DigestRepo.claim_run` and rows from
before migration ``0011_leases``) never expire: they keep their at-most-once meaning.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from commands.ledger._db import Db, Repo, now_or
from commands.ledger.schema import digest_runs

__all__ = ["Lease", "RunLeases"]

log = logging.getLogger("invoicebot.leases")


@dataclass(frozen=True, slots=True)
class Lease:
    """A held claim on one run.

    Attributes:
        claimed_at: when the run was *first* claimed (a taker-over keeps it): anything the run
            did outside the database happened after this instant.
        taken_over: a previous holder's lease ran out unfinished: reconcile before redoing its work.
    """

    channel_id: str
    day: dt.date
    holder: str
    claimed_at: dt.datetime
    expires_at: dt.datetime
    taken_over: bool = False


class RunLeases(Repo):
    """Claim, renew, finish and take over the leased rows of ``digest_runs``.

    Example::

        leases = RunLeases.of(store.engine)
        lease = await leases.claim("C123", day, "replica-1", ttl=dt.timedelta(seconds=20))
        if lease is not None:
            async with leases.kept(lease, ttl=dt.timedelta(seconds=20)):
                ...  # the work
            await leases.done(lease)
    """

    @classmethod
    def of(cls, engine: AsyncEngine) -> RunLeases:
        """The leases in the database of `engine` (a `Store`'s ``engine``)."""
        return cls(Db(engine))

    async def claim(self, channel_id: str, day: dt.date, holder: str, *, ttl: dt.timedelta,
                    now: dt.datetime | None = None) -> Lease | None:
        """A fresh claim, or the takeover of an expired unfinished one; None when the run is held or done."""
        at = now_or(now)
        expires = at + ttl
        r = digest_runs.c
        insert = (self._db.insert(digest_runs)
                  .values(channel_id=channel_id, day=day, claimed_at=at, claimed_by=holder, lease_expires_at=expires)
                  .on_conflict_do_nothing(index_elements=["channel_id", "day"])
                  .returning(r.claimed_at))
        takeover = (sa.update(digest_runs)
                    .where(r.channel_id == channel_id, r.day == day, r.done_at.is_(None),
                           r.lease_expires_at.is_not(None), r.lease_expires_at <= at)
                    .values(claimed_by=holder, lease_expires_at=expires, takeovers=r.takeovers + 1)
                    .returning(r.claimed_at))
        async with self._db.write() as conn:
            row = (await conn.execute(insert)).first()
            if row is not None:
                return Lease(channel_id, day, holder, row[0], expires)
            row = (await conn.execute(takeover)).first()
        if row is None:
            return None
        log.warning("run %s on %s: the previous holder's lease ran out unfinished; %s takes it over",
                    channel_id, day, holder)
        return Lease(channel_id, day, holder, row[0], expires, taken_over=True)

    def _mine(self, lease: Lease) -> sa.ColumnElement[bool]:
        r = digest_runs.c
        return sa.and_(r.channel_id == lease.channel_id, r.day == lease.day, r.claimed_by == lease.holder,
                       r.done_at.is_(None))

    async def renew(self, lease: Lease, *, ttl: dt.timedelta, now: dt.datetime | None = None) -> Lease | None:
        """Push the expiry `ttl` past now; None when the lease is no longer ours (taken over or done)."""
        expires = now_or(now) + ttl
        stmt = sa.update(digest_runs).where(self._mine(lease)).values(lease_expires_at=expires)
        async with self._db.write() as conn:
            moved = (await conn.execute(stmt)).rowcount == 1
        return Lease(lease.channel_id, lease.day, lease.holder, lease.claimed_at, expires,
                     lease.taken_over) if moved else None

    async def done(self, lease: Lease, *, now: dt.datetime | None = None) -> bool:
        """Mark the run finished (final); False when it was not ours any more or already done."""
        stmt = sa.update(digest_runs).where(self._mine(lease)).values(done_at=now_or(now))
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def expired(self, *, now: dt.datetime | None = None) -> list[tuple[str, dt.date]]:
        """(channel, day) of the unfinished runs whose lease ran out: their holders died."""
        r = digest_runs.c
        stmt = (sa.select(r.channel_id, r.day)
                .where(r.done_at.is_(None), r.lease_expires_at.is_not(None), r.lease_expires_at <= now_or(now))
                .order_by(r.day, r.channel_id))
        async with self._db.read() as conn:
            return [(str(c), d) for c, d in (await conn.execute(stmt)).all()]

    @contextlib.asynccontextmanager
    async def kept(self, lease: Lease, *, ttl: dt.timedelta,
                   clock: Callable[[], dt.datetime] | None = None) -> AsyncIterator[Lease]:
        """Renew `lease` every third of `ttl` while the body runs (a live holder is never taken over)."""

        async def renew_forever() -> None:
            while True:
                await asyncio.sleep(max(ttl.total_seconds() / 3, 0.05))
                if await self.renew(lease, ttl=ttl, now=clock() if clock else None) is None:
                    log.warning("lease on %s %s lost by %s", lease.channel_id, lease.day, lease.holder)
                    return

        task = asyncio.ensure_future(renew_forever())
        try:
            yield lease
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
