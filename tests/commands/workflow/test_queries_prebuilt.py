"""The ledger reads of every `/invoice status` run statements built once, not per call.

Building a SELECT with SQLAlchemy and computing its cache key took more CPU than SQLite took to
answer it (about 0.1 ms each, twice per status). Checked here: the statements a status executes
are the same objects from one status to the next, and the history read matches `search`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.commands.workflow.conftest import Env, issue


async def test_a_status_runs_the_same_statement_objects_each_time(env: Env) -> None:
    ref = await issue(env)
    await env.service.status_with_history(ref, history=40)
    executed: list[list[Any]] = []

    def on_execute(conn: Any, clauseelement: Any, *args: Any) -> None:
        executed[-1].append(clauseelement)

    engine = env.store.engine.sync_engine
    sa.event.listen(engine, "before_execute", on_execute)
    try:
        for _ in range(2):
            executed.append([])
            view, events = await env.service.status_with_history(ref, history=40)
    finally:
        sa.event.remove(engine, "before_execute", on_execute)

    selects = [[s for s in run if isinstance(s, sa.Select)] for run in executed]
    assert len(selects[0]) == 2 and [id(s) for s in selects[0]] == [id(s) for s in selects[1]]
    assert view.id is not None and events == await env.store.audit.search(document_id=view.id, limit=40)


async def test_the_history_read_honours_its_limit(env: Env) -> None:
    ref = await issue(env)
    view = await env.service.status(ref)
    assert view.id is not None
    every = await env.store.audit.search(document_id=view.id, limit=200)
    assert len(every) >= 2
    assert await env.store.audit.history(view.id, limit=1) == every[:1]
    assert await env.store.audit.history(view.id, limit=200) == every
