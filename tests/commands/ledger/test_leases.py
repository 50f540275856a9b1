"""RunLeases: a run is claimed once, renewed by its holder, taken over once its lease runs out
unfinished (compare-and-set: one taker among many), and final once done."""

from __future__ import annotations

import asyncio
import datetime as dt

from commands.ledger import Store
from commands.ledger.leases import RunLeases

DAY = dt.date(2026, 11, 30)
T0 = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(seconds=20)


def later(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


async def test_a_run_is_claimed_once_and_held_while_its_lease_runs(store: Store) -> None:
    leases = RunLeases.of(store.engine)

    lease = await leases.claim("C_FIN", DAY, "a", ttl=TTL, now=T0)
    assert lease is not None and not lease.taken_over
    assert (lease.holder, lease.claimed_at, lease.expires_at) == ("a", T0, later(20))
    assert await leases.claim("C_FIN", DAY, "b", ttl=TTL, now=later(19)) is None  # still held
    assert await leases.claim("C_OPS", DAY, "b", ttl=TTL, now=later(19)) is not None  # another channel
    assert await leases.expired(now=later(19)) == []


async def test_renewing_keeps_a_live_holder_from_being_taken_over(store: Store) -> None:
    leases = RunLeases.of(store.engine)
    lease = await leases.claim("C_FIN", DAY, "a", ttl=TTL, now=T0)
    assert lease is not None

    renewed = await leases.renew(lease, ttl=TTL, now=later(15))

    assert renewed is not None and renewed.expires_at == later(35)
    assert await leases.claim("C_FIN", DAY, "b", ttl=TTL, now=later(30)) is None
    assert await leases.expired(now=later(30)) == []


async def test_an_expired_unfinished_claim_is_taken_over_by_exactly_one_replica(store: Store) -> None:
    leases = RunLeases.of(store.engine)
    first = await leases.claim("C_FIN", DAY, "dead", ttl=TTL, now=T0)
    assert first is not None
    assert await leases.expired(now=later(21)) == [("C_FIN", DAY)]

    takers = await asyncio.gather(*(leases.claim("C_FIN", DAY, f"r{i}", ttl=TTL, now=later(21)) for i in range(12)))

    won = [t for t in takers if t is not None]
    assert len(won) == 1 and won[0].taken_over
    assert won[0].claimed_at == T0  # the first claim's time: what the dead holder did came after it
    # the dead holder wakes up: its lease is gone, it can neither renew nor finish
    assert await leases.renew(first, ttl=TTL, now=later(22)) is None
    assert not await leases.done(first, now=later(22))
    assert await leases.expired(now=later(22)) == []


async def test_done_is_final(store: Store) -> None:
    leases = RunLeases.of(store.engine)
    lease = await leases.claim("C_FIN", DAY, "a", ttl=TTL, now=T0)
    assert lease is not None

    assert await leases.done(lease, now=later(5))

    assert not await leases.done(lease, now=later(6))
    assert await leases.renew(lease, ttl=TTL, now=later(6)) is None
    assert await leases.claim("C_FIN", DAY, "b", ttl=TTL, now=later(3600)) is None  # long expired, still done
    assert await leases.expired(now=later(3600)) == []


async def test_a_claim_without_a_lease_never_expires(store: Store) -> None:
    """`Store.claim_digest_run` (and claims from before the migration) keep at-most-once."""
    assert await store.claim_digest_run("C_FIN", DAY, "old")
    leases = RunLeases.of(store.engine)

    assert await leases.claim("C_FIN", DAY, "b", ttl=TTL, now=later(10**6)) is None
    assert await leases.expired(now=later(10**6)) == []


async def test_a_lease_kept_in_the_background_is_renewed(store: Store) -> None:
    leases = RunLeases.of(store.engine)
    ttl = dt.timedelta(seconds=0.3)
    lease = await leases.claim("C_FIN", DAY, "a", ttl=ttl)
    assert lease is not None

    async with leases.kept(lease, ttl=ttl):
        await asyncio.sleep(0.8)  # more than two leases long
        assert await leases.claim("C_FIN", DAY, "b", ttl=ttl) is None

    await asyncio.sleep(0.4)
    taken = await leases.claim("C_FIN", DAY, "b", ttl=ttl)
    assert taken is not None and taken.taken_over
