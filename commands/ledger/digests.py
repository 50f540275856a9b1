"""Per-channel digest schedules and the once-per-day run claims.

A run row is claimed (unique ``(channel_id, day)``) before a digest is posted and marked
posted afterwards, so two bot processes never both post the day's digest, and the next
digest knows when the previous one went out (`DigestRepo.previous_posted_at`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from commands.ledger._db import Repo, jsonable, now_or
from commands.ledger.records import DigestRunRecord, DigestScheduleRecord
from commands.ledger.schema import digest_posts, digest_runs, digest_schedules
from commands.ledger.workspaces import WorkspaceScope, scope_columns

__all__ = ["DigestRepo", "posted_runs"]

_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def posted_runs(channel_id: str, *, before: dt.date | None = None) -> sa.Select[Any]:
    """The channel's posted digest runs (optionally for days before `before`), newest day first.

    The one definition of "the previous digest of a channel": runs claimed but never posted
    do not count, and neither do extra posts that are not a day's digest (they claim no run).
    """
    r = digest_runs.c
    stmt = sa.select(digest_runs).where(r.channel_id == channel_id, r.posted_at.is_not(None))
    if before is not None:
        stmt = stmt.where(r.day < before)
    return stmt.order_by(r.day.desc())


class DigestRepo(Repo):
    """Per-channel digest schedules and the once-per-day run claims."""

    async def upsert_schedule(
        self,
        channel_id: str,
        *,
        time: str,
        timezone: str = "Asia/Seoul",
        enabled: bool = True,
        created_by: str | None = None,
        now: dt.datetime | None = None,
    ) -> DigestScheduleRecord:
        if not _TIME_OF_DAY.match(time):
            raise ValueError(f"digest time {time!r} must be HH:MM (24-hour)")
        ZoneInfo(timezone)  # raises for an unknown zone
        values = {
            "channel_id": channel_id,
            "time": time,
            "timezone": timezone,
            "enabled": enabled,
            "created_by": created_by,
            "updated_at": now_or(now),
        }
        update = {k: v for k, v in values.items() if k not in ("channel_id", "created_by")}
        stmt = (
            self._db.insert(digest_schedules)
            .values(**values)
            .on_conflict_do_update(index_elements=["channel_id"], set_=update)
            .returning(*digest_schedules.c)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(stmt)).mappings().one()
        return DigestScheduleRecord.from_row(row)

    async def get_schedule(self, channel_id: str) -> DigestScheduleRecord | None:
        async with self._db.read() as conn:
            row = (
                (await conn.execute(sa.select(digest_schedules).where(digest_schedules.c.channel_id == channel_id)))
                .mappings()
                .first()
            )
        return DigestScheduleRecord.from_row(row) if row else None

    async def list_schedules(self, *, enabled_only: bool = True) -> list[DigestScheduleRecord]:
        stmt = sa.select(digest_schedules).order_by(digest_schedules.c.channel_id)
        if enabled_only:
            stmt = stmt.where(digest_schedules.c.enabled.is_(True))
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [DigestScheduleRecord.from_row(r) for r in rows]

    async def delete_schedule(self, channel_id: str) -> bool:
        async with self._db.write() as conn:
            stmt = sa.delete(digest_schedules).where(digest_schedules.c.channel_id == channel_id)
            return (await conn.execute(stmt)).rowcount == 1

    async def claim_run(self, channel_id: str, day: dt.date, instance: str, *, now: dt.datetime | None = None) -> bool:
        """True for exactly one caller per (channel, day), across processes and databases."""
        return await self._db.insert_first(
            digest_runs,
            {"channel_id": channel_id, "day": day, "claimed_at": now_or(now), "claimed_by": instance},
            conflict=["channel_id", "day"],
        )

    async def finish_run(
        self,
        channel_id: str,
        day: dt.date,
        *,
        message_ts: str | None,
        summary: Mapping[str, Any] | None = None,
        now: dt.datetime | None = None,
        workspace: WorkspaceScope | None = None,
    ) -> bool:
        """Mark the day's claimed run posted and done (its lease is final), and record the post (one
        transaction) for `workspace`."""
        posted_at = now_or(now)
        stmt = (
            sa.update(digest_runs)
            .where(digest_runs.c.channel_id == channel_id, digest_runs.c.day == day)
            .values(posted_at=posted_at, message_ts=message_ts, summary=jsonable(summary), done_at=posted_at)
        )
        post = {"channel_id": channel_id, "posted_at": posted_at, "kind": "scheduled", "day": day,
                "message_ts": message_ts, "summary": jsonable(summary), **scope_columns(workspace)}
        async with self._db.write() as conn:
            if (await conn.execute(stmt)).rowcount != 1:
                return False
            await conn.execute(sa.insert(digest_posts).values(**post))
            return True

    async def record_post(
        self,
        channel_id: str,
        *,
        message_ts: str | None,
        summary: Mapping[str, Any] | None = None,
        now: dt.datetime | None = None,
        workspace: WorkspaceScope | None = None,
    ) -> None:
        """Remember a ``digest now`` post: it claims no day, so this row is all that remembers it
        (a scheduled digest is recorded by `finish_run`)."""
        values = {"channel_id": channel_id, "posted_at": now_or(now), "kind": "now", "day": None,
                  "message_ts": message_ts, "summary": jsonable(summary), **scope_columns(workspace)}
        async with self._db.write() as conn:
            await conn.execute(sa.insert(digest_posts).values(**values))

    async def set_schedule_workspace(self, channel_id: str, workspace: WorkspaceScope | None) -> None:
        """Record which workspace a channel's schedule belongs to (its digest posts with that
        workspace's token and reads that workspace's documents only)."""
        if workspace is None:
            return
        stmt = (sa.update(digest_schedules).where(digest_schedules.c.channel_id == channel_id)
                .values(**scope_columns(workspace)))
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def get_run(self, channel_id: str, day: dt.date) -> DigestRunRecord | None:
        stmt = sa.select(digest_runs).where(digest_runs.c.channel_id == channel_id, digest_runs.c.day == day)
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return DigestRunRecord.from_row(row) if row else None

    async def previous_posted_at(self, channel_id: str, *, before: dt.date | None = None) -> dt.datetime | None:
        """When the channel's previous digest was posted (before day `before`), None if never.

        A digest reports what happened since this instant, so consecutive digests neither
        overlap nor leave a gap.
        """
        async with self._db.read() as conn:
            row = (await conn.execute(posted_runs(channel_id, before=before).limit(1))).mappings().first()
        return DigestRunRecord.from_row(row).posted_at if row else None
