"""Idempotency keys: a claim on a provider write, taken with a unique INSERT before the write is sent.

A write whose answer never came back leaves its key IN_FLIGHT, and nobody may send it
again until someone has asked the provider what happened; a definite failure (FAILED)
frees the key for one retry. That is what keeps a double click, a retry and a restart
from issuing the same invoice twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
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
#: a key whose write definitely failed, taken again for the same request (one caller wins it)
_RETAKE = (
    sa.update(idempotency_keys)
    .where(idempotency_keys.c.key == sa.bindparam("claim_key"),
           idempotency_keys.c.state == IdempotencyState.FAILED.value,
           idempotency_keys.c.request_hash == sa.bindparam("claim_hash"))
    .values(state=IdempotencyState.IN_FLIGHT.value, attempts=idempotency_keys.c.attempts + 1,
            updated_at=sa.bindparam("claim_now", type_=idempotency_keys.c.updated_at.type))
)
_FINISH = (
    sa.update(idempotency_keys)
    .where(idempotency_keys.c.key == sa.bindparam("finished_key"))
    .values(state=sa.bindparam("to", type_=idempotency_keys.c.state.type),
            result=sa.bindparam("result_value", type_=idempotency_keys.c.result.type),
            updated_at=sa.bindparam("now", type_=idempotency_keys.c.updated_at.type))
)


class IdempotencyConflict(Exception):
    """The key was already used for a different request."""


def _same_request(key: str, asked: str, found: Any) -> Any:
    """`found` (the key's stored record or row) when it holds the request asked for, else raise: the
    rule of `claim` and `claim_many`."""
    if found is None:  # pragma: no cover - rows are never deleted
        raise RuntimeError(f"idempotency key {key} vanished")
    if found.request_hash != asked:
        raise IdempotencyConflict(f"idempotency key {key} was already used for a different {found.operation}")
    return found


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
            async with self._db.write() as conn:
                retake = {"claim_key": key, "claim_hash": request_hash, "claim_now": now}
                inserted = (await conn.execute(_RETAKE, retake)).rowcount == 1
        record: IdempotencyRecord = _same_request(key, request_hash, await self.get(key))
        return Claim(claimed=inserted, record=record)

    async def claim_many(self, claims: Sequence[tuple[str, str]], operation: str, *,
                         now: dt.datetime | None = None) -> None:
        """`claim` for many (key, request hash) at once, in three statements instead of two per key
        (a bulk submission's rows): every key inserted unless it exists, a key whose write definitely
        failed taken again for the same request, then every key read back. Unlike `claim`, it does
        not say who won each key: a submission's rows are guarded by the submission recorded with them."""
        if not claims:
            return
        now = now_or(now)
        fresh = [{"key": key, "operation": operation, "request_hash": digest,
                  "state": IdempotencyState.IN_FLIGHT.value, "attempts": 1, "created_at": now, "updated_at": now}
                 for key, digest in claims]
        read = sa.select(idempotency_keys.c.key, idempotency_keys.c.operation, idempotency_keys.c.request_hash).where(
            idempotency_keys.c.key.in_([key for key, _digest in claims]))
        async with self._db.write() as conn:
            await conn.execute(self._db.insert(idempotency_keys).on_conflict_do_nothing(index_elements=["key"]), fresh)
            await conn.execute(_RETAKE, [{"claim_key": key, "claim_hash": digest, "claim_now": now}
                                         for key, digest in claims])
            found = {r.key: r for r in (await conn.execute(read)).all()}
        for key, digest in claims:
            _same_request(key, digest, found.get(key))

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
