"""Step executions: a Workflow Builder custom step waiting on one request.

Slack delivers ``function_executed`` at least once, and any replica may see the request's
outcome: `claim` lets the first delivery start the step (the execution id is the key) and
`finish` lets exactly one process complete it (open -> done by compare-and-set).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from commands.ledger._db import Repo, now_or
from commands.ledger.schema import step_executions

__all__ = ["StepExecutionRecord", "StepRepo"]

OPEN = "open"
DONE = "done"


@dataclass(frozen=True, slots=True)
class StepExecutionRecord:
    """One custom step execution (`bot_token`: the execution's own token, None once done)."""

    function_execution_id: str
    callback_id: str
    approval_id: int | None
    state: str
    bot_token: str | None
    team_id: str | None
    enterprise_id: str | None
    created_at: dt.datetime
    completed_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: RowMapping) -> StepExecutionRecord:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})

    @property
    def is_open(self) -> bool:
        return self.state == OPEN


class StepRepo(Repo):
    """Custom step executions and the requests they wait on."""

    async def claim(self, execution_id: str, callback_id: str, *, bot_token: str | None, team_id: str | None,
                    enterprise_id: str | None, now: dt.datetime | None = None) -> bool:
        """True for the first delivery of `execution_id` (a retried event must not request twice)."""
        return await self._db.insert_first(
            step_executions,
            {"function_execution_id": execution_id, "callback_id": callback_id, "state": OPEN,
             "bot_token": bot_token, "team_id": team_id, "enterprise_id": enterprise_id,
             "created_at": now_or(now)},
            conflict=["function_execution_id"],
        )

    async def attach(self, execution_id: str, approval_id: int) -> None:
        """The request the step waits on."""
        stmt = (sa.update(step_executions).where(step_executions.c.function_execution_id == execution_id)
                .values(approval_id=approval_id))
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def get(self, execution_id: str) -> StepExecutionRecord | None:
        stmt = sa.select(step_executions).where(step_executions.c.function_execution_id == execution_id)
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return StepExecutionRecord.from_row(row) if row is not None else None

    async def open_for(self, approval_id: int) -> list[StepExecutionRecord]:
        """The open steps waiting on request `approval_id`."""
        stmt = (sa.select(step_executions)
                .where(step_executions.c.approval_id == approval_id, step_executions.c.state == OPEN)
                .order_by(step_executions.c.created_at))
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [StepExecutionRecord.from_row(r) for r in rows]

    async def open_waiting(self, *, limit: int = 500) -> list[StepExecutionRecord]:
        """Open steps attached to a request, oldest first (the sweep that survives restarts)."""
        stmt = (sa.select(step_executions)
                .where(step_executions.c.state == OPEN, step_executions.c.approval_id.is_not(None))
                .order_by(step_executions.c.created_at).limit(limit))
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [StepExecutionRecord.from_row(r) for r in rows]

    async def finish(self, execution_id: str, *, now: dt.datetime | None = None) -> StepExecutionRecord | None:
        """Move the step open -> done; the record as it was (with its token) for the one winner, else None."""
        before = await self.get(execution_id)
        if before is None or not before.is_open:
            return None
        stmt = (sa.update(step_executions)
                .where(step_executions.c.function_execution_id == execution_id, step_executions.c.state == OPEN)
                .values(state=DONE, completed_at=now_or(now), bot_token=None))
        async with self._db.write() as conn:
            moved = (await conn.execute(stmt)).rowcount
        return before if moved == 1 else None

    async def reopen(self, record: StepExecutionRecord) -> None:
        """Undo `finish` when Slack could not be told (the sweep tries again)."""
        stmt = (sa.update(step_executions)
                .where(step_executions.c.function_execution_id == record.function_execution_id,
                       step_executions.c.state == DONE)
                .values(state=OPEN, completed_at=None, bot_token=record.bot_token))
        async with self._db.write() as conn:
            await conn.execute(stmt)
