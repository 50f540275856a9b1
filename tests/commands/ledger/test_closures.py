"""ClosureRepo: every check is kept, so the latest state and changes can be read back."""

from __future__ import annotations

import datetime as dt

from commands.ledger import Store
from providers.models import BusinessState, BusinessStatus, Provider
from tests.commands.ledger.factories import T0


def business(bizno: str, state: BusinessState, raw: str) -> BusinessStatus:
    return BusinessStatus(bizno=bizno, state=state, raw_state=raw, tax_type="general taxable")


async def test_closure_history_latest_and_changes(store: Store) -> None:
    await store.closures.record(
        [business("6798700433", BusinessState.ACTIVE, "1"), business("1231212312", BusinessState.ACTIVE, "1")],
        provider=Provider.POPBILL, checked_by="U_ALICE", now=T0,
    )
    later = T0 + dt.timedelta(days=1)
    await store.closures.record(
        [business("6798700433", BusinessState.CLOSED, "3"), business("1231212312", BusinessState.ACTIVE, "1")],
        provider=Provider.POPBILL, checked_by="U_BOB", now=later,
    )

    latest = await store.closures.latest(["6798700433", "1231212312", "0000000000"])
    changes = await store.closures.changes_since(later)

    assert {b: (c.state, c.checked_by) for b, c in latest.items()} == {
        "6798700433": ("closed", "U_BOB"),
        "1231212312": ("active", "U_BOB"),
    }
    assert [(c.bizno, c.previous.state, c.current.state) for c in changes] == [("6798700433", "active", "closed")]
    assert [c.state for c in await store.closures.history("6798700433")] == ["closed", "active"]
