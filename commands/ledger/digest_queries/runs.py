"""Posted digest runs: when a channel's digest last went out, and giving back a claim that never posted."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from commands.ledger.db import write_engine
from commands.ledger.digest_queries.rows import PostedRun, fetch
from commands.ledger.digests import posted_runs
from commands.ledger.schema import digest_runs
from commands.ledger.store import Store

__all__ = ["last_posted_run", "latest_posted_run", "release_unposted_run"]


def _posted(row: RowMapping) -> PostedRun:
    return PostedRun(channel_id=row["channel_id"], day=row["day"], posted_at=row["posted_at"],
                     message_ts=row["message_ts"], summary=dict(row["summary"] or {}))


async def last_posted_run(store: Store, channel: str, *, before: dt.date | None = None) -> PostedRun | None:
    """The channel's newest digest that was actually posted (optionally before a day).

    Same question as `DigestRepo.previous_posted_at`, answered from the same statement.
    """
    rows = await fetch(store, posted_runs(channel, before=before).limit(1))
    return _posted(rows[0]) if rows else None


async def latest_posted_run(store: Store) -> PostedRun | None:
    """The newest digest posted in any channel (App Home shows its summary)."""
    r = digest_runs.c
    stmt = sa.select(digest_runs).where(r.posted_at.is_not(None)).order_by(r.posted_at.desc()).limit(1)
    rows = await fetch(store, stmt)
    return _posted(rows[0]) if rows else None


async def release_unposted_run(store: Store, channel: str, day: dt.date, instance: str) -> bool:
    """Give back a claim whose digest could not be posted at all, so a later attempt may post it.

    Only the claimer's own row, and only while nothing was posted (``posted_at`` unset).
    """
    r = digest_runs.c
    stmt = sa.delete(digest_runs).where(r.channel_id == channel, r.day == day, r.claimed_by == instance,
                                        r.posted_at.is_(None))
    async with write_engine(store.engine).begin() as conn:
        return (await conn.execute(stmt)).rowcount == 1
