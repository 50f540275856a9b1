"""Store: transactions spanning repositories are all or nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from commands.ledger import Lifecycle, Store
from providers.models import DocumentKind, Provider


async def test_a_transaction_is_all_or_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.documents.create(
                provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE, lifecycle=Lifecycle.PENDING_APPROVAL
            )
            raise RuntimeError("crash before the approval row")

    assert await store.documents.search() == []


async def test_reads_in_one_reading_scope_share_one_connection(store: Store) -> None:
    """A status's reads (the row with its amendments, the audit history) cost one pool checkout;
    on SQLite without a BEGIN round-trip."""
    doc = await store.documents.create(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE,
                                       lifecycle=Lifecycle.PENDING_APPROVAL)
    amendment = await store.documents.create(provider=Provider.POPBILL, kind=DocumentKind.TAX_INVOICE,
                                             lifecycle=Lifecycle.PENDING_APPROVAL, amends_document_id=doc.id)
    checkouts: list[object] = []
    statements: list[str] = []

    def on_checkout(*args: object) -> None:
        checkouts.append(args)

    def on_statement(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    engine = store.engine.sync_engine
    sa.event.listen(engine, "checkout", on_checkout)
    sa.event.listen(engine, "before_cursor_execute", on_statement)
    try:
        async with store.reading() as tx:
            found, amendments = await tx.documents.with_amendments(doc.id)
            events = await tx.audit.search(document_id=doc.id)
    finally:
        sa.event.remove(engine, "checkout", on_checkout)
        sa.event.remove(engine, "before_cursor_execute", on_statement)

    assert found == await store.documents.get(doc.id) and [a.id for a in amendments] == [amendment.id]
    assert events == []
    assert len(checkouts) == 1
    assert len([s for s in statements if not s.lstrip().upper().startswith("BEGIN")]) == 2, statements
    if store.engine.dialect.name == "sqlite":
        assert len(statements) == 2, statements  # no BEGIN round-trip
    assert await store.documents.with_amendments(10_000) == (None, [])
