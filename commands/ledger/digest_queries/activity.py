"""What happened around the documents: pending approvals, closure changes, sweeps and callbacks.

These answer questions no single repository owns ("what is waiting for a decision, and
on which document"), joining across tables through their indexes (``(state, expires_at)``,
``(bizno, id)``, ``audit_events.at``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from commands.ledger.digest_queries.rows import (
    DOC_COLUMNS,
    SWEEP_AUDIT_OPERATION,
    ApprovalRow,
    ClosureChangeRow,
    DocumentRow,
    Listing,
    SweepSummary,
    fetch,
)
from commands.ledger.schema import approval_requests, audit_events, callback_events, closure_checks, documents
from commands.ledger.store import Store
from commands.ledger.vocabulary import ApprovalState, AuditKind
from commands.ledger.workspaces import WorkspaceScope, owned_by
from providers.models import BusinessState

__all__ = ["callback_seen", "closure_changes", "last_sweep", "pending_approvals"]

#: business numbers per query (bound parameters stay far below every database's limit)
_NUMBERS_PER_QUERY = 1000


async def pending_approvals(
    store: Store, *, limit: int = 10, exclude_requester: str | None = None, channel: str | None = None,
    workspace: WorkspaceScope | None = None,
) -> Listing[ApprovalRow]:
    """Approval requests still pending, oldest first (the ones waiting longest lead).

    With `channel`, only the requests made in that channel: a channel's digest does not show
    what another channel is waiting for.
    """
    a = approval_requests.c
    where: list[sa.ColumnElement[bool]] = [a.state == ApprovalState.PENDING.value]
    if exclude_requester is not None:
        where.append(a.requester != exclude_requester)
    if channel is not None:
        where.append(a.origin_channel_id == channel)
    if workspace is not None:
        where.append(owned_by(approval_requests, workspace))
    count_rows = await fetch(store, sa.select(sa.func.count().label("n")).select_from(approval_requests).where(*where))
    count = int(count_rows[0]["n"]) if count_rows else 0
    if count == 0:
        return Listing()
    stmt = (
        sa.select(a.id.label("approval_id"), a.action, a.requester, a.created_at.label("requested_at"),
                  a.expires_at, *DOC_COLUMNS)
        .select_from(approval_requests.join(documents, documents.c.id == a.document_id))
        .where(*where)
        .order_by(a.created_at, a.id)
        .limit(limit)
    )
    rows = tuple(
        ApprovalRow(id=int(r["approval_id"]), action=r["action"], requester=r["requester"],
                    created_at=r["requested_at"], expires_at=r["expires_at"], document=DocumentRow.from_row(r))
        for r in await fetch(store, stmt)
    )
    return Listing(count=count, rows=rows)


async def closure_changes(store: Store, since: dt.datetime, *, limit: int = 10,
                          workspace: WorkspaceScope | None = None) -> Listing[ClosureChangeRow]:
    """Businesses whose closure state differs from the check before, for checks since `since`.

    A business's state is public-register data and its checks are shared (the sweep checks each
    buyer once for everyone), but a workspace's digest lists only its own buyers (numbers on
    `workspace`'s documents) with the names its own documents give them: another workspace's
    customers never show.

    Each check is compared with the one before it (``LAG`` over ``(bizno, id)``), so a change
    shows even when a later check since `since` confirmed the new state. Only the numbers
    checked since `since` are ranked, through the ``(bizno, id)`` index.
    """
    c = closure_checks.c
    # the numbers checked since `since` first (``checked_at`` index), then their checks by the
    # ``(bizno, id)`` index: a ``bizno IN (subquery)`` lets SQLite walk the whole index instead
    checked = await fetch(store, sa.select(c.bizno).where(c.checked_at >= since))
    recent = sorted({str(r["bizno"]) for r in checked})
    if workspace is not None:
        recent = await _buyers_among(store, recent, workspace)
    found: list[RowMapping] = []
    for start in range(0, len(recent), _NUMBERS_PER_QUERY):
        found += await fetch(store, _changes_among(recent[start:start + _NUMBERS_PER_QUERY], since))
    found.sort(key=lambda r: -int(r["id"]))
    latest: dict[str, RowMapping] = {}
    for r in found[:500]:
        latest.setdefault(r["bizno"], r)  # newest change of each number
    if not latest:
        return Listing()
    shown = list(latest.values())[:limit]
    names = await _buyer_names(store, [r["bizno"] for r in shown], workspace)
    rows = tuple(
        ClosureChangeRow(
            bizno=r["bizno"], buyer_name=names.get(r["bizno"]),
            previous=_business_state(r["prev_state"]), current=_business_state(r["state"]),
            state_date=r["state_date"], checked_at=r["checked_at"],
        )
        for r in shown
    )
    return Listing(count=len(latest), rows=rows)


def _changes_among(biznos: list[str], since: dt.datetime) -> sa.Select[Any]:
    """Checks since `since` of these numbers whose state differs from the check before."""
    c = closure_checks.c
    ranked = (
        sa.select(
            c.id, c.bizno, c.state, c.raw_state, c.state_date, c.checked_at,
            sa.func.lag(c.state).over(partition_by=c.bizno, order_by=c.id).label("prev_state"),
            sa.func.lag(c.raw_state).over(partition_by=c.bizno, order_by=c.id).label("prev_raw"),
        )
        .where(c.bizno.in_(biznos))
        .subquery()
    )
    return (
        sa.select(ranked)
        .where(ranked.c.checked_at >= since, ranked.c.prev_state.is_not(None),
               sa.or_(ranked.c.prev_state != ranked.c.state, ranked.c.prev_raw.is_distinct_from(ranked.c.raw_state)))
        .order_by(ranked.c.id.desc())
        .limit(500)
    )


def _business_state(value: str | None) -> BusinessState:
    try:
        return BusinessState(value or "unknown")
    except ValueError:
        return BusinessState.UNKNOWN


async def _buyer_names(store: Store, biznos: Collection[str], workspace: WorkspaceScope | None) -> dict[str, str]:
    if not biznos:
        return {}
    c = documents.c
    stmt = (
        sa.select(c.buyer_bizno, sa.func.max(c.buyer_name).label("name"))
        .where(c.buyer_bizno.in_(list(biznos)), c.buyer_name.is_not(None), owned_by(documents, workspace))
        .group_by(c.buyer_bizno)
    )
    return {r["buyer_bizno"]: r["name"] for r in await fetch(store, stmt)}


async def _buyers_among(store: Store, biznos: list[str], workspace: WorkspaceScope) -> list[str]:
    """The numbers among `biznos` that are buyers on `workspace`'s documents (the bizno index)."""
    c = documents.c
    mine: set[str] = set()
    for start in range(0, len(biznos), _NUMBERS_PER_QUERY):
        stmt = (sa.select(c.buyer_bizno).distinct()
                .where(c.buyer_bizno.in_(biznos[start:start + _NUMBERS_PER_QUERY]), owned_by(documents, workspace)))
        mine.update(str(r["buyer_bizno"]) for r in await fetch(store, stmt))
    return sorted(mine)


async def last_sweep(store: Store, since: dt.datetime) -> SweepSummary | None:
    """The newest status-sweep record at or after `since` (the audit `at` index finds it)."""
    e = audit_events.c
    stmt = (
        sa.select(e.at, e.detail)
        .where(e.at >= since, e.action == AuditKind.SYSTEM.value, e.operation == SWEEP_AUDIT_OPERATION.value)
        .order_by(e.at.desc(), e.id.desc())
        .limit(1)
    )
    rows = await fetch(store, stmt)
    if not rows:
        return None
    detail = dict(rows[0]["detail"] or {})
    unreachable = detail.get("unreachable") or {}
    return SweepSummary(
        at=rows[0]["at"],
        checked=int(detail.get("checked", 0)),
        changed=int(detail.get("changed", 0)),
        unreachable={str(k): str(v) for k, v in dict(unreachable).items()},
    )


async def callback_seen(store: Store, provider: str, dedup_key: str) -> bool:
    """Whether a callback with this key was already handled (answer a retry without redoing it)."""
    e = callback_events.c
    stmt = sa.select(e.id).where(e.provider == provider, e.dedup_key == dedup_key).limit(1)
    return bool(await fetch(store, stmt))
