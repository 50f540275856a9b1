"""Idempotency keys: a claim on a provider write, taken with a unique INSERT before the write is sent.

A write whose answer never came back leaves its key IN_FLIGHT, and nobody may send it
again until someone has asked the provider what happened; a definite failure (FAILED)
frees the key for one retry. That is what keeps a double click, a retry and a restart
from issuing the same invoice twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from commands.ledger._db import Repo, jsonable, now_or
from commands.ledger.records import Claim, IdempotencyRecord
from commands.ledger.schema import idempotency_keys
from commands.ledger.vocabulary import IdempotencyState

__all__ = ["IdempotencyConflict", "IdempotencyRepo"]

#: built once: every provider write reads and finishes its key, and building a statement and its
#: cache key per call cost more CPU than running it (`commands.ledger.documents` says more)
_BY_KEY = sa.select(idempotency_keys).where(idempotency_keys.c.key == sa.bindparam("key"))
_FINISH = (
    sa.update(idempotency_keys)
    .where(idempotency_keys.c.key == sa.bindparam("finished_key"))
    .values(state=sa.bindparam("to", type_=idempotency_keys.c.state.type),
            result=sa.bindparam("result_value", type_=idempotency_keys.c.result.type),
            updated_at=sa.bindparam("now", type_=idempotency_keys.c.updated_at.type))
)


class IdempotencyConflict(Exception):
    """The key was already used for a different request."""


class IdempotencyRepo(Repo):
    """Claims on provider writes, taken with a unique INSERT before the write is sent."""

    async def claim(
        self, key: str, operation: str, request_hash: str, *, now: dt.datetime | None = None
    ) -> Claim:
        now = now_or(now)
        inserted = await self._db.insert_first(
            idempotency_keys,
            {
                "key": key,
                "operation": operation,
                "request_hash": request_hash,
                "state": IdempotencyState.IN_FLIGHT.value,
                "attempts": 1,
                "created_at": now,
                "updated_at": now,
            },
            conflict=["key"],
        )
        if not inserted:
            # a definite failure means nothing happened: the key may be used again, by one caller
            stmt = (
                sa.update(idempotency_keys)
                .where(
                    idempotency_keys.c.key == key,
                    idempotency_keys.c.state == IdempotencyState.FAILED.value,
                    idempotency_keys.c.request_hash == request_hash,
                )
                .values(
                    state=IdempotencyState.IN_FLIGHT.value, attempts=idempotency_keys.c.attempts + 1, updated_at=now
                )
            )
            async with self._db.write() as conn:
                inserted = (await conn.execute(stmt)).rowcount == 1
        record = await self.get(key)
        if record is None:  # pragma: no cover - rows are never deleted
            raise RuntimeError(f"idempotency key {key} vanished")
        if record.request_hash != request_hash:
            raise IdempotencyConflict(f"idempotency key {key} was already used for a different {record.operation}")
        return Claim(claimed=inserted, record=record)

    async def get(self, key: str) -> IdempotencyRecord | None:
        async with self._db.read() as conn:
            row = (await conn.execute(_BY_KEY, {"key": key})).mappings().first()
        return IdempotencyRecord.from_row(row) if row else None

    async def complete(self, key: str, result: Mapping[str, Any] | None, *, now: dt.datetime | None = None) -> None:
        await self._finish(key, IdempotencyState.DONE, result, now)

    async def fail(self, key: str, result: Mapping[str, Any] | None = None, *, now: dt.datetime | None = None) -> None:
        """Record that the write definitely did not happen (the key may be claimed again)."""
        await self._finish(key, IdempotencyState.FAILED, result, now)

    async def _finish(
        self, key: str, state: IdempotencyState, result: Mapping[str, Any] | None, now: dt.datetime | None
    ) -> None:
        params = {"finished_key": key, "to": state.value, "now": now_or(now),
                  "result_value": jsonable(result) if result is not None else None}
        async with self._db.write() as conn:
            await conn.execute(_FINISH, params)
