"""`Store`: every repository over one engine, and transactions that span them.

Example::

    store = await Store.open("sqlite+aiosqlite:///./invoicebot.db")   # migrates to head
    doc = await store.documents.get_by_ref("INV-000001")
    async with store.transaction() as tx:      # one transaction, all or nothing
        doc = await tx.documents.create(provider=..., kind=..., lifecycle=Lifecycle.PENDING_APPROVAL)
        await tx.approvals.create(action=ApprovalAction.ISSUE, document_id=doc.id, requester="U1")

Never hold a transaction across a provider call: take what you need, let go, call the
provider, then record the answer with a compare-and-set.

The bulk and sweep repositories are built on first access (`functools.cached_property`), and their
modules imported then: only a file upload and the daily sweep use them, and an idle bot need not
hold them (0.14 MB of idle memory, measured by stubbing them in a started bot; `tests/bot/test_start.py`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commands.ledger._db import Db
from commands.ledger.approvals import ApprovalRepo
from commands.ledger.audit import AuditRepo
from commands.ledger.call_budget import CallBudgetRepo
from commands.ledger.callbacks import CallbackRepo
from commands.ledger.closures import ClosureRepo
from commands.ledger.db import create_engine, read_engine, write_engine
from commands.ledger.digests import DigestRepo
from commands.ledger.documents import DocumentRepo
from commands.ledger.idempotency import IdempotencyRepo
from commands.ledger.migrate import upgrade
from commands.ledger.replays import ReplayRepo
from commands.ledger.steps import StepRepo
from commands.ledger.user_prefs import UserPrefsRepo
from commands.ledger.workspace_settings import WorkspaceSettingsRepo

if TYPE_CHECKING:
    from commands.ledger.bulk import BulkRepo
    from commands.ledger.sweep_rows import SweepRepo

__all__ = ["Store"]


class Store:
    """All repositories over one engine.

    Example::

        store = await Store.open("sqlite+aiosqlite:///./invoicebot.db")   # migrates to head
        try:
            if await store.claim_digest_run("C123", dt.date.today(), "host-1"):
                ...
        finally:
            await store.close()
    """

    def __init__(self, engine: AsyncEngine, *, _conn: AsyncConnection | None = None) -> None:
        self.engine = engine
        self._reader: AsyncEngine | None = None
        self._db = db = Db(engine, _conn)
        self.documents = DocumentRepo(db)
        self.approvals = ApprovalRepo(db)
        self.audit = AuditRepo(db)
        self.closures = ClosureRepo(db)
        self.idempotency = IdempotencyRepo(db)
        self.digests = DigestRepo(db)
        self.workspace_settings = WorkspaceSettingsRepo(db)
        self.callbacks = CallbackRepo(db)
        self.steps = StepRepo(db)  # Workflow Builder custom steps (0008_steps)
        self.user_prefs = UserPrefsRepo(db)
        self.replays = ReplayRepo(db)
        self.call_budget = CallBudgetRepo(db)  # calls spent per provider day (0011_budget)

    @functools.cached_property
    def bulk(self) -> BulkRepo:
        """Bulk batches and their rows (on first access: see the module's docstring)."""
        from commands.ledger.bulk import BulkRepo

        return BulkRepo(self._db)

    @functools.cached_property
    def sweeps(self) -> SweepRepo:
        """The status sweep's lean reads and batched touch (on first access)."""
        from commands.ledger.sweep_rows import SweepRepo

        return SweepRepo(self._db)

    @classmethod
    async def open(cls, url: str | URL, *, migrate: bool = True, echo: bool = False) -> Self:
        """Create the engine and (by default) bring the schema up to date."""
        engine = create_engine(url, echo=echo)
        if migrate:
            try:
                await upgrade(engine)
            except BaseException:
                await engine.dispose()
                raise
        return cls(engine)

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        """A Store whose repositories all run in one write transaction (committed on exit)."""
        async with write_engine(self.engine).begin() as conn:
            yield Store(self.engine, _conn=conn)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Store]:
        """A Store whose repositories all read on one connection: one pool checkout instead of one
        per statement (under aiosqlite each checkout, BEGIN and statement is a handful of thread
        hand-offs). On SQLite no BEGIN is sent: each statement reads its own snapshot, as it did on
        a connection of its own. Reads only; never hold it across a provider call (a pool
        connection is a scarce thing under a burst)."""
        if self._reader is None:
            self._reader = read_engine(self.engine)
        async with self._reader.connect() as conn:
            yield Store(self.engine, _conn=conn)

    async def claim_digest_run(self, channel_id: str, day: dt.date, instance: str) -> bool:
        """True for exactly one caller per (channel, day): post the digest only then."""
        return await self.digests.claim_run(channel_id, day, instance)

    async def record_callback(self, provider: str, key: str, payload: Mapping[str, Any] | None) -> bool:
        """True the first time a provider callback with this dedup key arrives."""
        return await self.callbacks.record(provider, key, payload)
