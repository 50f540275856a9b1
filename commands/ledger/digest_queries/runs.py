"""Posted digests: when a channel's digest last went out, and giving back a claim that never posted.

A digest is posted two ways: the scheduled one completes its claimed `digest_runs` row,
``digest now`` claims no row (it must not stop the day's scheduled digest). Both write a
`digest_posts` row, so "the newest digest posted in a channel" is one indexed read of that
table whichever way it was posted.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from commands.ledger.db import write_engine
from commands.ledger.digest_queries.rows import PostedRun, fetch
from commands.ledger.digests import posted_runs
from commands.ledger.schema import digest_posts, digest_runs
from commands.ledger.store import Store
from commands.ledger.workspaces import WorkspaceScope, owned_by

__all__ = ["last_posted_digest", "last_posted_run", "latest_posted_run", "release_unposted_run"]


def _posted(row: RowMapping) -> PostedRun:
    return PostedRun(channel_id=row["channel_id"], day=row["day"], posted_at=row["posted_at"],
                     message_ts=row["message_ts"], summary=dict(row["summary"] or {}))


async def last_posted_run(store: Store, channel: str, *, before: dt.date | None = None) -> PostedRun | None:
    """The channel's newest *scheduled* digest that was posted (optionally before a day).

    Same question as `DigestRepo.previous_posted_at`, answered from the same statement.
    """
    rows = await fetch(store, posted_runs(channel, before=before).limit(1))
    return _posted(rows[0]) if rows else None


def _newest_posts() -> sa.Select[tuple[object, ...]]:
    p = digest_posts.c
    return (sa.select(p.channel_id, p.day, p.posted_at, p.message_ts, p.summary)
            .order_by(p.posted_at.desc(), p.id.desc()).limit(1))


async def last_posted_digest(store: Store, channel: str, *, before: dt.datetime | None = None) -> PostedRun | None:
    """The newest digest posted in `channel` whichever way (scheduled or ``digest now``),
    strictly before `before` when given.

    This is "the previous digest" of a digest's window, and what ``digest show`` reports.
    """
    stmt = _newest_posts().where(digest_posts.c.channel_id == channel)
    if before is not None:
        stmt = stmt.where(digest_posts.c.posted_at < before)
    rows = await fetch(store, stmt)
    return _posted(rows[0]) if rows else None


async def latest_posted_run(store: Store, workspace: WorkspaceScope | None = None) -> PostedRun | None:
    """The newest digest posted in any channel of `workspace` (or of none), whichever way
    (App Home shows its summary; another workspace's digest is never shown)."""
    rows = await fetch(store, _newest_posts().where(owned_by(digest_posts, workspace)))
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
