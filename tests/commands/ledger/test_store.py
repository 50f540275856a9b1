"""Store: transactions spanning repositories are all or nothing."""

from __future__ import annotations

import pytest

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
