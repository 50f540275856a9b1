"""Replay keys: each state-changing Slack request is handled once.

Slack signs a request, not a moment: an exact copy replayed inside the five-minute signature
window verifies again, and Slack itself redelivers events (``X-Slack-Retry-Num``). The
Slack side derives a key its replay repeats and claims it here with a unique INSERT before
doing the work, so the second delivery does nothing, on this process or any other sharing the
database.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from commands.ledger._db import Repo, now_or
from commands.ledger.schema import replay_keys

__all__ = ["ReplayRepo"]


class ReplayRepo(Repo):
    """Keys of Slack requests already handled."""

    async def claim(self, key: str, kind: str, *, now: dt.datetime | None = None) -> bool:
        """True for the first delivery of `key` (the caller does the work), False for a replay."""
        return await self._db.insert_first(
            replay_keys, {"key": key[:200], "kind": kind[:16], "received_at": now_or(now)}, conflict=["key"]
        )

    async def release(self, key: str) -> None:
        """Forget `key`: its work did not happen (the database failed under it), so a retry may do it."""
        async with self._db.write() as conn:
            await conn.execute(sa.delete(replay_keys).where(replay_keys.c.key == key[:200]))

    async def prune(self, before: dt.datetime) -> int:
        """Forget keys received before `before` (long past Slack's five-minute window)."""
        async with self._db.write() as conn:
            result = await conn.execute(sa.delete(replay_keys).where(replay_keys.c.received_at < before))
        return int(result.rowcount or 0)
