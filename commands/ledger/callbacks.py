"""Provider callbacks (webhooks), deduplicated: providers deliver at least once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from commands.ledger._db import Repo, jsonable, now_or
from commands.ledger.records import CallbackEventRecord
from commands.ledger.schema import callback_events

__all__ = ["CallbackRepo"]


class CallbackRepo(Repo):
    """Provider callbacks (webhooks), deduplicated: providers deliver at least once."""

    async def record(
        self, provider: str, dedup_key: str, payload: Mapping[str, Any] | None, *, now: dt.datetime | None = None
    ) -> bool:
        """True the first time (provider, dedup_key) is seen."""
        return await self._db.insert_first(
            callback_events,
            {"provider": provider, "dedup_key": dedup_key, "received_at": now_or(now), "payload": jsonable(payload)},
            conflict=["provider", "dedup_key"],
        )

    async def recent(self, provider: str | None = None, *, limit: int = 50) -> list[CallbackEventRecord]:
        stmt = sa.select(callback_events).order_by(callback_events.c.id.desc()).limit(limit)
        if provider is not None:
            stmt = stmt.where(callback_events.c.provider == provider)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [CallbackEventRecord.from_row(r) for r in rows]
