"""Posted digests: when a channel's digest last went out, and giving back a claim that never posted.

A digest is posted two ways: the scheduled one completes its claimed `digest_runs` row,
``digest now`` claims no row (it must not stop the day's scheduled digest) and leaves only
its audit event (`AuditOperation.DIGEST_NOW`, outcome ``posted``, detail with the channel,
message ts and summary). Every post, either way, writes that audit event, so "the newest
digest posted in a channel" reads the events; runs posted before events carried a summary
(or written by hand) are read too, and the newer of the two wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from commands.ledger.db import write_engine
from commands.ledger.digest_queries.rows import PostedRun, fetch
from commands.ledger.digests import posted_runs
from commands.ledger.schema import audit_events, digest_runs
from commands.ledger.store import Store
from commands.ledger.vocabulary import AuditKind, AuditOperation

__all__ = ["last_posted_digest", "last_posted_run", "latest_posted_run", "release_unposted_run"]

#: the outcome `post_digest` records once the message is in the channel
POSTED_OUTCOME = "posted"
_POSTS = (AuditOperation.DIGEST_SCHEDULED.value, AuditOperation.DIGEST_NOW.value)
#: digest events read per query; a channel posts a few a day, so this spans weeks
_EVENT_PAGE = 500
_SUMMARY_SKIP = frozenset({"channel", "ts", "day"})


def _posted(row: RowMapping) -> PostedRun:
    return PostedRun(channel_id=row["channel_id"], day=row["day"], posted_at=row["posted_at"],
                     message_ts=row["message_ts"], summary=dict(row["summary"] or {}))


def _from_event(at: dt.datetime, detail: Mapping[str, Any]) -> PostedRun:
    day = detail.get("day")
    return PostedRun(
        channel_id=str(detail.get("channel") or ""),
        day=dt.date.fromisoformat(day) if isinstance(day, str) else day if isinstance(day, dt.date) else None,
        posted_at=at,
        message_ts=str(detail["ts"]) if detail.get("ts") else None,
        summary={k: v for k, v in detail.items() if k not in _SUMMARY_SKIP},
    )


async def _posted_events(store: Store, channel: str | None, *, before: dt.datetime | None) -> PostedRun | None:
    """The newest posted-digest event (of `channel`, or any), strictly before `before` when given."""
    e = audit_events.c
    where = [e.action == AuditKind.DIGEST.value, e.operation.in_(_POSTS), e.outcome == POSTED_OUTCOME]
    if before is not None:
        where.append(e.at < before)
    stmt = sa.select(e.at, e.detail).where(*where).order_by(e.at.desc(), e.id.desc()).limit(_EVENT_PAGE)
    for r in await fetch(store, stmt):
        detail = dict(r["detail"] or {})
        if channel is None or detail.get("channel") == channel:  # the channel sits in JSON: filtered here
            return _from_event(r["at"], detail)
    return None


def _newer(a: PostedRun | None, b: PostedRun | None) -> PostedRun | None:
    if a is None or b is None:
        return a or b
    return a if a.posted_at >= b.posted_at else b


async def last_posted_run(store: Store, channel: str, *, before: dt.date | None = None) -> PostedRun | None:
    """The channel's newest *scheduled* digest that was posted (optionally before a day).

    Same question as `DigestRepo.previous_posted_at`, answered from the same statement.
    """
    rows = await fetch(store, posted_runs(channel, before=before).limit(1))
    return _posted(rows[0]) if rows else None


async def last_posted_digest(store: Store, channel: str, *, before: dt.datetime | None = None) -> PostedRun | None:
    """The newest digest posted in `channel` whichever way (scheduled or ``digest now``).

    This is "the previous digest" of a digest's window, and what ``digest show`` reports.
    """
    return _newer(await _posted_events(store, channel, before=before), await last_posted_run(store, channel))


async def latest_posted_run(store: Store) -> PostedRun | None:
    """The newest digest posted in any channel, whichever way (App Home shows its summary)."""
    r = digest_runs.c
    stmt = sa.select(digest_runs).where(r.posted_at.is_not(None)).order_by(r.posted_at.desc()).limit(1)
    rows = await fetch(store, stmt)
    return _newer(await _posted_events(store, None, before=None), _posted(rows[0]) if rows else None)


async def release_unposted_run(store: Store, channel: str, day: dt.date, instance: str) -> bool:
    """Give back a claim whose digest could not be posted at all, so a later attempt may post it.

    Only the claimer's own row, and only while nothing was posted (``posted_at`` unset).
    """
    r = digest_runs.c
    stmt = sa.delete(digest_runs).where(r.channel_id == channel, r.day == day, r.claimed_by == instance,
                                        r.posted_at.is_(None))
    async with write_engine(store.engine).begin() as conn:
        return (await conn.execute(stmt)).rowcount == 1
