"""DigestRepo: one run per channel and day across processes, schedules, and the previous posted digest."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from commands.ledger import Store
from commands.ledger import digest_queries as q


async def test_digest_run_is_claimed_once_per_channel_and_day(store: Store) -> None:
    day = dt.date(2024, 5, 1)

    claims = await asyncio.gather(*(store.claim_digest_run("C_FIN", day, f"instance-{i}") for i in range(30)))

    assert claims.count(True) == 1
    assert await store.claim_digest_run("C_FIN", day + dt.timedelta(days=1), "instance-0")
    assert await store.claim_digest_run("C_OPS", day, "instance-0")
    run = await store.digests.get_run("C_FIN", day)
    assert run is not None and run.claimed_by == f"instance-{claims.index(True)}" and run.posted_at is None
    assert await store.digests.finish_run("C_FIN", day, message_ts="1714521600.000200", summary={"issued": 3})
    posted = await store.digests.get_run("C_FIN", day)
    assert posted is not None and posted.message_ts == "1714521600.000200" and posted.summary == {"issued": 3}


async def test_digest_run_claim_across_two_engines(database_url: str) -> None:
    """Two bot processes, each with its own engine and pool, race for the same morning digest."""
    first, second = await Store.open(database_url, migrate=False), await Store.open(database_url, migrate=False)
    try:
        day = dt.date(2024, 5, 1)
        claims = await asyncio.gather(
            *(s.claim_digest_run("C_FIN", day, name) for _ in range(10) for s, name in ((first, "a"), (second, "b")))
        )
    finally:
        await first.close()
        await second.close()

    assert claims.count(True) == 1


async def test_digest_schedules_upsert(store: Store) -> None:
    await store.digests.upsert_schedule("C_FIN", time="09:00", created_by="U_ALICE")
    updated = await store.digests.upsert_schedule("C_FIN", time="08:30", timezone="UTC", created_by="U_BOB")
    await store.digests.upsert_schedule("C_OFF", time="10:00", enabled=False)

    assert (updated.time, updated.timezone, updated.created_by) == ("08:30", "UTC", "U_ALICE")
    assert [s.channel_id for s in await store.digests.list_schedules()] == ["C_FIN"]
    assert len(await store.digests.list_schedules(enabled_only=False)) == 2
    with pytest.raises(ValueError, match="HH:MM"):
        await store.digests.upsert_schedule("C_FIN", time="9am")
    assert await store.digests.delete_schedule("C_OFF")
    assert await store.digests.get_schedule("C_OFF") is None


async def test_previous_posted_at_is_the_channels_last_posted_digest(store: Store) -> None:
    may1, may2, may3 = (dt.date(2024, 5, d) for d in (1, 2, 3))
    posted1 = dt.datetime(2024, 5, 1, 0, 0, 5, tzinfo=dt.UTC)
    posted2 = dt.datetime(2024, 5, 2, 0, 1, tzinfo=dt.UTC)
    assert await store.digests.previous_posted_at("C_FIN") is None

    for day, at in ((may1, posted1), (may2, posted2)):
        assert await store.claim_digest_run("C_FIN", day, "a")
        assert await store.digests.finish_run("C_FIN", day, message_ts="1.2", now=at)
    assert await store.claim_digest_run("C_FIN", may3, "a")  # claimed, never posted: not a digest
    assert await store.claim_digest_run("C_OPS", may3, "a")
    assert await store.digests.finish_run("C_OPS", may3, message_ts="3.4")  # another channel's

    assert await store.digests.previous_posted_at("C_FIN") == posted2
    assert await store.digests.previous_posted_at("C_FIN", before=may3) == posted2
    assert await store.digests.previous_posted_at("C_FIN", before=may2) == posted1
    assert await store.digests.previous_posted_at("C_FIN", before=may1) is None
    run = await q.last_posted_run(store, "C_FIN", before=may2)  # the digest's reading agrees
    assert run is not None and run.posted_at == posted1


async def test_every_post_is_remembered_whether_scheduled_or_asked_for_now(store: Store) -> None:
    scheduled_at = dt.datetime(2024, 5, 1, 0, 0, 5, tzinfo=dt.UTC)
    now_at = dt.datetime(2024, 5, 1, 6, 30, tzinfo=dt.UTC)
    assert await store.claim_digest_run("C_FIN", dt.date(2024, 5, 1), "a")
    assert await store.digests.finish_run("C_FIN", dt.date(2024, 5, 1), message_ts="1.1", now=scheduled_at)
    await store.digests.record_post("C_FIN", message_ts="2.2", summary={"issued": 3}, now=now_at)
    await store.digests.record_post("C_OPS", message_ts="3.3", now=now_at - dt.timedelta(hours=1))

    newest = await q.last_posted_digest(store, "C_FIN")
    earlier = await q.last_posted_digest(store, "C_FIN", before=now_at)
    anywhere = await q.latest_posted_run(store)

    assert newest is not None and (newest.message_ts, newest.day, newest.summary) == ("2.2", None, {"issued": 3})
    assert earlier is not None and (earlier.message_ts, earlier.day) == ("1.1", dt.date(2024, 5, 1))
    assert anywhere is not None and anywhere.channel_id == "C_FIN" and anywhere.posted_at == now_at
    assert await q.last_posted_digest(store, "C_NONE") is None
