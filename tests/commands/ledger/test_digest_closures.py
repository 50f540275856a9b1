"""The digest's closure changes stay in their workspace: checks are shared public-register data,
but a workspace's digest lists only businesses that are buyers on its own documents, named as its
own documents name them."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from commands.ledger import Store
from commands.ledger import digest_queries as q
from commands.ledger.schema import documents
from commands.ledger.workspaces import WorkspaceScope
from providers.models import BusinessState, BusinessStatus, Provider
from tests.commands.slack.digest.seed import add_document

NOW = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)
ALPHA, BETA = WorkspaceScope("T_ALPHA"), WorkspaceScope("T_BETA")
ALPHA_BUYER, BETA_BUYER = "1231212312", "2208875476"


async def _owned(store: Store, bizno: str, name: str, team_id: str) -> None:
    doc = await add_document(store, Provider.POPBILL, buyer_bizno=bizno, buyer_name=name)
    async with store.engine.begin() as conn:
        await conn.execute(sa.update(documents).where(documents.c.id == doc.id).values(team_id=team_id))


async def _closed_since_yesterday(store: Store, bizno: str) -> None:
    for state, raw, at in ((BusinessState.ACTIVE, "1", NOW - dt.timedelta(days=3)),
                           (BusinessState.CLOSED, "3", NOW - dt.timedelta(hours=1))):
        await store.closures.record([BusinessStatus(bizno=bizno, state=state, raw_state=raw)],
                                    provider=Provider.POPBILL, checked_by="sweep", now=at)


async def test_each_workspaces_digest_lists_only_its_own_buyers_closure_changes(store: Store) -> None:
    await _owned(store, ALPHA_BUYER, "Alpha's Customer", "T_ALPHA")
    await _owned(store, BETA_BUYER, "Beta's Customer", "T_BETA")
    for bizno in (ALPHA_BUYER, BETA_BUYER):
        await _closed_since_yesterday(store, bizno)
    since = NOW - dt.timedelta(days=1)

    alpha = await q.closure_changes(store, since, workspace=ALPHA)
    beta = await q.closure_changes(store, since, workspace=BETA)
    everyone = await q.closure_changes(store, since)

    assert [(r.bizno, r.buyer_name) for r in alpha.rows] == [(ALPHA_BUYER, "Alpha's Customer")]
    assert [(r.bizno, r.buyer_name) for r in beta.rows] == [(BETA_BUYER, "Beta's Customer")]
    assert alpha.count == beta.count == 1
    assert {r.bizno for r in everyone.rows} == {ALPHA_BUYER, BETA_BUYER}  # the bot's own view


async def test_a_buyer_both_workspaces_share_is_named_by_each_ones_own_documents(store: Store) -> None:
    await _owned(store, ALPHA_BUYER, "Alpha calls it this", "T_ALPHA")
    await _owned(store, ALPHA_BUYER, "Beta calls it that", "T_BETA")
    await _closed_since_yesterday(store, ALPHA_BUYER)
    since = NOW - dt.timedelta(days=1)

    [alpha] = (await q.closure_changes(store, since, workspace=ALPHA)).rows
    [beta] = (await q.closure_changes(store, since, workspace=BETA)).rows

    assert (alpha.buyer_name, beta.buyer_name) == ("Alpha calls it this", "Beta calls it that")
    assert alpha.current is BusinessState.CLOSED and alpha.previous is BusinessState.ACTIVE
