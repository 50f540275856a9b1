"""Approval requests: a row per request, moved along `vocabulary.TRANSITIONS` by compare-and-set.

An approval is never a flag in a Slack message. Its state lives here and changes only by
``UPDATE ... WHERE id = :id AND state IN (:expected)``, so of two approvers clicking at
once exactly one moves it. `ApprovalRepo.transition` also refuses, before touching the
database, any move the state machine does not declare (``succeeded → executing``, say),
so a caller's mistake is an error rather than a silently rewritten history.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from commands.ledger._db import Repo, jsonable, now_or, state_values
from commands.ledger.records import ApprovalRecord
from commands.ledger.schema import approval_requests, approval_votes
from commands.ledger.vocabulary import TRANSITIONS, ApprovalAction, ApprovalState
from commands.ledger.workspaces import WorkspaceScope, owned_by

__all__ = ["ApprovalRepo", "check_moves"]

#: built once: each step of an approval reads it again (`commands.ledger.documents` says why)
_BY_ID = sa.select(approval_requests).where(approval_requests.c.id == sa.bindparam("approval_id"))


@functools.cache
def _transition_statement(unexpired: bool, attempts_seen: bool, retryable_only: bool, count_attempt: bool,
                          changes: tuple[str, ...]) -> sa.Update:
    """`ApprovalRepo.transition`'s UPDATE for one combination of its options, built once (a few
    combinations exist: the conditions a move checks and the columns it sets, all known names)."""
    c = approval_requests.c
    where: list[sa.ColumnElement[bool]] = [c.id == sa.bindparam("approval_id"),
                                           c.state.in_(sa.bindparam("expected", expanding=True))]
    if unexpired:
        unexpired_at = sa.bindparam("unexpired_at", type_=c.expires_at.type)
        where.append(sa.or_(c.expires_at.is_(None), c.expires_at > unexpired_at))
    if attempts_seen:
        where.append(c.attempts == sa.bindparam("attempts_seen", type_=c.attempts.type))
    if retryable_only:
        where.append(c.retryable.is_(True))
    values: dict[str, Any] = {"state": sa.bindparam("to_state", type_=c.state.type),
                              "updated_at": sa.bindparam("now", type_=c.updated_at.type),
                              **{name: sa.bindparam(f"set_{name}", type_=c[name].type) for name in changes}}
    if count_attempt:
        values["attempts"] = c.attempts + 1
    return sa.update(approval_requests).where(*where).values(**values)


def check_moves(expected: ApprovalState | Collection[ApprovalState], to: ApprovalState) -> None:
    """Raise ValueError unless every ``expected → to`` is a move `TRANSITIONS` declares."""
    sources = [expected] if isinstance(expected, str) else list(expected)
    for source in sources:
        state = ApprovalState(source)
        if to not in TRANSITIONS[state]:
            raise ValueError(f"approval state machine has no move {state.value} → {ApprovalState(to).value}")


class ApprovalRepo(Repo):
    """Approval requests and their compare-and-set state machine (see `ApprovalState`)."""

    _CHANGEABLE: ClassVar[frozenset[str]] = frozenset(
        {
            "decider",
            "decided_at",
            "reason",
            "outcome_code",
            "outcome_message",
            "user_hint",
            "retryable",
            "started_at",
            "finished_at",
        }
    )

    async def create(
        self,
        *,
        action: ApprovalAction,
        document_id: int,
        requester: str,
        state: ApprovalState = ApprovalState.PENDING,
        payload: Mapping[str, Any] | None = None,
        reason: str | None = None,
        expires_at: dt.datetime | None = None,
        idempotency_key: str | None = None,
        decider: str | None = None,
        origin_channel_id: str | None = None,
        origin_thread_ts: str | None = None,
        team_id: str | None = None,
        enterprise_id: str | None = None,
        resubmits_request_id: int | None = None,
        required_approvals: int = 1,
        override_reason: str | None = None,
        now: dt.datetime | None = None,
    ) -> ApprovalRecord:
        now = now_or(now)
        values: dict[str, Any] = {
            "action": action.value,
            "document_id": document_id,
            "requester": requester,
            "state": state.value,
            "payload": jsonable(payload),
            "reason": reason,
            "expires_at": expires_at,
            "idempotency_key": idempotency_key,
            "decider": decider,
            "decided_at": now if state is ApprovalState.APPROVED else None,
            "origin_channel_id": origin_channel_id,
            "origin_thread_ts": origin_thread_ts,
            "team_id": team_id,
            "enterprise_id": enterprise_id,
            "resubmits_request_id": resubmits_request_id,
            "required_approvals": max(1, required_approvals),
            "override_reason": override_reason,
            "created_at": now,
            "updated_at": now,
        }
        async with self._db.write() as conn:
            row = (
                (await conn.execute(sa.insert(approval_requests).values(**values).returning(*approval_requests.c)))
                .mappings()
                .one()
            )
        return ApprovalRecord.from_row(row)

    async def get(self, approval_id: int) -> ApprovalRecord | None:
        async with self._db.read() as conn:
            row = (await conn.execute(_BY_ID, {"approval_id": approval_id})).mappings().first()
        return ApprovalRecord.from_row(row) if row else None

    async def transition(
        self,
        approval_id: int,
        *,
        expected: ApprovalState | Collection[ApprovalState],
        to: ApprovalState,
        now: dt.datetime | None = None,
        unexpired_at: dt.datetime | None = None,
        attempts_seen: int | None = None,
        retryable_only: bool = False,
        count_attempt: bool = False,
        **changes: Any,
    ) -> bool:
        """Move `approval_id` from one of `expected` to `to`; True when this call moved it.

        Raises ValueError, before any SQL, when some ``expected → to`` is not in `TRANSITIONS`.

        Args:
            unexpired_at: also require ``expires_at`` to be unset or later than this instant.
            attempts_seen: also require ``attempts`` to equal this (take over a stuck execution
                exactly once).
            retryable_only: also require the ``retryable`` flag.
            count_attempt: increment ``attempts``.
            changes: other columns to set (decider, reason, outcome_code, ...).
        """
        check_moves(expected, to)
        unknown = set(changes) - self._CHANGEABLE
        if unknown:
            raise TypeError(f"cannot set {sorted(unknown)} on an approval request")
        stmt = _transition_statement(unexpired_at is not None, attempts_seen is not None, retryable_only,
                                     count_attempt, tuple(sorted(changes)))
        params: dict[str, Any] = {"approval_id": approval_id, "expected": state_values(expected), "to_state": to.value,
                                  "now": now_or(now), **{f"set_{name}": value for name, value in changes.items()}}
        if unexpired_at is not None:
            params["unexpired_at"] = unexpired_at
        if attempts_seen is not None:
            params["attempts_seen"] = attempts_seen
        async with self._db.write() as conn:
            return (await conn.execute(stmt, params)).rowcount == 1

    async def merge_payload(
        self,
        approval_id: int,
        extra: Mapping[str, Any],
        *,
        expected: ApprovalState | Collection[ApprovalState],
        now: dt.datetime | None = None,
    ) -> bool:
        """Add `extra` to a request's payload while it is in `expected`; True when it did.

        For what a decision must carry to its execution (an approver's confirmation of a late
        issue); the read and the write share one write transaction, so no other write interleaves.
        """
        c = approval_requests.c
        where = [c.id == approval_id, c.state.in_(state_values(expected))]
        async with self._db.write() as conn:
            row = (await conn.execute(sa.select(c.payload).where(*where))).first()
            if row is None:
                return False
            payload = {**(row[0] or {}), **jsonable(dict(extra))}
            stmt = sa.update(approval_requests).where(*where).values(payload=payload, updated_at=now_or(now))
            return (await conn.execute(stmt)).rowcount == 1

    async def set_card(
        self, approval_id: int, channel_id: str, message_ts: str, *, now: dt.datetime | None = None
    ) -> bool:
        """Remember where the approval card was posted, so it can be updated later."""
        stmt = (
            sa.update(approval_requests)
            .where(approval_requests.c.id == approval_id)
            .values(channel_id=channel_id, message_ts=message_ts, updated_at=now_or(now))
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def search(
        self,
        *,
        states: ApprovalState | Collection[ApprovalState] | None = None,
        action: ApprovalAction | None = None,
        document_id: int | None = None,
        exclude_requester: str | None = None,
        started_before: dt.datetime | None = None,
        expired_at: dt.datetime | None = None,
        limit: int = 100,
        workspace: WorkspaceScope | None = None,
    ) -> list[ApprovalRecord]:
        """Oldest first; `workspace`'s requests only (and those of no workspace) when given.

        Args:
            exclude_requester: leave out requests by this user (what an approver may decide).
            started_before: only executions started before this instant (stuck ones).
            expired_at: only requests whose ``expires_at`` is at or before this instant.
        """
        c = approval_requests.c
        stmt = sa.select(approval_requests).where(owned_by(approval_requests, workspace)).order_by(c.id).limit(limit)
        if states is not None:
            stmt = stmt.where(c.state.in_(state_values(states)))
        if action is not None:
            stmt = stmt.where(c.action == action.value)
        if document_id is not None:
            stmt = stmt.where(c.document_id == document_id)
        if exclude_requester is not None:
            stmt = stmt.where(c.requester != exclude_requester)
        if started_before is not None:
            stmt = stmt.where(sa.or_(c.started_at.is_(None), c.started_at <= started_before))
        if expired_at is not None:
            stmt = stmt.where(c.expires_at.is_not(None), c.expires_at <= expired_at)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [ApprovalRecord.from_row(r) for r in rows]

    async def count(self, states: ApprovalState | Collection[ApprovalState]) -> int:
        stmt = sa.select(sa.func.count()).where(approval_requests.c.state.in_(state_values(states)))
        async with self._db.read() as conn:
            return int((await conn.execute(stmt)).scalar_one())


    async def resubmission_of(self, approval_id: int) -> ApprovalRecord | None:
        """The request that resubmits `approval_id` (edited and sent again), if there is one."""
        c = approval_requests.c
        stmt = sa.select(approval_requests).where(c.resubmits_request_id == approval_id).order_by(c.id).limit(1)
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return ApprovalRecord.from_row(row) if row else None
    # ------------------------------------------------------------------ votes (N of M)

    async def add_vote(self, approval_id: int, approver: str, *, now: dt.datetime | None = None) -> bool:
        """Record that `approver` approved; True when this call added the vote, False when it was there.

        The unique (request, approver) key is what makes two concurrent clicks by one person count
        once while two people's clicks both count, on every backend and across processes.
        """
        values = {"approval_id": approval_id, "approver": approver, "voted_at": now_or(now)}
        return await self._db.insert_first(approval_votes, values, ("approval_id", "approver"))

    async def voters(self, approval_id: int) -> list[str]:
        """Who approved `approval_id`, in the order they did."""
        c = approval_votes.c
        stmt = sa.select(c.approver).where(c.approval_id == approval_id).order_by(c.id)
        async with self._db.read() as conn:
            return [str(v) for v in (await conn.execute(stmt)).scalars().all()]
