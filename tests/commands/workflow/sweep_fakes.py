"""A provider double for sweep tests that counts calls and the most calls it had in flight at once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from commands.ledger import Store, write_engine
from commands.ledger.schema import documents
from providers.base import Capabilities
from providers.models import DocumentKind, DocumentRef, DocumentState, DocumentStatus, Provider

KINDS = {Provider.POPBILL: DocumentKind.TAX_INVOICE, Provider.PAYSSAM: DocumentKind.BILL,
         Provider.HIWORKS: DocumentKind.TAX_INVOICE, Provider.ABILLIFY: DocumentKind.INVOICE}


class CountingProvider:
    """Answers every document as `state`/`raw`, after a few loop turns, counting what it was asked."""

    sandbox = True

    def __init__(self, provider: Provider, *, state: DocumentState = DocumentState.SENT, raw: str = "R") -> None:
        self.provider = provider
        self.capabilities = Capabilities(provider=provider, kinds=frozenset({KINDS[provider]}))
        self.state, self.raw = state, raw
        self.in_flight = 0
        self.peak = 0
        self.calls = 0
        self.seen: list[str] = []
        self.board: Board | None = None

    async def statuses(self, refs: Sequence[DocumentRef]) -> dict[str, DocumentStatus]:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if self.board is not None:
            self.board.enter()
            await self.board.wait_full()
        try:
            for _ in range(50):  # yield to the loop: let every other worker start its call meanwhile
                await asyncio.sleep(0)
            self.seen.extend(r.provider_id for r in refs)
            return {r.provider_id: DocumentStatus(ref=r, state=self.state, raw_state=self.raw) for r in refs}
        finally:
            self.in_flight -= 1
            if self.board is not None:
                self.board.leave()

    async def aclose(self) -> None:
        return None


class Board:
    """Calls in flight across several providers at once. With a `target`, the first calls wait until
    that many are in flight together (or, if they never are, give up once and let everything run),
    so whether the providers overlap does not depend on how fast the database answers."""

    def __init__(self, target: int | None = None) -> None:
        self.in_flight = 0
        self.peak = 0
        self.target = target
        self._full = asyncio.Event()

    def enter(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if self.target is not None and self.in_flight >= self.target:
            self._full.set()

    async def wait_full(self) -> None:
        if self.target is None or self._full.is_set():
            return
        try:
            await asyncio.wait_for(self._full.wait(), timeout=10)
        except TimeoutError:
            self._full.set()  # they never overlapped that much: the assertion on `peak` says so

    def leave(self) -> None:
        self.in_flight -= 1


async def seed_open(store: Store, provider: Provider, ids: Sequence[str], *, team_id: str | None = None,
                    state: DocumentState = DocumentState.ISSUED, raw: str = "W",
                    checked_at: dt.datetime | None = None) -> None:
    """Open (issued) documents of one provider, as the sweep finds them."""
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    rows: list[dict[str, Any]] = [
        {"provider": provider.value, "kind": KINDS[provider].value, "provider_id": pid, "origin": "bot",
         "sandbox": True, "lifecycle": "issued", "state": state.value, "raw_state": raw, "issued_at": now,
         "created_at": now, "updated_at": now, "links": {}, "channel_id": "C1", "thread_ts": "1700000000.000100",
         "team_id": team_id, "state_checked_at": checked_at}
        for pid in ids
    ]
    async with write_engine(store.engine).begin() as conn:
        await conn.execute(sa.insert(documents), rows)
